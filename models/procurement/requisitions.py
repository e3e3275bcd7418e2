"""Purchase requisitions (物资采购申请): the requisition with its lines, files and timeline, and
its workflow: the states and every allowed transition in TRANSITIONS, refusal() saying why
not, apply() the one function that moves a requisition. The approvals' effects are here;
ordering, receiving and reimbursing are the effects in orders.py. Also the sweeps that remind
and escalate, who sees which requisitions, and the figures for the board and the reports."""
import datetime as dt
import os
from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from peewee import JOIN, BooleanField, CharField, DateField, DateTimeField, ForeignKeyField, IntegerField, TextField, fn

from models import audit, settings
from models.base import BaseModel, VersionedModel, VoidableModel, utcnow, write_transaction
from models.money import MoneyField, format_money, money
from models.notifications import N_, notify
from models.numbering import next_number
from models.procurement.chain import (
    ESCALATE_HOURS, PROCUREMENT, ApprovalStep, DepartmentApprover, ProcurementError, Roster, chain, step_label,
)
from models.timezone import local_now
from models.uploads import UploadError, check_document, store_document
from models.users import Department, User

ATTACHMENT_MAX_MB = settings.define(
    "procurement_attachment_max_mb", int, 10, _l("Largest file attached to a requisition (MB)"), PROCUREMENT,
    minimum=1, maximum=50)


#: Quotations and specifications, not an archive: a requisition holds this many files at most.
MAX_ATTACHMENTS = 10


REMIND_DAYS = settings.define(
    "procurement_remind_days", int, 2, _l("Remind an approver after a requisition waited this many days"),
    PROCUREMENT, minimum=1, maximum=60)


#: One requisition sheet (物资采购申请表) holds this many items; more are a second requisition.
MAX_LINES = 30
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


MANAGERS = frozenset({"logistics", "leadership", "admin"})

for _type, _label in (("requisition", _l("Requisition")), ("requisition_attachment", _l("Requisition file"))):
    audit.name_record_type(_type, _label)
audit.ACTION_LABELS.update({
    "submit": _l("Submitted"), "approve": _l("Approved"), "reject": _l("Returned for amendment"),
    "amend": _l("Amended"), "order": _l("Ordered"), "receive": _l("Goods received"), "reimburse": _l("Reimbursed"),
    "remind": _l("Reminder sent"), "escalate": _l("Escalated"),
    "over_order": EVENT_LABELS["over_order"], "over_invoice": EVENT_LABELS["over_invoice"],
})


class SentBackForApproval(ProcurementError):
    """The commitment was refused and the requisition went back for approval of the higher
    amount: unlike other refusals, something was done (and committed)."""


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

    def attachments_list(self):
        """The files with who uploaded each."""
        return (RequisitionAttachment.select(RequisitionAttachment, User)
                .join(User, on=(RequisitionAttachment.uploaded_by == User.id))
                .where(RequisitionAttachment.requisition == self).order_by(RequisitionAttachment.id))

    def events(self):
        """The timeline with who acted and at which step, in one query."""
        return (RequisitionEvent.select(RequisitionEvent, User, ApprovalStep)
                .join(User, on=RequisitionEvent.actor == User.id)
                .switch(RequisitionEvent).join(ApprovalStep, JOIN.LEFT_OUTER, on=RequisitionEvent.step == ApprovalStep.id)
                .where(RequisitionEvent.requisition == self)
                .order_by(RequisitionEvent.at, RequisitionEvent.id))

    def decisions(self, round_=None):
        """The approvers' decisions of one round (the latest by default), in order."""
        return [e for e in self.events() if e.action in DECISIONS and e.round == (round_ or self.round)]

    def approval_history(self):
        """Every round's decisions and sends-back, in order: the paper trail of the approvals."""
        return [e for e in self.events() if e.action in DECISIONS or e.action in SENT_BACK or e.action == "submit"]

    def order(self):
        """The purchase order, once placed (orders.PurchaseOrder's backref)."""
        return self.orders.first()

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


def check_quantity(quantity):
    """The rules of a line, said once: the forms show them beside the field (views.fields.rule),
    the workflow applies them as the last word. Each raises ProcurementError."""
    if not isinstance(quantity, int) or quantity <= 0:
        raise ProcurementError(_l("Quantities must be whole numbers greater than 0."))


def check_price(price):
    if money(price) < 0:
        raise ProcurementError(_l("A price cannot be negative."))


def check_needed_on(day):
    if day < local_now().date():
        raise ProcurementError(_l("The date needed cannot be in the past."))


def _check_lines(lines):
    if not lines:
        raise ProcurementError(_l("Add at least one item."))
    if len(lines) > MAX_LINES:
        raise ProcurementError(_l("A requisition has at most %(count)d items: split it in two.", count=MAX_LINES))
    for line in lines:
        if not line.get("item_name"):
            raise ProcurementError(_l("Every line needs an item name."))
        check_quantity(line.get("quantity"))
        check_price(line["unit_price"])
        check_needed_on(line["needed_on"])


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
              amount=format_money(amount), approved=format_money(approved),
              steps="、".join(str(step_label(s)) for s in steps))


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
               number=stored.number, amount=format_money(amount))
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


# ---------------------------------------------------------------- reminders and escalation (the sweeps)

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
                       link, urgent=True, number=requisition.number, hours=hours)
            if not up:
                for person in User.active_with_role("admin"):
                    notify(person, N_("Requisition %(number)s waited %(hours)s hours for approval and there is "
                                      "nobody to escalate it to: check the approval chain"), link, urgent=True,
                           number=requisition.number, hours=hours)
            audit.record_event(None, "escalate", requisition,
                               changes={"step_escalated_at": [None, now.isoformat()]},
                               reason=f"{step.label or step.key} → {step.fallback_role or '-'}")
            escalated += 1
    return escalated


# ---------------------------------------------------------------- for the wall board, the reports and the printed form

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
