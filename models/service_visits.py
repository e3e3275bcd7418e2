"""After-sales repair and maintenance visits (上门维修保养台帐): request → appointment →
work done → the customer's confirmation → closed; a callback follows like after a complaint.

The states and every allowed step live in TRANSITIONS; apply() is the one function that
moves a visit. The repair quality pass rate (seed 002: above 98 %) counts the visits the
customer confirmed good the first time among those confirmed at all."""

from flask_babel import lazy_gettext as _l
from peewee import JOIN, CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from models import audit, callbacks, settings
from models.base import BaseModel, DomainError, Transition, VersionedModel, VoidableModel, utcnow, write_transaction
from models.callbacks import Callback, Sale
from models.complaints import Complaint, Customer
from models.numbering import next_number
from models.phones import normalise_phone
from models.users import User

audit.name_record_type("service_visit", _l("Repair or maintenance visit"))
callbacks.REASONS["repair"] = _l("After a repair visit")

SERVICE_VISITS = _l("Repair and maintenance visits")
PASS_TARGET = settings.define(
    "repair_pass_target", int, 98, _l("Repair quality pass rate target (%)"), SERVICE_VISITS, minimum=1, maximum=100)
#: Open visits shown on the page; the month's ledger holds the rest.
OPEN_SHOWN = 100

KINDS = {"repair": _l("Repair"), "maintenance": _l("Maintenance")}
STATES = {
    "requested": _l("Requested"),
    "scheduled": _l("Appointment made"),
    "done": _l("Work done, awaiting the customer"),
    "reopened": _l("Not good: to be done again"),
    "confirmed": _l("Confirmed good by the customer"),
    "closed": _l("Closed"),
    "voided": _l("Voided"),
}
OPEN_STATES = ("requested", "scheduled", "done", "reopened", "confirmed")
WORKERS = frozenset({"front_desk", "specialist", "service_manager", "admin"})
MANAGERS = frozenset({"service_manager", "admin"})


class ServiceVisitError(DomainError):
    """A refused step; the message is for the user, `field` the form field it concerns."""


TRANSITIONS = {
    "schedule": Transition(_l("Make the appointment"), ("requested", "reopened", "scheduled"), "scheduled", WORKERS),
    "record_work": Transition(_l("Record the work done"), ("scheduled",), "done", WORKERS),
    "confirm_good": Transition(_l("Customer confirms: good"), ("done",), "confirmed", WORKERS),
    "confirm_not_good": Transition(_l("Customer says: not good (reopen)"), ("done",), "reopened", WORKERS),
    "close": Transition(_l("Close"), ("confirmed",), "closed", WORKERS),
    "void": Transition(_l("Void"), OPEN_STATES, "voided", MANAGERS),
}


class ServiceVisit(VoidableModel, VersionedModel):
    number = CharField(max_length=20, unique=True)
    customer = ForeignKeyField(Customer, backref="service_visits", on_delete="RESTRICT")
    complaint = ForeignKeyField(Complaint, null=True, backref="service_visits", on_delete="RESTRICT")
    sale = ForeignKeyField(Sale, null=True, backref="service_visits", on_delete="RESTRICT")
    kind = CharField(max_length=12, default="repair")
    product = CharField(max_length=120)
    problem = TextField()
    requested_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    state = CharField(max_length=12, default="requested", index=True)
    appointment_at = DateTimeField(null=True)
    # Often the vendor's own technician, not a member of staff: the name as given.
    technician = CharField(max_length=80, default="")
    parts = TextField(default="")
    result = TextField(default="")
    done_at = DateTimeField(null=True)
    rounds = IntegerField(default=0)  # times the work was done (a "not good" sends it round again)
    # The first confirmation decides the pass rate; the latest closes the visit.
    first_confirmation = CharField(max_length=10, default="")  # "", good, not_good
    first_confirmed_at = DateTimeField(null=True, index=True)
    confirmed_at = DateTimeField(null=True)
    confirmation_note = TextField(default="")
    closed_at = DateTimeField(null=True)

    @property
    def first_time_good(self):
        return self.first_confirmation == "good"

    def events(self):
        return (ServiceVisitEvent.select(ServiceVisitEvent, User).join(User)
                .where(ServiceVisitEvent.visit == self).order_by(ServiceVisitEvent.at, ServiceVisitEvent.id))

    def actions_for(self, user):
        return [(name, t) for name, t in TRANSITIONS.items() if refusal(self, name, user) is None]


class ServiceVisitEvent(BaseModel):
    """One step of a visit: who, when, what was noted."""
    visit = ForeignKeyField(ServiceVisit, backref="timeline", on_delete="CASCADE")
    at = DateTimeField(default=utcnow)
    actor = ForeignKeyField(User, on_delete="RESTRICT", backref="+")
    action = CharField(max_length=20)
    from_state = CharField(max_length=12, default="")
    to_state = CharField(max_length=12)
    note = TextField(default="")


def _customer_by_phone(phone):
    customer = Customer.get_or_none(Customer.phone == normalise_phone(phone or ""))
    if customer is None:
        raise ServiceVisitError(_l("No customer with this phone number: take them in as a customer first."),
                                field="phone")
    return customer


def create(actor, *, phone, kind, product, problem, complaint_number=""):
    """A customer's request for a repair or maintenance visit."""
    if kind not in KINDS:
        raise ServiceVisitError(_l("Choose repair or maintenance."), field="kind")
    if not (product or "").strip():
        raise ServiceVisitError(_l("Name the product."), field="product")
    if not (problem or "").strip():
        raise ServiceVisitError(_l("Describe what is to be done."), field="problem")
    with write_transaction():
        customer = _customer_by_phone(phone)
        complaint = None
        if (complaint_number or "").strip():
            complaint = Complaint.get_or_none(Complaint.number == complaint_number.strip().upper(),
                                              Complaint.customer == customer.id)
            if complaint is None:
                raise ServiceVisitError(_l("That complaint is not this customer's."), field="complaint")
        sale = (Sale.select().where(Sale.customer == customer.id, Sale.product == product.strip())
                .order_by(Sale.sale_date.desc()).first())
        visit = ServiceVisit.create(number=next_number("WX"), customer=customer, complaint=complaint, sale=sale,
                                    kind=kind, product=product.strip(), problem=problem.strip(),
                                    requested_by=actor)
        ServiceVisitEvent.create(visit=visit, actor=actor, action="request", to_state="requested",
                                 at=visit.created_at)
        audit.record_create(actor, visit)
    return visit


def refusal(visit, action, user):
    """Why this user may not take this step now, or None."""
    transition = TRANSITIONS.get(action)
    if transition is None:
        return _l("Unknown action.")
    if action == "close" and visit.state in ("done", "scheduled", "requested", "reopened"):
        return _l("The customer has not confirmed the work: a visit cannot be closed without the confirmation.")
    if visit.state not in transition.sources:
        return _l("This cannot be done to a visit that is “%(state)s”.", state=STATES[visit.state])
    if not set(user.roles) & transition.roles:
        return _l("Your role may not do this.")
    return None


def apply(visit_id, action, actor, version, *, note="", appointment_at=None, technician="", parts="", result=""):
    """Take one step: check it, stamp who and when, write the event and the audit entry."""
    note = (note or "").strip()
    with write_transaction():
        visit = ServiceVisit.load(visit_id, version)
        reason = refusal(visit, action, actor)
        if reason:
            raise ServiceVisitError(reason)
        transition = TRANSITIONS[action]
        now = utcnow()
        values = {ServiceVisit.state: transition.target}
        if action == "schedule":
            if appointment_at is None:
                raise ServiceVisitError(_l("Enter the date and time of the appointment."), field="appointment_at")
            if not (technician or "").strip():
                raise ServiceVisitError(_l("Name the technician."), field="technician")
            values.update({ServiceVisit.appointment_at: appointment_at,
                           ServiceVisit.technician: technician.strip()})
            note = note or technician.strip()
        elif action == "record_work":
            if not (result or "").strip():
                raise ServiceVisitError(_l("Write down what was done and the result."), field="result")
            values.update({ServiceVisit.parts: (parts or "").strip(), ServiceVisit.result: result.strip(),
                           ServiceVisit.done_at: now, ServiceVisit.rounds: ServiceVisit.rounds + 1})
        elif action in ("confirm_good", "confirm_not_good"):
            if action == "confirm_not_good" and not note:
                raise ServiceVisitError(_l("Write down what the customer is not satisfied with."), field="note")
            if not visit.first_confirmation:
                values.update({ServiceVisit.first_confirmation: "good" if action == "confirm_good" else "not_good",
                               ServiceVisit.first_confirmed_at: now})
            values.update({ServiceVisit.confirmation_note: note})
            if action == "confirm_good":
                values[ServiceVisit.confirmed_at] = now
        elif action == "close":
            values[ServiceVisit.closed_at] = now
        elif action == "void":
            if not note:
                raise ServiceVisitError(_l("Give the reason."), field="note")
            values.update({ServiceVisit.voided_at: now, ServiceVisit.void_reason: note})
        before = visit.snapshot()
        updated = visit.update_versioned(version, values)
        ServiceVisitEvent.create(visit=visit, at=now, actor=actor, action=action, from_state=visit.state,
                                 to_state=transition.target, note=note)
        audit.record_change(actor, updated, before)
    return updated


def listing():
    return (ServiceVisit.select(ServiceVisit, Customer, Complaint)
            .join(Customer, on=(ServiceVisit.customer == Customer.id))
            .switch(ServiceVisit).join(Complaint, JOIN.LEFT_OUTER, on=(ServiceVisit.complaint == Complaint.id)))


def open_visits(limit=OPEN_SHOWN):
    """The visits still to be finished, the appointment soonest first."""
    return list(listing().where(ServiceVisit.state.in_(OPEN_STATES))
                .order_by(ServiceVisit.appointment_at.is_null(), ServiceVisit.appointment_at, ServiceVisit.id)
                .limit(limit))


def ledger(start_utc, end_utc):
    """The ledger (台帐) of the visits requested in [start, end), voided ones left out."""
    return (listing().where(ServiceVisit.created_at >= start_utc, ServiceVisit.created_at < end_utc,
                            ServiceVisit.voided_at.is_null())
            .order_by(ServiceVisit.created_at, ServiceVisit.id))


def pass_rate(start_utc, end_utc):
    """Of the visits first confirmed in [start, end): how many, how many good the first
    time, and the rate in % (one decimal; None when none was confirmed)."""
    confirmed = ServiceVisit.select().where(ServiceVisit.first_confirmed_at >= start_utc,
                                            ServiceVisit.first_confirmed_at < end_utc,
                                            ServiceVisit.voided_at.is_null())
    total = confirmed.count()
    good = confirmed.where(ServiceVisit.first_confirmation == "good").count()
    return {"confirmed": total, "good": good, "rate": round(good * 100 / total, 1) if total else None,
            "target": settings.get(PASS_TARGET)}


def schedule_callbacks(now=None):
    """A callback for each visit the customer confirmed good that has none yet, due from the
    confirmation like a complaint's after the customer is informed (quiet hours, the agreed time)."""
    now = now or utcnow()
    rows = (ServiceVisit.select(ServiceVisit, Customer).join(Customer, on=(ServiceVisit.customer == Customer.id))
            .switch(ServiceVisit).join(Callback, JOIN.LEFT_OUTER, on=(Callback.service_visit == ServiceVisit.id))
            .where(ServiceVisit.state.in_(("confirmed", "closed")), ServiceVisit.confirmed_at.is_null(False),
                   Callback.id.is_null()))
    made = 0
    for visit in rows:
        with write_transaction():
            # Not linked to the visit's complaint: that complaint's own callback moves it.
            if callbacks._create(visit.customer, "repair", visit.confirmed_at, now, service_visit=visit):
                made += 1
    return made

