"""Complaints (投诉): customers, the complaint record, and its timeline.

The states and every allowed transition live in TRANSITIONS; apply() is the one
function that moves a complaint, so who-may-do-what is decided in one place."""
import datetime as dt

from flask_babel import lazy_gettext as _l
from peewee import (
    JOIN, BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, IntegrityError, TextField, fn,
)

from models import audit, fulltext, settings, worktime
from models.base import (
    BaseModel, DomainError, Transition, VersionedModel, VoidableModel, db, starts_with, utcnow, write_transaction,
)
from models.calls import Call
from models.notifications import N_, notify, notify_department
from models.numbering import next_number
from models.phones import SEPARATORS, normalise_phone
from models.pinyin import PinyinNamed
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
SIMILAR_SHOWN = 10
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
WORKING_TIME = settings.define(
    "complaint_working_time", bool, True,
    _l("Deadlines count working hours only (the working-hours calendar: weekly hours, holidays, 调休)"),
    COMPLAINTS)

STATES = {
    "received": _l("Newly received"),
    "acknowledged": _l("Acknowledged"),
    "assigned": _l("Assigned"),
    "accepted": _l("Received by the department"),
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
BEFORE_HANDLED = ("received", "acknowledged", "assigned", "accepted", "reopened")

FRONT_OFFICE = frozenset({"specialist", "service_manager", "admin"})
MANAGERS = frozenset({"service_manager", "admin"})
#: Who acts for the responsible department: its own staff, and the managers.
DEPARTMENT = "department"
#: Customer service, or the responsible department's own staff.
FRONT_OFFICE_OR_DEPARTMENT = "front office or department"


TRANSITIONS = {
    "acknowledge": Transition(_l("Acknowledge"), ("received",), "acknowledged", FRONT_OFFICE,
                              note_label=_l("Apology and promise given to the customer")),
    "assign": Transition(_l("Assign to department"), ("acknowledged", "reopened"), "assigned", FRONT_OFFICE,
                         note_label=_l("Joint discussion (complex cases)")),
    # 签收: the department records that it has the complaint and who of its people handles it.
    "accept": Transition(_l("Sign for it"), ("assigned",), "accepted", DEPARTMENT,
                         note_label=_l("Note on receipt")),
    "set_handler": Transition(_l("Change the person handling it"), ("accepted",), None, DEPARTMENT,
                              note_label=_l("Why")),
    # Handling straight from "assigned" signs for it first (recorded as its own step).
    "handle": Transition(_l("Record handling"), ("assigned", "accepted"), "handled", DEPARTMENT, True,
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
    # The paused clock: the state stays, the deadlines stop while the complaint waits on the customer.
    "pause": Transition(_l("Wait on the customer"), BEFORE_HANDLED, None, FRONT_OFFICE_OR_DEPARTMENT,
                        note_label=_l("What we wait for from the customer")),
    "resume": Transition(_l("Customer answered: resume"), BEFORE_HANDLED, None, FRONT_OFFICE_OR_DEPARTMENT,
                         note_label=_l("What the customer answered")),
    # The deadlines follow the classification: changing it recomputes them from intake.
    "reclassify": Transition(_l("Change VIP or severity"), OPEN_STATES, None, FRONT_OFFICE, True,
                             _l("Why the classification changes")),
}
#: Timeline headings of the steps that leave the state as it is.
EVENT_LABELS = {"pause": _l("Waiting on the customer"), "resume": _l("Customer answered; deadlines run again"),
                "set_handler": _l("Another person handles it"),
                "reclassify": _l("VIP or severity changed; deadlines recomputed")}
#: The states in which the complaint waits on its department (its inbox, the navigation count).
WITH_DEPARTMENT = tuple(dict.fromkeys(s for t in TRANSITIONS.values() if t.roles == DEPARTMENT for s in t.sources))


class TransitionError(DomainError):
    """A refused complaint step."""


DEADLINE_LABELS = {"reply": _l("Reply to the customer due"), "plan": _l("Major complaint solution due (from intake)"),
                   "handle": _l("Department handling due")}


#: Customers a search looks at, at most: a search names a few people, not a crowd.
SEARCH_CUSTOMERS = 200


class Customer(PinyinNamed):
    pinyin_source = "name"
    name = CharField(max_length=80, index=True)
    phone = CharField(max_length=30, unique=True)
    # The number backwards: staff type a number's last digits as often as its first, and a suffix
    # is a prefix of this, which an index answers.
    phone_reversed = CharField(max_length=30, default="", index=True)
    address = CharField(max_length=200, default="")
    organisation = CharField(max_length=120, default="")
    is_vip = BooleanField(default=False)
    created_at = DateTimeField(default=utcnow)
    # When the customer agreed to be called back, e.g. "09:00-11:00, 19:00-20:00"
    # (local time; see models.daytimes.TimeRanges). Empty: any time outside quiet hours.
    callback_window = CharField(max_length=100, null=True)
    anonymised_at = DateTimeField(null=True)  # see models.privacy

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.phone_reversed = (self.phone or "")[::-1]
        return super().save(*args, **kwargs)

    @classmethod
    def fill_added_columns(cls, names):
        super().fill_added_columns(names)
        if "phone_reversed" in names:
            for customer in cls.select(cls.id, cls.phone).iterator():
                cls.update(phone_reversed=customer.phone[::-1]).where(cls.id == customer.id).execute()

    @classmethod
    def matching(cls, text):
        """The customers whose name or its pinyin starts with what was typed, or whose number starts or
        ends with its digits: every branch from an index, so a search costs the same at a million complaints."""
        text = (text or "").strip()
        condition = starts_with(cls.name, text)
        if (pinyin := cls.pinyin_matches(text)) is not None:
            condition |= pinyin
        digits = SEPARATORS.sub("", text)
        if len(digits) >= 3 and digits.lstrip("+").isdigit():
            condition |= starts_with(cls.phone, digits) | starts_with(cls.phone_reversed, digits[::-1])
        return cls.select(cls.id).where(condition).limit(SEARCH_CUSTOMERS)


class Complaint(VoidableModel, VersionedModel):
    # Optimistic concurrency: every transition names the version it saw.
    error = TransitionError
    stale_message = _l("Someone else changed this complaint meanwhile; look at it again.")
    missing_message = _l("No such complaint.")

    number = CharField(max_length=20, unique=True)
    customer = ForeignKeyField(Customer, backref="complaints", on_delete="RESTRICT")
    channel = CharField(max_length=10)
    category = CharField(max_length=40, index=True)
    severity = CharField(max_length=10, default="general")
    content = TextField()
    staff_person = CharField(max_length=80, default="")
    department = ForeignKeyField(Department, null=True, on_delete="RESTRICT")
    state = CharField(max_length=20, default="received", index=True)
    # The front desk's logged call this came from: one call becomes at most one complaint.
    call = ForeignKeyField(Call, null=True, unique=True, on_delete="RESTRICT", backref="complaints")
    received_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    root_cause = TextField(default="")
    improvement = TextField(default="")
    reply_due_at = DateTimeField(null=True)
    handle_due_at = DateTimeField(null=True, index=True)
    # Major complaints: a satisfactory solution within the plan hours of intake.
    plan_due_at = DateTimeField(null=True)
    # Whether the deadlines above were counted in working time; None: taken in before this was kept.
    deadlines_in_working_time = BooleanField(null=True)
    # The member of the responsible department who handles it (named when it signs for it).
    handler = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    # Each escalation happens once: the sweep stamps it here.
    escalated_head_at = DateTimeField(null=True)
    escalated_manager_at = DateTimeField(null=True)
    # Set while the complaint waits on the customer: its deadlines do not run.
    paused_at = DateTimeField(null=True)
    # The first handling by the department, for the register: when, how long it took in
    # the deadline clock (less the waits on the customer), and whether it met its deadline.
    first_handled_at = DateTimeField(null=True)
    handling_minutes = IntegerField(null=True)
    handled_on_time = BooleanField(null=True)

    class Meta:
        # The lists filter open complaints by category or department: with the category
        # alone SQLite walks every complaint of that category ever taken in (make bench).
        indexes = ((("state", "category"), False), (("department", "state"), False))

    @property
    def due_at(self):
        """The deadline the complaint runs against in its present state, if any."""
        if self.state == "received":
            return min(self.reply_due_at, self.handle_due_at)
        if self.state in BEFORE_HANDLED:
            return self.handle_due_at
        return None

    def is_overdue(self, now=None):
        """While the complaint waits on the customer its clock stands at the pause."""
        due = self.due_at
        return due is not None and (self.paused_at or now or utcnow()) > due

    @property
    def deadlines_count_working_time(self):
        if self.deadlines_in_working_time is None:
            return counts_working_time()  # taken in before the clock was kept: the setting now
        return self.deadlines_in_working_time

    def deadline_list(self, now=None):
        """Every deadline that applies, named: [(label, due, running, overdue)]; "running" while
        the step it is for is still to be done."""
        clock = self.paused_at or now or utcnow()
        before_handled = self.state in BEFORE_HANDLED
        rows = [(DEADLINE_LABELS["reply"], self.reply_due_at, self.state == "received")]
        if self.plan_due_at is not None:
            rows.append((DEADLINE_LABELS["plan"], self.plan_due_at, before_handled))
        rows.append((DEADLINE_LABELS["handle"], self.handle_due_at, before_handled))
        return [(label, due, running, running and clock > due) for label, due, running in rows if due is not None]

    @property
    def is_paused(self):
        return self.paused_at is not None

    def pauses(self):
        return (ComplaintPause.select().where(ComplaintPause.complaint == self)
                .order_by(ComplaintPause.started_at, ComplaintPause.id))

    @property
    def is_vip(self):
        return self.customer.is_vip

    @property
    def is_major(self):
        return self.severity == "major"

    def events(self):
        """The timeline with who acted and who was named to handle it, in one query."""
        handler = User.alias()
        return (ComplaintEvent.select(ComplaintEvent, User, handler)
                .join(User, on=ComplaintEvent.actor == User.id)
                .switch(ComplaintEvent).join(handler, JOIN.LEFT_OUTER, on=(ComplaintEvent.handler == handler.id),
                                             attr="handler")
                .where(ComplaintEvent.complaint == self).order_by(ComplaintEvent.at, ComplaintEvent.id))

    def similar(self, viewer, limit=SIMILAR_SHOWN):
        """Same customer or same category within the look-back window, the newest `limit`:
        a busy category holds thousands, and the page links to the full filtered list."""
        since = utcnow() - dt.timedelta(days=settings.get(SIMILAR_DAYS))
        return list(visible_to(viewer, Complaint.select(Complaint, Customer, Department).join(Customer)
                               .switch(Complaint).join(Department, JOIN.LEFT_OUTER)
                               .where(Complaint.id != self.id, Complaint.created_at >= since,
                                      (Complaint.customer == self.customer_id) | (Complaint.category == self.category))
                               .order_by(Complaint.created_at.desc(), Complaint.id.desc())).limit(limit))

    def actions_for(self, user):
        """The transitions this user may apply now, in table order."""
        return [(name, t) for name, t in TRANSITIONS.items() if refusal(self, name, user) is None]


fulltext.register("complaint", 1, Complaint, Complaint.content)


class ComplaintEvent(BaseModel):
    complaint = ForeignKeyField(Complaint, backref="timeline", on_delete="CASCADE")
    at = DateTimeField(default=utcnow)
    actor = ForeignKeyField(User, on_delete="RESTRICT")
    action = CharField(max_length=20)
    from_state = CharField(max_length=20, default="")
    to_state = CharField(max_length=20)
    note = TextField(default="")
    # The person handling it, as named by this step (signing for it, a change of handler).
    handler = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")

    @property
    def heading(self):
        """What the timeline calls this step: the state reached, or the pause/resume."""
        return EVENT_LABELS.get(self.action) or STATES.get(self.to_state, self.to_state)


class ComplaintPause(BaseModel):
    """One wait on the customer: who paused and resumed, when, and the time it pushed the deadlines by."""
    complaint = ForeignKeyField(Complaint, backref="pause_records", on_delete="CASCADE")
    event = ForeignKeyField(ComplaintEvent, null=True, on_delete="SET NULL")  # the "pause" step
    started_at = DateTimeField(default=utcnow)
    started_by = ForeignKeyField(User, on_delete="RESTRICT")
    ended_at = DateTimeField(null=True)
    ended_by = ForeignKeyField(User, null=True, on_delete="RESTRICT")
    # The paused time in the deadline clock (working time when the setting says so).
    counted_seconds = IntegerField(null=True)
    in_working_time = BooleanField(default=False)

    @property
    def length(self):
        """The wait as it passed on the wall clock (so far, if it goes on)."""
        return (self.ended_at or utcnow()) - self.started_at

    @property
    def counted(self):
        return dt.timedelta(seconds=self.counted_seconds) if self.counted_seconds is not None else None


def categories():
    return [c.strip() for c in settings.get(CATEGORIES).split(",") if c.strip()]


def category_label(key):
    return CATEGORY_LABELS.get(key, key)


def listing(state=None, category=None, department_id=None, q=None):
    """VIP first, then major, then oldest first: the most urgent at the top. Of the customer and the
    department only what a row shows: the rest of their columns was most of a list's row building."""
    query = (Complaint.select(Complaint, Customer.id, Customer.name, Customer.is_vip, Department.id, Department.name)
             .join(Customer)
             .switch(Complaint).join(Department, JOIN.LEFT_OUTER)
             .order_by(Customer.is_vip.desc(), (Complaint.severity == "major").desc(), Complaint.created_at,
                       Complaint.id))
    if state == "open":
        query = query.where(Complaint.state.in_(OPEN_STATES))
    elif state in STATES:
        query = query.where(Complaint.state == state)
    if category:
        query = query.where(Complaint.category == category)
    if department_id:
        query = query.where(Complaint.department == department_id)
    if q:
        q = q.strip()
        # The customers as a list, as the text's matches: PostgreSQL reads a subquery inside an OR as a
        # filter over every complaint (120 ms at a million), a list as one more index to OR.
        customers = [c.id for c in Customer.matching(q)] or [0]
        query = query.where(starts_with(Complaint.number, q.upper()) | Complaint.customer.in_(customers)
                            | fulltext.matches("complaint", q))
    return query


def staff_register(viewer):
    """Every complaint about staff, ever: the newest first, as a register is read (the page shows it in pages)."""
    return visible_to(viewer, listing(state="all").where(Complaint.category == STAFF_CATEGORY)
                      .order_by(Complaint.created_at.desc(), Complaint.id.desc()))


# Who sees which complaints (and so their customers' phone numbers): decided here only.

def sees_all(user):
    """Customer service and the managers work every complaint."""
    return bool(set(user.roles) & FRONT_OFFICE)


def _acted_on(user):
    return ComplaintEvent.select(ComplaintEvent.complaint).where(ComplaintEvent.actor == user.id)


def visible_to(user, query=None):
    """`query` (complaints) narrowed to what this user may see: everything for customer
    service; for anyone else their own department's complaints and those they acted on."""
    query = Complaint.select() if query is None else query
    if sees_all(user):
        return query
    mine = Complaint.id.in_(_acted_on(user))
    if user.department_id:
        mine = mine | (Complaint.department == user.department_id)
    return query.where(mine)


def can_see(user, complaint):
    return (sees_all(user) or (complaint.department_id is not None and complaint.department_id == user.department_id)
            or _acted_on(user).where(ComplaintEvent.complaint == complaint.id).exists())


def customers_visible_to(user, query):
    """Customers of the complaints this user may see."""
    if sees_all(user):
        return query
    return query.where(Customer.id.in_(visible_to(user, Complaint.select(Complaint.customer))))


def can_see_customer(user, customer):
    return sees_all(user) or visible_to(user, Complaint.select().where(Complaint.customer == customer.id)).exists()


def awaiting_department_count(user):
    """How many complaints wait on the user's department (to sign for, handle, report): the navigation count."""
    if not user.department_id:
        return 0
    return (Complaint.select().where(Complaint.department == user.department_id,
                                     Complaint.state.in_(WITH_DEPARTMENT)).count())


def department_people(department_id):
    """The active members of a department (heads included): whom an assignment tells, who may handle it."""
    return (User.select().where(User.department == department_id, User.is_active == True)  # noqa: E712
            .order_by(User.display_name))


def find_or_create_customer(actor, name, phone, address="", organisation="", is_vip=False):
    """The customer with this phone number (details updated), or a new one."""
    return _customer_for(actor, name, phone, address, organisation, is_vip)[0]


def _customer_for(actor, name, phone, address, organisation, is_vip):
    """(the customer, whether they were a VIP before: None for a new one)."""
    phone = normalise_phone(phone)
    customer = Customer.get_or_none(Customer.phone == phone)
    if customer is None:
        customer = Customer.create(name=name, phone=phone, address=address, organisation=organisation,
                                   is_vip=is_vip)
        audit.record_create(actor, customer)
        return customer, None
    before = customer.snapshot()
    was_vip = customer.is_vip
    customer.name = name
    customer.address = address or customer.address
    customer.organisation = organisation or customer.organisation
    customer.is_vip = customer.is_vip or is_vip
    if customer.snapshot() != before:  # a returning customer as they were: nothing to write or audit
        customer.save()
        audit.record_change(actor, customer, before)
    return customer, was_vip


def complaint_of_call(call_id):
    return Complaint.get_or_none(Complaint.call == call_id)


def call_refusal(call_id):
    """Why no complaint can be made of this call, or None (the intake form asks it too)."""
    earlier = complaint_of_call(call_id)
    if earlier is not None:
        return _l("This call is complaint %(number)s already.", number=earlier.number)
    if not Call.select().where(Call.id == call_id).exists():
        return _l("No such call.")
    return None


def create(actor, *, name, phone, content, channel, category, severity, address="", organisation="",
           is_vip=False, staff_person="", call_id=None):
    """Take in a complaint; a major one tells every service manager at once.
    A logged call becomes one complaint at most (TransitionError for a second)."""
    with write_transaction():
        if call_id is not None and (reason := call_refusal(call_id)):
            raise TransitionError(reason)
        customer, was_vip = _customer_for(actor, name, phone, address, organisation, is_vip)
        now = utcnow()
        values = _deadline_values(now, now, customer.is_vip, severity == "major", ())
        fields = dict(number=next_number("TS"), customer=customer, channel=channel, category=category,
                      severity=severity, content=content,
                      staff_person=staff_person if category == STAFF_CATEGORY else "", call=call_id,
                      received_by=actor, created_at=now, **{field.name: value for field, value in values.items()})
        if call_id is None:
            complaint = Complaint.create(**fields)
        else:
            try:
                with db.atomic():  # the unique call is the last word when two desks convert it at once
                    complaint = Complaint.create(**fields)
            except IntegrityError:
                raise TransitionError(call_refusal(call_id) or _l("Reload the page and try again.")) from None
        fulltext.index(complaint)
        audit.record_create(actor, complaint)
        ComplaintEvent.create(complaint=complaint, actor=actor, action="receive", to_state="received", at=now)
        if complaint.is_major:
            _tell_managers_major(complaint)
        if was_vip is False and customer.is_vip:  # an existing customer recognised as VIP now
            # Recognised as VIP now: the customer's other open complaints are handled as VIP too.
            for other in _open_complaints_of(customer).where(Complaint.id != complaint.id):
                _reclassify_other(other, actor, now, complaint.number)
    return complaint


def _tell_managers_major(complaint):
    for manager in User.active_with_role("service_manager"):
        notify(manager, N_("Major complaint %(number)s from %(customer)s"),
               ("complaints.show", {"complaint_id": complaint.id}), urgent=True, about=complaint.customer,
               number=complaint.number, customer=complaint.customer.name)


def _open_complaints_of(customer):
    return Complaint.select().where(Complaint.customer == customer.id, Complaint.state.in_(OPEN_STATES))


def _deadline_values(intake, handle_from, is_vip, is_major, pauses):
    """The deadlines of a complaint taken in at `intake` (handled from `handle_from`: intake,
    or the reopening), pushed on by the ended waits on the customer in `pauses`."""
    reply = deadlines(intake, is_vip, is_major)[0]
    handle = deadlines(handle_from, is_vip, is_major)[1]
    plan = add_time(intake, dt.timedelta(hours=settings.get(PLAN_HOURS))) if is_major else None
    for pause in pauses:
        reply = add_time(reply, pause.counted)
        plan = plan and add_time(plan, pause.counted)
        if pause.started_at >= handle_from:  # a reopening starts the handling deadline afresh
            handle = add_time(handle, pause.counted)
    return {Complaint.reply_due_at: reply, Complaint.handle_due_at: handle, Complaint.plan_due_at: plan,
            Complaint.deadlines_in_working_time: counts_working_time()}


def deadlines(start, is_vip, is_major):
    """(reply due, handled due) for a complaint taken in at `start`; VIP ones are shorter.
    In working time when the setting says so."""
    if is_vip:
        reply, handle = settings.get(VIP_REPLY_HOURS), settings.get(VIP_HANDLE_HOURS)
    else:
        reply = settings.get(REPLY_HOURS)
        handle = settings.get(PLAN_HOURS if is_major else HANDLE_HOURS)
    return add_time(start, dt.timedelta(hours=reply)), add_time(start, dt.timedelta(hours=handle))


def counts_working_time():
    return bool(settings.get(WORKING_TIME))


def add_time(start, delta):
    """`start` plus `delta` in the deadline clock: working time when the setting says so."""
    if counts_working_time():
        try:
            return worktime.calendar().add(start, delta)
        except worktime.NoWorkingTime:
            pass  # a calendar without working hours must not stop intake: count the clock
    return start + delta


def elapsed(start, end):
    """The time between two moments in the deadline clock."""
    if counts_working_time():
        return worktime.calendar().between(start, end)
    return max(end - start, dt.timedelta(0))


def escalate_overdue(now=None):
    """Overdue complaints go to the department head, later to the service managers.

    Each step is claimed by a conditional update, so a repeated or concurrent sweep,
    or one catching up after the consumer was down, sends each escalation once."""
    now = now or utcnow()
    late = (Complaint.select(Complaint, Customer).join(Customer)
            .where(Complaint.state.in_(BEFORE_HANDLED), Complaint.handle_due_at.is_null(False),
                   Complaint.escalated_manager_at.is_null()))
    sent = 0
    for complaint in late:
        # A paused complaint's clock stands where the pause began: what was overdue
        # by then is escalated (also when catching up), nothing that fell due later.
        if not complaint.is_overdue(now):
            continue
        clock = complaint.paused_at or now
        link = ("complaints.show", {"complaint_id": complaint.id})
        with write_transaction():
            if complaint.escalated_head_at is None and _claim(complaint, Complaint.escalated_head_at, now):
                heads = [u for u in User.active_with_role("dept_head")
                         if complaint.department_id and u.department_id == complaint.department_id]
                for head in heads:
                    notify(head, N_("Complaint %(number)s is overdue"), link, urgent=True, number=complaint.number)
                audit.record_event(None, "escalate_head", complaint)
                complaint.escalated_head_at = now
                sent += 1
            # Due by the data, not by when the head was told: a sweep catching up after the
            # consumer was down sends what was missed long ago to the manager at once.
            manager_due = add_time(complaint.due_at, dt.timedelta(hours=settings.get(MANAGER_AFTER_HOURS)))
            if (complaint.escalated_manager_at is None and clock >= manager_due
                    and _claim(complaint, Complaint.escalated_manager_at, now)):
                for manager in User.active_with_role("service_manager"):
                    notify(manager, N_("Complaint %(number)s is overdue and was escalated to you"), link, urgent=True,
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
    own = complaint.department_id is not None and user.department_id == complaint.department_id
    if transition.roles == DEPARTMENT:
        if not (own or roles & MANAGERS):
            return _l("Only the responsible department or a service manager may do this.")
    elif transition.roles == FRONT_OFFICE_OR_DEPARTMENT:
        if not (own or roles & FRONT_OFFICE):
            return _l("Only customer service or the responsible department may do this.")
    elif not roles & transition.roles:
        return _l("Your role may not do this.")
    if action == "close" and complaint.is_major and not roles & MANAGERS:
        return _l("Only a service manager may close a major complaint.")
    if action == "pause" and complaint.paused_at is not None:
        return _l("This complaint already waits on the customer.")
    if action == "resume" and complaint.paused_at is None:
        return _l("This complaint is not waiting on the customer.")
    return None


def apply(complaint_id, action, actor, version, note="", department_id=None, root_cause="", improvement="",
          handler_id=None, is_vip=None, severity=None):
    """Apply one transition: check it, stamp who and when, write the event and the audit entry.

    `version` is the one the user saw; if someone acted meanwhile, the user is told."""
    note = (note or "").strip()
    with write_transaction():
        complaint = Complaint.load(complaint_id, version)
        reason = refusal(complaint, action, actor)
        if reason:
            raise TransitionError(reason)
        transition = TRANSITIONS[action]
        if transition.note_required and not note:
            raise TransitionError(_l("Fill in “%(what)s”.", what=transition.note_label))
        before = complaint.snapshot()
        from_state = complaint.state
        now = utcnow()
        target = transition.target or complaint.state
        values = {Complaint.state: target}
        signs_for_it = action == "accept" or (action == "handle" and complaint.state == "assigned")
        handler = None
        if signs_for_it or action == "set_handler":
            handler = _handler(complaint, actor, handler_id, required=action == "set_handler")
        if action == "reclassify":
            # Checked before anything is written: a refused change leaves the wait and the customer alone.
            values.update(_reclassified(complaint, actor, now, is_vip, severity, note))
        if complaint.paused_at is not None and action not in ("pause", "set_handler", "reclassify"):
            # Any step taken while waiting on the customer ends the wait first (recorded as its own step).
            values.update(_end_pause(complaint, actor, now, note if action == "resume" else ""))
        if action == "assign":
            department = Department.get_or_none(Department.id == department_id, Department.active == True)  # noqa: E712
            if department is None:
                raise TransitionError(_l("Choose the responsible department."))
            values[Complaint.department] = department
            values[Complaint.handler] = None  # the department names its own person when it signs for it
        if action in ("accept", "set_handler"):
            values[Complaint.handler] = handler
        if action == "handle" and complaint.state == "assigned":
            # Handled without signing for it first: the receipt is recorded as its own step.
            ComplaintEvent.create(complaint=complaint, at=now, actor=actor, action="accept", from_state="assigned",
                                  to_state="accepted", handler=handler)
            values[Complaint.handler] = handler
            from_state = "accepted"
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
        if action == "pause":
            values[Complaint.paused_at] = now
        if action == "handle" and complaint.first_handled_at is None:
            values.update(_first_handling(complaint, now, values.get(Complaint.handle_due_at,
                                                                      complaint.handle_due_at)))
        complaint = complaint.update_versioned(version, values)
        if action != "resume":  # a resume's step was written by _end_pause
            event = ComplaintEvent.create(complaint=complaint, at=now, actor=actor, action=action,
                                          from_state=from_state, to_state=target, note=note,
                                          handler=handler if action in ("accept", "set_handler") else None)
        if action == "pause":
            ComplaintPause.create(complaint=complaint, event=event, started_at=now, started_by=actor,
                                  in_working_time=counts_working_time())
        audit.record_change(actor, complaint, before)
        if action == "assign":
            _tell_department(complaint, actor)
        if action == "reclassify" and complaint.is_major and before["severity"] != "major":
            _tell_managers_major(complaint)
        # A callback outcome taken here, or a void, is its pending callbacks' step too. (Callbacks
        # build on complaints, so the module is imported when used.)
        from models.callbacks import follow_complaint
        follow_complaint(complaint, action, actor, note)
    return complaint


def _handler(complaint, actor, handler_id, required):
    """The person of the responsible department who handles it: the one chosen, or the
    department member taking the step."""
    if handler_id:
        person = department_people(complaint.department_id).where(User.id == handler_id).first()
        if person is None:
            raise TransitionError(_l("Choose a member of the responsible department."))
        return person
    if required:
        raise TransitionError(_l("Choose the person handling it."))
    return actor if actor.department_id == complaint.department_id else None


ASSIGNED_NOTICE = N_("Complaint %(number)s was assigned to your department: please sign for it.")


def _tell_department(complaint, actor):
    """Everyone of the responsible department hears of the assignment (heads and members), and
    so does the department's group robot, once for this assignment (the version it made)."""
    link = ("complaints.show", {"complaint_id": complaint.id})
    for person in department_people(complaint.department_id):
        if person.id != actor.id:
            notify(person, ASSIGNED_NOTICE, link, number=complaint.number)
    notify_department(complaint.department_id, f"complaint-assigned:{complaint.id}:{complaint.version}",
                      ASSIGNED_NOTICE, link, number=complaint.number)


def _reclassified(complaint, actor, now, is_vip, severity, note):
    """The complaint's new severity and deadlines. A change of VIP is the customer's: it is
    made on the customer, and the customer's other open complaints are recomputed too."""
    if severity not in SEVERITIES or is_vip is None:
        raise TransitionError(_l("Choose the severity and whether the customer is a VIP."))
    customer = complaint.customer
    if severity == complaint.severity and bool(is_vip) == customer.is_vip:
        raise TransitionError(_l("Nothing changed: choose another severity or VIP."))
    if bool(is_vip) != customer.is_vip:
        before = customer.snapshot()
        customer.is_vip = bool(is_vip)
        customer.save()
        audit.record_change(actor, customer, before)
        for other in _open_complaints_of(customer).where(Complaint.id != complaint.id):
            _reclassify_other(other, actor, now, note)
    return {Complaint.severity: severity,
            **_classification_values(complaint, customer.is_vip, severity == "major", now)}


def _classification_values(complaint, is_vip, is_major, now):
    """The deadlines recomputed from intake (or the reopening) as if the complaint had been
    taken in so, pushed on by the waits on the customer so far; and fresh escalations if
    the new deadline has not passed."""
    reopened = (ComplaintEvent.select(fn.MAX(ComplaintEvent.at))
                .where(ComplaintEvent.complaint == complaint.id, ComplaintEvent.action == "unsatisfied").scalar())
    pauses = [p for p in complaint.pauses() if p.counted_seconds is not None]
    values = _deadline_values(complaint.created_at, reopened or complaint.created_at, is_vip, is_major, pauses)
    if complaint.state in BEFORE_HANDLED:
        due = values[Complaint.handle_due_at]
        if complaint.state == "received":
            due = min(due, values[Complaint.reply_due_at])
        if due > (complaint.paused_at or now):
            values[Complaint.escalated_head_at] = None
            values[Complaint.escalated_manager_at] = None
    return values


def _reclassify_other(complaint, actor, now, note):
    """Another open complaint of a customer whose VIP changed: its deadlines follow, as a step of its own."""
    before = complaint.snapshot()
    values = _classification_values(complaint, Customer.get_by_id(complaint.customer_id).is_vip, complaint.is_major,
                                    now)
    values.update({Complaint.version: Complaint.version + 1, Complaint.updated_at: now})
    Complaint.update(values).where(Complaint.id == complaint.id).execute()
    complaint = Complaint.get_by_id(complaint.id)
    ComplaintEvent.create(complaint=complaint, at=now, actor=actor, action="reclassify", from_state=complaint.state,
                          to_state=complaint.state, note=note)
    audit.record_change(actor, complaint, before)


def _end_pause(complaint, actor, now, note):
    """Close the open wait: the deadlines move on by the paused time (in the deadline clock).
    Returns the complaint's new values; writes the pause record and the "resume" step."""
    paused = elapsed(complaint.paused_at, now)
    pause = (ComplaintPause.select().where(ComplaintPause.complaint == complaint, ComplaintPause.ended_at.is_null())
             .order_by(ComplaintPause.id.desc()).first())
    if pause is not None:
        ComplaintPause.update(ended_at=now, ended_by=actor, counted_seconds=int(paused.total_seconds()),
                              in_working_time=counts_working_time()).where(ComplaintPause.id == pause.id).execute()
    ComplaintEvent.create(complaint=complaint, at=now, actor=actor, action="resume", from_state=complaint.state,
                          to_state=complaint.state, note=note)
    values = {Complaint.paused_at: None}
    for field in (Complaint.reply_due_at, Complaint.plan_due_at, Complaint.handle_due_at):
        if getattr(complaint, field.name) is not None:
            values[field] = add_time(getattr(complaint, field.name), paused)
    return values


def _first_handling(complaint, now, handle_due):
    """The register's figures of the first handling: taken in the deadline clock, less the waits."""
    waited = (ComplaintPause.select(fn.SUM(ComplaintPause.counted_seconds))
              .where(ComplaintPause.complaint == complaint, ComplaintPause.ended_at.is_null(False)).scalar() or 0)
    waited = int(waited)  # PostgreSQL may sum into a Decimal
    taken = elapsed(complaint.created_at, now) - dt.timedelta(seconds=waited)
    return {Complaint.first_handled_at: now,
            Complaint.handling_minutes: max(0, int(taken.total_seconds() // 60)),
            Complaint.handled_on_time: handle_due is None or now <= handle_due}


# The complaint register and its monthly summary (台帐).

def register(start_utc, end_utc, department_id=None, viewer=None):
    """The complaints taken in between two moments (voided ones are mistakes, not complaints);
    those `viewer` may see when one is given (the register page), all for the figures."""
    query = (Complaint.select(Complaint, Customer, Department).join(Customer)
             .switch(Complaint).join(Department, JOIN.LEFT_OUTER)
             .where(Complaint.created_at >= start_utc, Complaint.created_at < end_utc,
                    Complaint.voided_at.is_null())
             .order_by(Complaint.created_at, Complaint.id))
    if department_id:
        query = query.where(Complaint.department == department_id)
    return query if viewer is None else visible_to(viewer, query)


def callback_outcomes(complaint_ids):
    """complaint id -> "satisfied" or "unsatisfied": the latest callback outcome of each."""
    outcomes = {}
    if not complaint_ids:
        return outcomes
    events = (ComplaintEvent.select(ComplaintEvent.complaint, ComplaintEvent.action)
              .where(ComplaintEvent.complaint.in_(list(complaint_ids)),
                     ComplaintEvent.action.in_(("satisfied", "unsatisfied")))
              .order_by(ComplaintEvent.at, ComplaintEvent.id))
    for event in events:
        outcomes[event.complaint_id] = event.action
    return outcomes


def _rate(part, whole):
    return round(part / whole, 4) if whole else None


def complaint_stats(start_utc, end_utc, department_id=None, viewer=None):
    """The monthly summary of the complaints taken in between two moments (naive UTC, end exclusive).

    Rates are fractions (0–1), None when nothing to divide by. "Handled" is the department's
    first recorded handling; its time is counted in the deadline clock (working hours when the
    setting says so), the waits on the customer left out; "on time" is against the handling
    deadline in force then. Satisfaction is each complaint's latest callback outcome (closing a
    complaint needs a satisfied callback, so closed ones count as satisfied)."""
    rows = list(register(start_utc, end_utc, department_id, viewer))
    outcomes = callback_outcomes([c.id for c in rows])
    by_category, by_department = {}, {}
    by_severity = {key: 0 for key in SEVERITIES}
    for c in rows:
        by_category[c.category] = by_category.get(c.category, 0) + 1
        name = c.department.name if c.department_id else None
        by_department[name] = by_department.get(name, 0) + 1
        by_severity[c.severity] = by_severity.get(c.severity, 0) + 1
    handled = [c for c in rows if c.first_handled_at is not None]
    on_time = sum(1 for c in handled if c.handled_on_time)
    minutes = [c.handling_minutes for c in handled if c.handling_minutes is not None]
    satisfied = sum(1 for outcome in outcomes.values() if outcome == "satisfied")

    def biggest_first(counts):
        return dict(sorted(counts.items(), key=lambda item: (-item[1], str(item[0] or ""))))

    return {
        "total": len(rows),
        "by_category": biggest_first(by_category),
        "by_department": biggest_first(by_department),
        "by_severity": by_severity,
        "handled": len(handled),
        "handling_rate": _rate(len(handled), len(rows)),
        "avg_handling_hours": round(sum(minutes) / len(minutes) / 60, 1) if minutes else None,
        "on_time": on_time,
        "on_time_rate": _rate(on_time, len(handled)),
        "called_back": len(outcomes),
        "satisfied": satisfied,
        "satisfied_rate": _rate(satisfied, len(outcomes)),
    }
