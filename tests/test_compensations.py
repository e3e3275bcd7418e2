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
    # The administrator adds a tier: the front desk's lead checks everything above ¥5,000 after the manager
    # (a tier's role must be one that opens compensations: see the test below).
    with app.test_request_context():
        compensations.save_tier(admin, label="前台复核", role="front_desk", position=15, min_amount=Decimal("5000"))
    big = _act(app, _propose(app, people["specialist"], "6000"), "approve", people["manager"])
    assert big.tier.name == "前台复核"
    big = _act(app, big, "approve", people["desk"])
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


# ---------------------------------------------------------------- the pages


def test_proposing_on_the_page_keeps_what_was_typed_and_says_what_is_wrong(app, client, auth, people):
    auth.login("desk")
    page = client.get("/compensations/new")
    assert page.status_code == 200 and "¥2,000.00" in page.get_data(as_text=True)
    refused = client.post("/compensations/new", data={
        "submission_key": "p1", "case": "地板被泡", "responsible_party": "海尔专柜", "amount": "12.345",
        "name": "李先生", "phone": ""})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "at most 2 decimals" in text and "phone number, or the complaint number" in text and "地板被泡" in text
    assert not Compensation.select().exists()
    done = client.post("/compensations/new", data={
        "submission_key": "p2", "case": "地板被泡", "responsible_party": "海尔专柜", "amount": "2,500",
        "name": "李先生", "phone": "13800138000"})
    assert done.status_code == 303
    compensation = Compensation.get()
    assert done.headers["Location"].endswith(f"/compensations/{compensation.id}")
    assert compensation.proposed_amount == Decimal("2500.00") and compensation.customer.phone == "13800138000"
    again = client.post("/compensations/new", data={
        "submission_key": "p2", "case": "地板被泡", "responsible_party": "海尔专柜", "amount": "2,500",
        "name": "李先生", "phone": "13800138000"})
    assert again.status_code == 303 and Compensation.select().count() == 1  # a double tap makes one


def test_the_page_offers_each_person_their_step(app, client, auth, people):
    compensation = _propose(app, people["manager"], "2500")
    auth.login("manager")
    page = client.get(f"/compensations/{compensation.id}").get_data(as_text=True)
    assert 'id="decide-form"' not in page and "孙经理" in page  # the other manager is asked
    refused = client.post(f"/compensations/{compensation.id}/act",
                          data={"action": "approve", "version": compensation.version}, htmx=True)
    assert refused.status_code == 422
    assert "Nobody approves a compensation they proposed" in refused.get_data(as_text=True)
    auth.logout()
    auth.login("manager2")
    assert 'id="decide-form"' in client.get(f"/compensations/{compensation.id}").get_data(as_text=True)
    done = client.post(f"/compensations/{compensation.id}/act",
                       data={"action": "approve", "version": compensation.version, "decide-note": "同意先行赔付"},
                       htmx=True)
    assert done.status_code == 204 and done.headers["HX-Redirect"].endswith(f"/compensations/{compensation.id}")
    assert _fresh(compensation).tier.role == "leadership"
    auth.logout()
    auth.login("leader")
    assert "Waiting for my approval" in client.get("/compensations").get_data(as_text=True)
    assert compensation.number in client.get("/compensations").get_data(as_text=True).split('id="inbox-rows"')[1]


def test_a_payment_over_the_approved_amount_on_the_page(app, client, auth, people):
    compensation = _act(app, _propose(app, people["specialist"], "1800"), "approve", people["manager"])
    auth.login("desk")
    typed = {"action": "pay", "version": _fresh(compensation).version, "pay-day": "2026-03-02", "pay-amount": "",
             "pay-method": "transfer"}
    empty = client.post(f"/compensations/{compensation.id}/act", data=typed, htmx=True)
    assert empty.status_code == 422 and "Enter the amount paid" in empty.get_data(as_text=True)
    over = client.post(f"/compensations/{compensation.id}/act", data={**typed, "pay-amount": "1900"}, htmx=True)
    assert over.status_code == 204
    assert _fresh(compensation).state == "proposed"
    page = client.get(f"/compensations/{compensation.id}").get_data(as_text=True)
    assert "more than the approved ¥1,800.00" in page and "1,900.00" in page


def test_the_approval_form_prints_every_decision_and_time(app, client, auth, people, frozen):
    frozen.move_to(NOW - dt.timedelta(days=5))
    compensation = _propose(app, people["specialist"], "2600")
    compensation = _act(app, compensation, "approve", people["manager"], note="情况属实")
    frozen.move_to(NOW - dt.timedelta(days=4, hours=-2))
    compensation = _act(app, compensation, "approve", people["leader"], note="同意")
    frozen.move_to(NOW)
    compensation = _pay(app, compensation, people["desk"], "2600", day=TODAY - dt.timedelta(days=3))
    _recover(app, compensation, people["specialist"], "1000")
    auth.login("spec")
    pdf = client.get(f"/compensations/{compensation.id}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = pdf_text(pdf.data)
    assert "先行赔偿审批表" in text and compensation.number in text and "李先生" in text and "海尔专柜" in text
    # Each approver with their decision and the local time of it (Shanghai, UTC+8).
    assert "杨经理" in text and "赵领导" in text and "情况属实" in text
    assert "2026-02-25 16:00" in text and "2026-02-26 18:00" in text
    assert "2,600.00" in text and "1,600.00" in text and "未收回余额" in text
    assert_embedded_cjk_font(pdf.data)


def test_open_recoveries_page_and_export(app, client, auth, people, frozen):
    frozen.move_to(NOW - dt.timedelta(days=60))
    older = _act(app, _propose(app, people["specialist"], "700", responsible_party="美的专柜"), "approve",
                 people["manager"])
    newer = _act(app, _propose(app, people["specialist"], "900", responsible_party="格力专柜"), "approve",
                 people["manager"])
    frozen.move_to(NOW)
    _pay(app, newer, people["desk"], "900", day=TODAY - dt.timedelta(days=5))
    _pay(app, older, people["desk"], "700", day=TODAY - dt.timedelta(days=45))
    auth.login("spec")
    page = client.get("/compensations/recoveries").get_data(as_text=True)
    table = page.split('id="recovery-list"')[1]
    assert table.index("美的专柜") < table.index("格力专柜")
    assert '<td class="right age">45</td>' in table and '<td class="right age">5</td>' in table
    export = client.get("/compensations/export.csv?state=all")
    assert export.status_code == 200 and "美的专柜" in export.get_data(as_text=True)
    assert client.get("/compensations/export.xlsx").status_code == 200


def test_who_reaches_the_pages(app, client, auth, people, admin):
    assert client.get("/compensations").status_code == 403  # the administrator runs the system
    tiers = client.get("/compensations/tiers")
    assert tiers.status_code == 200 and "Service manager" in tiers.get_data(as_text=True)
    leadership = next(t for t in compensations.tiers() if t.role == "leadership")
    saved = client.post("/compensations/tiers", data={
        "tier_id": leadership.id, "label": "总经理", "role": "leadership", "position": "20", "min_amount": "5000",
        "threshold_setting": "", "active": "y"})
    assert saved.status_code == 303
    assert CompensationTier.get_by_id(leadership.id).threshold() == Decimal("5000.00")
    auth.logout()
    auth.login("log")
    assert client.get("/compensations").status_code == 403
    auth.logout()
    auth.login("leader")
    page = client.get("/compensations").get_data(as_text=True)
    assert 'id="propose-link"' not in page
    assert client.get("/compensations/new").status_code == 403


def test_one_person_approves_one_tier_even_holding_both_roles(app, people, make_user):
    both = make_user("both", "service_manager", "leadership", display_name="钱兼任")
    compensation = _propose(app, people["specialist"], amount="2600")
    compensation = _act(app, compensation, "approve", both)
    assert compensation.state == "proposed" and compensation.tier.role == "leadership"
    with pytest.raises(CompensationError) as refused:
        _act(app, compensation, "approve", both)
    assert "someone else approves this one" in str(refused.value)
    with app.test_request_context():
        assert both.id not in {u.id for u in compensations.approvers(Compensation.get_by_id(compensation.id))}
    assert _act(app, compensation, "approve", people["leader"]).state == "approved"


def test_a_tier_is_only_given_a_role_that_can_open_compensations(app, people):
    with app.test_request_context(), pytest.raises(CompensationError) as refused:
        compensations.save_tier(None, label="后勤审核", role="logistics", position=5)
    assert refused.value.field == "role"
