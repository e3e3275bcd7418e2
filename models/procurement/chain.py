"""The approval chain (审批流程) as data: the steps an administrator edits (ApprovalStep), the
departments' own approvers (DepartmentApprover), and the Roster that decides who approves a
requisition's step; with the error every procurement module shares."""
import uuid
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from peewee import BooleanField, CharField, ForeignKeyField, IntegerField

from models import audit, settings
from models.base import BaseModel, DomainError, write_transaction
from models.money import MoneyField, money
from models.users import Department, User, UserRole


class ProcurementError(DomainError):
    """A refused procurement action; the message is for the user. `field` names the form field."""


PROCUREMENT = _l("Procurement")


LEADERSHIP_THRESHOLD = settings.define(
    "procurement_leadership_threshold", Decimal, Decimal("5000"),
    _l("Leadership approves requisitions from this confirmed amount (CNY)"), PROCUREMENT,
    minimum=Decimal("0"), maximum=Decimal("100000000"))


ESCALATE_HOURS = settings.define(
    "procurement_escalate_hours", int, 72,
    _l("Escalate a requisition to the step's next level up after it waited this many hours"),
    PROCUREMENT, minimum=1, maximum=2000)


#: The default chain, created the first time a chain is needed; labels of these keys are translated.
DEFAULT_STEP_LABELS = {
    "head": _l("Department head"),
    "logistics": _l("Logistics review"),
    "leadership": _l("Leadership approval"),
}

for _type, _label in (("approval_step", _l("Approval step")), ("department_approver", _l("Department approver"))):
    audit.name_record_type(_type, _label)


class ApprovalStep(BaseModel):
    key = CharField(max_length=40, unique=True)  # "head", "logistics", "leadership", or generated
    position = IntegerField()
    label = CharField(max_length=80)  # as the administrator typed it; default steps are translated
    role = CharField(max_length=32)  # who approves (unless the department names its own)
    own_department = BooleanField(default=False)  # the approver belongs to the requisition's department
    review = BooleanField(default=False)  # logistics review: purchase method, budget, confirmed amount
    min_amount = MoneyField(null=True)  # applies from this amount; empty: always
    threshold_setting = BooleanField(default=False)  # applies from the leadership-threshold setting
    # The next level up: approves when the requester is the step's only approver (a department's
    # sole head), and is told and may approve once the step waited past the escalation setting.
    fallback_role = CharField(max_length=32, default="leadership")
    active = BooleanField(default=True)

    def threshold(self):
        """The amount from which this step applies, or None when it always does."""
        amounts = [a for a in (self.min_amount,
                               settings.get(LEADERSHIP_THRESHOLD) if self.threshold_setting else None)
                   if a is not None]
        return max(amounts) if amounts else None

    def applies_to(self, amount):
        limit = self.threshold()
        return self.active and (limit is None or money(amount) >= money(limit))


class DepartmentApprover(BaseModel):
    """A department's own approver for a step: when a department names any for a step,
    only they act on that step for its requisitions."""
    department = ForeignKeyField(Department, on_delete="CASCADE")
    step = ForeignKeyField(ApprovalStep, on_delete="CASCADE")
    user = ForeignKeyField(User, on_delete="CASCADE")

    class Meta:
        indexes = ((("department", "step", "user"), True),)


DEFAULT_CHAIN = [
    dict(key="head", position=10, label="", role="dept_head", own_department=True),
    dict(key="logistics", position=20, label="", role="logistics", review=True),
    dict(key="leadership", position=30, label="", role="leadership", threshold_setting=True),
]


def ensure_default_chain():
    """The default chain, the first time one is needed (racing callers insert it once)."""
    if not ApprovalStep.select().exists():
        with write_transaction():
            ApprovalStep.insert_many(DEFAULT_CHAIN).on_conflict_ignore().execute()


def chain(include_inactive=False):
    ensure_default_chain()
    query = ApprovalStep.select().order_by(ApprovalStep.position, ApprovalStep.id)
    if not include_inactive:
        query = query.where(ApprovalStep.active == True)  # noqa: E712
    return list(query)


def step_label(step):
    """What people call a step: the administrator's label, else the default step's translated name."""
    if step is None:
        return ""
    if step.label:
        return step.label
    return DEFAULT_STEP_LABELS.get(step.key, step.key)


def save_step(actor, step_id=None, *, label, role, position, own_department=False, review=False,
              min_amount=None, threshold_setting=False, active=True, fallback_role="leadership"):
    """Add a step to the chain or change one; audited."""
    with write_transaction():
        if step_id:
            step = ApprovalStep.get_by_id(step_id)
            before = step.snapshot()
        else:
            step, before = ApprovalStep(key=f"s-{uuid.uuid4().hex[:12]}"), None
        step.label, step.role, step.position = label, role, position
        step.own_department, step.review, step.threshold_setting = own_department, review, threshold_setting
        step.min_amount = money(min_amount) if min_amount is not None else None
        step.active, step.fallback_role = active, fallback_role or ""
        step.save()
        if before is None:
            audit.record_create(actor, step)
        else:
            audit.record_change(actor, step, before)
    return step


def name_department_approver(actor, department_id, step_id, user_id):
    with write_transaction():
        row, created = DepartmentApprover.get_or_create(department=department_id, step=step_id, user=user_id)
        if created:
            audit.record_create(actor, row)
    return row


def remove_department_approver(actor, approver_id):
    with write_transaction():
        row = DepartmentApprover.get_or_none(DepartmentApprover.id == approver_id)
        if row is not None:
            audit.record_event(actor, "void", row, changes={"user": [row.user_id, None]})
            row.delete_instance()  # a configuration row, not a business record; the audit keeps it


def department_approvers():
    return (DepartmentApprover.select(DepartmentApprover, Department, ApprovalStep, User)
            .join(Department).switch(DepartmentApprover).join(ApprovalStep)
            .switch(DepartmentApprover).join(User)
            .order_by(Department.name, ApprovalStep.position, User.display_name))


class Roster:
    """The active people of each role and the departments' named approvers, read once (two
    queries) and asked for any number of requisitions: the one place that decides who approves."""

    def __init__(self):
        self.named = {}
        for department_id, step_id, user_id, active in (
                DepartmentApprover.select(DepartmentApprover.department, DepartmentApprover.step,
                                          DepartmentApprover.user, User.is_active).join(User).tuples()):
            self.named.setdefault((department_id, step_id), []).append(user_id if active else None)
        self.by_role = {}
        for user_id, role, department_id in (UserRole.select(UserRole.user, UserRole.role, User.department)
                                             .join(User).where(User.is_active == True).tuples()):  # noqa: E712
            self.by_role.setdefault(role, []).append((user_id, department_id))

    def primary(self, requisition, step):
        """The step's own approvers, the requester left out: the department's named ones
        when it named any, else the step's role (of the requisition's department if so set)."""
        named = self.named.get((requisition.department_id, step.id))
        if named is not None:
            people = [u for u in named if u is not None]
        else:
            people = [u for u, department_id in self.by_role.get(step.role, [])
                      if not step.own_department or department_id == requisition.department_id]
        return [u for u in dict.fromkeys(people) if u != requisition.requester_id]

    def fallback(self, requisition, step):
        """The next level up (the step's fallback role), the requester left out."""
        return [u for u in dict.fromkeys(u for u, _ in self.by_role.get(step.fallback_role, []))
                if u != requisition.requester_id]

    def approver_ids(self, requisition, step=None):
        """Who may act now: the step's own approvers; the next level up as well when that
        leaves nobody (the requester is the only one) or the step was escalated."""
        step = step or requisition.step
        if step is None:
            return []
        primary = self.primary(requisition, step)
        if primary and requisition.step_escalated_at is None:
            return primary
        return primary + [u for u in self.fallback(requisition, step) if u not in primary]
