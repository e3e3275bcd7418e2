"""30-day no-reason returns (30天无理由退货): the front desk receives the customer and the
goods, records the sale, checks the conditions and records the outcome.

received → checked (goods' condition, vendor's agreement) → accepted (refund or exchange,
an amount) or refused (the reason the customer was told) → closed. A return the customer
brings after the deadline is refused as it is received, with the day the period ran out.

The deadline is counted in calendar days in the configured zone, from the day after the
sale: with the default 30 days, goods sold on 10-31 may come back until 11-30 inclusive.
It is decided by the day the customer brought the goods, not by the day the vendor answered.

TRANSITIONS holds every allowed step; apply() is the one function that takes one, so who
may do what is decided in refusal(), in one place."""
import datetime as dt

from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from peewee import (
    JOIN, BooleanField, CharField, DateField, DateTimeField, ForeignKeyField, IntegrityError, TextField, fn,
)

from models import audit, settings
from models.base import BaseModel, DomainError, Transition, VersionedModel, VoidableModel, db, utcnow, write_transaction
from models.callbacks import Sale
from models.complaints import Complaint, Customer, find_or_create_customer
from models.numbering import next_number
from models.money import MoneyField, money
from models.timezone import day_start_utc, local_now, to_local
from models.users import User

RETURNS = _l("No-reason returns")
RETURN_DAYS = settings.define(
    "return_days", int, 30, _l("No-reason returns: goods come back within this many days of the sale"), RETURNS,
    help=_l("Calendar days in the configured time zone, counted from the day after the sale."),
    minimum=1, maximum=365)
#: Labels of the default categories; categories an admin adds show as typed.
CATEGORY_LABELS = {
    "furniture": _l("Furniture"), "building materials": _l("Building materials"), "lighting": _l("Lighting"),
    "textiles": _l("Home textiles"), "appliances": _l("Appliances"), "other": _l("Other"),
}
CATEGORIES = settings.define(
    "return_categories", str, ", ".join(CATEGORY_LABELS), _l("Goods categories of returns (comma-separated)"),
    RETURNS)

audit.name_record_type("goods_return", _l("No-reason return"))
DOC_TYPE = "WLTH"  # 无理由退货; "TH" is procurement's return note to a supplier

STATES = {
    "received": _l("Received, to be checked"),
    "checked": _l("Conditions checked"),
    "accepted": _l("Return accepted"),
    "refused": _l("Return refused"),
    "closed": _l("Closed"),
    "voided": _l("Voided"),
}
OPEN_STATES = ("received", "checked", "accepted", "refused")
OUTCOMES = {"refund": _l("Refund"), "exchange": _l("Exchange"), "refused": _l("Refused")}
#: Why a return was refused, for the summary; "deadline" is decided at receipt, the others by the desk.
REFUSALS = {"deadline": _l("Past the deadline"), "condition": _l("Condition of the goods"),
            "vendor": _l("Vendor did not agree"), "other": _l("Other reason")}
DESK_REFUSALS = ("condition", "vendor", "other")

DESK = frozenset({"front_desk", "specialist", "service_manager"})
MANAGERS = frozenset({"service_manager"})


TRANSITIONS = {
    "check": Transition(_l("Record the check"), ("received",), "checked", DESK),
    "accept": Transition(_l("Accept the return"), ("checked",), "accepted", DESK),
    "refuse": Transition(_l("Refuse the return"), ("received", "checked"), "refused", DESK),
    "close": Transition(_l("Close the return"), ("accepted", "refused"), "closed", DESK),
    "void": Transition(_l("Void"), OPEN_STATES, "voided", MANAGERS),
}
EVENT_LABELS = {"receive": _l("Received at the desk"), **{k: v for k, v in STATES.items() if k != "received"}}


class GoodsReturn(VersionedModel, VoidableModel):
    number = CharField(max_length=20, unique=True)
    customer = ForeignKeyField(Customer, backref="returns", on_delete="RESTRICT")
    complaint = ForeignKeyField(Complaint, null=True, backref="returns", on_delete="RESTRICT")
    # The imported sales line it was found in; the sale's goods and date are then the sale's own.
    sale = ForeignKeyField(Sale, null=True, backref="returns", on_delete="RESTRICT")
    order_number = CharField(max_length=40)
    sale_date = DateField()
    goods = CharField(max_length=120)
    vendor = CharField(max_length=80, index=True)
    category = CharField(max_length=40, index=True)
    sale_amount = MoneyField()
    customer_reason = TextField(default="")
    state = CharField(max_length=12, default="received", index=True)
    received_by = ForeignKeyField(User, on_delete="RESTRICT", backref="+")
    # The last day the goods could come back, fixed at receipt (a later change of the setting
    # does not reopen or close what was decided), and whether they came by then.
    last_day = DateField()
    in_time = BooleanField()
    # The order line this return holds; NULL once refused or voided, so the unique index lets a
    # refused line be brought again but never returned twice (also under two desks at once).
    line_key = CharField(max_length=200, null=True, unique=True)
    goods_intact = BooleanField(null=True)
    vendor_agreed = BooleanField(null=True)
    vendor_contact = CharField(max_length=80, default="")
    check_note = TextField(default="")
    checked_by = ForeignKeyField(User, null=True, on_delete="RESTRICT", backref="+")
    checked_at = DateTimeField(null=True)
    outcome = CharField(max_length=10, default="", index=True)
    amount = MoneyField(null=True)
    refusal_kind = CharField(max_length=10, default="")
    refusal_reason = TextField(default="")
    decided_by = ForeignKeyField(User, null=True, on_delete="RESTRICT", backref="+")
    decided_at = DateTimeField(null=True)
    close_note = TextField(default="")
    closed_by = ForeignKeyField(User, null=True, on_delete="RESTRICT", backref="+")
    closed_at = DateTimeField(null=True)

    stale_message = _l("Someone else changed this return meanwhile; look at it again.")
    missing_message = _l("No such return.")

    @property
    def deadline_message(self):
        return deadline_message(self.last_day)

    @property
    def day_number(self):
        """The day after the sale the customer brought the goods (day 1 is the day after the sale)."""
        return (to_local(self.created_at).date() - self.sale_date).days

    def events(self):
        return (ReturnEvent.select(ReturnEvent, User).join(User, on=ReturnEvent.actor == User.id)
                .where(ReturnEvent.goods_return == self).order_by(ReturnEvent.at, ReturnEvent.id))

    def actions_for(self, user):
        """The transitions this user may apply now, in table order."""
        return [(name, t) for name, t in TRANSITIONS.items() if refusal(self, name, user) is None]


class ReturnEvent(BaseModel):
    goods_return = ForeignKeyField(GoodsReturn, backref="timeline", on_delete="CASCADE")
    at = DateTimeField(default=utcnow)
    actor = ForeignKeyField(User, on_delete="RESTRICT")
    action = CharField(max_length=10)
    from_state = CharField(max_length=12, default="")
    to_state = CharField(max_length=12)
    note = TextField(default="")

    @property
    def heading(self):
        return EVENT_LABELS.get(self.action if self.action == "receive" else self.to_state, self.to_state)


def categories():
    return [c.strip() for c in settings.get(CATEGORIES).split(",") if c.strip()]


def category_label(key):
    return CATEGORY_LABELS.get(key, key)


def last_day(sale_date):
    """The last calendar day the goods of a sale on `sale_date` may come back."""
    return sale_date + dt.timedelta(days=settings.get(RETURN_DAYS))


def deadline_message(day):
    return _l("The return period ended on %(day)s.", day=format_date(day, "long"))


def _line_key(sale_id, order_number, goods):
    """One order line: the imported sale it is, or the order number and the goods as typed
    (case and spaces do not make another line)."""
    if sale_id:
        return f"sale:{sale_id}"
    return "order:" + " ".join(order_number.split()).lower() + "|" + " ".join(goods.split()).lower()


def _holder(line_key):
    return GoodsReturn.get_or_none(GoodsReturn.line_key == line_key)


def _second_return(holder):
    return DomainError(_l("These goods were returned already: %(number)s (%(state)s). One order line is "
                          "returned once.", number=holder.number, state=STATES[holder.state]), field="order_number")


def sales_of(phone):
    """The imported sales lines of the customer with this phone, newest first (what a lookup offers)."""
    return (Sale.select().join(Customer).where(Customer.phone == phone)
            .order_by(Sale.sale_date.desc(), Sale.id.desc()).limit(20))


def receive(actor, *, name, phone, order_number, sale_date, goods, vendor, category, sale_amount,
            customer_reason="", sale_id=None, complaint_number="", now=None):
    """Record the customer bringing goods back. After the deadline the return is recorded
    refused at once, with the day the period ran out. DomainError (with the field) for bad input."""
    now = now or utcnow()
    order_number, goods, vendor = order_number.strip(), goods.strip(), vendor.strip()
    if category not in categories():
        raise DomainError(_l("Choose a category from the list."), field="category")
    sale_amount = money(sale_amount)
    if sale_amount <= 0:
        raise DomainError(_l("Enter the amount paid for the goods."), field="sale_amount")
    with write_transaction():
        customer = find_or_create_customer(actor, name, phone)
        sale = None
        if sale_id:
            sale = Sale.get_or_none(Sale.id == sale_id, Sale.customer == customer)
            if sale is None:
                raise DomainError(_l("That sale is not one of this customer's; choose again."), field="sale_id")
            sale_date, goods = sale.sale_date, sale.product
        if not goods:
            raise DomainError(_l("Name the goods."), field="goods")
        if sale_date is None:
            raise DomainError(_l("Enter the date of the sale."), field="sale_date")
        received_on = to_local(now).date()
        if sale_date > received_on:
            raise DomainError(_l("The sale date cannot be after today."), field="sale_date")
        complaint = None
        if complaint_number.strip():
            complaint = Complaint.get_or_none(Complaint.number == complaint_number.strip().upper())
            if complaint is None or complaint.customer_id != customer.id:
                raise DomainError(_l("No complaint %(number)s of this customer.", number=complaint_number.strip()),
                                  field="complaint_number")
        key = _line_key(sale and sale.id, order_number, goods)
        if (holder := _holder(key)) is not None:
            raise _second_return(holder)
        last = last_day(sale_date)
        in_time = received_on <= last
        values = dict(customer=customer, complaint=complaint, sale=sale, order_number=order_number,
                      sale_date=sale_date, goods=goods, vendor=vendor, category=category, sale_amount=sale_amount,
                      customer_reason=customer_reason.strip(), received_by=actor, last_day=last, in_time=in_time,
                      created_at=now, updated_at=now, state="received", line_key=key)
        if not in_time:
            values.update(state="refused", outcome="refused", refusal_kind="deadline", decided_by=actor,
                          decided_at=now, line_key=None)
        try:
            with db.atomic():  # the unique line is the last word when two desks record it at once
                record = GoodsReturn.create(number=next_number(DOC_TYPE), **values)
        except IntegrityError:
            holder = _holder(key)
            raise (_second_return(holder) if holder else DomainError(_l("Reload the page and try again."))) from None
        audit.record_create(actor, record)
        ReturnEvent.create(goods_return=record, at=now, actor=actor, action="receive", to_state="received")
        if not in_time:
            # The page and the printed register say why (record.deadline_message), in the reader's language.
            ReturnEvent.create(goods_return=record, at=now, actor=actor, action="refuse", from_state="received",
                               to_state="refused")
    return record


def refusal(record, action, user):
    """Why this user may not apply this action now, or None if they may."""
    transition = TRANSITIONS.get(action)
    if transition is None:
        return _l("Unknown action.")
    if record.state not in transition.sources:
        return _l("This cannot be done to a return that is “%(state)s”.", state=STATES[record.state])
    if not set(user.roles) & transition.roles:
        return _l("Your role may not do this.")
    return None


def apply(record_id, action, actor, version, *, note="", goods_intact=None, vendor_agreed=None, vendor_contact="",
          outcome="", amount=None, refusal_kind="", now=None):
    """Take one step: check it, stamp who and when, write the event and the audit entry.
    `version` is the one the user saw. DomainError (with the field) when refused."""
    note = (note or "").strip()
    with write_transaction():
        record = GoodsReturn.load(record_id, version)
        reason = refusal(record, action, actor)
        if reason:
            raise DomainError(reason)
        now = now or utcnow()
        before = record.snapshot()
        target = TRANSITIONS[action].target
        values = {GoodsReturn.state: target}
        if action == "check":
            if goods_intact is None:
                raise DomainError(_l("Say whether the goods are intact."), field="goods_intact")
            if vendor_agreed is None:
                raise DomainError(_l("Say whether the vendor agrees."), field="vendor_agreed")
            values.update({GoodsReturn.goods_intact: goods_intact, GoodsReturn.vendor_agreed: vendor_agreed,
                           GoodsReturn.vendor_contact: (vendor_contact or "").strip()[:80],
                           GoodsReturn.check_note: note, GoodsReturn.checked_by: actor, GoodsReturn.checked_at: now})
        elif action == "accept":
            values.update(_acceptance(record, outcome, amount))
            values.update({GoodsReturn.decided_by: actor, GoodsReturn.decided_at: now})
        elif action == "refuse":
            if refusal_kind not in DESK_REFUSALS:
                raise DomainError(_l("Choose why the return is refused."), field="refusal_kind")
            if not note:
                raise DomainError(_l("Write the reason the customer was told."), field="note")
            values.update({GoodsReturn.outcome: "refused", GoodsReturn.refusal_kind: refusal_kind,
                           GoodsReturn.refusal_reason: note, GoodsReturn.line_key: None,
                           GoodsReturn.decided_by: actor, GoodsReturn.decided_at: now})
        elif action == "close":
            values.update({GoodsReturn.close_note: note, GoodsReturn.closed_by: actor, GoodsReturn.closed_at: now})
        elif action == "void":
            if not note:
                raise DomainError(_l("Write why the return is voided."), field="note")
            values.update({GoodsReturn.voided_at: now, GoodsReturn.void_reason: note, GoodsReturn.line_key: None})
        record = record.update_versioned(version, values)
        ReturnEvent.create(goods_return=record, at=now, actor=actor, action=action, from_state=before["state"],
                           to_state=target, note=note)
        audit.record_change(actor, record, before)
    return record


def _acceptance(record, outcome, amount):
    """The outcome of an accepted return; refused while a condition is not met."""
    if not record.in_time:
        raise DomainError(record.deadline_message)
    if not record.goods_intact:
        raise DomainError(_l("The goods are not intact: the return can only be refused."))
    if not record.vendor_agreed:
        raise DomainError(_l("The vendor has not agreed: the return can only be refused."))
    if outcome not in ("refund", "exchange"):
        raise DomainError(_l("Choose refund or exchange."), field="outcome")
    if amount is None:
        raise DomainError(_l("Enter the amount."), field="amount")
    amount = money(amount)
    if amount <= 0:
        raise DomainError(_l("The amount must be more than zero."), field="amount")
    if amount > record.sale_amount:
        raise DomainError(_l("%(amount)s is more than the %(paid)s paid for the goods.",
                             amount=f"{amount:,.2f}", paid=f"{record.sale_amount:,.2f}"), field="amount")
    return {GoodsReturn.outcome: outcome, GoodsReturn.amount: amount}


# Listing, the register and the monthly summary.

def listing(state=None, q=None):
    """Newest first, with the customer joined."""
    query = (GoodsReturn.select(GoodsReturn, Customer).join(Customer)
             .order_by(GoodsReturn.created_at.desc(), GoodsReturn.id.desc()))
    if state == "open":
        query = query.where(GoodsReturn.state.in_(OPEN_STATES))
    elif state in STATES:
        query = query.where(GoodsReturn.state == state)
    if q:
        like = f"%{q}%"
        query = query.where(GoodsReturn.number ** like | GoodsReturn.order_number ** like | Customer.name ** like
                            | Customer.phone ** like | GoodsReturn.goods ** like)
    return query


def _received_between(first_day, last_day_inclusive):
    """Received on these local days; voided ones were mistakes, not returns."""
    return ((GoodsReturn.created_at >= day_start_utc(first_day))
            & (GoodsReturn.created_at < day_start_utc(last_day_inclusive + dt.timedelta(days=1)))
            & GoodsReturn.voided_at.is_null())


def register(first_day, last_day_inclusive):
    """The returns received on these local days, oldest first, with the customer, the complaint
    and the people who received and decided them joined."""
    receiver, decider = User.alias(), User.alias()
    return (GoodsReturn.select(GoodsReturn, Customer, Complaint, receiver, decider)
            .join(Customer).switch(GoodsReturn)
            .join(Complaint, JOIN.LEFT_OUTER).switch(GoodsReturn)
            .join(receiver, on=(GoodsReturn.received_by == receiver.id), attr="received_by").switch(GoodsReturn)
            .join(decider, JOIN.LEFT_OUTER, on=(GoodsReturn.decided_by == decider.id), attr="decided_by")
            .where(_received_between(first_day, last_day_inclusive))
            .order_by(GoodsReturn.created_at, GoodsReturn.id))


def outcome_of(record):
    """"refund", "exchange", "refused", or "pending" while undecided."""
    return record.outcome or "pending"


OUTCOME_COLUMNS = ("refund", "exchange", "refused", "pending")
SUMMARY_OUTCOMES = {**OUTCOMES, "pending": _l("Not decided yet")}


def summary(first_day, last_day_inclusive):
    """The monthly summary (汇总表): counts and amounts by vendor, by category and by outcome,
    from one grouped query (the database adds it up, whatever the month holds).

    Each group: {"count", "refund", "exchange", "refused", "pending", "amount"}; the amount is
    what was refunded or credited in exchange (Decimal)."""
    rows = (GoodsReturn.select(GoodsReturn.vendor, GoodsReturn.category, GoodsReturn.outcome, GoodsReturn.refusal_kind,
                               fn.COUNT(GoodsReturn.id).alias("n"), fn.SUM(GoodsReturn.amount).alias("total"))
            .where(_received_between(first_day, last_day_inclusive))
            .group_by(GoodsReturn.vendor, GoodsReturn.category, GoodsReturn.outcome, GoodsReturn.refusal_kind)
            .dicts())

    def empty():
        return {"count": 0, **{o: 0 for o in OUTCOME_COLUMNS}, "amount": money(0)}

    by_vendor, by_category, total = {}, {}, empty()
    by_outcome = {o: {"count": 0, "amount": money(0)} for o in OUTCOME_COLUMNS}
    by_refusal = {k: 0 for k in REFUSALS}
    for row in rows:
        outcome = row["outcome"] or "pending"
        amount = money(row["total"] or 0)
        for group in (by_vendor.setdefault(row["vendor"], empty()), by_category.setdefault(row["category"], empty()),
                      total):
            group["count"] += row["n"]
            group[outcome] += row["n"]
            group["amount"] += amount
        by_outcome[outcome]["count"] += row["n"]
        by_outcome[outcome]["amount"] += amount
        if outcome == "refused":
            by_refusal[row["refusal_kind"]] = by_refusal.get(row["refusal_kind"], 0) + row["n"]

    def biggest_first(groups):
        return dict(sorted(groups.items(), key=lambda item: (-item[1]["count"], item[0])))

    return {"total": total, "by_vendor": biggest_first(by_vendor), "by_category": biggest_first(by_category),
            "by_outcome": by_outcome, "by_refusal": by_refusal}


def this_month():
    """(first day, last day) of the present local month."""
    today = local_now().date()
    first = today.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return first, following - dt.timedelta(days=1)
