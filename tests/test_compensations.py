"""Advance compensation (先行赔偿): proposal → approval tiers → payment → recovery until settled."""
import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from models import compensations, complaints, settings
from models.audit import AuditEntry
from models.base import DomainError
from models.compensations import (
    Compensation, CompensationError, CompensationEvent, CompensationTier, SentBackForApproval,
)
from models.notifications import Notification
from tests.pdf import assert_embedded_cjk_font, pdf_text

# 2026-03-02 16:00 in Shanghai.
NOW = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.timezone.utc)
TODAY = dt.date(2026, 3, 2)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as clock:
        yield clock


@pytest.fixture
def people(app, make_user):
    return {
        "specialist": make_user("spec", "specialist", department="客户服务部", display_name="张专员"),
        "desk": make_user("desk", "front_desk", department="前台接待", display_name="王前台"),
        "manager": make_user("manager", "service_manager", department="客户服务部", display_name="杨经理"),
        "manager2": make_user("manager2", "service_manager", department="客户服务部", display_name="孙经理"),
        "leader": make_user("leader", "leadership", display_name="赵领导"),
        "logistics": make_user("log", "logistics", department="行政后勤部", display_name="刘后勤"),
    }


def _propose(app, who, amount="800", **overrides):
    values = dict(case="洗衣机漏水泡坏地板，厂商未及时处理，公司先行赔付", responsible_party="海尔专柜",
                  party_contact="刘经理 13900001111", amount=Decimal(amount), name="李先生", phone="13800138000")
    values.update(overrides)
    with app.test_request_context():
        return compensations.propose(who, **values)


def _act(app, compensation, action, who, **kwargs):
    with app.test_request_context():
        current = Compensation.get_by_id(compensation.id)
        return compensations.apply(current.id, action, who, current.version, **kwargs)


def _fresh(compensation):
    return Compensation.get_by_id(compensation.id)


def _pay(app, compensation, who, amount, day=TODAY, method="transfer"):
    return _act(app, compensation, "pay", who, amount=Decimal(amount), day=day, method=method, reference="流水 001")


def _recover(app, compensation, who, amount, day=TODAY, method="offset"):
    return _act(app, compensation, "recover", who, amount=Decimal(amount), day=day, method=method)


# ---------------------------------------------------------------- the tiers

@pytest.mark.parametrize("amount, needs_leadership", [("2000.00", False), ("2000.01", True), ("1999.99", False)])
def test_leadership_approves_only_above_the_setting(app, people, amount, needs_leadership):
    compensation = _propose(app, people["specialist"], amount)
    assert compensation.tier.role == "service_manager"
    compensation = _act(app, compensation, "approve", people["manager"])
    if needs_leadership:
        assert compensation.state == "proposed" and compensation.tier.role == "leadership"
        assert Notification.select().where(Notification.user == people["leader"]).exists()
        compensation = _act(app, compensation, "approve", people["leader"])
    assert compensation.state == "approved" and compensation.approved_amount == Decimal(amount)


def test_the_threshold_is_a_setting_and_the_tiers_are_data(app, people, admin):
    with app.test_request_context():
        settings.save(admin, {compensations.LEADERSHIP_ABOVE: Decimal("500")})
    compensation = _act(app, _propose(app, people["specialist"], "800"), "approve", people["manager"])
    assert compensation.tier.role == "leadership"
    # The administrator adds a tier: logistics reviews everything above ¥5,000 after the manager.
    with app.test_request_context():
        compensations.save_tier(admin, label="后勤复核", role="logistics", position=15, min_amount=Decimal("5000"))
    big = _act(app, _propose(app, people["specialist"], "6000"), "approve", people["manager"])
    assert big.tier.name == "后勤复核"
    big = _act(app, big, "approve", people["logistics"])
    assert big.tier.role == "leadership"


def test_some_tier_must_approve_every_amount(app, people, admin):
    manager_tier = next(t for t in compensations.tiers() if t.role == "service_manager")
    with app.test_request_context(), pytest.raises(CompensationError, match="every amount"):
        compensations.save_tier(admin, manager_tier.id, label="", role="service_manager", position=10, active=False)
    assert CompensationTier.get_by_id(manager_tier.id).active


# ---------------------------------------------------------------- who may do what

def test_a_compensation_approved_by_its_proposer_is_refused(app, people):
    compensation = _propose(app, people["manager"], "800")
    with pytest.raises(CompensationError, match="Nobody approves a compensation they proposed"):
        _act(app, compensation, "approve", people["manager"])
    assert _fresh(compensation).state == "proposed"
    # Another service manager approves it; the proposer was never asked.
    assert not Notification.select().where(Notification.user == people["manager"]).exists()
    assert _act(app, compensation, "approve", people["manager2"]).state == "approved"


@pytest.mark.parametrize("who, action", [("specialist", "approve"), ("leader", "approve"), ("specialist", "return"),
                                         ("logistics", "approve")])
def test_only_the_tier_it_waits_at_decides(app, people, who, action):
    compensation = _propose(app, people["desk"], "3000")
    with pytest.raises(CompensationError, match="someone else"):
        _act(app, compensation, action, people[who], note="不同意")


def test_transitions_allowed_and_refused_per_role(app, people):
    compensation = _propose(app, people["desk"], "800")
    assert [name for name, _ in compensation.actions_for(people["manager"])] == ["approve", "return", "void"]
    assert [name for name, _ in compensation.actions_for(people["desk"])] == []
    assert [name for name, _ in compensation.actions_for(people["leader"])] == []
    with pytest.raises(CompensationError, match="Your role may not do this"):
        _act(app, compensation, "void", people["specialist"], note="重复登记")
    with pytest.raises(CompensationError, match="cannot be done"):
        _pay(app, compensation, people["desk"], "800")
    with app.test_request_context(), pytest.raises(CompensationError, match="Your role may not do this"):
        compensations.propose(people["logistics"], case="x", responsible_party="y", amount=Decimal("1"), name="a",
                              phone="13800138000")
    compensation = _act(app, compensation, "approve", people["manager"])
    assert [name for name, _ in compensation.actions_for(people["desk"])] == ["pay"]
    assert [name for name, _ in compensation.actions_for(people["leader"])] == []
    with pytest.raises(CompensationError, match="Your role may not do this"):
        _pay(app, compensation, people["leader"], "800")


def test_returned_amended_and_resubmitted_is_approved_afresh(app, people):
    compensation = _propose(app, people["specialist"], "1500")
    with pytest.raises(CompensationError, match="Why it is returned"):
        _act(app, compensation, "return", people["manager"])
    compensation = _act(app, compensation, "return", people["manager"], note="请附厂商确认书")
    assert compensation.state == "returned"
    note = Notification.get(Notification.user == people["specialist"])
    assert "请附厂商确认书" in note.params and note.endpoint == "compensations.show"
    with pytest.raises(CompensationError, match="Only the proposer"):
        _act(app, compensation, "resubmit", people["desk"], amount=Decimal("1200"), case="x", responsible_party="y")
    compensation = _act(app, compensation, "resubmit", people["specialist"], amount=Decimal("2500"),
                        case="已附厂商确认书", responsible_party="海尔专柜", party_contact="")
    assert (compensation.state, compensation.round, compensation.tier.role) == ("proposed", 2, "service_manager")
    compensation = _act(app, compensation, "approve", people["manager"])
    assert compensation.tier.role == "leadership"  # 2,500 now needs leadership too


def test_void_needs_a_reason_and_a_manager(app, people):
    compensation = _propose(app, people["specialist"], "800")
    with pytest.raises(CompensationError, match="Reason"):
        _act(app, compensation, "void", people["manager"])
    compensation = _act(app, compensation, "void", people["manager"], note="客户撤回")
    assert compensation.state == "voided" and compensation.void_reason == "客户撤回" and compensation.is_void
    assert AuditEntry.select().where(AuditEntry.record_type == "compensation", AuditEntry.action == "void").exists()


def test_two_approvers_at_once_one_is_told(app, people):
    compensation = _propose(app, people["specialist"], "800")
    seen = compensation.version
    _act(app, compensation, "approve", people["manager"])
    with app.test_request_context(), pytest.raises(DomainError, match="meanwhile"):
        compensations.apply(compensation.id, "approve", people["manager2"], seen)


# ---------------------------------------------------------------- payment and recovery

def test_a_payment_over_the_approved_amount_goes_back_for_approval(app, people):
    compensation = _act(app, _propose(app, people["specialist"], "1800"), "approve", people["manager"])
    with pytest.raises(SentBackForApproval, match="2,400.00"):
        _pay(app, compensation, people["desk"], "2400")
    compensation = _fresh(compensation)
    assert compensation.state == "proposed" and compensation.paid_amount is None
    assert compensation.requested_amount == Decimal("2400.00") and compensation.tier.role == "service_manager"
    assert CompensationEvent.select().where(CompensationEvent.action == "over_payment").count() == 1
    # The manager approves the higher amount, leadership too (above ¥2,000); then it may be paid.
    compensation = _act(app, compensation, "approve", people["manager2"])
    assert compensation.tier.role == "leadership"
    compensation = _act(app, compensation, "approve", people["leader"])
    assert compensation.state == "approved" and compensation.approved_amount == Decimal("2400.00")
    assert _pay(app, compensation, people["desk"], "2400").state == "paid"


def test_a_payment_up_to_the_approved_amount_is_recorded(app, people):
    compensation = _act(app, _propose(app, people["specialist"], "1800"), "approve", people["manager"])
    with pytest.raises(CompensationError, match="future"):
        _pay(app, compensation, people["desk"], "1800", day=TODAY + dt.timedelta(days=1))
    with pytest.raises(CompensationError, match="how it was paid"):
        _pay(app, compensation, people["desk"], "1800", method="")
    compensation = _pay(app, compensation, people["desk"], "1750.50")
    assert (compensation.state, compensation.paid_amount, compensation.balance) == ("paid", Decimal("1750.50"),
                                                                                   Decimal("1750.50"))
    told = {n.user_id for n in Notification.select().where(Notification.message.contains("was paid"))}
    assert {people["manager"].id, people["manager2"].id, people["specialist"].id} == told


def test_recovery_partial_then_settled(app, people, frozen):
    frozen.move_to(NOW - dt.timedelta(days=3))
    compensation = _act(app, _propose(app, people["specialist"], "1800"), "approve", people["manager"])
    frozen.move_to(NOW)
    compensation = _pay(app, compensation, people["desk"], "1800", day=TODAY - dt.timedelta(days=1))
    with pytest.raises(CompensationError, match="before the customer was paid"):
        _recover(app, compensation, people["specialist"], "100", day=TODAY - dt.timedelta(days=2))
    compensation = _recover(app, compensation, people["specialist"], "1000")
    assert (compensation.state, compensation.balance) == ("paid", Decimal("800.00"))
    with pytest.raises(CompensationError, match="Only ¥800.00 is still open"):
        _recover(app, compensation, people["specialist"], "800.01")
    compensation = _recover(app, compensation, people["specialist"], "800", method="transfer")
    assert compensation.state == "settled" and compensation.balance == 0 and compensation.settled_at is not None
    assert [r.amount for r in compensation.recoveries()] == [Decimal("1000.00"), Decimal("800.00")]
    with pytest.raises(CompensationError, match="cannot be done"):
        _recover(app, compensation, people["specialist"], "1")


def test_open_recoveries_oldest_first_with_their_age(app, people, frozen):
    frozen.move_to(NOW - dt.timedelta(days=100))
    approved = [_act(app, _propose(app, people["specialist"], amount), "approve", people["manager"])
                for amount in ("300", "400", "500", "100")]
    frozen.move_to(NOW)
    for compensation, days_ago in zip(approved, (3, 40, 12)):
        _pay(app, compensation, people["desk"], compensation.approved_amount, day=TODAY - dt.timedelta(days=days_ago))
    settled = _pay(app, approved[3], people["desk"], "100", day=TODAY - dt.timedelta(days=90))
    _recover(app, settled, people["specialist"], "100")
    rows = list(compensations.open_recoveries())
    assert [r.age_days() for r in rows] == [40, 12, 3]


def test_a_compensation_belongs_to_its_complaint_and_customer(app, people):
    with app.test_request_context():
        complaint = complaints.create(people["specialist"], name="周女士", phone="13912345678", content="冰箱不制冷",
                                      channel="phone", category="product quality", severity="general")
    compensation = _propose(app, people["specialist"], "600", complaint_number=complaint.number.lower(), name="",
                            phone="")
    assert compensation.complaint_id == complaint.id and compensation.customer_id == complaint.customer_id
    with pytest.raises(CompensationError, match="No complaint has the number") as refused:
        _propose(app, people["specialist"], "600", complaint_number="TS-2026-999999")
    assert refused.value.field == "complaint_number"
    assert compensation.number.startswith("PC-2026-")
