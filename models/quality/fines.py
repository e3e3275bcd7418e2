"""Fines (处罚) and the departments' bonus fund (部门奖励基金), exactly as seed 002 sets them
(every number a setting):

- a point lost costs POINT_VALUE (¥50); a loss under MIN_POINTS (1 point) counts as 1;
- the first time, a store self-check costs 1× the points, a regional check 2×; the same item
  lost again by the same person in the next check of that kind costs 2× (self) / 3× (regional);
- the FLAG_AT-th time (the third) the person is proposed to the service manager for
  reassignment or dismissal (换岗或劝退): a StaffProposal a person decides, never automatic;
- a department that loses no point in a self-check earns ¥100, in a regional check ¥250,
  into its bonus fund, paid out (quarterly) to named people with a reason.

Seed 002 names fines for the store's and the region's monthly checks. The weekly special
check and the daily floor walk are the store's own checks too: their findings are fined like a
self-check (1×, repeat 2×; both settings, 0 turns it off) but earn no reward, which the seed
names only for the two monthly checks.

A fine is never edited: a correction is a new Fine that refers to the one it replaces, and the
replaced one is voided."""
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from peewee import JOIN, CharField, DateField, DateTimeField, DecimalField, ForeignKeyField, IntegerField, TextField, fn

from models import audit, settings
from models.base import VersionedModel, VoidableModel, utcnow, write_transaction
from models.money import MoneyField, money
from models.notifications import N_, notify
from models.numbering import next_number
from models.quality.inspections import QUALITY, Finding, Inspection, QualityError, scope
from models.timezone import local_now
from models.users import Department, User

audit.name_record_type("fine", _l("Fine"))
audit.name_record_type("bonus_fund_entry", _l("Bonus fund entry"))
audit.name_record_type("staff_proposal", _l("Reassignment proposal"))

POINT_VALUE = settings.define("quality_point_value", Decimal, Decimal("50"), _l("Fine per point lost (yuan)"),
                              QUALITY, minimum=Decimal("0"), maximum=Decimal("10000"))
MIN_POINTS = settings.define("quality_min_points", Decimal, Decimal("1"),
                             _l("A loss under this many points is fined as this many"), QUALITY,
                             minimum=Decimal("0"), maximum=Decimal("100"))
#: kind -> (first-time multiplier setting, repeat multiplier setting)
MULTIPLIERS = {
    "self": (settings.define("quality_self_multiplier", Decimal, Decimal("1"),
                             _l("Store self-check: fine × points lost"), QUALITY, minimum=Decimal("0"), maximum=Decimal("10")),
             settings.define("quality_self_repeat_multiplier", Decimal, Decimal("2"),
                             _l("Store self-check, the same fault again: fine × points lost"), QUALITY,
                             minimum=Decimal("0"), maximum=Decimal("10"))),
    "regional": (settings.define("quality_regional_multiplier", Decimal, Decimal("2"),
                                 _l("Regional check: fine × points lost"), QUALITY, minimum=Decimal("0"),
                                 maximum=Decimal("10")),
                 settings.define("quality_regional_repeat_multiplier", Decimal, Decimal("3"),
                                 _l("Regional check, the same fault again: fine × points lost"), QUALITY,
                                 minimum=Decimal("0"), maximum=Decimal("10"))),
    "special": (settings.define("quality_special_multiplier", Decimal, Decimal("1"),
                                _l("Special check: fine × points lost"), QUALITY, minimum=Decimal("0"),
                                maximum=Decimal("10")),
                settings.define("quality_special_repeat_multiplier", Decimal, Decimal("2"),
                                _l("Special check, the same fault again: fine × points lost"), QUALITY,
                                minimum=Decimal("0"), maximum=Decimal("10"))),
    "floor_walk": (settings.define("quality_floor_walk_multiplier", Decimal, Decimal("1"),
                                   _l("Floor walk: fine × points lost"), QUALITY, minimum=Decimal("0"),
                                   maximum=Decimal("10")),
                   settings.define("quality_floor_walk_repeat_multiplier", Decimal, Decimal("2"),
                                   _l("Floor walk, the same fault again: fine × points lost"), QUALITY,
                                   minimum=Decimal("0"), maximum=Decimal("10"))),
}
FLAG_AT = settings.define("quality_flag_at", int, 3,
                          _l("The same fault this many times: propose reassignment or dismissal"), QUALITY,
                          minimum=2, maximum=20)
REWARDS = {
    "self": settings.define("quality_reward_self", Decimal, Decimal("100"),
                            _l("Bonus fund for a self-check without a point lost (yuan)"), QUALITY,
                            minimum=Decimal("0"), maximum=Decimal("100000")),
    "regional": settings.define("quality_reward_regional", Decimal, Decimal("250"),
                                _l("Bonus fund for a regional check without a point lost (yuan)"), QUALITY,
                                minimum=Decimal("0"), maximum=Decimal("100000")),
}

FINE_STATES = {"issued": _l("Issued"), "corrected": _l("Replaced by a correction"), "voided": _l("Voided")}
PROPOSAL_STATES = {"open": _l("Awaiting the manager's decision"), "decided": _l("Decided")}
DECISIONS = {"reassign": _l("Reassign (换岗)"), "dismiss": _l("Dismiss (劝退)"), "keep": _l("Keep in the post")}


class Fine(VoidableModel, VersionedModel):
    number = CharField(max_length=20, unique=True)
    finding = ForeignKeyField(Finding, null=True, backref="fines", on_delete="RESTRICT")  # null: a correction
    person = ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    department = ForeignKeyField(Department, backref="+", on_delete="RESTRICT")
    amount = MoneyField()
    points = DecimalField(max_digits=6, decimal_places=2, auto_round=True, default=0)  # the points fined
    multiplier = DecimalField(max_digits=5, decimal_places=2, auto_round=True, default=1)
    repeat_count = IntegerField(default=1)
    issued_on = DateField(index=True)
    state = CharField(max_length=10, default="issued", index=True)
    corrects = ForeignKeyField("self", null=True, backref="corrections", on_delete="RESTRICT")
    reason = TextField(default="")  # a correction's why
    issued_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    printed_at = DateTimeField(null=True)

    error = QualityError

    @property
    def state_label(self):
        return FINE_STATES.get(self.state, self.state)


class BonusFundEntry(VoidableModel):
    """A department's bonus fund moves: +reward of a faultless check, -payout to a named person."""
    department = ForeignKeyField(Department, backref="+", on_delete="RESTRICT")
    amount = MoneyField()
    on = DateField(index=True)
    reason = TextField(default="")
    person = ForeignKeyField(User, null=True, backref="+", on_delete="RESTRICT")  # a payout's recipient
    inspection = ForeignKeyField(Inspection, null=True, backref="+", on_delete="RESTRICT")
    entered_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")


class StaffProposal(VersionedModel):
    """The same fault the third time: the portal proposes 换岗或劝退, the service manager decides."""
    person = ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    finding = ForeignKeyField(Finding, backref="+", on_delete="RESTRICT")
    created_at = DateTimeField(default=utcnow)
    state = CharField(max_length=10, default="open", index=True)
    decision = CharField(max_length=10, default="")
    note = TextField(default="")
    decided_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    decided_at = DateTimeField(null=True)

    error = QualityError

    @property
    def decision_label(self):
        return DECISIONS.get(self.decision, "")


def fine_amount(kind, points_lost, repeat_count):
    """(amount, points fined, multiplier) of a finding, per seed 002 and the settings."""
    points = max(Decimal(points_lost), settings.get(MIN_POINTS))
    first, repeat = MULTIPLIERS[kind]
    multiplier = settings.get(first if repeat_count <= 1 else repeat)
    return money(points * settings.get(POINT_VALUE) * multiplier), points, multiplier


FINED = N_("Fine %(number)s: ¥%(amount)s for “%(item)s” (inspection of %(day)s).")
FLAGGED = N_("%(name)s lost “%(item)s” %(count)s times in a row: decide on reassignment or dismissal.")


def issue_for(actor, inspection, finding):
    """The fine of a finding, at the inspection's completion (inside its transaction); a third
    repeat also opens the proposal for the service manager."""
    amount, points, multiplier = fine_amount(inspection.kind, finding.points_lost, finding.repeat_count)
    fine = None
    if amount > 0:
        fine = Fine.create(number=next_number("QF"), finding=finding, person=finding.person_id,
                           department=finding.person.department_id, amount=amount, points=points,
                           multiplier=multiplier, repeat_count=finding.repeat_count,
                           issued_on=inspection.inspected_on, issued_by=actor)
        audit.record_create(actor, fine)
        notify(finding.person, FINED, ("quality.fine", {"fine_id": fine.id}), number=fine.number,
               amount=f"{amount:,.2f}", item=finding.item.title, day=inspection.inspected_on.isoformat())
    if finding.repeat_count >= settings.get(FLAG_AT):
        proposal = StaffProposal.create(person=finding.person_id, finding=finding)
        audit.record_create(actor, proposal)
        for manager in User.active_with_role("service_manager"):
            notify(manager, FLAGGED, ("quality.proposals", {}), name=finding.person.display_name,
                   item=finding.item.title, count=finding.repeat_count)
    return fine


def credit_reward(actor, inspection):
    """A department's check without a point lost earns its reward (none for special checks and
    floor walks, nor for a reward set to 0)."""
    key = REWARDS.get(inspection.kind)
    if key is None or inspection.department_id is None:
        return None
    amount = money(settings.get(key))
    if amount <= 0:
        return None
    entry = BonusFundEntry.create(department=inspection.department_id, amount=amount, on=inspection.inspected_on,
                                  reason="", inspection=inspection,  # the inspection says why, in any language
                                  entered_by=actor)
    audit.record_create(actor, entry)
    return entry


def void_for_inspection(actor, inspection, reason):
    """A completed inspection voided: its fines, fund credit and open proposals go with it."""
    for fine in Fine.select().join(Finding).where(Finding.inspection == inspection.id, Fine.voided_at.is_null()):
        Fine.update(state="voided", voided_at=utcnow(), void_reason=reason, version=Fine.version + 1).where(
            Fine.id == fine.id).execute()
        audit.record_event(actor, "void", fine, reason=reason)
    for entry in BonusFundEntry.select().where(BonusFundEntry.inspection == inspection.id,
                                               BonusFundEntry.voided_at.is_null()):
        audit.void(actor, entry, reason)
    (StaffProposal.update(state="decided", decision="keep", note=reason, decided_by=actor, decided_at=utcnow())
     .where(StaffProposal.state == "open",
            StaffProposal.finding.in_(Finding.select(Finding.id).where(Finding.inspection == inspection.id)))
     .execute())


def correct(actor, fine_id, version, *, amount, reason):
    """A fine is never edited: the correction is a new fine referring to the old one, which is
    voided as replaced. Amount 0 cancels it."""
    reason = (reason or "").strip()
    if not reason:
        raise QualityError(_l("Give the reason for the correction."), field="reason")
    if amount is None or Decimal(amount) < 0:
        raise QualityError(_l("Enter the corrected amount (0 cancels the fine)."), field="amount")
    with write_transaction():
        old = Fine.load(fine_id, version)
        if old.state != "issued" or old.is_void:
            raise QualityError(_l("Only an issued fine is corrected; this one is “%(state)s”.",
                                  state=old.state_label))
        before = old.snapshot()
        updated = old.update_versioned(version, {Fine.state: "corrected", Fine.voided_at: utcnow(),
                                                 Fine.void_reason: reason})
        audit.record_change(actor, updated, before)
        new = None
        if money(amount) > 0:
            new = Fine.create(number=next_number("QF"), finding=None, person=old.person_id,
                              department=old.department_id, amount=money(amount), points=old.points,
                              multiplier=old.multiplier, repeat_count=old.repeat_count, issued_on=old.issued_on,
                              corrects=old, reason=reason, issued_by=actor)
            audit.record_create(actor, new)
    return new


def mark_printed(fine):
    """The notice went out on paper: from now on only a correction changes it."""
    if fine.printed_at is None:
        Fine.update(printed_at=utcnow()).where(Fine.id == fine.id, Fine.printed_at.is_null()).execute()


def fines_between(start, end, department=None):
    """The non-voided fines issued in [start, end) (local dates), optionally of one department."""
    query = Fine.select().where(Fine.voided_at.is_null(), Fine.issued_on >= start, Fine.issued_on < end)
    if department is not None:
        query = query.where(Fine.department == department)
    return query


def listing():
    return (Fine.select(Fine, User, Department)
            .join(User, on=(Fine.person == User.id))
            .switch(Fine).join(Department, on=(Fine.department == Department.id))
            .order_by(Fine.issued_on.desc(), Fine.id.desc()))


def visible_fines(user, query=None):
    query = listing() if query is None else query
    kind, value = scope(user)
    if kind == "all":
        return query
    if kind == "department":
        return query.where((Fine.department == value) | (Fine.person == user.id))
    return query.where(Fine.person == value)


def can_see_fine(user, fine):
    return visible_fines(user, Fine.select().where(Fine.id == fine.id)).exists()


def balance(department_id, until=None):
    query = BonusFundEntry.select(fn.COALESCE(fn.SUM(BonusFundEntry.amount), 0)).where(
        BonusFundEntry.department == department_id, BonusFundEntry.voided_at.is_null())
    if until is not None:
        query = query.where(BonusFundEntry.on < until)
    return money(query.scalar())


def payout(actor, *, department_id, person_id, amount, reason, on=None):
    """Pay from a department's fund to a named person with a reason; never beyond the balance."""
    reason = (reason or "").strip()
    if not reason:
        raise QualityError(_l("Give the reason for the payout."), field="reason")
    if amount is None or money(amount) <= 0:
        raise QualityError(_l("Enter an amount above 0."), field="amount")
    person = User.get_or_none(User.id == person_id, User.is_active == True)  # noqa: E712
    if person is None or person.department_id != department_id:
        raise QualityError(_l("Choose a person of this department."), field="person")
    with write_transaction():
        available = balance(department_id)
        if money(amount) > available:
            raise QualityError(_l("The fund holds ¥%(balance)s: a payout cannot exceed it.",
                                  balance=f"{available:,.2f}"), field="amount")
        entry = BonusFundEntry.create(department=department_id, amount=-money(amount), on=on or local_now().date(),
                                      reason=reason, person=person, entered_by=actor)
        audit.record_create(actor, entry)
    return entry


def ledger(start, end, department_id):
    """A department's month: its fines and its fund entries in [start, end), and the fund's
    balance before and after."""
    fines = list(listing().where(Fine.voided_at.is_null(), Fine.issued_on >= start, Fine.issued_on < end,
                                 Fine.department == department_id).order_by(Fine.issued_on, Fine.id))
    entries = list(BonusFundEntry.select(BonusFundEntry, User, Inspection)
                   .join(User, JOIN.LEFT_OUTER, on=(BonusFundEntry.person == User.id))
                   .switch(BonusFundEntry).join(Inspection, JOIN.LEFT_OUTER,
                                                on=(BonusFundEntry.inspection == Inspection.id))
                   .where(BonusFundEntry.department == department_id, BonusFundEntry.voided_at.is_null(),
                          BonusFundEntry.on >= start, BonusFundEntry.on < end)
                   .order_by(BonusFundEntry.on, BonusFundEntry.id))
    opening = balance(department_id, until=start)
    return {"fines": fines, "fines_total": money(sum((f.amount for f in fines), Decimal(0))),
            "entries": entries, "opening": opening,
            "closing": money(opening + sum((e.amount for e in entries), Decimal(0)))}


def month_by_department(start, end, department_ids=None):
    """[(department, fines total, fine count, fund balance)] for the overview."""
    totals = {row.department_id: (row.total, row.n) for row in
              Fine.select(Fine.department, fn.SUM(Fine.amount).alias("total"), fn.COUNT(Fine.id).alias("n"))
              .where(Fine.voided_at.is_null(), Fine.issued_on >= start, Fine.issued_on < end)
              .group_by(Fine.department)}
    funds = {row.department_id: row.total for row in
             BonusFundEntry.select(BonusFundEntry.department, fn.SUM(BonusFundEntry.amount).alias("total"))
             .where(BonusFundEntry.voided_at.is_null()).group_by(BonusFundEntry.department)}
    departments = Department.active_ones()
    if department_ids is not None:
        departments = departments.where(Department.id.in_(department_ids))
    rows = []
    for department in departments:
        total, count = totals.get(department.id, (0, 0))
        rows.append((department, money(total), count, money(funds.get(department.id, 0))))
    return rows


def open_proposals():
    return (StaffProposal.select(StaffProposal, User).join(User, on=(StaffProposal.person == User.id))
            .where(StaffProposal.state == "open").order_by(StaffProposal.created_at, StaffProposal.id))


def decide(actor, proposal_id, version, *, decision, note):
    """The service manager decides a third-time proposal: reassign, dismiss or keep, with a note."""
    if "service_manager" not in actor.roles:
        raise QualityError(_l("Only the service manager decides this."))
    if decision not in DECISIONS:
        raise QualityError(_l("Choose a decision."), field="decision")
    note = (note or "").strip()
    if not note:
        raise QualityError(_l("Write a note on the decision."), field="note")
    with write_transaction():
        proposal = StaffProposal.load(proposal_id, version)
        if proposal.state != "open":
            raise QualityError(_l("This proposal is already decided."))
        before = proposal.snapshot()
        updated = proposal.update_versioned(version, {StaffProposal.state: "decided", StaffProposal.decision: decision,
                                                      StaffProposal.note: note, StaffProposal.decided_by: actor,
                                                      StaffProposal.decided_at: utcnow()})
        audit.record_change(actor, updated, before)
    return updated
