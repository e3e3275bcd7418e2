"""Home visits (上门拜访): planned from customers with a recent complaint or purchase,
then recorded (who went, when, what was found, satisfaction, follow-up) and closed when
the follow-up is done. Seed 002 asks for at least 5 a month: the month's count is on the
callback figures and the board, and a sweep reminds the service managers once in the last
week of a month that is short."""
import datetime as dt

from flask_babel import lazy_gettext as _l
from peewee import (
    JOIN, CharField, DateField, DateTimeField, ForeignKeyField, IntegerField, IntegrityError, TextField, fn,
)

from models import audit, settings
from models.base import BaseModel, DomainError, Transition, VersionedModel, VoidableModel, db, utcnow, write_transaction
from models.callbacks import Sale
from models.complaints import Complaint, Customer
from models.notifications import N_, notify
from models.numbering import next_number
from models.phones import normalise_phone
from models.reports import Period
from models.timezone import day_start_utc, local_now, to_local
from models.users import User

audit.name_record_type("home_visit", _l("Home visit"))
audit.ACTION_LABELS.update({"home_visit_reminder": _l("Home visits short: managers reminded")})

HOME_VISITS = _l("Home visits")
MONTHLY_MINIMUM = settings.define(
    "home_visit_monthly_minimum", int, 5, _l("Home visits a month, at least"), HOME_VISITS, minimum=0, maximum=1000)
PLAN_DAYS = settings.define(
    "home_visit_plan_days", int, 30, _l("Plan visits to customers with a complaint or purchase in the last (days)"),
    HOME_VISITS, minimum=1, maximum=365)
REMIND_DAYS = settings.define(
    "home_visit_remind_days", int, 7, _l("Remind the manager this many days before a short month ends"),
    HOME_VISITS, minimum=1, maximum=28)
PLANNING_SHOWN = 50
MONTH_SHOWN = 500  # a month's visits: far beyond the 5 asked for, a cap all the same

SATISFACTION = {"satisfied": _l("Satisfied"), "fair": _l("Fair"), "unsatisfied": _l("Not satisfied")}
STATES = {"planned": _l("Planned"), "visited": _l("Visited, follow-up open"), "closed": _l("Closed"),
          "voided": _l("Voided")}
OPEN_STATES = ("planned", "visited")
DONE_STATES = ("visited", "closed")
WORKERS = frozenset({"specialist", "service_manager", "admin"})
MANAGERS = frozenset({"service_manager", "admin"})


class HomeVisitError(DomainError):
    """A refused step; the message is for the user, `field` the form field it concerns."""


TRANSITIONS = {
    "record": Transition(_l("Record the visit"), ("planned",), "visited", WORKERS),
    "close": Transition(_l("Follow-up done: close"), ("visited",), "closed", WORKERS),
    "void": Transition(_l("Void"), OPEN_STATES, "voided", MANAGERS),
}


class HomeVisit(VoidableModel, VersionedModel):
    number = CharField(max_length=20, unique=True)
    customer = ForeignKeyField(Customer, backref="home_visits", on_delete="RESTRICT")
    complaint = ForeignKeyField(Complaint, null=True, backref="home_visits", on_delete="RESTRICT")
    sale = ForeignKeyField(Sale, null=True, backref="home_visits", on_delete="RESTRICT")
    planned_for = DateField()
    purpose = TextField(default="")
    planned_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    state = CharField(max_length=10, default="planned", index=True)
    visited_at = DateTimeField(null=True, index=True)
    visited_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    companions = CharField(max_length=120, default="")
    findings = TextField(default="")
    satisfaction = CharField(max_length=12, default="")
    follow_up = TextField(default="")
    follow_up_result = TextField(default="")
    closed_at = DateTimeField(null=True)

    @property
    def satisfaction_label(self):
        return SATISFACTION.get(self.satisfaction, "")

    def actions_for(self, user):
        return [(name, t) for name, t in TRANSITIONS.items() if refusal(self, name, user) is None]


class HomeVisitReminder(BaseModel):
    """The month-end reminder, once per month: the unique month is the sweep's mark."""
    month = CharField(max_length=7, unique=True)
    sent_at = DateTimeField(default=utcnow)
    count = IntegerField(default=0)  # the month's visits when the reminder went out


def plan(actor, *, phone, planned_for, purpose="", complaint_id=None, sale_id=None):
    """Plan a visit to a customer (found by phone), for one of their complaints or purchases."""
    if planned_for is None:
        raise HomeVisitError(_l("Enter the day of the visit."), field="planned_for")
    with write_transaction():
        customer = Customer.get_or_none(Customer.phone == normalise_phone(phone or ""))
        if customer is None:
            raise HomeVisitError(_l("No customer with this phone number: take them in as a customer first."),
                                 field="phone")
        if complaint_id and not Complaint.select().where(Complaint.id == complaint_id,
                                                         Complaint.customer == customer.id).exists():
            raise HomeVisitError(_l("That complaint is not this customer's."), field="phone")
        if sale_id and not Sale.select().where(Sale.id == sale_id, Sale.customer == customer.id).exists():
            raise HomeVisitError(_l("That purchase is not this customer's."), field="phone")
        visit = HomeVisit.create(number=next_number("BF"), customer=customer, complaint=complaint_id or None,
                                 sale=sale_id or None, planned_for=planned_for, purpose=(purpose or "").strip(),
                                 planned_by=actor)
        audit.record_create(actor, visit)
    return visit


def refusal(visit, action, user):
    transition = TRANSITIONS.get(action)
    if transition is None:
        return _l("Unknown action.")
    if visit.state not in transition.sources:
        return _l("This cannot be done to a visit that is “%(state)s”.", state=STATES[visit.state])
    if not set(user.roles) & transition.roles:
        return _l("Your role may not do this.")
    return None


def apply(visit_id, action, actor, version, *, visited_at=None, visited_by_id=None, companions="", findings="",
          satisfaction="", follow_up="", note=""):
    """Take one step: checked, stamped, audited."""
    with write_transaction():
        visit = HomeVisit.load(visit_id, version)
        reason = refusal(visit, action, actor)
        if reason:
            raise HomeVisitError(reason)
        now = utcnow()
        values = {HomeVisit.state: TRANSITIONS[action].target}
        note = (note or "").strip()
        if action == "record":
            if visited_at is None:
                raise HomeVisitError(_l("Enter when the visit was made."), field="visited_at")
            if visited_at > now:
                raise HomeVisitError(_l("A visit is recorded after it was made: the time is in the future."),
                                     field="visited_at")
            person = User.get_or_none(User.id == visited_by_id, User.is_active == True)  # noqa: E712
            if person is None:
                raise HomeVisitError(_l("Choose who went."), field="visited_by")
            if not (findings or "").strip():
                raise HomeVisitError(_l("Write down what was found."), field="findings")
            if satisfaction not in SATISFACTION:
                raise HomeVisitError(_l("Choose how satisfied the customer is."), field="satisfaction")
            values.update({HomeVisit.visited_at: visited_at, HomeVisit.visited_by: person,
                           HomeVisit.companions: (companions or "").strip(), HomeVisit.findings: findings.strip(),
                           HomeVisit.satisfaction: satisfaction, HomeVisit.follow_up: (follow_up or "").strip()})
            if not (follow_up or "").strip():
                values[HomeVisit.state] = "closed"  # nothing to follow up: the visit is complete
                values[HomeVisit.closed_at] = now
        elif action == "close":
            if not note:
                raise HomeVisitError(_l("Write down what the follow-up did."), field="note")
            values.update({HomeVisit.follow_up_result: note, HomeVisit.closed_at: now})
        elif action == "void":
            if not note:
                raise HomeVisitError(_l("Give the reason."), field="note")
            values.update({HomeVisit.voided_at: now, HomeVisit.void_reason: note})
        before = visit.snapshot()
        updated = visit.update_versioned(version, values)
        audit.record_change(actor, updated, before)
    return updated


def listing():
    return (HomeVisit.select(HomeVisit, Customer, User)
            .join(Customer, on=(HomeVisit.customer == Customer.id))
            .switch(HomeVisit).join(User, JOIN.LEFT_OUTER, on=(HomeVisit.visited_by == User.id)))


def month_visits(period):
    """The visits made in the month (the form's rows), in the order they were made."""
    start, end = period.utc_range()
    return list(listing().where(HomeVisit.visited_at >= start, HomeVisit.visited_at < end,
                                HomeVisit.state.in_(DONE_STATES))
                .order_by(HomeVisit.visited_at, HomeVisit.id).limit(MONTH_SHOWN))


def planned():
    return list(listing().where(HomeVisit.state == "planned").order_by(HomeVisit.planned_for, HomeVisit.id)
                .limit(PLANNING_SHOWN))


def month_count(period):
    """{"count", "minimum", "met"} of a month (a Period)."""
    start, end = period.utc_range()
    count = HomeVisit.select().where(HomeVisit.visited_at >= start, HomeVisit.visited_at < end,
                                     HomeVisit.state.in_(DONE_STATES)).count()
    minimum = settings.get(MONTHLY_MINIMUM)
    return {"count": count, "minimum": minimum, "met": count >= minimum}


def this_month():
    return month_count(Period.containing("month", local_now().date()))


def candidates(now=None, limit=PLANNING_SHOWN):
    """Customers with a complaint or a purchase in the last PLAN_DAYS and no visit (planned or
    made) since then: [(customer, latest complaint or None, latest sale or None)], newest first."""
    now = now or utcnow()
    days = settings.get(PLAN_DAYS)
    since = now - dt.timedelta(days=days)
    since_day = local_now().date() - dt.timedelta(days=days)
    last_complaint = (Complaint.select(Complaint.customer, fn.MAX(Complaint.id).alias("complaint_id"),
                                       fn.MAX(Complaint.created_at).alias("at"))
                      .where(Complaint.created_at >= since, Complaint.voided_at.is_null())
                      .group_by(Complaint.customer).alias("lc"))
    last_sale = (Sale.select(Sale.customer, fn.MAX(Sale.id).alias("sale_id"), fn.MAX(Sale.sale_date).alias("day"))
                 .where(Sale.sale_date >= since_day).group_by(Sale.customer).alias("ls"))
    visited = HomeVisit.select(HomeVisit.customer).where(HomeVisit.voided_at.is_null(),
                                                         (HomeVisit.created_at >= since)
                                                         | (HomeVisit.visited_at >= since))
    rows = (Customer.select(Customer, last_complaint.c.complaint_id, last_sale.c.sale_id)
            .join(last_complaint, JOIN.LEFT_OUTER, on=(last_complaint.c.customer_id == Customer.id))
            .switch(Customer).join(last_sale, JOIN.LEFT_OUTER, on=(last_sale.c.customer_id == Customer.id))
            .where((last_complaint.c.complaint_id.is_null(False) | last_sale.c.sale_id.is_null(False)),
                   Customer.id.not_in(visited))
            .order_by(Customer.is_vip.desc(), fn.COALESCE(last_complaint.c.at, day_start_utc(since_day)).desc(),
                      Customer.id)
            .limit(limit).objects())
    rows = list(rows)
    complaints = {c.id: c for c in Complaint.select().where(Complaint.id.in_([r.complaint_id for r in rows
                                                                                if r.complaint_id]))}
    sales = {s.id: s for s in Sale.select().where(Sale.id.in_([r.sale_id for r in rows if r.sale_id]))}
    return [(r, complaints.get(r.complaint_id), sales.get(r.sale_id)) for r in rows]


REMINDER = N_("Only %(count)s home visits this month (%(month)s), at least %(minimum)s are asked for.")


def remind_short_month(now=None):
    """In the last days of a month that is short of its home visits, tell the service managers,
    once: the month's mark and the messages commit together; a rerun sends nothing."""
    now = now or utcnow()
    today = to_local(now).date()
    period = Period.containing("month", today)
    if today < period.last_day - dt.timedelta(days=settings.get(REMIND_DAYS) - 1):
        return 0
    figures = month_count(period)
    if figures["met"] or HomeVisitReminder.select().where(HomeVisitReminder.month == period.key).exists():
        return 0
    with write_transaction():
        try:
            with db.atomic():
                mark = HomeVisitReminder.create(month=period.key, sent_at=now, count=figures["count"])
        except IntegrityError:
            return 0  # another sweep marked it first
        for manager in User.active_with_role("service_manager"):
            notify(manager, REMINDER, ("home_visits.index", {}), count=figures["count"], month=period.key,
                   minimum=figures["minimum"])
        audit.record_event(None, "home_visit_reminder", mark, changes={"count": [None, figures["count"]]})
    return 1
