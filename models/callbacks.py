"""Callbacks (回访): after a complaint is resolved, 30 days after a sale, and a month
before a warranty ends.

Callbacks are created by a sweep (tasks/callbacks.py) that finds by the data what
needs one, so a missed or repeated run changes nothing more. Every callback falls in
an allowed slot: never in quiet hours, never outside the time the customer agreed.
The outcome of a complaint's callback moves the complaint on through
models.complaints.apply(), so its timeline shows it; a callback moves only through apply()
here, by the TRANSITIONS table."""
import calendar
import datetime as dt
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from peewee import (
    JOIN, Case, CharField, DateField, DateTimeField, DeferredForeignKey, ForeignKeyField, IntegerField, IntegrityError,
    TextField, fn,
)

from models import audit, complaints, settings
from models.base import BaseModel, DomainError, VersionedModel, VoidableModel, db, utcnow, write_transaction
from models.complaints import Complaint, ComplaintEvent, Customer, TransitionError
from models.daytimes import TimeRanges
from models.notifications import N_, notify
from models.numbering import next_number
from models.roles import has_permission
from models.settings import InvalidSetting
from models.timezone import day_start_utc, to_local
from models.users import User

audit.name_record_type("callback", _l("Callback"))
audit.name_record_type("sale", _l("Sale"))
audit.ACTION_LABELS.update({
    "callback_flagged": _l("Callback flagged to the manager"),
    "import": _l("Imported"),
})


CALLBACKS = _l("Callbacks")
QUIET_HOURS = settings.define(
    "callback_quiet_hours", TimeRanges, TimeRanges("12:00-14:00, 21:00-09:00"),
    _l("Quiet hours: no callbacks then (the customer is resting)"), CALLBACKS,
    help=_l("Local time, e.g. “12:00-14:00, 21:00-09:00”; a range may run over midnight."))
WITHIN_DAYS = settings.define(
    "callback_within_days", int, 3, _l("A callback is made within (days)"), CALLBACKS, minimum=1, maximum=30)
AFTER_SALE_DAYS = settings.define(
    "callback_after_sale_days", int, 30, _l("Callback after a sale: days after the sale"), CALLBACKS,
    minimum=1, maximum=365)
WARRANTY_MONTHS = settings.define(
    "callback_warranty_months", int, 1, _l("Callback before a warranty ends: months before"), CALLBACKS,
    minimum=1, maximum=24)
RETRY_MINUTES = settings.define(
    "callback_retry_minutes", int, 120, _l("Customer unreachable: try again after (minutes)"), CALLBACKS,
    minimum=10, maximum=24 * 60)
FLAG_AFTER_TRIES = settings.define(
    "callback_flag_after_tries", int, 3, _l("Unreachable this many times: flag to the service manager"),
    CALLBACKS, minimum=1, maximum=20)
IMPORT_MAX_MB = settings.define(
    "callback_import_max_mb", int, 5, _l("Largest sales list to import (MB)"), CALLBACKS, minimum=1, maximum=50)
PASS_TARGET = settings.define(
    "callback_pass_target", int, 98, _l("Callback pass rate target (%)"), CALLBACKS, minimum=1, maximum=100)

REASONS = {
    "complaint": _l("Complaint follow-up"),
    "after_sale": _l("30 days after the sale"),
    "warranty": _l("Before the warranty ends"),
}
OUTCOMES = {
    "satisfied": _l("Satisfied"),
    "unsatisfied": _l("Not satisfied"),
    "unreachable": _l("Unreachable"),
}
DONE = ("satisfied", "unsatisfied")

STATES = {"due": _l("To call"), "done": _l("Done"), "voided": _l("Cancelled")}
#: Who takes a step: customer service (the callback queue's people), or the managers.
WORKERS, MANAGERS = "callbacks.work", frozenset({"service_manager", "admin"})


@dataclass(frozen=True)
class Transition:
    label: object
    sources: tuple
    target: str  # None: the state stays (tried again later)
    who: object  # a permission, or a set of roles
    note_required: bool = False


# A callback is due until the customer is reached (satisfied or not); an unreachable try
# keeps it due at the next allowed slot; it is cancelled only with its complaint.
TRANSITIONS = {
    "satisfied": Transition(OUTCOMES["satisfied"], ("due",), "done", WORKERS),
    "unsatisfied": Transition(OUTCOMES["unsatisfied"], ("due",), "done", WORKERS, note_required=True),
    "unreachable": Transition(OUTCOMES["unreachable"], ("due",), None, WORKERS),
    "void": Transition(_l("Cancel"), ("due",), "voided", MANAGERS, note_required=True),
}


class CallbackError(DomainError):
    """A refused callback step."""


class Sale(BaseModel):
    """A line of an imported sales/warranty list: what the 30-day and warranty callbacks are about."""
    customer = ForeignKeyField(Customer, backref="sales", on_delete="RESTRICT")
    product = CharField(max_length=120)
    sale_date = DateField()
    warranty_end = DateField(null=True)
    source = CharField(max_length=200, default="")  # the imported file's name
    imported_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    imported_at = DateTimeField(default=utcnow)
    # Set by the sweep once this sale's callbacks were created (or were already too late).
    scheduled_at = DateTimeField(null=True, index=True)

    class Meta:
        indexes = ((("customer", "product", "sale_date"), True),)


class Callback(VoidableModel, VersionedModel):
    error = CallbackError
    stale_message = _l("Someone else recorded this callback meanwhile; look at it again.")
    missing_message = _l("No such callback.")

    number = CharField(max_length=20, unique=True)
    customer = ForeignKeyField(Customer, backref="callbacks", on_delete="RESTRICT")
    reason = CharField(max_length=12)
    complaint = ForeignKeyField(Complaint, null=True, backref="callbacks", on_delete="RESTRICT")
    # The "customer informed" step that asked for this callback: one callback per round.
    complaint_event = ForeignKeyField(ComplaintEvent, null=True, unique=True, on_delete="RESTRICT", backref="+")
    sale = ForeignKeyField(Sale, null=True, backref="callbacks", on_delete="RESTRICT")
    due_at = DateTimeField(index=True)       # when it falls due: the first allowed slot
    deadline_at = DateTimeField()            # made by then, it is on time
    next_at = DateTimeField(index=True)      # when to call; moves on after an unreachable try
    attempts = IntegerField(default=0)
    outcome = CharField(max_length=12, default="", index=True)  # "", satisfied, unsatisfied
    note = TextField(default="")
    done_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    done_at = DateTimeField(null=True, index=True)
    flagged_at = DateTimeField(null=True)
    # See TRANSITIONS; `outcome` keeps what the customer said once reached.
    state = CharField(max_length=8, default="due", index=True)
    # The repair visit (models.service_visits) the customer confirmed: one callback after it.
    service_visit = DeferredForeignKey("ServiceVisit", null=True, unique=True, on_delete="RESTRICT",
                                       backref="callbacks")

    class Meta:
        indexes = ((("sale", "reason"), True),)

    @classmethod
    def fill_added_columns(cls, names):
        """A database from before the state column: each callback's state from what it holds."""
        if "state" in names:
            cls.update(state="done").where(cls.outcome.in_(DONE)).execute()
            cls.update(state="voided").where(cls.voided_at.is_null(False)).execute()

    @property
    def is_done(self):
        return self.state == "done"

    @property
    def is_pending(self):
        return self.state == "due"

    @property
    def state_label(self):
        return self.outcome_label if self.is_done else STATES.get(self.state, self.state)

    def actions_for(self, user):
        """The steps this user may take now, in table order."""
        return [name for name in TRANSITIONS if refusal(self, name, user) is None]

    def is_overdue(self, now=None):
        return self.is_pending and (now or utcnow()) > self.deadline_at

    @property
    def reason_label(self):
        return REASONS.get(self.reason, self.reason)

    @property
    def outcome_label(self):
        return OUTCOMES.get(self.outcome, "")

    def attempt_log(self):
        return (CallbackAttempt.select(CallbackAttempt, User).join(User)
                .where(CallbackAttempt.callback == self).order_by(CallbackAttempt.at, CallbackAttempt.id))


class CallbackAttempt(BaseModel):
    """Every call made, reached or not: the callback is fully recorded."""
    callback = ForeignKeyField(Callback, backref="attempt_rows", on_delete="CASCADE")
    at = DateTimeField(default=utcnow)
    actor = ForeignKeyField(User, on_delete="RESTRICT", backref="+")
    result = CharField(max_length=12)
    note = TextField(default="")


# Slots

def next_allowed(start_utc, window=None, quiet=None):
    """The first moment at or after start_utc (naive UTC) outside quiet hours and inside
    the customer's agreed window (TimeRanges; empty or None: any time).

    If the agreed window lies wholly in quiet hours, the customer's own word wins."""
    quiet = settings.get(QUIET_HOURS) if quiet is None else quiet
    outside_window = window.complement() if window else TimeRanges("")
    barred = TimeRanges.of(quiet + outside_window)
    allowed = barred.first_moment_outside(start_utc)
    if barred.holds(allowed):  # no minute of the day is left
        return outside_window.first_moment_outside(start_utc)
    return allowed


def customer_window(customer):
    try:
        return TimeRanges(customer.callback_window or "")
    except InvalidSetting:
        return TimeRanges("")


def add_months(day, months):
    """The same day `months` later (or earlier when negative), clamped to the month's end."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def sale_targets(sale_date, warranty_end):
    """[(reason, local date the callback is due)] for a sale."""
    targets = [("after_sale", sale_date + dt.timedelta(days=settings.get(AFTER_SALE_DAYS)))]
    if warranty_end:
        targets.append(("warranty", add_months(warranty_end, -settings.get(WARRANTY_MONTHS))))
    return targets


def too_late(day, now=None):
    """Past the whole window in which a callback due on that day could still be made."""
    deadline = day_start_utc(day) + dt.timedelta(days=settings.get(WITHIN_DAYS))
    return deadline <= (now or utcnow())


# Scheduling (the sweep)

def _create(customer, reason, base, now, **links):
    """One callback due at the first allowed slot from `base`; None if another sweep made it first."""
    due = next_allowed(max(base, now), customer_window(customer))
    try:
        with db.atomic():
            callback = Callback.create(
                number=next_number("HF"), customer=customer, reason=reason, due_at=due, next_at=due,
                deadline_at=base + dt.timedelta(days=settings.get(WITHIN_DAYS)), **links)
            audit.record_create(None, callback)
    except IntegrityError:
        return None
    return callback


def schedule_complaint_callbacks(now=None):
    """A callback for each complaint whose customer was informed of the result and that has none yet."""
    now = now or utcnow()
    last_inform = (ComplaintEvent.select(fn.MAX(ComplaintEvent.id))
                   .where(ComplaintEvent.complaint == Complaint.id, ComplaintEvent.action == "inform"))
    rows = (Complaint.select(Complaint, Customer, ComplaintEvent)
            .join(Customer, on=(Complaint.customer == Customer.id))
            .switch(Complaint).join(ComplaintEvent, on=(ComplaintEvent.id == last_inform), attr="inform_event")
            .join(Callback, JOIN.LEFT_OUTER, on=(Callback.complaint_event == ComplaintEvent.id))
            .where(Complaint.state == "customer_informed", Callback.id.is_null()))
    made = 0
    for complaint in rows:
        event = complaint.inform_event
        with write_transaction():
            if _create(complaint.customer, "complaint", event.at, now, complaint=complaint, complaint_event=event):
                made += 1
    return made


def schedule_sale_callbacks(now=None):
    """The 30-day and warranty callbacks of each imported sale not scheduled yet.
    A callback whose whole window has passed already is not made (the import said so)."""
    now = now or utcnow()
    made = 0
    for sale in Sale.select(Sale, Customer).join(Customer).where(Sale.scheduled_at.is_null()):
        with write_transaction():
            claimed = Sale.update(scheduled_at=now).where(Sale.id == sale.id, Sale.scheduled_at.is_null()).execute()
            if not claimed:
                continue
            for reason, day in sale_targets(sale.sale_date, sale.warranty_end):
                if too_late(day, now):
                    continue
                if _create(sale.customer, reason, day_start_utc(day), now, sale=sale):
                    made += 1
    return made


def schedule_due(now=None):
    return schedule_complaint_callbacks(now) + schedule_sale_callbacks(now)


# The queue and the outcome

def _day_bounds(now=None):
    today = to_local(now or utcnow()).date()
    start = day_start_utc(today)
    return start, start + dt.timedelta(days=1)


def _with_links():
    return (Callback.select(Callback, Customer, Complaint, Sale)
            .join(Customer, on=(Callback.customer == Customer.id))
            .switch(Callback).join(Complaint, JOIN.LEFT_OUTER, on=(Callback.complaint == Complaint.id))
            .switch(Callback).join(Sale, JOIN.LEFT_OUTER, on=(Callback.sale == Sale.id)))


def queue(now=None):
    """What is due today (or was due earlier and is still open): VIP first, then by time."""
    _, tomorrow = _day_bounds(now)
    return (_with_links()
            .where(Callback.state == "due", Callback.next_at < tomorrow)
            .order_by(Customer.is_vip.desc(), Callback.next_at, Callback.id))


UPCOMING_SHOWN = 50


def upcoming(now=None, limit=UPCOMING_SHOWN):
    _, tomorrow = _day_bounds(now)
    return (_with_links()
            .where(Callback.state == "due", Callback.next_at >= tomorrow)
            .order_by(Callback.next_at, Callback.id).limit(limit))


def done_today(now=None):
    start, tomorrow = _day_bounds(now)
    return (_with_links().where(Callback.done_at >= start, Callback.done_at < tomorrow)
            .order_by(Callback.done_at.desc()))


def reported_result(callback):
    """What the department reported back on the complaint (the latest round), for the call."""
    if not callback.complaint_id:
        return ""
    event = (ComplaintEvent.select().where(ComplaintEvent.complaint == callback.complaint_id,
                                           ComplaintEvent.action == "report")
             .order_by(ComplaintEvent.id.desc()).first())
    return event.note if event else ""


def get_with_links(callback_id):
    return _with_links().where(Callback.id == callback_id).first()


def refusal(callback, action, actor):
    """Why this actor may not take this step now, or None if they may."""
    transition = TRANSITIONS.get(action)
    if transition is None:
        return _l("Choose the outcome of the call.")
    if transition.who == WORKERS and not has_permission(actor.roles, WORKERS):
        return _l("Only customer service records callbacks.")
    if transition.who == MANAGERS and not set(actor.roles) & MANAGERS:
        return _l("Only a service manager may cancel a callback.")
    if callback.state not in transition.sources:
        return _l("This callback is finished already.")
    return None


def apply(actor, callback_id, action, version=None, note="", moves_complaint=True):
    """The one function that moves a callback: record one call (or cancel it), in one
    transaction. Satisfied or not, a complaint's callback moves the complaint on (satisfied:
    it can be closed; not satisfied: it is reopened). Unreachable: tried again at the next
    allowed slot, and flagged to the service managers after the set tries.

    `version` is the one the user saw: of two people recording at once, the second is told."""
    note = (note or "").strip()
    with write_transaction():
        callback = Callback.load(callback_id, version)
        reason = refusal(callback, action, actor)
        if reason:
            raise CallbackError(reason, field="outcome")
        transition = TRANSITIONS[action]
        if transition.note_required and not note:
            raise CallbackError(_l("Write down what the customer is not satisfied with.") if action in DONE
                                else _l("Give the reason."), field="note")
        before = callback.snapshot()
        now = utcnow()
        values = {Callback.state: transition.target or callback.state}
        newly_flagged = False
        if action == "void":
            values.update({Callback.voided_at: now, Callback.void_reason: note})
        else:
            values[Callback.attempts] = Callback.attempts + 1
        if action == "unreachable":
            retry = now + dt.timedelta(minutes=settings.get(RETRY_MINUTES))
            values[Callback.next_at] = next_allowed(retry, customer_window(callback.customer))
            if callback.attempts + 1 >= settings.get(FLAG_AFTER_TRIES) and callback.flagged_at is None:
                values[Callback.flagged_at] = now
                newly_flagged = True
        elif action in DONE:
            values.update({Callback.outcome: action, Callback.note: note, Callback.done_by: actor,
                           Callback.done_at: now})
        callback = callback.update_versioned(callback.version, values)
        if action != "void":
            CallbackAttempt.create(callback=callback, at=now, actor=actor, result=action, note=note)
        audit.record_change(actor, callback, before)
        if newly_flagged:
            audit.record_event(actor, "callback_flagged", callback)
            for manager in User.active_with_role("service_manager"):
                notify(manager, N_("Callback %(number)s: %(customer)s could not be reached after %(tries)s tries"),
                       ("callbacks.show", {"callback_id": callback.id}), about=callback.customer,
                       number=callback.number, customer=callback.customer.name, tries=callback.attempts)
        if moves_complaint and callback.complaint_id and action in DONE:
            complaint = Complaint.get_by_id(callback.complaint_id)
            try:
                complaints.apply(complaint.id, action, actor, complaint.version, note=note)
            except TransitionError as refused:
                raise CallbackError(refused.message) from None
    return callback


def follow_complaint(complaint, action, actor, note):
    """A complaint's callback outcome recorded on the complaint page, or the complaint voided:
    its pending callbacks take the same step (part of the complaint's transition)."""
    if action not in (*DONE, "void"):
        return
    for callback in Callback.select().where(Callback.complaint == complaint.id, Callback.state == "due"):
        apply(actor, callback.id, action, note=note, moves_complaint=False)


def set_window(actor, customer, text):
    """The time the customer agreed to be called; open callbacks move into it."""
    window = TimeRanges(text)  # InvalidSetting with the user's message
    with write_transaction():
        before = customer.snapshot()
        customer.callback_window = str(window) or None
        customer.save()
        audit.record_change(actor, customer, before)
        for callback in Callback.select().where(Callback.customer == customer, Callback.state == "due"):
            Callback.update({Callback.next_at: next_allowed(max(callback.next_at, utcnow()), window),
                             Callback.version: Callback.version + 1}).where(Callback.id == callback.id).execute()
    return customer


# Figures

def callback_stats(start_utc, end_utc, reason=None):
    """Of the callbacks due in [start, end): how many, done, done on time, satisfied, and
    the pass rate (satisfied ÷ done, in %, one decimal; None when none was done)."""
    return callback_stats_by_reason(start_utc, end_utc, reasons=[reason] if reason else None)[reason]


def callback_stats_by_reason(start_utc, end_utc, reasons=None):
    """callback_stats for all callbacks (key None) and for each reason, in one grouped query."""
    done = Callback.outcome.in_(DONE)
    counts = (Callback.select(Callback.reason, fn.COUNT(Callback.id),
                              fn.SUM(Case(None, [(done, 1)], 0)),
                              fn.SUM(Case(None, [(done & (Callback.done_at <= Callback.deadline_at), 1)], 0)),
                              fn.SUM(Case(None, [(Callback.outcome == "satisfied", 1)], 0)))
              .where(Callback.due_at >= start_utc, Callback.due_at < end_utc, Callback.voided_at.is_null())
              .group_by(Callback.reason))
    if reasons:
        counts = counts.where(Callback.reason.in_(reasons))
    rows = {reason: [int(n or 0) for n in numbers] for reason, *numbers in counts.tuples()}
    total = [sum(column) for column in zip(*rows.values())] if rows else [0, 0, 0, 0]

    def figures(due, done_, on_time, satisfied):
        return {"due": due, "done": done_, "on_time": on_time, "satisfied": satisfied,
                "pass_rate": round(satisfied * 100 / done_, 1) if done_ else None}
    result = {reason: figures(*numbers) for reason, numbers in rows.items()}
    for reason in reasons or REASONS:
        result.setdefault(reason, figures(0, 0, 0, 0))
    result[None] = figures(*total)
    return result


def today_figures(now=None):
    """For the wall board: today's callbacks (still open for today, or done today) and how many are done."""
    start, tomorrow = _day_bounds(now)
    done = Callback.select().where(Callback.done_at >= start, Callback.done_at < tomorrow).count()
    open_today = Callback.select().where(Callback.state == "due", Callback.next_at < tomorrow).count()
    return {"due": open_today + done, "done": done}


