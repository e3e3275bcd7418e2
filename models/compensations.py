"""Advance compensation (先行赔偿): the company pays a customer before the vendor or the
responsible party does, then recovers the money from them.

proposed → (approval tiers) → approved → paid → (recoveries) → settled; an approver may
return it to the proposer, who amends and resubmits it (a new round); a manager voids what
was not paid. The tiers of approval are data (CompensationTier rows an administrator edits):
the service manager approves every compensation, leadership too above a setting. The states
and who may move them are TRANSITIONS; apply() is the one function that moves a compensation."""
import uuid
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from peewee import JOIN, BooleanField, CharField, DateField, DateTimeField, ForeignKeyField, IntegerField, TextField

from models import audit, settings
from models.base import BaseModel, DomainError, Transition, VersionedModel, VoidableModel, utcnow, write_transaction
from models.complaints import Complaint, Customer, find_or_create_customer
from models.notifications import N_, notify
from models.numbering import next_number
from models.money import MoneyField, money
from models.roles import ROLES, has_permission
from models.timezone import local_now, to_local
from models.users import User

SECTION = _l("Advance compensation")
LEADERSHIP_ABOVE = settings.define(
    "compensation_leadership_above", Decimal, Decimal("2000"),
    _l("Leadership also approves advance compensations above this amount (CNY)"), SECTION,
    minimum=Decimal("0"), maximum=Decimal("100000000"))

STATES = {
    "proposed": _l("Waiting for approval"),
    "returned": _l("Returned to the proposer"),
    "approved": _l("Approved, to be paid"),
    "paid": _l("Paid, recovery open"),
    "settled": _l("Recovered, settled"),
    "voided": _l("Voided"),
}
PAY_METHODS = {
    "transfer": _l("Bank transfer"), "wechat": _l("WeChat Pay"), "alipay": _l("Alipay"), "cash": _l("Cash"),
    "voucher": _l("Voucher / store credit"), "offset": _l("Offset against the vendor's deposit"),
}

#: Who records cases, payments and recoveries (seed 002: specialists and the front desk record);
#: the same roles as the "compensations.propose" permission that opens the proposal form.
RECORDERS = frozenset({"front_desk", "specialist", "service_manager"})
MANAGERS = frozenset({"service_manager"})
#: The approvers of the tier the compensation waits at (data: CompensationTier).
APPROVER = "approver"
#: The person who proposed it.
PROPOSER = "proposer"


TRANSITIONS = {
    # The target when every tier the amount needs has approved it; else it waits at the next tier.
    "approve": Transition(_l("Approve"), ("proposed",), "approved", APPROVER, note_label=_l("Remarks")),
    "return": Transition(_l("Return to the proposer"), ("proposed",), "returned", APPROVER, True,
                         _l("Why it is returned")),
    "resubmit": Transition(_l("Amend and resubmit"), ("returned",), "proposed", PROPOSER,
                           note_label=_l("What was changed")),
    # A payment above what was approved does not happen: it goes back to the tiers that amount needs.
    "pay": Transition(_l("Record the payment"), ("approved",), "paid", RECORDERS, note_label=_l("Remarks")),
    # Stays "paid" while a balance is open; "settled" when the recoveries cover the payment.
    "recover": Transition(_l("Record a recovery"), ("paid",), "settled", RECORDERS, note_label=_l("Remarks")),
    "void": Transition(_l("Void"), ("proposed", "returned", "approved"), "voided", MANAGERS, True, _l("Reason")),
}
EVENT_LABELS = {
    "propose": _l("Proposed"), "approve": _l("Approved"), "return": _l("Returned to the proposer"),
    "resubmit": _l("Amended and resubmitted"), "over_payment": _l("Payment above the approved amount: sent back"),
    "pay": _l("Paid to the customer"), "recover": _l("Recovered from the responsible party"),
    "void": _l("Voided"),
}
#: The events of the approval (printed on the form with their round).
APPROVAL_EVENTS = ("propose", "approve", "return", "resubmit", "over_payment")

for _type, _label in (("compensation", _l("Advance compensation")),
                      ("compensation_tier", _l("Compensation approval tier")),
                      ("compensation_recovery", _l("Compensation recovery"))):
    audit.name_record_type(_type, _label)
for _action, _label in (("return", _l("Returned")), ("resubmit", _l("Resubmitted")), ("pay", _l("Paid")),
                        ("recover", _l("Recovered")), ("over_payment", _l("Sent back for approval"))):
    audit.ACTION_LABELS.setdefault(_action, _label)


class CompensationError(DomainError):
    """A refused compensation action; the message is for the user, `field` the form field."""


class SentBackForApproval(CompensationError):
    """The payment was above what was approved: nothing was paid, and the compensation went back
    for the approval of that amount. Unlike other refusals, something was done (and committed)."""


# ---------------------------------------------------------------- the tiers (data)

class CompensationTier(BaseModel):
    key = CharField(max_length=40, unique=True)
    position = IntegerField()
    label = CharField(max_length=80, default="")  # as an administrator typed it; default tiers are translated
    role = CharField(max_length=32)
    # The tier approves amounts above this; empty: every amount.
    min_amount = MoneyField(null=True)
    # The tier approves amounts above the leadership setting.
    threshold_setting = BooleanField(default=False)
    active = BooleanField(default=True)

    def threshold(self):
        """The amount above which this tier approves, or None when it approves every amount."""
        amounts = [a for a in (self.min_amount, settings.get(LEADERSHIP_ABOVE) if self.threshold_setting else None)
                   if a is not None]
        return max(amounts) if amounts else None

    def applies_to(self, amount):
        limit = self.threshold()
        return self.active and (limit is None or money(amount) > money(limit))

    @property
    def name(self):
        return self.label or DEFAULT_TIER_LABELS.get(self.key) or ROLES.get(self.role, self.role)


DEFAULT_TIER_LABELS = {"manager": _l("Service manager"), "leadership": _l("Leadership")}
DEFAULT_TIERS = [
    dict(key="manager", position=10, role="service_manager"),
    dict(key="leadership", position=20, role="leadership", threshold_setting=True),
]


def tiers(include_inactive=False):
    if not CompensationTier.select().exists():
        with write_transaction():
            CompensationTier.insert_many(DEFAULT_TIERS).on_conflict_ignore().execute()
    query = CompensationTier.select().order_by(CompensationTier.position, CompensationTier.id)
    if not include_inactive:
        query = query.where(CompensationTier.active == True)  # noqa: E712
    return list(query)


def save_tier(actor, tier_id=None, *, label, role, position, min_amount=None, threshold_setting=False,
              active=True):
    """Add a tier or change one; audited. Some tier must approve every amount, or a small
    compensation would be paid with nobody's approval."""
    if role not in ROLES or not has_permission({role}, "compensations.work"):
        # Approvers of a tier must be able to open the compensation they are asked to approve.
        raise CompensationError(_l("Choose the role that approves."), "role")
    with write_transaction():
        if tier_id:
            tier = CompensationTier.get_or_none(CompensationTier.id == tier_id)
            if tier is None:
                raise CompensationError(_l("No such tier."))
            before = tier.snapshot()
        else:
            tier, before = CompensationTier(key=f"t-{uuid.uuid4().hex[:12]}"), None
        tier.label, tier.role, tier.position = label or "", role, position
        tier.min_amount = money(min_amount) if min_amount is not None else None
        tier.threshold_setting, tier.active = bool(threshold_setting), bool(active)
        tier.save()
        if not any(t.threshold() is None for t in tiers()):
            raise CompensationError(_l("Some active tier must approve every amount (no minimum): "
                                       "otherwise small compensations would need nobody's approval."), "active")
        if before is None:
            audit.record_create(actor, tier)
        else:
            audit.record_change(actor, tier, before)
    return tier


# ---------------------------------------------------------------- the compensation

class Compensation(VoidableModel, VersionedModel):
    number = CharField(max_length=20, unique=True)
    customer = ForeignKeyField(Customer, backref="compensations", on_delete="RESTRICT")
    complaint = ForeignKeyField(Complaint, null=True, backref="compensations", on_delete="RESTRICT")
    case = TextField()  # what happened, and why the company pays first
    # Who is to reimburse the company: the vendor (厂商) or another responsible party.
    responsible_party = CharField(max_length=120)
    party_contact = CharField(max_length=120, default="")
    proposed_amount = MoneyField()
    # A payment above what was approved, sent back for approval; cleared once approved.
    requested_amount = MoneyField(null=True)
    # What the tiers approved in full; a payment may not exceed it.
    approved_amount = MoneyField(null=True)
    state = CharField(max_length=12, default="proposed", index=True)
    # Each submission is a round; an approval counts only in its own round.
    round = IntegerField(default=1)
    proposer = ForeignKeyField(User, on_delete="RESTRICT", backref="+")
    tier = ForeignKeyField(CompensationTier, null=True, on_delete="RESTRICT")
    tier_since = DateTimeField(null=True)
    approved_at = DateTimeField(null=True)
    paid_amount = MoneyField(null=True)
    paid_on = DateField(null=True, index=True)
    pay_method = CharField(max_length=12, default="")
    pay_reference = CharField(max_length=120, default="")
    paid_by = ForeignKeyField(User, null=True, on_delete="RESTRICT", backref="+")
    # The sum of the recoveries, kept with each one: the open balance needs no sum per row.
    recovered_amount = MoneyField(default=Decimal("0"))
    settled_at = DateTimeField(null=True)

    stale_message = _l("Someone else acted on this compensation meanwhile; look at it again.")
    missing_message = _l("No such compensation.")

    @property
    def amount_for_approval(self):
        return self.requested_amount if self.requested_amount is not None else self.proposed_amount

    @property
    def balance(self):
        """What the responsible party still owes the company."""
        if self.paid_amount is None:
            return None
        return money(self.paid_amount - self.recovered_amount)

    def age_days(self, today=None):
        """Days since the customer was paid (the recovery's age)."""
        if self.paid_on is None:
            return None
        return ((today or local_now().date()) - self.paid_on).days

    def events(self):
        return (CompensationEvent.select(CompensationEvent, User, CompensationTier)
                .join(User, on=CompensationEvent.actor == User.id)
                .switch(CompensationEvent).join(CompensationTier, JOIN.LEFT_OUTER)
                .where(CompensationEvent.compensation == self.id)
                .order_by(CompensationEvent.at, CompensationEvent.id))

    def approval_history(self):
        return [e for e in self.events() if e.action in APPROVAL_EVENTS]

    def recoveries(self):
        return (CompensationRecovery.select(CompensationRecovery, User)
                .join(User, on=CompensationRecovery.recorded_by == User.id)
                .where(CompensationRecovery.compensation == self.id)
                .order_by(CompensationRecovery.received_on, CompensationRecovery.id))

    def progress(self):
        """[(tier, its approval in this round that covers the amount, or None)] for each tier the amount needs."""
        settled = self.approved_amount is not None and self.state not in ("proposed", "returned")
        amount = self.approved_amount if settled else self.amount_for_approval
        approvals = {}
        for event in self.events():
            if event.action == "approve" and event.round == self.round and event.amount >= amount:
                approvals[event.tier_id] = event
        return [(tier, approvals.get(tier.id)) for tier in tiers() if tier.applies_to(amount)]

    def actions_for(self, user):
        """The transitions this user may apply now, in table order."""
        return [(name, t) for name, t in TRANSITIONS.items() if refusal(self, name, user) is None]


class CompensationEvent(BaseModel):
    compensation = ForeignKeyField(Compensation, backref="timeline", on_delete="CASCADE")
    at = DateTimeField(default=utcnow)
    actor = ForeignKeyField(User, on_delete="RESTRICT", backref="+")
    action = CharField(max_length=16)
    round = IntegerField()
    tier = ForeignKeyField(CompensationTier, null=True, on_delete="RESTRICT")
    tier_label = CharField(max_length=80, default="")  # the tier as it was called when it decided
    # approve: the amount it covers; propose/resubmit/over_payment: the amount asked for; pay/recover: paid.
    amount = MoneyField(null=True)
    note = TextField(default="")

    @property
    def label(self):
        return EVENT_LABELS.get(self.action, self.action)

    @property
    def tier_name(self):
        return self.tier_label or (self.tier.name if self.tier_id else "")


class CompensationRecovery(BaseModel):
    """Money the responsible party paid back; several make up a settlement."""
    compensation = ForeignKeyField(Compensation, backref="recovery_rows", on_delete="CASCADE")
    received_on = DateField()
    amount = MoneyField()
    method = CharField(max_length=12)
    note = TextField(default="")
    recorded_by = ForeignKeyField(User, on_delete="RESTRICT", backref="+")
    recorded_at = DateTimeField(default=utcnow)


# ---------------------------------------------------------------- who approves

def missing_approvals(compensation, amount):
    """The tiers this amount needs that have not approved at least this much in the current
    round, in order; empty when what was approved covers it. The one rule for every
    commitment of money: it routes each approval and decides whether a payment may be made."""
    amount = money(amount)
    covered = {}
    for event in CompensationEvent.select().where(CompensationEvent.compensation == compensation.id,
                                                  CompensationEvent.round == compensation.round,
                                                  CompensationEvent.action == "approve"):
        covered[event.tier_id] = max(covered.get(event.tier_id, event.amount), event.amount)
    return [t for t in tiers() if t.applies_to(amount) and (t.id not in covered or money(covered[t.id]) < amount)]


def approvers(compensation):
    """Who may approve the tier it waits at: the tier's role, the proposer never."""
    if compensation.state != "proposed" or compensation.tier_id is None:
        return []
    done = _approved_this_round(compensation)
    return [u for u in User.active_with_role(compensation.tier.role)
            if u.id != compensation.proposer_id and u.id not in done]


def _approved_this_round(compensation):
    """Who approved a tier of this round already: one person approves one tier, or a person holding
    both roles would pass an amount above the leadership setting alone."""
    return {actor for (actor,) in CompensationEvent.select(CompensationEvent.actor).where(
        CompensationEvent.compensation == compensation.id, CompensationEvent.round == compensation.round,
        CompensationEvent.action == "approve").tuples()}


def refusal(compensation, action, user):
    """Why this user may not apply this action now, or None if they may."""
    transition = TRANSITIONS.get(action)
    if transition is None:
        return _l("Unknown action.")
    if compensation.state not in transition.sources:
        return _l("This cannot be done to a compensation that is “%(state)s”.", state=STATES[compensation.state])
    if transition.roles == APPROVER:
        if user.id == compensation.proposer_id:
            return _l("Nobody approves a compensation they proposed.")
        if compensation.tier_id is None or compensation.tier.role not in user.roles:
            tier = compensation.tier.name if compensation.tier_id else ""
            return _l("This approval is for someone else: %(tier)s.", tier=tier)
        if user.id in _approved_this_round(compensation):
            return _l("You approved an earlier tier of this compensation: someone else approves this one.")
        return None
    if transition.roles == PROPOSER:
        if user.id != compensation.proposer_id:
            return _l("Only the proposer amends and resubmits a compensation.")
        return None
    if not set(user.roles) & transition.roles:
        return _l("Your role may not do this.")
    return None


def _tell_approvers(compensation, actor=None):
    link = ("compensations.show", {"compensation_id": compensation.id})
    people = approvers(compensation)
    for person in people:
        notify(person, N_("Advance compensation %(number)s (¥%(amount)s) waits for your approval"), link,
               number=compensation.number, amount=f"{compensation.amount_for_approval:,.2f}")
    if not people:  # never wait for nobody in silence
        for person in User.active_with_role("admin"):
            notify(person, N_("Advance compensation %(number)s waits at a tier nobody may approve: "
                              "check the approval tiers"), link, number=compensation.number)


# ---------------------------------------------------------------- proposing

def _check_case(case, responsible_party, amount):
    if not (case or "").strip():
        raise CompensationError(_l("Say what happened and why the company pays first."), "case")
    if not (responsible_party or "").strip():
        raise CompensationError(_l("Name who is to reimburse the company."), "responsible_party")
    if amount is None or money(amount) <= 0:
        raise CompensationError(_l("Enter the amount proposed, more than 0."), "amount")


def propose(actor, *, case, responsible_party, amount, party_contact="", complaint_number="", name="", phone=""):
    """A new compensation, waiting at the first tier its amount needs. The customer is the
    complaint's when one is named, else the one with this phone number (or a new one)."""
    if not set(actor.roles) & RECORDERS:
        raise CompensationError(_l("Your role may not do this."))
    _check_case(case, responsible_party, amount)
    with write_transaction():
        complaint = None
        if complaint_number:
            complaint = Complaint.get_or_none(Complaint.number == complaint_number.strip().upper())
            if complaint is None:
                raise CompensationError(_l("No complaint has the number %(number)s.", number=complaint_number),
                                        "complaint_number")
            if complaint.is_void:
                raise CompensationError(_l("Complaint %(number)s was voided.", number=complaint.number),
                                        "complaint_number")
            customer = complaint.customer
        else:
            if not (name or "").strip() or not (phone or "").strip():
                raise CompensationError(_l("Name the customer and their phone number, or the complaint."), "name")
            customer = find_or_create_customer(actor, name.strip(), phone)
        compensation = Compensation.create(
            number=next_number("PC"), customer=customer, complaint=complaint, case=case.strip(),
            responsible_party=responsible_party.strip(), party_contact=(party_contact or "").strip(),
            proposed_amount=money(amount), proposer=actor)
        compensation = _route(compensation)
        audit.record_create(actor, compensation)
        _event(compensation, actor, "propose", amount=compensation.proposed_amount)
        _tell_approvers(compensation)
    return compensation


def _route(compensation):
    """Send it to the first tier its amount needs (the chain always has one: save_tier sees to it)."""
    first = missing_approvals(compensation, compensation.amount_for_approval)[0]
    Compensation.update(tier=first, tier_since=utcnow()).where(Compensation.id == compensation.id).execute()
    return Compensation.get_by_id(compensation.id)


def _event(compensation, actor, action, tier=None, amount=None, note=""):
    return CompensationEvent.create(compensation=compensation, actor=actor, action=action, round=compensation.round,
                                    tier=tier, tier_label=(tier.label if tier else "")[:80], amount=amount,
                                    note=note or "")


# ---------------------------------------------------------------- moving it on

def apply(compensation_id, action, actor, version, note="", *, amount=None, day=None, method="", reference="",
          case=None, responsible_party=None, party_contact=None):
    """Apply one transition: check it, stamp who and when, write the event and the audit entry,
    tell the next person. `version` is the one the user saw.

    approve/return: the tier it waits at decides; resubmit: the amended case, party and amount;
    pay: day paid, amount, method, reference; recover: day received, amount, method."""
    note = (note or "").strip()
    sent_back = None
    with write_transaction():
        compensation = Compensation.load(compensation_id, version)
        reason = refusal(compensation, action, actor)
        if reason:
            raise CompensationError(reason)
        transition = TRANSITIONS[action]
        if transition.note_required and not note:
            raise CompensationError(_l("Fill in “%(what)s”.", what=transition.note_label), "note")
        before = compensation.snapshot()
        handler = {"approve": _approve, "return": _return, "resubmit": _resubmit, "pay": _pay,
                   "recover": _recover, "void": _void}[action]
        values, event, tell = handler(compensation, actor, note, amount=amount, day=day, method=method,
                                      reference=reference, case=case, responsible_party=responsible_party,
                                      party_contact=party_contact)
        if event.get("action") == "over_payment":
            sent_back = event
        compensation = compensation.update_versioned(version, values)
        if event.get("action"):  # an approval wrote its own, before routing on
            _event(compensation, actor, note=note, **event)
        audit.record_change(actor, compensation, before)
        audit.record_event(actor, event.get("action", action), compensation, reason=note or None)
        tell(compensation, actor)
    if sent_back:
        raise SentBackForApproval(_l(
            "¥%(amount)s is more than the approved ¥%(approved)s: nothing was paid, and it went back for "
            "approval of that amount (%(tiers)s).", amount=f"{sent_back['amount']:,.2f}",
            approved=f"{compensation.approved_amount:,.2f}", tiers=compensation.tier.name), "amount")
    return compensation


def _approve(compensation, actor, note, **_):
    tier = compensation.tier
    amount = compensation.amount_for_approval
    # The approval is written first: missing_approvals reads it.
    CompensationEvent.create(compensation=compensation, actor=actor, action="approve", round=compensation.round,
                             tier=tier, tier_label=tier.label[:80], amount=amount, note=note)
    missing = missing_approvals(compensation, amount)
    now = utcnow()
    if missing:
        return {Compensation.tier: missing[0], Compensation.tier_since: now}, {}, _tell_approvers
    return ({Compensation.state: "approved", Compensation.approved_amount: amount, Compensation.requested_amount: None,
             Compensation.tier: None, Compensation.tier_since: None, Compensation.approved_at: now}, {},
            _tell_approved)


def _tell_approved(compensation, actor):
    link = ("compensations.show", {"compensation_id": compensation.id})
    if compensation.proposer_id != actor.id:
        notify(compensation.proposer, N_("Advance compensation %(number)s is approved (¥%(amount)s): pay the customer"),
               link, number=compensation.number, amount=f"{compensation.approved_amount:,.2f}")


def _return(compensation, actor, note, **_):
    def tell(compensation, actor):
        notify(compensation.proposer, N_("Advance compensation %(number)s was returned: %(reason)s"),
               ("compensations.show", {"compensation_id": compensation.id}), number=compensation.number, reason=note)
    return ({Compensation.state: "returned", Compensation.tier: None, Compensation.tier_since: None,
             Compensation.requested_amount: None},
            dict(action="return", tier=compensation.tier), tell)


def _resubmit(compensation, actor, note, *, case, responsible_party, party_contact, amount, **_):
    """A new round: no approval of an earlier round counts."""
    _check_case(case, responsible_party, amount)
    compensation.round += 1
    compensation.proposed_amount, compensation.requested_amount = money(amount), None
    first = missing_approvals(compensation, compensation.proposed_amount)[0]
    return ({Compensation.state: "proposed", Compensation.round: compensation.round, Compensation.case: case.strip(),
             Compensation.responsible_party: responsible_party.strip(),
             Compensation.party_contact: (party_contact or "").strip(),
             Compensation.proposed_amount: money(amount), Compensation.requested_amount: None,
             Compensation.approved_amount: None, Compensation.tier: first, Compensation.tier_since: utcnow()},
            dict(action="resubmit", amount=money(amount)), _tell_approvers)


def _check_day(day, field, earliest=None, earliest_message=None):
    if day is None:
        raise CompensationError(_l("Enter the date."), field)
    if day > local_now().date():
        raise CompensationError(_l("This date is in the future."), field)
    if earliest is not None and day < earliest:
        raise CompensationError(earliest_message, field)


def _pay(compensation, actor, note, *, amount, day, method, reference, **_):
    if amount is None or money(amount) <= 0:
        raise CompensationError(_l("Enter the amount paid, more than 0."), "amount")
    if method not in PAY_METHODS:
        raise CompensationError(_l("Choose how it was paid."), "method")
    _check_day(day, "day", to_local(compensation.created_at).date(),
               _l("The payment cannot be before the compensation was proposed."))
    amount = money(amount)
    missing = missing_approvals(compensation, amount)
    if missing:
        # Not paid: back to the first tier that has not approved this much; approvals covering it stand.
        return ({Compensation.state: "proposed", Compensation.requested_amount: amount,
                 Compensation.tier: missing[0], Compensation.tier_since: utcnow()},
                dict(action="over_payment", amount=amount), _tell_approvers)

    def tell(compensation, actor):
        link = ("compensations.show", {"compensation_id": compensation.id})
        people = {u.id: u for u in User.active_with_role("service_manager")}
        people.setdefault(compensation.proposer_id, compensation.proposer)
        for person in people.values():
            if person.id != actor.id:
                notify(person, N_("Advance compensation %(number)s was paid (¥%(amount)s): recover it from "
                                  "%(party)s"), link, number=compensation.number,
                       amount=f"{compensation.paid_amount:,.2f}", party=compensation.responsible_party)
    return ({Compensation.state: "paid", Compensation.paid_amount: amount, Compensation.paid_on: day,
             Compensation.pay_method: method, Compensation.pay_reference: (reference or "").strip()[:120],
             Compensation.paid_by: actor},
            dict(action="pay", amount=amount), tell)


def _recover(compensation, actor, note, *, amount, day, method, **_):
    if amount is None or money(amount) <= 0:
        raise CompensationError(_l("Enter the amount recovered, more than 0."), "amount")
    amount = money(amount)
    if amount > compensation.balance:
        raise CompensationError(_l("Only ¥%(balance)s is still open; this recovery is more.",
                                   balance=f"{compensation.balance:,.2f}"), "amount")
    if method not in PAY_METHODS:
        raise CompensationError(_l("Choose how it was received."), "method")
    _check_day(day, "day", compensation.paid_on, _l("A recovery cannot be before the customer was paid."))
    CompensationRecovery.create(compensation=compensation, received_on=day, amount=amount, method=method, note=note,
                                recorded_by=actor)
    recovered = money(compensation.recovered_amount + amount)
    values = {Compensation.recovered_amount: recovered}
    if recovered >= compensation.paid_amount:
        values.update({Compensation.state: "settled", Compensation.settled_at: utcnow()})
    return values, dict(action="recover", amount=amount), lambda compensation, actor: None


def _void(compensation, actor, note, **_):
    def tell(compensation, actor):
        if compensation.proposer_id != actor.id:
            notify(compensation.proposer, N_("Advance compensation %(number)s was voided: %(reason)s"),
                   ("compensations.show", {"compensation_id": compensation.id}), number=compensation.number,
                   reason=note)
    return ({Compensation.state: "voided", Compensation.voided_at: utcnow(), Compensation.void_reason: note,
             Compensation.tier: None, Compensation.tier_since: None},
            dict(action="void"), tell)


# ---------------------------------------------------------------- lists

def _joined():
    return (Compensation.select(Compensation, Customer, Complaint, User, CompensationTier)
            .join(Customer).switch(Compensation).join(Complaint, JOIN.LEFT_OUTER)
            .switch(Compensation).join(User, on=Compensation.proposer == User.id)
            .switch(Compensation).join(CompensationTier, JOIN.LEFT_OUTER))


def get(compensation_id):
    """One compensation with its customer, complaint, proposer and tier, or None."""
    return _joined().where(Compensation.id == compensation_id).first()


def listing(state=None, q=None):
    """Newest first; `state` is a state, "open" (not settled nor voided) or None for all."""
    query = _joined().order_by(Compensation.created_at.desc(), Compensation.id.desc())
    if state == "open":
        query = query.where(Compensation.state.not_in(("settled", "voided")))
    elif state in STATES:
        query = query.where(Compensation.state == state)
    if q:
        like = f"%{q}%"
        query = query.where(Compensation.number ** like | Customer.name ** like | Customer.phone ** like
                            | Compensation.responsible_party ** like)
    return query


def inbox(user):
    """What waits for this user's approval, oldest first."""
    return (_joined().where(Compensation.state == "proposed", CompensationTier.role.in_(list(user.roles)),
                            Compensation.proposer != user.id)
            .order_by(Compensation.tier_since, Compensation.id))


def inbox_count(user):
    return inbox(user).count()


def open_recoveries():
    """Paid and not yet recovered in full, the oldest payment first."""
    return _joined().where(Compensation.state == "paid").order_by(Compensation.paid_on, Compensation.id)
