"""Complaints (投诉): customers, the complaint record, and its timeline.

The states and every allowed transition live in TRANSITIONS; apply() is the one
function that moves a complaint, so who-may-do-what is decided in one place."""
import datetime as dt
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from peewee import JOIN, BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from models import audit, settings
from models.base import BaseModel, VoidableModel, utcnow, write_transaction
from models.notifications import N_, notify
from models.numbering import next_number
from models.phones import normalise_phone
from models.users import Department, User

CHANNELS = {
    "visit": _l("Visit"), "phone": _l("Phone"), "fax": _l("Fax"), "letter": _l("Letter"),
    "email": _l("E-mail"), "online": _l("Online"),
}
SEVERITIES = {"general": _l("General"), "major": _l("Major")}
#: Labels of the default categories; categories an admin adds show as typed.
CATEGORY_LABELS = {
    "product quality": _l("Product quality"), "service attitude": _l("Service attitude"),
    "delivery": _l("Delivery"), "billing": _l("Billing"), "facilities": _l("Facilities"),
    "staff": _l("Staff"), "other": _l("Other"),
}
STAFF_CATEGORY = "staff"

COMPLAINTS = _l("Complaints")
CATEGORIES = settings.define(
    "complaint_categories", str, ", ".join(CATEGORY_LABELS), _l("Complaint categories (comma-separated)"),
    COMPLAINTS)
SIMILAR_DAYS = settings.define(
    "complaint_similar_days", int, 90, _l("Similar complaints: look back this many days"), COMPLAINTS,
    minimum=1, maximum=3650)

REPLY_HOURS = settings.define(
    "complaint_reply_hours", int, 24, _l("Reply to the customer within (hours)"), COMPLAINTS, minimum=1, maximum=720)
HANDLE_HOURS = settings.define(
    "complaint_handle_hours", int, 24, _l("General complaints handled within (hours)"), COMPLAINTS,
    minimum=1, maximum=720)
PLAN_HOURS = settings.define(
    "complaint_plan_hours", int, 72, _l("Major complaints: solution within (hours)"), COMPLAINTS,
    minimum=1, maximum=720)
VIP_REPLY_HOURS = settings.define(
    "complaint_vip_reply_hours", int, 4, _l("VIP customers: reply within (hours)"), COMPLAINTS,
    minimum=1, maximum=720)
VIP_HANDLE_HOURS = settings.define(
    "complaint_vip_handle_hours", int, 12, _l("VIP customers: handled within (hours)"), COMPLAINTS,
    minimum=1, maximum=720)
MANAGER_AFTER_HOURS = settings.define(
    "complaint_manager_after_hours", int, 24,
    _l("Overdue complaints go to the service manager this many hours after the department head"), COMPLAINTS,
    minimum=1, maximum=720)

STATES = {
    "received": _l("Newly received"),
    "acknowledged": _l("Acknowledged"),
    "assigned": _l("Assigned"),
    "handled": _l("Handled by the department"),
    "result_reported": _l("Result reported"),
    "customer_informed": _l("Customer informed"),
    "callback": _l("Callback satisfied"),
    "reopened": _l("Reopened"),
    "closed": _l("Closed"),
    "voided": _l("Voided"),
}
OPEN_STATES = tuple(s for s in STATES if s not in ("closed", "voided"))
#: Until the department has handled it, a complaint runs against its handling deadline.
BEFORE_HANDLED = ("received", "acknowledged", "assigned", "reopened")

FRONT_OFFICE = frozenset({"specialist", "service_manager", "admin"})
MANAGERS = frozenset({"service_manager", "admin"})
#: Who acts for the responsible department: its own staff, and the managers.
DEPARTMENT = "department"


@dataclass(frozen=True)
class Transition:
    label: object
    sources: tuple
    target: str
    roles: frozenset  # or DEPARTMENT
    note_required: bool = False
    note_label: object = None


TRANSITIONS = {
    "acknowledge": Transition(_l("Acknowledge"), ("received",), "acknowledged", FRONT_OFFICE,
                              note_label=_l("Apology and promise given to the customer")),
    "assign": Transition(_l("Assign to department"), ("acknowledged", "reopened"), "assigned", FRONT_OFFICE,
                         note_label=_l("Joint discussion (complex cases)")),
    "handle": Transition(_l("Record handling"), ("assigned",), "handled", DEPARTMENT, True,
                         _l("Actions taken")),
    "report": Transition(_l("Report result"), ("handled",), "result_reported", DEPARTMENT, True,
                         _l("Result")),
    "inform": Transition(_l("Customer informed"), ("result_reported",), "customer_informed", FRONT_OFFICE,
                         note_label=_l("What the customer was told")),
    "satisfied": Transition(_l("Callback: satisfied"), ("customer_informed",), "callback", FRONT_OFFICE,
                            note_label=_l("Customer's words")),
    "unsatisfied": Transition(_l("Callback: not satisfied (reopen)"), ("customer_informed",), "reopened",
                              FRONT_OFFICE, True, _l("What the customer is not satisfied with")),
    "close": Transition(_l("Close"), ("callback",), "closed", FRONT_OFFICE),
    "void": Transition(_l("Void"), OPEN_STATES, "voided", MANAGERS, True, _l("Reason")),
}


#: Called as listener(complaint, action, actor, note) after each transition; other areas
#: (callbacks) subscribe here rather than this module knowing about them.
AFTER_TRANSITION = []


class TransitionError(Exception):
    """A refused transition; the message is for the user."""


class Customer(BaseModel):
    name = CharField(max_length=80)
    phone = CharField(max_length=30, unique=True)
    address = CharField(max_length=200, default="")
    organisation = CharField(max_length=120, default="")
    is_vip = BooleanField(default=False)
    created_at = DateTimeField(default=utcnow)
    # When the customer agreed to be called back, e.g. "09:00-11:00, 19:00-20:00"
    # (local time; see models.callbacks.TimeRanges). Empty: any time outside quiet hours.
    callback_window = CharField(max_length=100, null=True)

    def __str__(self):
        return self.name


class Complaint(VoidableModel):
    number = CharField(max_length=20, unique=True)
    customer = ForeignKeyField(Customer, backref="complaints", on_delete="RESTRICT")
    channel = CharField(max_length=10)
    category = CharField(max_length=40, index=True)
    severity = CharField(max_length=10, default="general")
    content = TextField()
    staff_person = CharField(max_length=80, default="")
    department = ForeignKeyField(Department, null=True, on_delete="RESTRICT")
    state = CharField(max_length=20, default="received", index=True)
    # Optimistic concurrency: every transition names the version it saw.
    version = IntegerField(default=1)
    # The front desk's logged call this came from; a plain id until that area is merged.
    call_id = IntegerField(null=True)
    received_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    root_cause = TextField(default="")
    improvement = TextField(default="")
    updated_at = DateTimeField(default=utcnow)
    reply_due_at = DateTimeField(null=True)
    handle_due_at = DateTimeField(null=True, index=True)
    # Each escalation happens once: the sweep stamps it here.
    escalated_head_at = DateTimeField(null=True)
    escalated_manager_at = DateTimeField(null=True)

    @property
    def due_at(self):
        """The deadline the complaint runs against in its present state, if any."""
        if self.state == "received":
            return min(self.reply_due_at, self.handle_due_at)
        if self.state in BEFORE_HANDLED:
            return self.handle_due_at
        return None

    def is_overdue(self, now=None):
        due = self.due_at
        return due is not None and (now or utcnow()) > due

    @property
    def is_vip(self):
        return self.customer.is_vip

    @property
    def is_major(self):
        return self.severity == "major"

    def events(self):
        return (ComplaintEvent.select(ComplaintEvent, User).join(User, on=ComplaintEvent.actor == User.id)
                .where(ComplaintEvent.complaint == self).order_by(ComplaintEvent.at, ComplaintEvent.id))

    def similar(self):
        """Same customer or same category within the look-back window, newest first."""
        since = utcnow() - dt.timedelta(days=settings.get(SIMILAR_DAYS))
        return (Complaint.select(Complaint, Customer).join(Customer)
                .where(Complaint.id != self.id, Complaint.created_at >= since,
                       (Complaint.customer == self.customer_id) | (Complaint.category == self.category))
                .order_by(Complaint.created_at.desc()))

    def actions_for(self, user):
        """The transitions this user may apply now, in table order."""
        return [(name, t) for name, t in TRANSITIONS.items() if refusal(self, name, user) is None]


class ComplaintEvent(BaseModel):
    complaint = ForeignKeyField(Complaint, backref="timeline", on_delete="CASCADE")
    at = DateTimeField(default=utcnow)
    actor = ForeignKeyField(User, on_delete="RESTRICT")
    action = CharField(max_length=20)
    from_state = CharField(max_length=20, default="")
    to_state = CharField(max_length=20)
    note = TextField(default="")


def categories():
    return [c.strip() for c in settings.get(CATEGORIES).split(",") if c.strip()]


def category_label(key):
    return CATEGORY_LABELS.get(key, key)


def listing(state=None, category=None, department_id=None, q=None):
    """VIP first, then major, then oldest first: the most urgent at the top."""
    query = (Complaint.select(Complaint, Customer, Department).join(Customer)
             .switch(Complaint).join(Department, JOIN.LEFT_OUTER)
             .order_by(Customer.is_vip.desc(), (Complaint.severity == "major").desc(), Complaint.created_at))
    if state == "open":
        query = query.where(Complaint.state.in_(OPEN_STATES))
    elif state in STATES:
        query = query.where(Complaint.state == state)
    if category:
        query = query.where(Complaint.category == category)
    if department_id:
        query = query.where(Complaint.department == department_id)
    if q:
        like = f"%{q}%"
        query = query.where(Complaint.number ** like | Customer.name ** like | Customer.phone ** like)
    return query


def staff_register():
    return listing().where(Complaint.category == STAFF_CATEGORY)


def find_or_create_customer(actor, name, phone, address="", organisation="", is_vip=False):
    """The customer with this phone number (details updated), or a new one."""
    phone = normalise_phone(phone)
    customer = Customer.get_or_none(Customer.phone == phone)
    if customer is None:
        customer = Customer.create(name=name, phone=phone, address=address, organisation=organisation,
                                   is_vip=is_vip)
        audit.record_create(actor, customer)
        return customer
    before = customer.snapshot()
    customer.name = name
    customer.address = address or customer.address
    customer.organisation = organisation or customer.organisation
    customer.is_vip = customer.is_vip or is_vip
    customer.save()
    audit.record_change(actor, customer, before)
    return customer


def create(actor, *, name, phone, content, channel, category, severity, address="", organisation="",
           is_vip=False, staff_person="", call_id=None):
    """Take in a complaint; a major one tells every service manager at once."""
    with write_transaction():
        customer = find_or_create_customer(actor, name, phone, address, organisation, is_vip)
        reply_due, handle_due = deadlines(utcnow(), customer.is_vip, severity == "major")
        complaint = Complaint.create(
            reply_due_at=reply_due, handle_due_at=handle_due, number=next_number("TS"), customer=customer, channel=channel, category=category,
            severity=severity, content=content, staff_person=staff_person if category == STAFF_CATEGORY else "",
            call_id=call_id, received_by=actor)
        audit.record_create(actor, complaint)
        ComplaintEvent.create(complaint=complaint, actor=actor, action="receive", to_state="received")
        if complaint.is_major:
            for manager in User.active_with_role("service_manager"):
                notify(manager, N_("Major complaint %(number)s from %(customer)s"),
                       f"/complaints/{complaint.id}", number=complaint.number, customer=customer.name)
    return complaint


def deadlines(start, is_vip, is_major):
    """(reply due, handled due) for a complaint taken in at `start`; VIP ones are shorter."""
    if is_vip:
        reply, handle = settings.get(VIP_REPLY_HOURS), settings.get(VIP_HANDLE_HOURS)
    else:
        reply = settings.get(REPLY_HOURS)
        handle = settings.get(PLAN_HOURS if is_major else HANDLE_HOURS)
    return start + dt.timedelta(hours=reply), start + dt.timedelta(hours=handle)


def escalate_overdue(now=None):
    """Overdue complaints go to the department head, later to the service managers.

    Each step is claimed by a conditional update, so a repeated or concurrent sweep,
    or one catching up after the consumer was down, sends each escalation once."""
    now = now or utcnow()
    late = (Complaint.select(Complaint, Customer).join(Customer)
            .where(Complaint.state.in_(BEFORE_HANDLED), Complaint.handle_due_at.is_null(False)))
    sent = 0
    for complaint in late:
        if not complaint.is_overdue(now):
            continue
        url = f"/complaints/{complaint.id}"
        with write_transaction():
            if complaint.escalated_head_at is None and _claim(complaint, Complaint.escalated_head_at, now):
                heads = [u for u in User.active_with_role("dept_head")
                         if complaint.department_id and u.department_id == complaint.department_id]
                for head in heads:
                    notify(head, N_("Complaint %(number)s is overdue"), url, number=complaint.number)
                audit.record_event(None, "escalate_head", complaint)
                complaint.escalated_head_at = now
                sent += 1
            manager_due = (complaint.escalated_head_at or now) + dt.timedelta(
                hours=settings.get(MANAGER_AFTER_HOURS))
            # Also when catching up: what was missed long ago reaches the manager at once.
            long_late = now >= complaint.due_at + dt.timedelta(hours=settings.get(MANAGER_AFTER_HOURS))
            if (complaint.escalated_manager_at is None and (now >= manager_due or long_late)
                    and _claim(complaint, Complaint.escalated_manager_at, now)):
                for manager in User.active_with_role("service_manager"):
                    notify(manager, N_("Complaint %(number)s is overdue and was escalated to you"), url,
                           number=complaint.number)
                audit.record_event(None, "escalate_manager", complaint)
                sent += 1
    return sent


def _claim(complaint, field, now):
    return Complaint.update({field: now}).where(Complaint.id == complaint.id, field.is_null()).execute() == 1


def refusal(complaint, action, user):
    """Why this user may not apply this action now, or None if they may."""
    transition = TRANSITIONS.get(action)
    if transition is None:
        return _l("Unknown action.")
    if complaint.state not in transition.sources:
        return _l("This cannot be done to a complaint that is “%(state)s”.", state=STATES[complaint.state])
    roles = set(user.roles)
    if transition.roles == DEPARTMENT:
        own = complaint.department_id is not None and user.department_id == complaint.department_id
        if not (own or roles & MANAGERS):
            return _l("Only the responsible department or a service manager may do this.")
    elif not roles & transition.roles:
        return _l("Your role may not do this.")
    if action == "close" and complaint.is_major and not roles & MANAGERS:
        return _l("Only a service manager may close a major complaint.")
    return None


def apply(complaint_id, action, actor, version, note="", department_id=None, root_cause="", improvement=""):
    """Apply one transition: check it, stamp who and when, write the event and the audit entry.

    `version` is the one the user saw; if someone acted meanwhile, the user is told."""
    note = (note or "").strip()
    with write_transaction():
        complaint = Complaint.get_or_none(Complaint.id == complaint_id)
        if complaint is None:
            raise TransitionError(_l("No such complaint."))
        if complaint.version != version:
            raise TransitionError(_l("Someone else changed this complaint meanwhile; look at it again."))
        reason = refusal(complaint, action, actor)
        if reason:
            raise TransitionError(reason)
        transition = TRANSITIONS[action]
        if transition.note_required and not note:
            raise TransitionError(_l("Fill in “%(what)s”.", what=transition.note_label))
        before = complaint.snapshot()
        now = utcnow()
        values = {Complaint.state: transition.target, Complaint.version: version + 1, Complaint.updated_at: now}
        if action == "assign":
            department = Department.get_or_none(Department.id == department_id, Department.active == True)  # noqa: E712
            if department is None:
                raise TransitionError(_l("Choose the responsible department."))
            values[Complaint.department] = department
        if action == "close":
            root_cause, improvement = (root_cause or "").strip(), (improvement or "").strip()
            if not root_cause or not improvement:
                raise TransitionError(_l("Closing needs the root cause and the improvement proposal."))
            values[Complaint.root_cause] = root_cause
            values[Complaint.improvement] = improvement
        if action == "unsatisfied":
            # Handled again from now: a fresh deadline, and its own escalations.
            values[Complaint.handle_due_at] = deadlines(now, complaint.customer.is_vip, complaint.is_major)[1]
            values[Complaint.escalated_head_at] = None
            values[Complaint.escalated_manager_at] = None
        if action == "void":
            values[Complaint.voided_at] = now
            values[Complaint.void_reason] = note
        changed = (Complaint.update(values)
                   .where(Complaint.id == complaint.id, Complaint.version == version).execute())
        if not changed:
            raise TransitionError(_l("Someone else changed this complaint meanwhile; look at it again."))
        complaint = Complaint.get_by_id(complaint.id)
        ComplaintEvent.create(complaint=complaint, at=now, actor=actor, action=action,
                              from_state=before["state"], to_state=transition.target, note=note)
        audit.record_change(actor, complaint, before)
        for listener in AFTER_TRANSITION:
            listener(complaint, action, actor, note)
    return complaint
