"""Rectifications (整改): every finding of a completed inspection becomes one, owned by the
responsible person, due in a setting's days. The owner closes it with what was done; the
inspector (or the service manager) verifies it or reopens it. Overdue items remind the owner
once, and after a further setting's days the department's head once (tasks/quality.py)."""
import datetime as dt

from flask_babel import lazy_gettext as _l
from peewee import JOIN, CharField, DateField, DateTimeField, ForeignKeyField, TextField

from models import audit, settings
from models.base import Transition, VersionedModel, VoidableModel, utcnow, write_transaction
from models.notifications import N_, notify
from models.quality.checklists import ChecklistItem
from models.quality.inspections import QUALITY, MANAGERS, Finding, Inspection, QualityError, scope
from models.timezone import day_start_utc, local_now, to_local
from models.users import Department, User, UserRole

audit.name_record_type("rectification", _l("Rectification"))
audit.ACTION_LABELS.update({"rectification_reminded": _l("Overdue: owner reminded"),
                            "rectification_escalated": _l("Overdue: head told")})

DAYS = settings.define("quality_rectification_days", int, 7, _l("Days to rectify a finding"), QUALITY,
                       minimum=1, maximum=90)
ESCALATE_DAYS = settings.define("quality_rectification_escalate_days", int, 3,
                                _l("Days after the owner's reminder before the head is told"), QUALITY,
                                minimum=1, maximum=30)

STATES = {"open": _l("Not rectified yet"), "done": _l("Done, to be verified"), "verified": _l("Verified"),
          "reopened": _l("Reopened"), "voided": _l("Voided")}
OPEN_STATES = ("open", "reopened")
CLOSED_STATES = ("done", "verified")


TRANSITIONS = {
    # "owner": the owner, the head of their department, or the service manager.
    "close": Transition(_l("Done: close it"), OPEN_STATES, "done", "owner", note_required=True,
                        note_label=_l("Rectification measures taken")),
    # "inspector": whoever inspected, or the service manager.
    "verify": Transition(_l("Verified"), ("done",), "verified", "inspector"),
    "reopen": Transition(_l("Not done: reopen"), ("done",), "reopened", "inspector", note_required=True,
                         note_label=_l("What is still wrong")),
}


class Rectification(VoidableModel, VersionedModel):
    # One per finding, made once by the completion (its version check); not a unique key, so the
    # budget test can grow the table.
    finding = ForeignKeyField(Finding, backref="+", on_delete="RESTRICT")
    owner = ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    department = ForeignKeyField(Department, backref="+", on_delete="RESTRICT")
    due_on = DateField(index=True)
    state = CharField(max_length=10, default="open", index=True)
    what_was_done = TextField(default="")
    done_at = DateTimeField(null=True)
    verified_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    verified_at = DateTimeField(null=True)
    reopen_note = TextField(default="")
    reminded_at = DateTimeField(null=True)
    escalated_at = DateTimeField(null=True)

    error = QualityError

    @property
    def state_label(self):
        return STATES.get(self.state, self.state)

    def overdue(self, today=None):
        return self.state in OPEN_STATES and self.due_on < (today or local_now().date())

    def actions_for(self, user):
        return [(name, t) for name, t in TRANSITIONS.items() if refusal(self, name, user) is None]


def open_for(actor, inspection, finding):
    """The rectification of a finding, at the inspection's completion (inside its transaction)."""
    due = inspection.inspected_on + dt.timedelta(days=settings.get(DAYS))
    item = Rectification.create(finding=finding, owner=finding.person_id, department=finding.person.department_id,
                                due_on=max(due, local_now().date()))
    audit.record_create(actor, item)
    return item


def void_for_inspection(actor, inspection, reason):
    now = utcnow()
    rows = Rectification.select().join(Finding).where(Finding.inspection == inspection.id,
                                                      Rectification.voided_at.is_null())
    for row in rows:
        Rectification.update(state="voided", voided_at=now, void_reason=reason,
                             version=Rectification.version + 1).where(Rectification.id == row.id).execute()
        audit.record_event(actor, "void", row, reason=reason)


def _heads_of(department_id):
    return list(User.select().join(UserRole).where(UserRole.role == "dept_head", User.is_active == True,  # noqa: E712
                                                   User.department == department_id))


def refusal(item, action, user):
    transition = TRANSITIONS.get(action)
    if transition is None:
        return _l("Unknown action.")
    if item.state not in transition.sources:
        return _l("This cannot be done to a rectification that is “%(state)s”.", state=item.state_label)
    roles = set(user.roles)
    if transition.roles == "owner":
        if not (item.owner_id == user.id or roles & MANAGERS
                or ("dept_head" in roles and user.department_id == item.department_id)):
            return _l("Only its owner, their head or the service manager closes a rectification.")
    elif transition.roles == "inspector":
        inspector_id = Inspection.select(Inspection.inspector).join(Finding).where(
            Finding.id == item.finding_id).scalar()
        if not (inspector_id == user.id or roles & MANAGERS):
            return _l("Only the inspector or the service manager checks a rectification.")
    return None


def apply(item_id, action, actor, version, *, note=""):
    """Close, verify or reopen: checked, stamped, audited."""
    note = (note or "").strip()
    with write_transaction():
        item = Rectification.load(item_id, version)
        reason = refusal(item, action, actor)
        if reason:
            raise QualityError(reason)
        transition = TRANSITIONS[action]
        if transition.note_required and not note:
            raise QualityError(_l("Write down the rectification measures taken.") if action == "close"
                               else _l("Write down what is still wrong."), field="note")
        now = utcnow()
        values = {Rectification.state: transition.target}
        if action == "close":
            values.update({Rectification.what_was_done: note, Rectification.done_at: now})
        elif action == "verify":
            values.update({Rectification.verified_by: actor, Rectification.verified_at: now})
        elif action == "reopen":
            values.update({Rectification.reopen_note: note, Rectification.done_at: None,
                           # a new deadline clock: reminded again if it runs late again
                           Rectification.reminded_at: None, Rectification.escalated_at: None})
        before = item.snapshot()
        updated = item.update_versioned(version, values)
        audit.record_change(actor, updated, before)
    return updated


def listing():
    return (Rectification.select(Rectification, Finding, ChecklistItem, User, Department, Inspection)
            .join(Finding, on=(Rectification.finding == Finding.id))
            .join(ChecklistItem, on=(Finding.item == ChecklistItem.id))
            .switch(Finding).join(Inspection, on=(Finding.inspection == Inspection.id))
            .switch(Rectification).join(User, on=(Rectification.owner == User.id))
            .switch(Rectification).join(Department, on=(Rectification.department == Department.id))
            .where(Rectification.voided_at.is_null())
            .order_by(Rectification.due_on, Rectification.id))


def visible_rectifications(user, query=None):
    query = listing() if query is None else query
    kind, value = scope(user)
    if kind == "all":
        return query
    if kind == "department":
        return query.where((Rectification.department == value) | (Rectification.owner == user.id))
    return query.where(Rectification.owner == value)


def can_see(user, item):
    return visible_rectifications(user, Rectification.select().where(Rectification.id == item.id)).exists()


def week_of(day):
    start = day - dt.timedelta(days=day.weekday())
    return start, start + dt.timedelta(days=7)


def weekly_sheet(user, start, limit=None):
    """每周问题整改跟进表: the items open at some moment of the week starting `start` (created before
    its end, not closed before its start), by department: [(department, [items])]; the page shows
    the first `limit`, the printed sheet all."""
    end = start + dt.timedelta(days=7)
    start_utc, end_utc = day_start_utc(start), day_start_utc(end)
    rows = visible_rectifications(user).where(Rectification.created_at < end_utc,
                                              Rectification.done_at.is_null() | (Rectification.done_at >= start_utc)
                                              | Rectification.state.in_(OPEN_STATES))
    grouped = {}
    rows = rows.order_by(Department.name, Rectification.due_on, Rectification.id)
    if limit:
        rows = rows.limit(limit)
    for row in rows:
        grouped.setdefault(row.department.name, []).append(row)
    return list(grouped.items())


REMINDER = N_("Rectification of “%(item)s” was due on %(due)s: close it with what was done.")
ESCALATION = N_("%(name)s's rectification of “%(item)s” is overdue since %(due)s.")


def remind_overdue(now=None):
    """Owners of overdue rectifications, once; after ESCALATE_DAYS more, their heads, once. Each
    mark and its messages commit together; the conditional update is the claim, so a rerun (or
    a second sweep at the same moment) sends nothing more."""
    now = now or utcnow()
    today = to_local(now).date()
    sent = 0
    due = (listing().where(Rectification.state.in_(OPEN_STATES), Rectification.due_on < today,
                           Rectification.reminded_at.is_null()))
    for item in list(due):
        with write_transaction():
            if not Rectification.update(reminded_at=now).where(Rectification.id == item.id,
                                                              Rectification.reminded_at.is_null()).execute():
                continue
            notify(item.owner, REMINDER, ("quality.rectification", {"rectification_id": item.id}),
                   item=item.finding.item.title, due=item.due_on.isoformat())
            audit.record_event(None, "rectification_reminded", item)
            sent += 1
    cutoff = now - dt.timedelta(days=settings.get(ESCALATE_DAYS))
    late = (listing().where(Rectification.state.in_(OPEN_STATES), Rectification.reminded_at <= cutoff,
                            Rectification.escalated_at.is_null()))
    for item in list(late):
        with write_transaction():
            if not Rectification.update(escalated_at=now).where(Rectification.id == item.id,
                                                               Rectification.escalated_at.is_null()).execute():
                continue
            heads = _heads_of(item.department_id) or list(User.active_with_role("service_manager"))
            for head in heads:
                notify(head, ESCALATION, ("quality.rectification", {"rectification_id": item.id}), urgent=True,
                       name=item.owner.display_name, item=item.finding.item.title, due=item.due_on.isoformat())
            audit.record_event(None, "rectification_escalated", item)
            sent += 1
    return sent
