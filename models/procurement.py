"""Procurement (物资采购): requisition → approvals → purchase order → receiving inspection →
goods receipt note and stock ledger → reimbursement; and the supplier register.

The approval chain is data (ApprovalStep rows an administrator edits, DepartmentApprover
rows naming a department's own approvers), never code. decide() is the one function
that moves a requisition through it; refusal() decides who may act, in one place."""
import datetime as dt
import os
import unicodedata
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import lazy_gettext as _l
from peewee import (
    JOIN, BooleanField, CharField, DateField, DateTimeField, DecimalField, ForeignKeyField, IntegerField,
    TextField, fn,
)

from models import audit, settings
from models.base import (
    BaseModel, DomainError, VersionedModel, VoidableModel, is_postgres, utcnow, write_transaction,
)
from models.notifications import N_, notify
from models.numbering import next_number
from models.timezone import local_now
from models.uploads import UploadError, check_document, store_document
from models.users import Department, User, UserRole

CENT = Decimal("0.01")


def money(value):
    """A Decimal with 2 places (CNY), rounded half up as on an invoice."""
    return Decimal(value if value is not None else 0).quantize(CENT, rounding=ROUND_HALF_UP)


def MoneyField(**kwargs):  # noqa: N802  (a field factory, read like a class)
    return DecimalField(max_digits=12, decimal_places=2, auto_round=True, **kwargs)


PROCUREMENT = _l("Procurement")
LEADERSHIP_THRESHOLD = settings.define(
    "procurement_leadership_threshold", Decimal, Decimal("5000"),
    _l("Leadership approves requisitions from this confirmed amount (CNY)"), PROCUREMENT,
    minimum=Decimal("0"), maximum=Decimal("100000000"))
ATTACHMENT_MAX_MB = settings.define(
    "procurement_attachment_max_mb", int, 10, _l("Largest file attached to a requisition (MB)"), PROCUREMENT,
    minimum=1, maximum=50)
#: Quotations and specifications, not an archive: a requisition holds this many files at most.
MAX_ATTACHMENTS = 10
REMIND_DAYS = settings.define(
    "procurement_remind_days", int, 2, _l("Remind an approver after a requisition waited this many days"),
    PROCUREMENT, minimum=1, maximum=60)
ESCALATE_HOURS = settings.define(
    "procurement_escalate_hours", int, 72,
    _l("Escalate a requisition to the step's next level up after it waited this many hours"),
    PROCUREMENT, minimum=1, maximum=2000)

STATES = {
    "draft": _l("Draft (not submitted)"),
    "pending": _l("Waiting for approval"),
    "rejected": _l("Returned to the requester"),
    "approved": _l("Approved, to be ordered"),
    "ordered": _l("Ordered"),
    "received": _l("Received into stock"),
    "reimbursed": _l("Reimbursed"),
    "voided": _l("Withdrawn"),
}
EDITABLE_STATES = ("draft", "rejected")

PURCHASE_METHODS = {
    "direct": _l("Direct purchase"),
    "quotation": _l("Quotation comparison"),
    "tender": _l("Tender"),
}

#: Events on a requisition's timeline.
EVENT_LABELS = {
    "create": _l("Requisition drafted"),
    "submit": _l("Submitted for approval"),
    "approve": _l("Approved"),
    "reject": _l("Returned for amendment"),
    "amend": _l("Amended"),
    "void": _l("Withdrawn"),
    "order": _l("Purchase order placed"),
    "receive": _l("Delivery inspected"),
    "reimburse": _l("Reimbursed"),
    "attach": _l("File attached"),
    "over_order": _l("Order above the approved amount: sent back for approval"),
    "over_invoice": _l("Invoice above the approved amount: sent back for approval"),
}
#: A commitment of money above what the chain approved: the order, or the invoice reimbursed.
SENT_BACK = ("over_order", "over_invoice")
DECISIONS = {"approve": _l("Approved"), "reject": _l("Returned")}

#: The default chain, created the first time a chain is needed; labels of these keys are translated.
DEFAULT_STEP_LABELS = {
    "head": _l("Department head"),
    "logistics": _l("Logistics review"),
    "leadership": _l("Leadership approval"),
}
MANAGERS = frozenset({"logistics", "leadership", "admin"})

RETURN_KINDS = {"exchange": _l("Exchange (replacement expected)"), "return": _l("Return (no replacement)")}

for _type, _label in (("requisition", _l("Requisition")), ("approval_step", _l("Approval step")),
                      ("department_approver", _l("Department approver")), ("supplier", _l("Supplier")),
                      ("purchase_order", _l("Purchase order")), ("delivery", _l("Delivery inspection")),
                      ("return_record", _l("Return or exchange")), ("stock_item", _l("Stock item")),
                      ("stock_move", _l("Stock movement")), ("requisition_attachment", _l("Requisition file"))):
    audit.name_record_type(_type, _label)
audit.ACTION_LABELS.update({
    "submit": _l("Submitted"), "approve": _l("Approved"), "reject": _l("Returned for amendment"),
    "amend": _l("Amended"), "order": _l("Ordered"), "receive": _l("Goods received"), "reimburse": _l("Reimbursed"),
    "issue": _l("Issued from stock"), "remind": _l("Reminder sent"), "resolve": _l("Resolved"),
    "escalate": _l("Escalated"),
    "over_order": EVENT_LABELS["over_order"], "over_invoice": EVENT_LABELS["over_invoice"],
})


class ProcurementError(DomainError):
    """A refused procurement action; the message is for the user. `field` names the form field."""


class SentBackForApproval(ProcurementError):
    """The commitment was refused and the requisition went back for approval of the higher
    amount: unlike other refusals, something was done (and committed)."""


# ---------------------------------------------------------------- the approval chain (data)

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


# ---------------------------------------------------------------- suppliers

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100-2015: no I, O, S, V, Z
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_tax_id(text):
    """The unified social credit code (统一社会信用代码) in capitals; ValueError with a user message.

    18 characters: registration authority, organisation type, 6-digit region code,
    9-character organisation code and a check character (GB 32100-2015, mod 31)."""
    code = (text or "").strip().upper().replace(" ", "")
    if len(code) != 18:
        raise ValueError(_l("A unified social credit code has 18 characters (this one has %(n)s).", n=len(code)))
    if any(c not in USCC_CHARS for c in code) or not code[2:8].isdigit():
        raise ValueError(_l("This is not a unified social credit code: only digits and capital letters "
                            "(no I, O, S, V, Z), the 3rd to 8th are digits."))
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(code[:17], USCC_WEIGHTS))
    check = (31 - total % 31) % 31
    if USCC_CHARS[check] != code[17]:
        raise ValueError(_l("The last character (check digit) does not match: check the code for a typo."))
    return code


class Supplier(VoidableModel):
    name = CharField(max_length=120, unique=True)
    contact = CharField(max_length=80, default="")
    phone = CharField(max_length=30, default="")
    tax_id = CharField(max_length=18, unique=True)
    address = CharField(max_length=200, default="")
    note = TextField(default="")

    def __str__(self):
        return self.name

    @classmethod
    def active_ones(cls):
        return cls.select().where(cls.voided_at.is_null()).order_by(cls.name)


def save_supplier(actor, supplier_id=None, **fields):
    with write_transaction():
        if supplier_id:
            supplier = Supplier.get_by_id(supplier_id)
            before = supplier.snapshot()
            for name, value in fields.items():
                setattr(supplier, name, value)
            supplier.save()
            audit.record_change(actor, supplier, before)
        else:
            supplier = Supplier.create(**fields)
            audit.record_create(actor, supplier)
    return supplier


# ---------------------------------------------------------------- requisitions

class Requisition(VoidableModel, VersionedModel):
    number = CharField(max_length=20, unique=True)
    department = ForeignKeyField(Department, on_delete="RESTRICT")
    requester = ForeignKeyField(User, backref="requisitions", on_delete="RESTRICT")
    state = CharField(max_length=12, default="draft", index=True)
    # Each submission is a round; a rejection ends one, the history of every round is kept.
    round = IntegerField(default=0)
    step = ForeignKeyField(ApprovalStep, null=True, on_delete="RESTRICT")
    step_since = DateTimeField(null=True)
    # The sweep reminds once per requisition and step: stamped here, cleared when the step changes.
    step_reminded_at = DateTimeField(null=True)
    # Escalated to the step's next level up by the sweep, once per step; cleared when the step changes.
    step_escalated_at = DateTimeField(null=True)
    estimated_total = MoneyField(default=Decimal("0"))  # computed from the lines, never typed
    confirmed_amount = MoneyField(null=True)  # set by the logistics review
    # An order total or invoice above what was approved, sent back for approval; the review replaces it.
    requested_amount = MoneyField(null=True)
    purchase_method = CharField(max_length=12, default="")
    budget_checked = BooleanField(default=False)
    note = TextField(default="")
    first_submitted_at = DateTimeField(null=True, index=True)
    submitted_at = DateTimeField(null=True)
    approved_at = DateTimeField(null=True, index=True)

    stale_message = _l("Someone else acted on this requisition meanwhile; look at it again.")
    missing_message = _l("No such requisition.")
    error = ProcurementError

    @property
    def amount_for_approval(self):
        """A higher amount sent back for approval, else the confirmed amount once logistics set
        it, the estimate before."""
        for amount in (self.requested_amount, self.confirmed_amount):
            if amount is not None:
                return amount
        return self.estimated_total

    @property
    def editable(self):
        return self.state in EDITABLE_STATES

    def lines_list(self):
        if not hasattr(self, "_lines"):
            self._lines = list(RequisitionLine.select().where(RequisitionLine.requisition == self)
                               .order_by(RequisitionLine.position))
        return self._lines

    def events(self):
        return (RequisitionEvent.select(RequisitionEvent, User).join(User, on=RequisitionEvent.actor == User.id)
                .where(RequisitionEvent.requisition == self)
                .order_by(RequisitionEvent.at, RequisitionEvent.id))

    def decisions(self, round_=None):
        """The approvers' decisions of one round (the latest by default), in order."""
        return [e for e in self.events() if e.action in DECISIONS and e.round == (round_ or self.round)]

    def approval_history(self):
        """Every round's decisions and sends-back, in order: the paper trail of the approvals."""
        return [e for e in self.events() if e.action in DECISIONS or e.action in SENT_BACK or e.action == "submit"]

    def order(self):
        return PurchaseOrder.get_or_none(PurchaseOrder.requisition == self)

    def actions_for(self, user):
        """The transitions this user may apply now, in table order."""
        return [(name, t) for name, t in TRANSITIONS.items() if refusal(self, name, user) is None]

    def waiting_days(self, now=None):
        if self.state != "pending" or self.step_since is None:
            return None
        return ((now or utcnow()) - self.step_since).days


class RequisitionAttachment(BaseModel):
    """A quotation, a specification or a photo that goes with the requisition."""
    requisition = ForeignKeyField(Requisition, backref="attachments", on_delete="CASCADE")
    filename = CharField(max_length=200)  # as the user named it, shown and offered on download
    stored_name = CharField(max_length=64)  # the portal's own name on disk
    extension = CharField(max_length=8)
    size = IntegerField()
    uploaded_by = ForeignKeyField(User, on_delete="RESTRICT", backref="+")
    uploaded_at = DateTimeField(default=utcnow)


class RequisitionLine(BaseModel):
    requisition = ForeignKeyField(Requisition, backref="lines", on_delete="CASCADE")
    position = IntegerField()
    item_name = CharField(max_length=80)
    spec = CharField(max_length=120, default="")
    quantity = IntegerField()
    unit = CharField(max_length=12)
    unit_price = MoneyField()
    needed_on = DateField()
    purpose = CharField(max_length=200, default="")

    @property
    def amount(self):
        return money(self.unit_price * self.quantity)


class RequisitionEvent(BaseModel):
    requisition = ForeignKeyField(Requisition, backref="timeline", on_delete="CASCADE")
    at = DateTimeField(default=utcnow)
    actor = ForeignKeyField(User, on_delete="RESTRICT")
    action = CharField(max_length=12)
    round = IntegerField(default=0)
    step = ForeignKeyField(ApprovalStep, null=True, on_delete="RESTRICT")
    step_label = CharField(max_length=80, default="")  # as it was called when decided
    note = TextField(default="")
    purchase_method = CharField(max_length=12, default="")
    confirmed_amount = MoneyField(null=True)
    # approve: the amount this approval covers; a send-back: the amount asked for.
    amount = MoneyField(null=True)

    @property
    def label(self):
        return EVENT_LABELS.get(self.action, self.action)

    @property
    def step_name(self):
        """The step as it was called when decided (default steps in the reader's language)."""
        if self.step_label:
            return self.step_label
        return step_label(self.step) if self.step_id else ""


def _event(requisition, actor, action, **fields):
    return RequisitionEvent.create(requisition=requisition, actor=actor, action=action,
                                   round=requisition.round, **fields)


def _lines_snapshot(lines):
    return "; ".join(f"{l['item_name']} {l.get('spec', '')} ×{l['quantity']}{l['unit']} @{money(l['unit_price'])}"
                     for l in lines)


def _check_lines(lines):
    """Lines as the domain requires them; the form checks the same, this is the last word."""
    if not lines:
        raise ProcurementError(_l("Add at least one item."))
    today = local_now().date()
    for line in lines:
        if not line.get("item_name"):
            raise ProcurementError(_l("Every line needs an item name."))
        if not isinstance(line.get("quantity"), int) or line["quantity"] <= 0:
            raise ProcurementError(_l("Quantities must be whole numbers greater than 0."))
        if money(line["unit_price"]) < 0:
            raise ProcurementError(_l("A price cannot be negative."))
        if line["needed_on"] < today:
            raise ProcurementError(_l("The date needed cannot be in the past."))


def _write_lines(requisition, lines):
    RequisitionLine.delete().where(RequisitionLine.requisition == requisition).execute()
    total = Decimal("0")
    for position, line in enumerate(lines, start=1):
        row = RequisitionLine.create(requisition=requisition, position=position, item_name=line["item_name"],
                                     spec=line.get("spec", ""), quantity=line["quantity"], unit=line["unit"],
                                     unit_price=money(line["unit_price"]), needed_on=line["needed_on"],
                                     purpose=line.get("purpose", ""))
        total += row.amount
    return money(total)


def _department(department_id):
    department = Department.get_or_none(Department.id == department_id, Department.active == True)  # noqa: E712
    if department is None:
        raise ProcurementError(_l("Choose the department."), "department")
    return department


def missing_approvals(requisition, amount):
    """Does this amount need more approval than it had? The steps of the chain this amount
    requires that have not approved at least this much in the current round, in chain order;
    empty when what was approved covers it.

    The one rule for every commitment of money: it routes each decision (a confirmed amount
    above what the earlier steps approved goes back to them), and it decides whether an
    order total or an invoice may go ahead or must go back for approval."""
    amount = money(amount)
    covered = {}
    for decision in requisition.decisions():
        if decision.action == "approve":
            # Approvals recorded before amounts were kept covered the amount then under approval.
            approved = decision.amount if decision.amount is not None else requisition.amount_for_approval
            covered[decision.step_id] = max(covered.get(decision.step_id, approved), approved)
    return [step for step in chain() if step.applies_to(amount)
            and (step.id not in covered or money(covered[step.id]) < amount)]


def shortfall_text(amount, approved, steps):
    return _l("¥%(amount)s is more than the approved ¥%(approved)s and needs: %(steps)s.",
              amount=f"{money(amount):,.2f}", approved=f"{money(approved):,.2f}",
              steps="、".join(str(step_label(s)) for s in steps))


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


def approvers(requisition, step=None):
    """Who may act on the step the requisition waits at (the requester never)."""
    ids = Roster().approver_ids(requisition, step)
    return list(User.select().where(User.id.in_(ids)).order_by(User.display_name)) if ids else []


def waiting_for(requisition):
    """For the page: (the people who may approve now, why: "" as usual, "sole" when the
    requester is the step's only approver, "escalated", or "nobody")."""
    if requisition.state != "pending" or requisition.step is None:
        return [], ""
    roster = Roster()
    people = approvers(requisition)
    if not people:
        return [], "nobody"
    if not roster.primary(requisition, requisition.step):
        return people, "sole"
    return people, "escalated" if requisition.step_escalated_at else ""


def _tell_approvers(requisition):
    link = _link(requisition)
    people = approvers(requisition)
    for person in people:
        notify(person, N_("Requisition %(number)s waits for your approval"), link, number=requisition.number)
    if not people:  # never wait for nobody in silence
        for person in User.active_with_role("admin"):
            notify(person, N_("Requisition %(number)s waits at a step nobody may approve: check the approval chain"),
                   link, number=requisition.number)


def _tell_logistics(requisition, message, actor=None, **args):
    for person in User.active_with_role("logistics"):
        if actor is None or person.id != actor.id:
            notify(person, message, _link(requisition), number=requisition.number, **args)


def _link(requisition):
    return ("procurement.show", {"requisition_id": requisition.id})


# ---------------------------------------------------------------- the workflow: one table, one apply()

#: Who may apply a transition: the requester; whoever may approve the step it waits at (the
#: chain and its roster decide); logistics, who orders, receives and reimburses.
REQUESTER, APPROVER, PURCHASING = "requester", "approver", "purchasing"


@dataclass(frozen=True)
class Transition:
    label: object
    sources: tuple
    target: str  # where it goes; its effect may say otherwise (a send-back, a partial delivery); None: stays
    who: str
    not_now: object  # why not, in any other state
    form: str  # the page's form that offers it: approve and reject share one


@dataclass
class Outcome:
    """What an effect did and asks apply() to write: the requisition's new values (its state
    when not the table's target), the timeline event's fields (None: no event), the
    notifications to send once the requisition is stored, and what the caller gets back."""
    values: dict = field(default_factory=dict)
    event: dict = field(default_factory=dict)
    action: str = None  # the event's action when it is not the transition's (a send-back)
    reason: str = None  # for the audit entry
    tell: object = None  # tell(requisition as stored now)
    result: object = None
    sent_back: object = None  # a commitment refused and sent back for approval: told after the commit
    sent_back_field: str = None


TRANSITIONS = {
    "amend": Transition(_l("Edit"), EDITABLE_STATES, None, REQUESTER,
                        _l("Only a draft or a returned requisition can be changed."), "amend"),
    "submit": Transition(_l("Submit for approval"), EDITABLE_STATES, "pending", REQUESTER,
                         _l("This requisition was submitted already."), "submit"),
    "withdraw": Transition(_l("Withdraw"), EDITABLE_STATES, "voided", REQUESTER,
                           _l("Only a draft or a returned requisition can be withdrawn."), "withdraw"),
    "approve": Transition(_l("Approve"), ("pending",), "approved", APPROVER,
                          _l("This requisition is not waiting for an approval."), "decide"),
    "reject": Transition(_l("Return for amendment"), ("pending",), "rejected", APPROVER,
                         _l("This requisition is not waiting for an approval."), "decide"),
    "order": Transition(_l("Place the order"), ("approved",), "ordered", PURCHASING,
                        _l("Only an approved requisition is ordered."), "order"),
    "receive": Transition(_l("Record the inspection"), ("ordered",), "received", PURCHASING,
                          _l("Only an ordered requisition has deliveries to inspect."), "receive"),
    "reimburse": Transition(_l("Mark reimbursed"), ("received",), "reimbursed", PURCHASING,
                            _l("Reimbursement follows the receipt of the goods."), "reimburse"),
}
NOT_YOURS = {
    "amend": _l("Only the requester amends a requisition."),
    "submit": _l("Only the requester submits a requisition."),
    "withdraw": _l("Only the requester withdraws a requisition."),
    PURCHASING: _l("Only logistics orders, receives and reimburses."),
}

#: The effect of each transition, effect(requisition, actor, **changes) -> Outcome, run by
#: apply() inside its transaction: the approvals here, ordering, receiving and reimbursing
#: with the purchase orders (registered with @effect).
EFFECTS = {}


def effect(action):
    def register(function):
        EFFECTS[action] = function
        return function
    return register


def refusal(requisition, action, user):
    """Why this user may not apply this action to this requisition now, or None if they may."""
    transition = TRANSITIONS.get(action)
    if transition is None:
        return _l("Unknown action.")
    if requisition.state not in transition.sources:
        return transition.not_now
    if transition.who == REQUESTER and requisition.requester_id != user.id:
        return NOT_YOURS[action]
    if transition.who == PURCHASING and not user.can("procurement.manage"):
        return NOT_YOURS[PURCHASING]
    if transition.who == APPROVER:
        return _approver_refusal(requisition, user)
    return None


def _approver_refusal(requisition, user):
    if requisition.step_id is None:
        return _l("This requisition is not waiting for an approval.")
    if requisition.requester_id == user.id:
        return _l("Nobody approves their own requisition.")
    roster = Roster()
    if user.id in roster.approver_ids(requisition):
        return None
    step = requisition.step
    if (requisition.department_id, step.id) in roster.named:
        return _l("This department named its own approvers for this step.")
    if step.role in user.roles and step.own_department and user.department_id != requisition.department_id:
        return _l("Only the requisition's own department approves this step.")
    return _l("This step is for someone else: %(step)s.", step=step_label(step))


def apply(actor, requisition_id, version, action, **changes):
    """Apply one transition: check who may, run its effect, store the requisition at the
    version the user saw, write the timeline event and the audit entries, notify; all in one
    transaction. Returns what the effect made (the order, the delivery) or the requisition.

    Of two people acting at once one wins and the other is told. A commitment above what was
    approved is committed as a send-back, then raised as SentBackForApproval."""
    with write_transaction():
        requisition = Requisition.load(requisition_id, version)
        refused = refusal(requisition, action, actor)
        if refused:
            raise ProcurementError(refused)
        transition = TRANSITIONS[action]
        before = requisition.snapshot()
        outcome = EFFECTS[action](requisition, actor, **changes)
        values = {Requisition.state: transition.target or requisition.state, **outcome.values}
        requisition = requisition.update_versioned(version, values)
        if outcome.event is not None:
            event = _event(requisition, actor, outcome.action or action, **outcome.event)
            audit.record_event(actor, event.action, requisition, reason=outcome.reason,
                               changes={"step": [event.step_label or event.step.key, None]} if event.step_id else None)
        audit.record_change(actor, requisition, before)
        if outcome.tell:
            outcome.tell(requisition)
    if outcome.sent_back:
        raise SentBackForApproval(outcome.sent_back, outcome.sent_back_field)
    return outcome.result or requisition


def _at_step(step, now):
    """The values of a requisition that starts waiting at `step` now: reminded and escalated afresh."""
    return {Requisition.step: step, Requisition.step_since: now, Requisition.step_reminded_at: None,
            Requisition.step_escalated_at: None}


OFF_THE_CHAIN = {Requisition.step: None, Requisition.step_since: None, Requisition.step_escalated_at: None}


@effect("amend")
def _amended(requisition, actor, *, department_id, lines, note=""):
    """The requester changes a draft or a returned requisition; the old lines stay in the timeline."""
    _check_lines(lines)
    department = _department(department_id)
    total = _write_lines(requisition, lines)
    return Outcome({Requisition.department: department, Requisition.note: note or "",
                    Requisition.estimated_total: total}, {"note": _lines_snapshot(lines)})


@effect("submit")
def _submitted(requisition, actor):
    if not requisition.lines_list():
        raise ProcurementError(_l("Add at least one item."))
    # A new round is reviewed afresh: no approval of an earlier round counts.
    requisition.confirmed_amount = requisition.requested_amount = None
    requisition.round += 1
    steps = missing_approvals(requisition, requisition.amount_for_approval)
    if not steps:
        raise ProcurementError(_l("The approval chain has no step; ask the administrator to set it up."))
    now = utcnow()
    return Outcome({Requisition.round: requisition.round, **_at_step(steps[0], now),
                    Requisition.confirmed_amount: None, Requisition.requested_amount: None,
                    Requisition.purchase_method: "", Requisition.budget_checked: False,
                    Requisition.submitted_at: now,
                    Requisition.first_submitted_at: requisition.first_submitted_at or now},
                   tell=_tell_approvers)


@effect("withdraw")
def _withdrawn(requisition, actor, *, reason=""):
    """Withdrawn by the requester: voided with the reason, never deleted."""
    reason = (reason or "").strip()
    if not reason:
        raise ProcurementError(_l("Say why it is withdrawn."), "reason")
    return Outcome({Requisition.voided_at: utcnow(), Requisition.void_reason: reason}, {"note": reason},
                   action="void", reason=reason)


def _decision(step, reason):
    # The admin's own name of the step as it was then; default steps are named when shown (translated).
    return dict(step=step, step_label=step.label[:80], note=reason)


@effect("approve")
def _approved(requisition, actor, *, reason="", purchase_method="", budget_checked=False, confirmed_amount=None):
    """The step the requisition waits at approves; the logistics review also sets the purchase
    method, the budget check and the confirmed amount. Then on to whatever this amount still
    needs (earlier steps that approved less included), else approved."""
    reason = (reason or "").strip()
    step = requisition.step
    values, event = {}, _decision(step, reason)
    if step.review:
        if purchase_method not in PURCHASE_METHODS:
            raise ProcurementError(_l("Choose the purchase method."), "purchase_method")
        if not budget_checked:
            raise ProcurementError(_l("Check the amount against the budget before approving."), "budget_checked")
        if confirmed_amount is None or money(confirmed_amount) <= 0:
            raise ProcurementError(_l("Enter the confirmed amount."), "confirmed_amount")
        confirmed = money(confirmed_amount)
        # The review's confirmed amount replaces a higher amount sent back for approval.
        values.update({Requisition.purchase_method: purchase_method, Requisition.budget_checked: True,
                       Requisition.confirmed_amount: confirmed, Requisition.requested_amount: None})
        requisition.confirmed_amount, requisition.requested_amount = confirmed, None
        event.update(purchase_method=purchase_method, confirmed_amount=confirmed)
    amount = event["amount"] = requisition.amount_for_approval
    # This approval covers the amount at its own step.
    missing = [s for s in missing_approvals(requisition, amount) if s.id != step.id]
    now = utcnow()
    if missing:
        return Outcome({**values, Requisition.state: "pending", **_at_step(missing[0], now)}, event, reason=reason,
                       tell=_tell_approvers)
    if requisition.order() is not None:
        # Sent back over an invoice, the goods are in: back to the reimbursement.
        def tell(stored):
            _tell_logistics(stored, N_("Requisition %(number)s: the invoice amount is approved, reimburse it"), actor)
        return Outcome({**values, Requisition.state: "received", **OFF_THE_CHAIN, Requisition.approved_at: now},
                       event, reason=reason, tell=tell)

    def tell(stored):
        notify(stored.requester, N_("Requisition %(number)s is approved"), _link(stored), number=stored.number)
        _tell_logistics(stored, N_("Requisition %(number)s is approved: place the order"), actor)
    return Outcome({**values, **OFF_THE_CHAIN, Requisition.approved_at: now}, event, reason=reason, tell=tell)


@effect("reject")
def _returned(requisition, actor, *, reason=""):
    """Returned to the requester for amendment, with the reason; returned over an invoice, the
    goods are in: back to the reimbursement, not to the requester."""
    reason = (reason or "").strip()
    if not reason:
        raise ProcurementError(_l("Say why it is returned, so the requester can amend it."), "reason")
    event = _decision(requisition.step, reason)
    values = {**OFF_THE_CHAIN, Requisition.requested_amount: None}
    if requisition.order() is not None:
        def tell(stored):
            _tell_logistics(stored, N_("Requisition %(number)s: the invoice amount was not approved: %(reason)s"),
                            reason=reason)
        return Outcome({**values, Requisition.state: "received"}, event, reason=reason, tell=tell)

    def tell(stored):
        notify(stored.requester, N_("Requisition %(number)s was returned: %(reason)s"), _link(stored),
               number=stored.number, reason=reason)
    return Outcome(values, event, reason=reason, tell=tell)


def sent_back(requisition, action, amount, missing, note, message, field_name):
    """The Outcome of a commitment above what was approved (an order total, an invoice): back to
    the first step that has not approved this amount, with the amount to approve; the approvals
    that cover it stand, and the person is told why once it is committed."""
    def tell(stored):
        notify(stored.requester, N_("Requisition %(number)s went back for approval of ¥%(amount)s"), _link(stored),
               number=stored.number, amount=f"{money(amount):,.2f}")
        _tell_approvers(stored)
    return Outcome({Requisition.state: "pending", Requisition.requested_amount: money(amount),
                    **_at_step(missing[0], utcnow())}, {"amount": money(amount), "note": note}, action=action,
                   tell=tell, sent_back=message, sent_back_field=field_name)


def create(actor, *, department_id, lines, note="", submit=False):
    """A new requisition (a draft); `submit` sends it into the approval chain at once."""
    _check_lines(lines)
    department = _department(department_id)
    with write_transaction():
        requisition = Requisition.create(number=next_number("CG"), department=department, requester=actor,
                                         note=note or "")
        requisition.estimated_total = _write_lines(requisition, lines)
        requisition.save(only=[Requisition.estimated_total])
        audit.record_create(actor, requisition)
        _event(requisition, actor, "create", note=_lines_snapshot(lines))
        if submit:
            requisition = apply(actor, requisition.id, requisition.version, "submit")
    return requisition


# ---------------------------------------------------------------- who sees what

def may_view(requisition, user):
    roles = set(user.roles)
    if roles & MANAGERS or requisition.requester_id == user.id:
        return True
    if user.department_id and user.department_id == requisition.department_id:
        return True
    if requisition.state == "pending" and refusal(requisition, "approve", user) is None:
        return True
    return RequisitionEvent.select().where(RequisitionEvent.requisition == requisition,
                                           RequisitionEvent.actor == user.id).exists()


def visible_to(user):
    """The requisitions this person may list: everything for logistics, leadership and the
    administrator; their department's (and their own) for everyone else."""
    query = (Requisition.select(Requisition, Department, User, ApprovalStep)
             .join(Department).switch(Requisition).join(User, on=(Requisition.requester == User.id))
             .switch(Requisition).join(ApprovalStep, JOIN.LEFT_OUTER)
             .order_by(Requisition.created_at.desc(), Requisition.id.desc()))
    if set(user.roles) & MANAGERS:
        return query
    condition = Requisition.requester == user.id
    if user.department_id:
        condition = condition | (Requisition.department == user.department_id)
    return query.where(condition)


def inbox(user):
    """The requisitions waiting for this person's decision, the longest waiting first."""
    pending = (Requisition.select(Requisition, Department, ApprovalStep)
               .join(Department).switch(Requisition).join(ApprovalStep)
               .where(Requisition.state == "pending").order_by(Requisition.step_since))
    roster = Roster()
    return [r for r in pending if user.id in roster.approver_ids(r)]


def inbox_count(user):
    """The navigation's badge, on every page: people who approve no step (the desk, most
    staff) are answered by two small queries rather than by the whole pending list."""
    roles = list(user.roles)
    approves = (ApprovalStep.select().where(ApprovalStep.role.in_(roles) | ApprovalStep.fallback_role.in_(roles))
                .exists() or DepartmentApprover.select().where(DepartmentApprover.user == user.id).exists())
    return len(inbox(user)) if approves else 0


# ---------------------------------------------------------------- purchase orders

class StockItem(BaseModel):
    """A line of the stock ledger (物资台账): the balance is kept with every movement."""
    name = CharField(max_length=80)
    spec = CharField(max_length=120, default="")
    unit = CharField(max_length=12)
    balance = IntegerField(default=0)

    class Meta:
        indexes = ((("name", "spec", "unit"), True),)

    def __str__(self):
        return f"{self.name} {self.spec}".strip()

    def moves(self):
        return (StockMove.select(StockMove, User).join(User, on=(StockMove.actor == User.id))
                .where(StockMove.item == self).order_by(StockMove.at.desc(), StockMove.id.desc()))


def _item_key(text):
    """Names compared as people read them: without spaces, case or full-width differences."""
    return "".join(unicodedata.normalize("NFKC", text or "").split()).casefold()


class PurchaseOrder(BaseModel):
    number = CharField(max_length=20, unique=True)
    requisition = ForeignKeyField(Requisition, unique=True, backref="orders", on_delete="RESTRICT")
    supplier = ForeignKeyField(Supplier, on_delete="RESTRICT")
    delivery_date = DateField()
    quality_standard = TextField(default="")
    total = MoneyField(default=Decimal("0"))  # computed from the lines
    created_by = ForeignKeyField(User, on_delete="RESTRICT")
    created_at = DateTimeField(default=utcnow)
    # Reimbursement (报销): the three papers checked off, the invoice, then reimbursed.
    invoice_number = CharField(max_length=40, default="")
    invoice_amount = MoneyField(null=True)
    contract_checked = BooleanField(default=False)
    invoice_checked = BooleanField(default=False)
    receipt_checked = BooleanField(default=False)
    reimburse_note = TextField(default="")
    reimbursed_at = DateTimeField(null=True)
    reimbursed_by = ForeignKeyField(User, null=True, on_delete="SET NULL")

    def lines_list(self):
        if not hasattr(self, "_lines"):
            self._lines = list(OrderLine.select().where(OrderLine.order == self).order_by(OrderLine.id))
        return self._lines

    def deliveries(self):
        return (Delivery.select(Delivery, User).join(User, on=(Delivery.inspected_by == User.id))
                .where(Delivery.order == self).order_by(Delivery.received_on, Delivery.id))

    def is_late(self, today=None):
        """Not completely delivered and past the agreed delivery date."""
        today = today or local_now().date()
        return self.requisition.state == "ordered" and today > self.delivery_date

    def received_value(self):
        return money(sum((line.accepted() * line.unit_price for line in self.lines_list()), Decimal("0")))

    @property
    def invoice_mismatch(self):
        return self.invoice_amount is not None and money(self.invoice_amount) != self.received_value()


class OrderLine(BaseModel):
    order = ForeignKeyField(PurchaseOrder, backref="lines", on_delete="CASCADE")
    requisition_line = ForeignKeyField(RequisitionLine, null=True, on_delete="SET NULL")
    item_name = CharField(max_length=80)
    spec = CharField(max_length=120, default="")  # the agreed specification
    quantity = IntegerField()
    unit = CharField(max_length=12)
    unit_price = MoneyField()
    # The stock ledger's item these goods go to, chosen by logistics at the first receipt.
    stock_item = ForeignKeyField(StockItem, null=True, on_delete="RESTRICT")

    @property
    def amount(self):
        return money(self.unit_price * self.quantity)

    def stock_choices(self):
        """The ledger's items these goods may go to: those counted in the same unit."""
        return [item for item in StockItem.select().where(StockItem.unit == self.unit)
                .order_by(StockItem.name, StockItem.spec)]

    def default_stock_item(self, choices=None):
        """What the receipt offers first: the item chosen before; else the one with the same
        name and specification; else the oldest with the same name (the agreed wording of a
        specification varies, the goods do not); None: a new item."""
        if self.stock_item_id:
            return self.stock_item
        choices = self.stock_choices() if choices is None else choices
        same_name = [i for i in choices if _item_key(i.name) == _item_key(self.item_name)]
        exact = [i for i in same_name if _item_key(i.spec) == _item_key(self.spec)]
        return (exact or sorted(same_name, key=lambda i: i.id) or [None])[0]

    def accepted(self):
        return sum((row.accepted for row in DeliveryLine.select(DeliveryLine.accepted)
                    .where(DeliveryLine.order_line == self)), 0)

    def cancelled(self):
        """Rejected and returned without replacement: no longer expected from the supplier."""
        return sum((r.quantity for r in ReturnRecord.select().where(ReturnRecord.order_line == self,
                                                                       ReturnRecord.kind == "return")), 0)

    def outstanding(self):
        return max(self.quantity - self.accepted() - self.cancelled(), 0)


def late_orders(today=None):
    """Orders past their agreed delivery date with goods still expected, the latest first."""
    today = today or local_now().date()
    return (PurchaseOrder.select(PurchaseOrder, Requisition, Supplier).join(Requisition)
            .switch(PurchaseOrder).join(Supplier)
            .where(Requisition.state == "ordered", PurchaseOrder.delivery_date < today)
            .order_by(PurchaseOrder.delivery_date))


@effect("order")
def _ordered(requisition, actor, *, supplier_id, delivery_date, quality_standard="", lines=None):
    """The purchase order (contract) for an approved requisition. `lines`: {requisition line id:
    (agreed spec, quantity, unit price)}, the requisition's own for a line not given.

    A contract is not signed for more than was approved: an order total above it is not
    placed, and the requisition goes back to the steps that total needs."""
    lines = lines or {}
    supplier = Supplier.get_or_none(Supplier.id == supplier_id, Supplier.voided_at.is_null())
    if supplier is None:
        raise ProcurementError(_l("Choose a supplier from the register."), "supplier")
    if delivery_date < local_now().date():
        raise ProcurementError(_l("The delivery date cannot be in the past."), "delivery_date")
    agreed = []
    for line in requisition.lines_list():
        spec, quantity, unit_price = lines.get(line.id, (line.spec, line.quantity, line.unit_price))
        if not isinstance(quantity, int) or quantity <= 0:
            raise ProcurementError(_l("Quantities must be whole numbers greater than 0."), f"qty-{line.id}")
        if money(unit_price) < 0:
            raise ProcurementError(_l("A price cannot be negative."), f"price-{line.id}")
        agreed.append((line, spec or "", quantity, money(unit_price)))
    total = money(sum((price * quantity for _, _, quantity, price in agreed), Decimal("0")))
    missing = missing_approvals(requisition, total)
    if missing:
        terms = "; ".join(f"{line.item_name} {spec} ×{quantity}{line.unit} @{price}"
                          for line, spec, quantity, price in agreed)
        why = shortfall_text(total, requisition.amount_for_approval, missing)
        return sent_back(requisition, "over_order", total, missing, f"{supplier.name} · {terms} · {total}",
                         _l("The order was not placed: %(why)s It went back for approval; place the order "
                            "once it is approved.", why=why), "order")
    order = PurchaseOrder.create(number=next_number("HT"), requisition=requisition, supplier=supplier,
                                 delivery_date=delivery_date, quality_standard=quality_standard or "",
                                 created_by=actor, total=total)
    for line, spec, quantity, price in agreed:
        OrderLine.create(order=order, requisition_line=line, item_name=line.item_name, spec=spec,
                         quantity=quantity, unit=line.unit, unit_price=price)
    audit.record_create(actor, order)

    def tell(stored):
        notify(stored.requester, N_("Requisition %(number)s was ordered from %(supplier)s"), _link(stored),
               number=stored.number, supplier=supplier.name)
    return Outcome(event={"note": f"{order.number} · {supplier.name} · {order.total}"}, tell=tell, result=order)


# ---------------------------------------------------------------- receiving, returns, stock

class Delivery(BaseModel):
    """One delivery's acceptance inspection; accepted goods give it a goods receipt note number (入库单)."""
    order = ForeignKeyField(PurchaseOrder, backref="delivery_rows", on_delete="RESTRICT")
    receipt_number = CharField(max_length=20, null=True, unique=True)
    received_on = DateField()
    late = BooleanField(default=False)  # delivered after the agreed date
    inspected_by = ForeignKeyField(User, on_delete="RESTRICT")
    note = TextField(default="")
    created_at = DateTimeField(default=utcnow)

    def lines_list(self):
        return list(DeliveryLine.select(DeliveryLine, OrderLine).join(OrderLine)
                    .where(DeliveryLine.delivery == self).order_by(DeliveryLine.id))

    def accepted_value(self):
        return money(sum((d.accepted * d.order_line.unit_price for d in self.lines_list()), Decimal("0")))


class DeliveryLine(BaseModel):
    delivery = ForeignKeyField(Delivery, backref="lines", on_delete="CASCADE")
    order_line = ForeignKeyField(OrderLine, on_delete="RESTRICT")
    accepted = IntegerField(default=0)
    rejected = IntegerField(default=0)
    reject_reason = TextField(default="")


class ReturnRecord(BaseModel):
    """Rejected goods returned to or exchanged with the supplier (退换货)."""
    number = CharField(max_length=20, unique=True)
    delivery = ForeignKeyField(Delivery, on_delete="RESTRICT")
    order_line = ForeignKeyField(OrderLine, on_delete="RESTRICT")
    supplier = ForeignKeyField(Supplier, on_delete="RESTRICT")
    kind = CharField(max_length=10, default="exchange")
    quantity = IntegerField()
    reason = TextField()
    state = CharField(max_length=10, default="open")  # open → done (the supplier took the goods back)
    created_at = DateTimeField(default=utcnow)
    resolved_at = DateTimeField(null=True)
    resolved_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    resolution = TextField(default="")


class StockMove(BaseModel):
    item = ForeignKeyField(StockItem, backref="move_rows", on_delete="RESTRICT")
    at = DateTimeField(default=utcnow, index=True)
    qty_in = IntegerField(default=0)
    qty_out = IntegerField(default=0)
    balance_after = IntegerField()
    delivery = ForeignKeyField(Delivery, null=True, on_delete="RESTRICT")  # in: from this receipt note
    taken_by = CharField(max_length=80, default="")  # out: who took it
    department = ForeignKeyField(Department, null=True, on_delete="SET NULL")
    actor = ForeignKeyField(User, on_delete="RESTRICT")  # who recorded it
    note = CharField(max_length=200, default="")


def _locked(query):
    """Row lock on PostgreSQL; SQLite's IMMEDIATE write transaction already serialises writers."""
    return query.for_update() if is_postgres() else query


#: The receipt's choice of a stock item that is not in the ledger yet.
NEW_ITEM = "new"


def _stock_item_for(line, choice, actor):
    """The ledger item a received order line goes to: the one logistics chose (in the line's
    unit), or a new one, created once from the line."""
    if choice is None:
        choice = line.default_stock_item() or NEW_ITEM
        choice = choice if choice == NEW_ITEM else choice.id
    if choice == NEW_ITEM:
        item, created = StockItem.get_or_create(name=line.item_name, spec=line.spec, unit=line.unit)
        if created:
            audit.record_create(actor, item)
        return item
    item = StockItem.get_or_none(StockItem.id == choice)
    if item is None:
        raise ProcurementError(_l("Choose an item from the stock list."), f"stock-{line.id}")
    if item.unit != line.unit:
        raise ProcurementError(_l("%(item)s is counted in %(unit)s, these goods in %(line_unit)s: choose another "
                                  "item or a new one.", item=str(item), unit=item.unit, line_unit=line.unit),
                               f"stock-{line.id}")
    return item


def _stock_in(item, quantity, delivery, actor, note):
    item = _locked(StockItem.select().where(StockItem.id == item.id)).get()
    balance = item.balance + quantity
    StockItem.update(balance=balance).where(StockItem.id == item.id).execute()
    return StockMove.create(item=item, qty_in=quantity, balance_after=balance, delivery=delivery, actor=actor,
                            note=note[:200])


@effect("receive")
def _received(requisition, actor, *, received_on, lines, note="", stock_items=None):
    """Inspect one delivery. `lines`: {order line id: (accepted, rejected, reason, kind)};
    `stock_items`: {order line id: the stock item id the goods go to, or NEW_ITEM}, each
    line's default_stock_item() when not given.

    Accepted goods get a goods receipt note and go into the stock ledger; rejected ones
    open a return/exchange record. When nothing is outstanding the requisition is received."""
    stock_items = stock_items or {}
    order = requisition.order()
    if received_on > local_now().date():
        raise ProcurementError(_l("A delivery cannot be received in the future."), "received_on")
    order_lines = {line.id: line for line in order.lines_list()}
    checked = {}
    for line_id, (accepted, rejected, reason, kind) in lines.items():
        line = order_lines.get(line_id)
        if line is None:
            continue
        if accepted < 0 or rejected < 0:
            raise ProcurementError(_l("Quantities cannot be negative."), f"accepted-{line_id}")
        if accepted + rejected > line.outstanding():
            raise ProcurementError(_l("%(item)s: more than the %(n)s still expected.", item=line.item_name,
                                      n=line.outstanding()), f"accepted-{line_id}")
        if rejected and not (reason or "").strip():
            raise ProcurementError(_l("%(item)s: say why goods were rejected.", item=line.item_name),
                                   f"reason-{line_id}")
        if rejected and kind not in RETURN_KINDS:
            raise ProcurementError(_l("%(item)s: return or exchange?", item=line.item_name), f"kind-{line_id}")
        if accepted or rejected:
            checked[line_id] = (accepted, rejected, (reason or "").strip(), kind)
    if not checked:
        raise ProcurementError(_l("Enter what was accepted or rejected."))
    accepted_any = any(a for a, _, _, _ in checked.values())
    delivery = Delivery.create(order=order, received_on=received_on, inspected_by=actor, note=note or "",
                               late=received_on > order.delivery_date,
                               receipt_number=next_number("RK") if accepted_any else None)
    for line_id, (accepted, rejected, reason, kind) in checked.items():
        line = order_lines[line_id]
        DeliveryLine.create(delivery=delivery, order_line=line, accepted=accepted, rejected=rejected,
                            reject_reason=reason)
        if accepted:
            item = _stock_item_for(line, stock_items.get(line_id), actor)
            if line.stock_item_id != item.id:
                OrderLine.update(stock_item=item).where(OrderLine.id == line.id).execute()
            _stock_in(item, accepted, delivery, actor, f"{delivery.receipt_number} · {order.supplier.name}")
        if rejected:
            record = ReturnRecord.create(number=next_number("TH"), delivery=delivery, order_line=line,
                                         supplier=order.supplier, kind=kind, quantity=rejected, reason=reason)
            audit.record_create(actor, record)
    audit.record_create(actor, delivery)
    if not all(line.outstanding() == 0 for line in order_lines.values()):
        return Outcome({Requisition.state: "ordered"}, {"note": delivery.receipt_number or ""}, result=delivery)

    def tell(stored):
        notify(stored.requester, N_("The goods of requisition %(number)s have arrived"), _link(stored),
               number=stored.number)
    return Outcome(event={"note": delivery.receipt_number or ""}, tell=tell, result=delivery)


def resolve_return(return_id, actor, resolution):
    """The supplier took the rejected goods back (and, for an exchange, a replacement is on its way)."""
    with write_transaction():
        record = ReturnRecord.get_or_none(ReturnRecord.id == return_id)
        if record is None:
            raise ProcurementError(_l("No such return record."))
        changed = (ReturnRecord.update(state="done", resolved_at=utcnow(), resolved_by=actor,
                                       resolution=(resolution or "").strip())
                   .where(ReturnRecord.id == return_id, ReturnRecord.state == "open").execute())
        if changed:
            audit.record_event(actor, "resolve", record, reason=resolution or None)
    return ReturnRecord.get_by_id(return_id)


def returns():
    return (ReturnRecord.select(ReturnRecord, Supplier).join(Supplier)
            .order_by(ReturnRecord.state != "open", ReturnRecord.created_at.desc()))


def issue(actor, *, item_id, quantity, taken_by, department_id=None, note=""):
    """Office supplies handed out at the front desk, from the same ledger; never below zero."""
    if not isinstance(quantity, int) or quantity <= 0:
        raise ProcurementError(_l("Enter a whole number greater than 0."), "quantity")
    with write_transaction():
        item = _locked(StockItem.select().where(StockItem.id == item_id)).first()
        if item is None:
            raise ProcurementError(_l("Choose an item from the stock list."), "item")
        if quantity > item.balance:
            raise ProcurementError(_l("Only %(n)s %(unit)s in stock.", n=item.balance, unit=item.unit), "quantity")
        balance = item.balance - quantity
        changed = (StockItem.update(balance=balance)
                   .where(StockItem.id == item.id, StockItem.balance == item.balance).execute())
        if not changed:
            raise ProcurementError(_l("The stock changed meanwhile; look at the balance again."), "quantity")
        move = StockMove.create(item=item, qty_out=quantity, balance_after=balance, taken_by=taken_by,
                                department=department_id or None, actor=actor, note=(note or "")[:200])
        audit.record_event(actor, "issue", item, changes={"balance": [item.balance, balance]},
                           reason=f"{taken_by} ×{quantity}")
    return move


def stock_items():
    return StockItem.select().order_by(StockItem.name, StockItem.spec)


def recent_issues(limit=30):
    return (StockMove.select(StockMove, StockItem).join(StockItem)
            .where(StockMove.qty_out > 0).order_by(StockMove.at.desc(), StockMove.id.desc()).limit(limit))


# ---------------------------------------------------------------- reimbursement

@effect("reimburse")
def _reimbursed(requisition, actor, *, invoice_number, invoice_amount, contract_checked, invoice_checked,
                receipt_checked, note="", reimbursed=False):
    """Check off contract, invoice and receipt note (saved as they are, the requisition stays
    received); `reimbursed` marks it reimbursed. An invoice that differs from the received
    value needs an explanation first; one above what was approved is not reimbursed: it is
    kept, and the requisition goes back to the steps that amount needs."""
    order = requisition.order()
    before = order.snapshot()
    order.invoice_number = (invoice_number or "").strip()
    order.invoice_amount = money(invoice_amount) if invoice_amount is not None else None
    order.contract_checked, order.invoice_checked = bool(contract_checked), bool(invoice_checked)
    order.receipt_checked = bool(receipt_checked)
    order.reimburse_note = (note or "").strip()
    missing = []
    if reimbursed:
        if not order.invoice_number:
            raise ProcurementError(_l("Enter the invoice number."), "invoice_number")
        if order.invoice_amount is None:
            raise ProcurementError(_l("Enter the invoice amount."), "invoice_amount")
        if not (order.contract_checked and order.invoice_checked and order.receipt_checked):
            raise ProcurementError(_l("Check off the contract, the invoice and the receipt note first."),
                                   "receipt_checked")
        if order.invoice_mismatch and not order.reimburse_note:
            raise ProcurementError(_l("The invoice differs from the received value: explain the difference."),
                                   "note")
        missing = missing_approvals(requisition, order.invoice_amount)
        if not missing:
            order.reimbursed_at, order.reimbursed_by = utcnow(), actor
    order.save()
    audit.record_change(actor, order, before)
    if missing:
        why = shortfall_text(order.invoice_amount, requisition.amount_for_approval, missing)
        return sent_back(requisition, "over_invoice", order.invoice_amount, missing,
                         f"{order.invoice_number} · {order.reimburse_note}".strip(" ·"),
                         _l("Not reimbursed: %(why)s It went back for approval; reimburse it once it is approved.",
                            why=why), "invoice_amount")
    if not reimbursed:
        return Outcome({Requisition.state: "received"}, None, result=order)
    return Outcome(event={"note": f"{order.invoice_number} · {order.invoice_amount}"}, result=order)


# ---------------------------------------------------------------- reminders (the sweep)

def remind_waiting(now=None):
    """Remind the approvers of requisitions that waited at a step longer than the setting.

    Once per requisition and step: the reminder is claimed by a conditional update on
    the step it waits at, so a repeated sweep, a concurrent one, or one catching up after
    the consumer was down sends it once. Returns how many requisitions were reminded."""
    now = now or utcnow()
    due_before = now - dt.timedelta(days=settings.get(REMIND_DAYS))
    waiting = (Requisition.select().where(Requisition.state == "pending", Requisition.step_reminded_at.is_null(),
                                          Requisition.step_since <= due_before))
    sent = 0
    for requisition in waiting:
        with write_transaction():
            claimed = (Requisition.update(step_reminded_at=now)
                       .where(Requisition.id == requisition.id, Requisition.state == "pending",
                              Requisition.step == requisition.step_id,
                              Requisition.step_since == requisition.step_since,
                              Requisition.step_reminded_at.is_null()).execute())
            if not claimed:
                continue
            days = (now - requisition.step_since).days
            for person in approvers(requisition):
                notify(person, N_("Reminder: requisition %(number)s has waited %(days)s days for your approval"),
                       ("procurement.show", {"requisition_id": requisition.id}), number=requisition.number,
                       days=days)
            audit.record_event(None, "remind", requisition,
                               changes={"step": [requisition.step.label or requisition.step.key, None]})
            sent += 1
    return sent


def escalate_waiting(now=None):
    """Requisitions that waited at a step longer than the escalation setting go to the step's
    next level up, who is told and may approve from then on (the administrators are told
    when there is nobody to escalate to).

    Once per requisition and step: the escalation is claimed by a conditional update in the
    same transaction as the notifications it sends, so a repeated or concurrent sweep, or one
    catching up after the consumer was down, escalates once. Returns how many it escalated."""
    now = now or utcnow()
    due_before = now - dt.timedelta(hours=settings.get(ESCALATE_HOURS))
    waiting = (Requisition.select(Requisition, ApprovalStep).join(ApprovalStep)
               .where(Requisition.state == "pending", Requisition.step_escalated_at.is_null(),
                      Requisition.step_since <= due_before))
    escalated = 0
    for requisition in waiting:
        with write_transaction():
            claimed = (Requisition.update(step_escalated_at=now)
                       .where(Requisition.id == requisition.id, Requisition.state == "pending",
                              Requisition.step == requisition.step_id,
                              Requisition.step_since == requisition.step_since,
                              Requisition.step_escalated_at.is_null()).execute())
            if not claimed:
                continue
            step = requisition.step
            hours = int((now - requisition.step_since).total_seconds() // 3600)
            link = ("procurement.show", {"requisition_id": requisition.id})
            roster = Roster()
            up = [u for u in roster.fallback(requisition, step) if u not in roster.primary(requisition, step)]
            for person in User.select().where(User.id.in_(up)) if up else []:
                notify(person, N_("Requisition %(number)s waited %(hours)s hours for approval: it is escalated to you"),
                       link, number=requisition.number, hours=hours)
            if not up:
                for person in User.active_with_role("admin"):
                    notify(person, N_("Requisition %(number)s waited %(hours)s hours for approval and there is "
                                      "nobody to escalate it to: check the approval chain"), link,
                           number=requisition.number, hours=hours)
            audit.record_event(None, "escalate", requisition,
                               changes={"step_escalated_at": [None, now.isoformat()]},
                               reason=f"{step.label or step.key} → {step.fallback_role or '-'}")
            escalated += 1
    return escalated


# ---------------------------------------------------------------- for the wall board and reports

def waiting_by_step():
    """[(step label, count)] of requisitions waiting at each approval step, in chain order.

    Every active step is listed (0 when none wait); an inactive step only while some still
    wait at it. Default steps' labels are lazy strings: str() them in the locale wanted."""
    counts = dict(Requisition.select(Requisition.step, fn.COUNT(Requisition.id))
                  .where(Requisition.state == "pending").group_by(Requisition.step).tuples())
    return [(step_label(step), counts.get(step.id, 0)) for step in chain(include_inactive=True)
            if step.active or counts.get(step.id)]


def procurement_stats(start_utc, end_utc, department_id=None):
    """Requisitions in [start_utc, end_utc) (naive UTC):

    - count: first submitted in the period;
    - approved: approved in the period; total_confirmed: their confirmed amounts (Decimal);
    - avg_hours_to_approve: from the submission that was approved to the approval, over
      those approved in the period (None when none were)."""
    base = Requisition.select().where(Requisition.voided_at.is_null())
    if department_id:
        base = base.where(Requisition.department == department_id)
    count = base.where(Requisition.first_submitted_at >= start_utc, Requisition.first_submitted_at < end_utc).count()
    approved = list(base.where(Requisition.approved_at >= start_utc, Requisition.approved_at < end_utc))
    total = money(sum((r.confirmed_amount or r.estimated_total for r in approved), Decimal("0")))
    hours = [(r.approved_at - r.submitted_at).total_seconds() / 3600 for r in approved if r.submitted_at]
    return {"count": count, "approved": len(approved), "total_confirmed": total,
            "avg_hours_to_approve": round(sum(hours) / len(hours), 1) if hours else None}


@dataclass(frozen=True)
class Progress:
    """Where a requisition stands in the chain, for the page and the printed form."""
    step: object
    label: object
    decision: object  # the event, or None while not decided


def chain_progress(requisition):
    """The steps of the latest round: decided ones with their decision, the waiting one, and
    the ones still to come for this amount."""
    decided = requisition.decisions()
    rows = [Progress(e.step, e.step_name, e) for e in decided]
    if requisition.state == "pending" and requisition.step is not None:
        rows.append(Progress(requisition.step, step_label(requisition.step), None))
        rows += [Progress(step, step_label(step), None)
                 for step in missing_approvals(requisition, requisition.amount_for_approval)
                 if step.id != requisition.step_id]
    return rows


def listing(user, state=None, q=None):
    query = visible_to(user)
    if state == "open":
        query = query.where(Requisition.state.not_in(("reimbursed", "voided")))
    elif state in STATES:
        query = query.where(Requisition.state == state)
    if q:
        query = query.where(Requisition.number ** f"%{q}%")
    return query



def may_attach(requisition, user):
    """The requester adds quotations and specifications; logistics adds its own at any step."""
    if requisition.voided_at is not None:
        return False
    return requisition.requester_id == user.id or "logistics" in user.roles


def attach(actor, requisition, filename, data):
    """Store a file with the requisition; ProcurementError (field "file") when refused."""
    if not may_attach(requisition, actor):
        raise ProcurementError(_l("Only the requester or logistics attaches files to a requisition."), "file")
    if requisition.attachments.count() >= MAX_ATTACHMENTS:
        raise ProcurementError(_l("A requisition holds at most %(n)s files.", n=MAX_ATTACHMENTS), "file")
    try:
        extension = check_document(data, settings.get(ATTACHMENT_MAX_MB) * 1024 * 1024)
    except UploadError as refused:
        raise ProcurementError(str(refused), "file") from None
    name = (os.path.basename((filename or "").replace("\\", "/")).strip() or f"file.{extension}")[:200]
    stored = store_document("requisitions", data, extension)
    with write_transaction():
        attachment = RequisitionAttachment.create(requisition=requisition, filename=name, stored_name=stored,
                                                  extension=extension, size=len(data), uploaded_by=actor)
        _event(requisition, actor, "attach", note=name)
        audit.record_create(actor, attachment)
    return attachment
