"""Facility repairs (设施设备维护, 报修): anyone — the hall desk above all, seed 004 — reports a
fault with place, what, urgency and photos; logistics assigns it to a member of staff or an
outside contractor; the worker records what was done and the materials, issued from the stock
ledger in the same transaction; the reporter confirms the repair good or reopens it. Urgent
faults tell logistics at once; a fault not done by its urgency's deadline is escalated once.

The repair quality pass rate (seed 002: 总维修质量合格率 ≥ 98 %) is pass_rate(): the repairs
confirmed in a period and how many of them were good the first time (never reopened)."""
import datetime as dt

from flask_babel import lazy_gettext as _l
from peewee import (
    JOIN, BooleanField, Case, CharField, DateTimeField, ForeignKeyField, IntegerField, TextField, fn,
)

from models import audit, settings
from models.base import BaseModel, DomainError, Transition, VersionedModel, VoidableModel, utcnow, write_transaction
from models.notifications import N_, notify, notify_department
from models.numbering import next_number
from models.procurement.chain import ProcurementError
from models.procurement.stock import StockItem, StockMove, issue
from models.timezone import day_start_utc
from models.users import Department, User, UserRole

audit.name_record_type("repair", _l("Repair"))
audit.ACTION_LABELS.update({"repair_escalated": _l("Repair overdue: escalated")})

REPAIRS = _l("Facility repairs")
URGENCY = {"normal": _l("Normal"), "urgent": _l("Urgent"), "emergency": _l("Emergency")}
#: Faults that tell logistics the moment they are reported.
URGENT = ("urgent", "emergency")
DEADLINE_HOURS = {
    "normal": settings.define("repair_hours_normal", int, 72, _l("A normal fault is repaired within (hours)"),
                              REPAIRS, minimum=1, maximum=24 * 30),
    "urgent": settings.define("repair_hours_urgent", int, 24, _l("An urgent fault is repaired within (hours)"),
                              REPAIRS, minimum=1, maximum=24 * 7),
    "emergency": settings.define("repair_hours_emergency", int, 4,
                                 _l("An emergency fault is repaired within (hours)"), REPAIRS, minimum=1, maximum=72),
}
QUALITY_TARGET = settings.define(
    "repair_quality_target_percent", int, 98, _l("Repair quality pass rate target (%)"), REPAIRS,
    minimum=0, maximum=100)
CONFIRM_ON_BEHALF_DAYS = settings.define(
    "repair_confirm_on_behalf_days", int, 3,
    _l("The reporter has not confirmed after (days): logistics may confirm on their behalf"), REPAIRS,
    minimum=1, maximum=60)
PHOTO_MAX_MB = settings.define(
    "repair_photo_max_mb", int, 8, _l("Largest photo of a fault (MB)"), REPAIRS, minimum=1, maximum=50)
PHOTOS_MAX_MB = settings.define(
    "repair_photos_max_mb", int, 30, _l("All photos of one fault together (MB)"), REPAIRS, minimum=1, maximum=60)

STATES = {"reported": _l("Waiting to be assigned"), "assigned": _l("Assigned for repair"), "done": _l("Repaired, to confirm"),
          "confirmed": _l("Confirmed good"), "reopened": _l("Sent back for repair"), "voided": _l("Voided")}
OPEN_STATES = ("reported", "assigned", "reopened")
MANAGERS = frozenset({"logistics"})
#: Names refusal() reads: the one assigned (or logistics), the person who reported the fault.
WORKER = "worker"
REPORTER = "reporter"
LEDGER_SHOWN = 1000  # a month's ledger: far beyond a hall's faults, a cap all the same


class RepairError(DomainError):
    """A refused step; the message is for the user, `field` the form field it concerns."""


TRANSITIONS = {
    "assign": Transition(_l("Assign"), ("reported", "reopened"), "assigned", MANAGERS),
    "reassign": Transition(_l("Assign to someone else"), ("assigned",), None, MANAGERS),
    "done": Transition(_l("Record the repair"), ("assigned",), "done", WORKER),
    "confirm": Transition(_l("Confirm: repaired well"), ("done",), "confirmed", REPORTER),
    "reopen": Transition(_l("Not repaired: reopen"), ("done",), "reopened", REPORTER, note_required=True,
                         note_label=_l("What is still wrong")),
    "void": Transition(_l("Void"), OPEN_STATES, "voided", MANAGERS, note_required=True, note_label=_l("Reason")),
}


NOTE_MISSING = {"reopen": _l("Write down what is still wrong."), "void": _l("Give the reason.")}


class Repair(VoidableModel, VersionedModel):
    """报修单: one fault, from its report to the reporter's confirmation."""
    number = CharField(max_length=20, unique=True)
    place = CharField(max_length=120)
    what = TextField()
    urgency = CharField(max_length=10, default="normal")
    reported_by = ForeignKeyField(User, on_delete="RESTRICT", backref="+")
    #: The reporter's department when reported: the pass rate per department reads it.
    department = ForeignKeyField(Department, null=True, on_delete="SET NULL", backref="+")
    state = CharField(max_length=10, default="reported", index=True)
    due_at = DateTimeField(index=True)  # the urgency's deadline, from the report
    escalated_at = DateTimeField(null=True)  # the sweep's mark: escalated once
    assignee = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    contractor = CharField(max_length=80, default="")  # an outside firm or person instead of staff
    contractor_phone = CharField(max_length=30, default="")
    assigned_at = DateTimeField(null=True)
    work_done = TextField(default="")
    done_at = DateTimeField(null=True, index=True)
    done_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    confirmed_at = DateTimeField(null=True, index=True)
    confirmed_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    on_behalf = BooleanField(default=False)  # logistics confirmed for a reporter who did not
    reopen_count = IntegerField(default=0)  # 0 at confirmation: good the first time
    reopen_reason = TextField(default="")  # the last one

    error = RepairError

    @property
    def urgency_label(self):
        return URGENCY.get(self.urgency, self.urgency)

    @property
    def state_label(self):
        return STATES.get(self.state, self.state)

    @property
    def worker_label(self):
        if self.contractor:
            return f"{self.contractor} {self.contractor_phone}".strip()
        return self.assignee.display_name if self.assignee_id else ""

    @property
    def first_time_good(self):
        return self.state == "confirmed" and self.reopen_count == 0

    def is_overdue(self, now=None):
        return self.state in OPEN_STATES and self.due_at <= (now or utcnow())

    def photo_list(self):
        return list(RepairPhoto.select().where(RepairPhoto.repair == self.id).order_by(RepairPhoto.id))

    def material_list(self):
        return list(RepairMaterial.select(RepairMaterial, StockItem).join(StockItem)
                    .where(RepairMaterial.repair == self.id).order_by(RepairMaterial.id))

    def actions_for(self, user):
        return [(name, t) for name, t in TRANSITIONS.items() if refusal(self, name, user) is None]


class RepairPhoto(BaseModel):
    repair = ForeignKeyField(Repair, backref="photos", on_delete="CASCADE")
    stored_name = CharField(max_length=80)
    original_name = CharField(max_length=200, default="")
    size = IntegerField()
    width = IntegerField()
    height = IntegerField()
    uploaded_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    uploaded_at = DateTimeField(default=utcnow)


class RepairMaterial(BaseModel):
    """A material used on a repair: the stock ledger's issue move that took it out."""
    repair = ForeignKeyField(Repair, backref="materials", on_delete="RESTRICT")
    item = ForeignKeyField(StockItem, on_delete="RESTRICT", backref="+")
    quantity = IntegerField()
    move = ForeignKeyField(StockMove, on_delete="RESTRICT", backref="+")
    recorded_at = DateTimeField(default=utcnow)


def deadline_hours(urgency):
    return settings.get(DEADLINE_HOURS[urgency])


def logistics_staff():
    return list(User.active_with_role("logistics"))


def escalation_recipients():
    """The logistics head (a department head of a department logistics staff work in) and the
    service managers."""
    departments = {u.department_id for u in logistics_staff() if u.department_id}
    heads = []
    if departments:
        heads = list(User.select().join(UserRole).where(UserRole.role == "dept_head", User.is_active == True,  # noqa: E712
                                                        User.department.in_(departments)).order_by(User.display_name))
    people = {u.id: u for u in heads + list(User.active_with_role("service_manager"))}
    return list(people.values())


URGENT_MESSAGES = {"urgent": N_("Urgent fault %(number)s at %(place)s: %(what)s"),
                   "emergency": N_("Emergency fault %(number)s at %(place)s: %(what)s")}
ASSIGNED_MESSAGE = N_("Repair %(number)s at %(place)s is assigned to you.")
DONE_MESSAGE = N_("Repair %(number)s at %(place)s is done: confirm it or reopen it.")
REOPENED_MESSAGE = N_("Repair %(number)s at %(place)s was reopened: %(reason)s")
ESCALATED_MESSAGE = N_("Repair %(number)s at %(place)s is not done within its %(hours)s hours.")


def report(actor, *, place, what, urgency="normal", photos=(), now=None):
    """Report a fault; `photos` are (original_name, bytes, format, width, height) already checked
    by models.uploads.check_image. Urgent faults tell every logistics user at once."""
    from models.uploads import store_image
    place, what = (place or "").strip(), (what or "").strip()
    if not place:
        raise RepairError(_l("Say where the fault is."), field="place")
    if not what:
        raise RepairError(_l("Say what is wrong."), field="what")
    if urgency not in URGENCY:
        raise RepairError(_l("Choose how urgent it is."), field="urgency")
    now = now or utcnow()
    stored = [(original, store_image("repairs", data, fmt), width, height)
              for original, data, fmt, width, height in photos]
    with write_transaction():
        repair = Repair.create(number=next_number("BX"), place=place[:120], what=what, urgency=urgency,
                               reported_by=actor, department=actor.department_id, created_at=now, updated_at=now,
                               due_at=now + dt.timedelta(hours=deadline_hours(urgency)))
        for original, image, width, height in stored:
            RepairPhoto.create(repair=repair, stored_name=image.name, original_name=(original or "")[:200], size=image.size,
                               width=width, height=height, uploaded_by=actor, uploaded_at=now)
        audit.record_create(actor, repair)
        if urgency in URGENT:
            for person in logistics_staff():
                notify(person, URGENT_MESSAGES[urgency], ("repairs.show", {"repair_id": repair.id}), urgent=True,
                       number=repair.number, place=repair.place, what=what[:80])
            # The group robot of each department that mends faults (where logistics staff work).
            for department_id in sorted({u.department_id for u in logistics_staff() if u.department_id}):
                notify_department(department_id, f"repair-reported:{repair.id}", URGENT_MESSAGES[urgency],
                                  ("repairs.show", {"repair_id": repair.id}), urgent=True,
                                  number=repair.number, place=repair.place, what=what[:80])
    return repair


def refusal(repair, action, user, now=None):
    transition = TRANSITIONS.get(action)
    if transition is None:
        return _l("Unknown action.")
    if repair.state not in transition.sources:
        return _l("This cannot be done to a repair that is “%(state)s”.", state=STATES[repair.state])
    roles = set(user.roles)
    if transition.roles == WORKER:
        if repair.assignee_id != user.id and not roles & MANAGERS:
            return _l("Only the one it is assigned to, or logistics, records the repair.")
    elif transition.roles == REPORTER:
        if repair.reported_by_id != user.id:
            if action == "confirm" and roles & MANAGERS:
                days = settings.get(CONFIRM_ON_BEHALF_DAYS)
                if repair.done_at and repair.done_at + dt.timedelta(days=days) <= (now or utcnow()):
                    return None
                return _l("Only the person who reported the fault confirms the repair; logistics may confirm on "
                          "their behalf %(days)s days after it was repaired.", days=days)
            return _l("Only the person who reported the fault confirms or reopens the repair.")
    elif not roles & transition.roles:
        return _l("Your role may not do this.")
    return None


def _issue_materials(actor, repair, materials, taken_by):
    """Each (item_id, quantity) leaves the stock ledger now, in the caller's transaction; a line
    asking more than is in stock is refused beside its own field."""
    for index, (item_id, quantity) in enumerate(materials):
        try:
            move = issue(actor, item_id=item_id, quantity=quantity, taken_by=taken_by[:80],
                         note=f"报修 {repair.number}")
        except ProcurementError as refused:
            raise RepairError(refused.message, field=f"materials-{index}-{refused.field or 'quantity'}") from None
        RepairMaterial.create(repair=repair, item=item_id, quantity=quantity, move=move)


def apply(repair_id, action, actor, version, *, assignee_id=None, contractor="", contractor_phone="",
          work_done="", materials=(), note="", now=None):
    """Take one step: checked, stamped, audited; materials issued from stock in the same transaction.
    `materials` are (stock item id, quantity) pairs."""
    with write_transaction():
        repair = Repair.load(repair_id, version)
        now = now or utcnow()
        reason = refusal(repair, action, actor, now)
        if reason:
            raise RepairError(reason)
        transition = TRANSITIONS[action]
        note = (note or "").strip()
        if transition.note_required and not note:
            raise RepairError(NOTE_MISSING[action], field="note")
        values = {Repair.state: transition.target or repair.state}
        notices = []
        if action in ("assign", "reassign"):
            contractor, contractor_phone = (contractor or "").strip(), (contractor_phone or "").strip()
            person = None
            if assignee_id:
                person = User.get_or_none(User.id == assignee_id, User.is_active == True)  # noqa: E712
                if person is None:
                    raise RepairError(_l("Choose a member of staff from the list."), field="assignee")
            if person and contractor:
                raise RepairError(_l("Choose a member of staff or name a contractor, not both."), field="contractor")
            if not person and not contractor:
                raise RepairError(_l("Choose who repairs it: a member of staff or an outside contractor."),
                                  field="assignee")
            if contractor and not contractor_phone:
                raise RepairError(_l("Enter the contractor's phone."), field="contractor_phone")
            values.update({Repair.assignee: person, Repair.contractor: contractor[:80],
                           Repair.contractor_phone: contractor_phone[:30] if contractor else "",
                           Repair.assigned_at: now})
            if person:
                notices.append((person, ASSIGNED_MESSAGE, {}))
        elif action == "done":
            work_done = (work_done or "").strip()
            if not work_done:
                raise RepairError(_l("Write down what was done."), field="work_done")
            taken_by = repair.worker_label or actor.display_name
            _issue_materials(actor, repair, materials, taken_by)
            values.update({Repair.work_done: work_done, Repair.done_at: now, Repair.done_by: actor})
            notices.append((repair.reported_by, DONE_MESSAGE, {}))
        elif action == "confirm":
            values.update({Repair.confirmed_at: now, Repair.confirmed_by: actor,
                           Repair.on_behalf: actor.id != repair.reported_by_id})
        elif action == "reopen":
            values.update({Repair.reopen_count: repair.reopen_count + 1, Repair.reopen_reason: note,
                           Repair.done_at: None})
            recipients = {u.id: u for u in logistics_staff()}
            if repair.assignee_id:
                recipients.setdefault(repair.assignee_id, repair.assignee)
            notices += [(person, REOPENED_MESSAGE, {"reason": note[:80]}) for person in recipients.values()]
        elif action == "void":
            values.update({Repair.voided_at: now, Repair.void_reason: note})
        before = repair.snapshot()
        updated = repair.update_versioned(version, values)
        audit.record_change(actor, updated, before)
        for person, message, params in notices:
            if person.id != actor.id:
                notify(person, message, ("repairs.show", {"repair_id": updated.id}), number=updated.number,
                       place=updated.place, **params)
    return updated


def escalate_overdue(now=None):
    """The sweep: each open fault past its urgency's deadline and not escalated yet is marked and
    its escalation sent in one transaction; a rerun finds nothing. Returns how many."""
    now = now or utcnow()
    due = list(Repair.select(Repair.id).where(Repair.state.in_(OPEN_STATES), Repair.due_at <= now,
                                              Repair.escalated_at.is_null()).order_by(Repair.due_at).limit(200))
    sent = 0
    for row in due:
        with write_transaction():
            marked = (Repair.update(escalated_at=now)
                      .where(Repair.id == row.id, Repair.escalated_at.is_null(), Repair.state.in_(OPEN_STATES))
                      .execute())
            if not marked:
                continue  # another sweep took it, or it was done meanwhile
            repair = Repair.get_by_id(row.id)
            for person in escalation_recipients():
                notify(person, ESCALATED_MESSAGE, ("repairs.show", {"repair_id": repair.id}), urgent=True,
                       number=repair.number, hours=deadline_hours(repair.urgency), place=repair.place)
            audit.record_event(None, "repair_escalated", repair, changes={"escalated_at": [None, now.isoformat()]})
            sent += 1
    return sent


def _department_id(department):
    if department is None or isinstance(department, int):
        return department
    return department.id


def _pass_counts(start_utc, end_utc, department_id=None):
    query = Repair.select(fn.COUNT(Repair.id).alias("total"),
                          fn.SUM(Case(None, ((Repair.reopen_count == 0, 1),), 0)).alias("good")).where(
        Repair.state == "confirmed", Repair.voided_at.is_null(),
        Repair.confirmed_at >= start_utc, Repair.confirmed_at < end_utc)
    if department_id is not None:
        query = query.where(Repair.department == department_id)
    row = query.dicts().get()
    return int(row["good"] or 0), int(row["total"] or 0)


def pass_rate(start_date, end_date, department=None):
    """(good_first_time, confirmed_total): the repairs confirmed in the local days [start_date, end_date)
    — of the reporter's department when one is given (a Department or its id) — and how many of them
    were confirmed good the first time, never reopened. Voided repairs count in neither."""
    return _pass_counts(day_start_utc(start_date), day_start_utc(end_date), _department_id(department))


def _figures(good, total):
    target = settings.get(QUALITY_TARGET)
    percent = round(100 * good / total, 1) if total else None
    return {"good": good, "total": total, "percent": percent, "target": target,
            "met": percent is None or percent >= target}


def report_section(start_utc, end_utc, department_id=None):
    """The reports page's section (models.reports.SECTIONS): faults reported, escalated, and the pass rate."""
    reported = Repair.select().where(Repair.created_at >= start_utc, Repair.created_at < end_utc,
                                     Repair.voided_at.is_null())
    if department_id:
        reported = reported.where(Repair.department == department_id)
    return {"reported": reported.count(), "escalated": reported.where(Repair.escalated_at.is_null(False)).count(),
            **_figures(*_pass_counts(start_utc, end_utc, department_id or None))}


def quality(start_date, end_date, department=None):
    """The pass rate as the pages show it: {"good", "total", "percent" (None without confirmations),
    "target", "met"}."""
    return _figures(*pass_rate(start_date, end_date, department))


def listing():
    Reporter = User.alias("reporter")
    Worker = User.alias("worker")
    return (Repair.select(Repair, Reporter, Worker)
            .join(Reporter, on=(Repair.reported_by == Reporter.id))
            .switch(Repair).join(Worker, JOIN.LEFT_OUTER, on=(Repair.assignee == Worker.id)))


def month_ledger(period):
    """维修登记表: the faults reported in the month (a Period), in the order they came."""
    start, end = period.utc_range()
    return list(listing().where(Repair.created_at >= start, Repair.created_at < end)
                .order_by(Repair.created_at, Repair.id).limit(LEDGER_SHOWN))


def materials_of(repairs):
    """{repair id: [RepairMaterial with item]} for a page of repairs, in one query."""
    ids = [r.id for r in repairs]
    found = {}
    if ids:
        for m in (RepairMaterial.select(RepairMaterial, StockItem).join(StockItem)
                  .where(RepairMaterial.repair.in_(ids)).order_by(RepairMaterial.id)):
            found.setdefault(m.repair_id, []).append(m)
    return found
