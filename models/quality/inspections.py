"""Inspections (检查): a store self-check (商场自查), a regional monthly check (区域月度检查),
a weekly special check (专项检查) or the daily floor walk (巡场), scored against the checklist.
Findings are added while the inspection is a draft; completing it issues the fines, opens a
rectification per finding and credits a faultless department's bonus fund, all in one
transaction (models.quality.fines, models.quality.rectifications)."""
import datetime as dt
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from peewee import JOIN, CharField, IntegrityError, DateField, DateTimeField, DecimalField, ForeignKeyField, IntegerField, TextField

from models import audit, settings
from models.base import BaseModel, DomainError, db, Transition, VersionedModel, VoidableModel, utcnow, write_transaction
from models.numbering import next_number
from models.quality.checklists import ChecklistItem
from models.notifications import N_, notify
from models.timezone import local_now, to_local
from models.users import Department, User

audit.name_record_type("inspection", _l("Inspection"))
audit.name_record_type("finding", _l("Inspection finding"))
audit.name_record_type("floor_walk_reminder", _l("Floor walk reminder"))
audit.ACTION_LABELS.update({"floor_walk_reminder": _l("No floor walk yet: manager reminded")})

QUALITY = _l("Service quality")
FLOOR_WALK_HOUR = settings.define(
    "quality_floor_walk_hour", int, 11, _l("Remind the service manager when no floor walk is recorded by (hour, local time)"),
    QUALITY, minimum=0, maximum=23)
PHOTO_MAX_MB = settings.define(
    "quality_photo_max_mb", int, 8, _l("Largest photo of an inspection finding (MB)"), QUALITY, minimum=1, maximum=50)

#: Findings one inspection holds at most: a check that finds more is a new check of its own.
MAX_FINDINGS = 200
KINDS = {"self": _l("Store self-check"), "regional": _l("Regional monthly check"),
         "special": _l("Weekly special check"), "floor_walk": _l("Floor walk")}
#: Kinds that inspect one department: its fund earns the reward when nothing is lost.
DEPARTMENT_KINDS = ("self", "regional")
STATES = {"draft": _l("Draft: findings being added"), "completed": _l("Completed"), "voided": _l("Voided")}
MANAGERS = frozenset({"service_manager"})
#: Roles that see every department's quality records; a head sees their department's.
SEE_ALL = frozenset({"service_manager", "leadership", "admin"})


class QualityError(DomainError):
    """A refused step in the quality area; the message is for the user, `field` the form field."""


TRANSITIONS = {
    # "inspector": the one who inspected, or the service manager.
    "complete": Transition(_l("Complete: issue the fines and rectifications"), ("draft",), "completed",
                           "inspector"),
    "void": Transition(_l("Void"), ("draft", "completed"), "voided", MANAGERS, note_required=True,
                       note_label=_l("Reason")),
}


class Inspection(VoidableModel, VersionedModel):
    number = CharField(max_length=20, unique=True)
    kind = CharField(max_length=12, index=True)
    # Null only for a special check or floor walk of the whole store.
    department = ForeignKeyField(Department, null=True, backref="+", on_delete="RESTRICT")
    inspector = ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    inspected_on = DateField(index=True)
    state = CharField(max_length=10, default="draft", index=True)
    notes = TextField(default="")
    completed_at = DateTimeField(null=True)
    completed_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")

    error = QualityError

    @property
    def kind_label(self):
        return KINDS.get(self.kind, self.kind)

    @property
    def state_label(self):
        return STATES.get(self.state, self.state)

    def live_findings(self):
        return (Finding.select(Finding, ChecklistItem, User)
                .join(ChecklistItem, on=(Finding.item == ChecklistItem.id))
                .switch(Finding).join(User, on=(Finding.person == User.id))
                .where(Finding.inspection == self.id, Finding.voided_at.is_null())
                .order_by(Finding.id))

    def actions_for(self, user):
        return [(name, t) for name, t in TRANSITIONS.items() if refusal(self, name, user) is None]

    def may_edit(self, user):
        return self.state == "draft" and _is_inspector(self, user)


class Finding(VoidableModel):
    """A point lost: the item, the responsible person, what was seen, optionally a photo.
    repeat_count is decided when the inspection is completed: 1 the first time, 2 when the
    same person lost the same item in the previous check of that kind, and so on."""
    inspection = ForeignKeyField(Inspection, backref="findings", on_delete="RESTRICT")
    item = ForeignKeyField(ChecklistItem, backref="+", on_delete="RESTRICT")
    person = ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    points_lost = DecimalField(max_digits=6, decimal_places=2, auto_round=True)
    seen = TextField()
    photo = CharField(max_length=80, default="")
    repeat_count = IntegerField(default=1)
    recorded_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")


def _is_inspector(inspection, user):
    return inspection.inspector_id == user.id or bool(MANAGERS & set(user.roles))


def scope(user):
    """What of the quality area this person sees — the one place it is decided:
    ("all", None) for the service manager, leadership and admin; ("department", id) for a head;
    ("own", user id) for everyone else (their own fines and rectifications)."""
    roles = set(user.roles)
    if roles & SEE_ALL:
        return "all", None
    if "dept_head" in roles and user.department_id:
        return "department", user.department_id
    return "own", user.id


def visible_inspections(user, query=None):
    query = listing() if query is None else query
    kind, value = scope(user)
    if kind == "all":
        return query
    if kind == "department":
        return query.where(Inspection.department == value)
    return query.where(Inspection.id.in_(Finding.select(Finding.inspection).where(Finding.person == value)))


def can_see(user, inspection):
    return visible_inspections(user, Inspection.select().where(Inspection.id == inspection.id)).exists()


def may_create(user, kind, department_id):
    """The manager inspects any department in any way; a head runs their own department's self-check."""
    roles = set(user.roles)
    if MANAGERS & roles:
        return True
    return kind == "self" and "dept_head" in roles and department_id and department_id == user.department_id


def listing():
    return (Inspection.select(Inspection, Department, User)
            .join(Department, JOIN.LEFT_OUTER, on=(Inspection.department == Department.id))
            .switch(Inspection).join(User, on=(Inspection.inspector == User.id))
            .order_by(Inspection.inspected_on.desc(), Inspection.id.desc()))


def create(actor, *, kind, department_id=None, inspected_on=None, notes=""):
    """Start an inspection (a draft); its findings are added next."""
    if kind not in KINDS:
        raise QualityError(_l("Choose the kind of inspection."), field="kind")
    department = Department.get_or_none(Department.id == department_id) if department_id else None
    if department_id and department is None:
        raise QualityError(_l("Choose a department."), field="department")
    if department is None and kind in DEPARTMENT_KINDS:
        raise QualityError(_l("A self-check or regional check inspects one department: choose it."),
                           field="department")
    today = local_now().date()
    inspected_on = inspected_on or today
    if inspected_on > today:
        raise QualityError(_l("An inspection is recorded on or after its day: the day is in the future."),
                           field="inspected_on")
    if not may_create(actor, kind, department.id if department else None):
        raise QualityError(_l("Your role may not start this inspection."), field="kind")
    with write_transaction():
        inspection = Inspection.create(number=next_number("QI"), kind=kind, department=department,
                                       inspector=actor, inspected_on=inspected_on, notes=(notes or "").strip())
        audit.record_create(actor, inspection)
    return inspection


def _points(value):
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None


def add_finding(actor, inspection_id, *, item_id, person_id, points_lost, seen, photo=None):
    """A point lost, checked: the item's points bound the loss, the person is of the inspected
    department. `photo` is (bytes, format) already checked by models.uploads.check_image."""
    inspection = Inspection.load(inspection_id)
    if inspection.state != "draft":
        raise QualityError(_l("Findings are added while the inspection is a draft."))
    if not _is_inspector(inspection, actor):
        raise QualityError(_l("Only the inspector or the service manager adds findings."))
    if Finding.select().where(Finding.inspection == inspection.id, Finding.voided_at.is_null()).count() >= MAX_FINDINGS:
        raise QualityError(_l("An inspection holds at most %(n)d findings.", n=MAX_FINDINGS))
    item = ChecklistItem.get_or_none(ChecklistItem.id == item_id, ChecklistItem.active == True,  # noqa: E712
                                     ChecklistItem.voided_at.is_null())
    if item is None or (item.department_id and inspection.department_id
                        and item.department_id != inspection.department_id):
        raise QualityError(_l("Choose an item of the checklist for this department."), field="item")
    lost = _points(points_lost)
    if lost is None or lost <= 0 or lost > item.points:
        raise QualityError(_l("Points lost must be more than 0 and at most the item's %(points)s.",
                              points=item.points.normalize()), field="points_lost")
    person = User.get_or_none(User.id == person_id, User.is_active == True)  # noqa: E712
    if person is None:
        raise QualityError(_l("Choose the responsible person."), field="person")
    if inspection.department_id and person.department_id != inspection.department_id:
        raise QualityError(_l("%(name)s is not of the inspected department %(department)s.",
                              name=person.display_name, department=inspection.department.name), field="person")
    if person.department_id is None:
        raise QualityError(_l("%(name)s belongs to no department: a fine needs one.", name=person.display_name),
                           field="person")
    seen = (seen or "").strip()
    if not seen:
        raise QualityError(_l("Write down what was seen."), field="seen")
    photo_name = ""
    if photo is not None:
        from models.uploads import store_image
        photo_name = store_image("quality", *photo).name
    with write_transaction():
        finding = Finding.create(inspection=inspection, item=item, person=person, points_lost=lost, seen=seen,
                                 photo=photo_name, recorded_by=actor)
        audit.record_create(actor, finding)
    return finding


def remove_finding(actor, finding_id, reason=""):
    """Take back a finding of a draft (voided, never deleted)."""
    finding = Finding.get_or_none(Finding.id == finding_id)
    if finding is None:
        raise QualityError(_l("No such record."))
    inspection = finding.inspection
    if inspection.state != "draft" or not _is_inspector(inspection, actor):
        raise QualityError(_l("Only a draft's findings are taken back, by its inspector or the service manager."))
    with write_transaction():
        audit.void(actor, finding, (reason or "").strip() or str(_l("Taken back before completion")))


def refusal(inspection, action, user):
    transition = TRANSITIONS.get(action)
    if transition is None:
        return _l("Unknown action.")
    if inspection.state not in transition.sources:
        return _l("This cannot be done to an inspection that is “%(state)s”.", state=inspection.state_label)
    if transition.roles == "inspector":
        if not _is_inspector(inspection, user):
            return _l("Only the inspector or the service manager completes an inspection.")
    elif not set(user.roles) & transition.roles:
        return _l("Your role may not do this.")
    return None


def previous_of_kind(inspection):
    """The check of the same kind and department completed just before this one: a repeat is
    the same fault of the same person there (seed 002: 连续二次)."""
    query = Inspection.select().where(
        Inspection.kind == inspection.kind, Inspection.state == "completed", Inspection.voided_at.is_null(),
        Inspection.id != inspection.id,
        (Inspection.inspected_on < inspection.inspected_on)
        | ((Inspection.inspected_on == inspection.inspected_on) & (Inspection.id < inspection.id)))
    if inspection.department_id:
        query = query.where(Inspection.department == inspection.department_id)
    else:
        query = query.where(Inspection.department.is_null())
    return query.order_by(Inspection.inspected_on.desc(), Inspection.id.desc()).first()


def apply(inspection_id, action, actor, version, *, note=""):
    """Complete or void an inspection: checked, stamped, audited, with everything it sets off."""
    from models.quality import fines, rectifications
    note = (note or "").strip()
    with write_transaction():
        inspection = Inspection.load(inspection_id, version)
        reason = refusal(inspection, action, actor)
        if reason:
            raise QualityError(reason)
        now = utcnow()
        values = {Inspection.state: TRANSITIONS[action].target}
        if action == "complete":
            values.update({Inspection.completed_at: now, Inspection.completed_by: actor})
        elif action == "void":
            if not note:
                raise QualityError(_l("Give the reason."), field="note")
            values.update({Inspection.voided_at: now, Inspection.void_reason: note})
        before = inspection.snapshot()
        updated = inspection.update_versioned(version, values)
        audit.record_change(actor, updated, before)
        if action == "complete":
            _complete(updated, actor, fines, rectifications)
        elif action == "void" and before["state"] == "completed":
            fines.void_for_inspection(actor, updated, note)
            rectifications.void_for_inspection(actor, updated, note)
    return updated


def _complete(inspection, actor, fines, rectifications):
    findings = list(inspection.live_findings())
    previous = previous_of_kind(inspection)
    earlier = {}
    if previous is not None:
        for row in Finding.select().where(Finding.inspection == previous.id, Finding.voided_at.is_null()):
            earlier[(row.person_id, row.item_id)] = max(row.repeat_count, earlier.get((row.person_id, row.item_id), 0))
    for finding in findings:
        count = earlier.get((finding.person_id, finding.item_id), 0) + 1
        if count != finding.repeat_count:
            Finding.update(repeat_count=count).where(Finding.id == finding.id).execute()
            finding.repeat_count = count
        fines.issue_for(actor, inspection, finding)
        rectifications.open_for(actor, inspection, finding)
    if not findings:
        fines.credit_reward(actor, inspection)


def floor_walk_done(day):
    """Whether a floor walk was recorded on this local day (draft or completed)."""
    return Inspection.select().where(Inspection.kind == "floor_walk", Inspection.inspected_on == day,
                                     Inspection.voided_at.is_null()).exists()


def todays_floor_walk():
    return (listing().where(Inspection.kind == "floor_walk", Inspection.inspected_on == local_now().date(),
                            Inspection.voided_at.is_null()).first())


def day_range(day):
    return day, day + dt.timedelta(days=1)


class FloorWalkReminder(BaseModel):
    """The day's floor-walk reminder, once per local day: the unique day is the sweep's mark."""
    day = DateField(unique=True)
    sent_at = DateTimeField(default=utcnow)


FLOOR_WALK_REMINDER = N_("No floor walk (巡场) recorded today by %(hour)s:00: walk the floor and record it.")


def remind_floor_walk(now=None):
    """Past the setting's hour with no floor walk today: the service managers are told, once a day."""
    now = now or utcnow()
    local = to_local(now)
    hour = settings.get(FLOOR_WALK_HOUR)
    if local.hour < hour or floor_walk_done(local.date()):
        return 0
    if FloorWalkReminder.select().where(FloorWalkReminder.day == local.date()).exists():
        return 0
    with write_transaction():
        try:
            with db.atomic():
                mark = FloorWalkReminder.create(day=local.date(), sent_at=now)
        except IntegrityError:
            return 0  # another sweep marked it first
        for manager in User.active_with_role("service_manager"):
            notify(manager, FLOOR_WALK_REMINDER, ("quality.index", {}), hour=hour)
        audit.record_event(None, "floor_walk_reminder", mark)
    return 1
