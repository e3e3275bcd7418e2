"""The service-capability plan: every metric's formula against a hand-computed month, the
achievement table (target, actual, gap, trend, measures), the tracking sheet's measures, the
year-end evaluation and its adoption as next year's plan, and the printed forms."""
import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from models.audit import AuditEntry
from models.base import DomainError
from models.callbacks import Callback, Sale
from models.complaints import Complaint, ComplaintEvent, Customer
from models.quality import plan as plans
from models.quality.plan import METRICS, Measure, Plan
from models.reports import Period
from models.users import Department
from models.visitors import Visit

NOW = dt.datetime(2026, 11, 20, 4, 0)  # 12:00 in Shanghai
NOV = Period("month", 2026, 11)
OCT = Period("month", 2026, 10)
H = dt.timedelta(hours=1)


@pytest.fixture
def cast(make_user):
    return {"manager": make_user("manager", "service_manager", display_name="经理"),
            "head": make_user("head", "dept_head", department="Repairs", display_name="维修主管"),
            "fitter": make_user("fitter", "specialist", department="Repairs", display_name="维修工"),
            "lead": make_user("lead", "leadership", display_name="领导"),
            "desk": make_user("desk", "front_desk", display_name="前台")}


def _complaint(number, created, department, *, state="received", severity="general", handled_minutes=None,
               voided=False):
    customer = Customer.get_or_create(phone="13800138000", defaults={"name": "张三"})[0]
    return Complaint.create(number=number, customer=customer, channel="phone", category="product quality",
                            content="漏水", department=department, state=state, severity=severity,
                            created_at=created, first_handled_at=created + H if handled_minutes else None,
                            handling_minutes=handled_minutes, voided_at=created if voided else None)


def _event(complaint, at, action, from_state, to_state, actor):
    ComplaintEvent.create(complaint=complaint, at=at, actor=actor, action=action, from_state=from_state,
                          to_state=to_state)


def _callback(number, due, outcome, complaint=None, voided=False):
    customer = Customer.get_or_create(phone="13800138000", defaults={"name": "张三"})[0]
    return Callback.create(number=number, customer=customer, reason="complaint", complaint=complaint, due_at=due,
                           next_at=due, deadline_at=due + 72 * H, outcome=outcome, state="done" if outcome else "due",
                           voided_at=due if voided else None)


@pytest.fixture
def month(app, cast):
    """November 2026, by hand:
    complaints (not voided): c1 Repairs closed, handled in 600 min, first step +2 h, closed +48 h, satisfied;
    c2 Repairs handled in 1800 min, first step +4 h, unsatisfied; c3 Sales major, untouched; c4 voided.
    October: c5 Repairs closed, unsatisfied.
    callbacks due in November: satisfied (c1), satisfied, unsatisfied (c2), not yet made, voided satisfied.
    sales in November: 4.   visits: waited 6 min (host in Repairs), 12 min, one not yet met."""
    with app.app_context():
        repairs, sales = Department.get(name="Repairs"), Department.get_or_create(name="Sales")[0]
        actor = cast["manager"]
        c1 = _complaint("TS-1", dt.datetime(2026, 11, 10, 2), repairs, state="closed", handled_minutes=600)
        _event(c1, c1.created_at + 2 * H, "acknowledge", "received", "acknowledged", actor)
        _event(c1, c1.created_at + 40 * H, "satisfied", "customer_informed", "callback", actor)
        _event(c1, c1.created_at + 48 * H, "close", "callback", "closed", actor)
        c2 = _complaint("TS-2", dt.datetime(2026, 11, 12, 2), repairs, state="handled", handled_minutes=1800)
        _event(c2, c2.created_at + 4 * H, "acknowledge", "received", "acknowledged", actor)
        _event(c2, c2.created_at + 50 * H, "unsatisfied", "customer_informed", "reopened", actor)
        _complaint("TS-3", dt.datetime(2026, 11, 15, 2), sales, severity="major")
        _complaint("TS-4", dt.datetime(2026, 11, 16, 2), repairs, state="closed", handled_minutes=10, voided=True)
        c5 = _complaint("TS-5", dt.datetime(2026, 10, 5, 2), repairs, state="closed", handled_minutes=100)
        _event(c5, c5.created_at + H, "unsatisfied", "customer_informed", "reopened", actor)
        due = dt.datetime(2026, 11, 11, 2)
        _callback("HF-1", due, "satisfied", c1)
        _callback("HF-2", due, "satisfied")
        _callback("HF-3", due, "unsatisfied", c2)
        _callback("HF-4", due, "")
        _callback("HF-5", due, "satisfied", voided=True)
        for day in (1, 2, 3, 30):
            Sale.create(customer=c1.customer, product="冰箱", sale_date=dt.date(2026, 11, day))
        Sale.create(customer=c1.customer, product="冰箱", sale_date=dt.date(2026, 12, 1))
        arrived = dt.datetime(2026, 11, 9, 2)
        for n, (host, waited) in enumerate([(cast["fitter"], 6), (cast["desk"], 12), (cast["desk"], None)]):
            Visit.create(number=f"FK-{n}", visitor_name="李明", phone="13900139000", purpose="meeting", host=host,
                         arrived_at=arrived, with_host_at=arrived + dt.timedelta(minutes=waited) if waited else None,
                         state="on_site" if waited else "waiting")
        return {"repairs": repairs.id, "sales": sales.id}


EXPECTED_ALL = {"satisfaction": Decimal("50.0"), "complaint_rate": Decimal("75.0"), "resolution_rate": Decimal("33.3"),
                "response_hours": Decimal("3.0"), "completion_hours": Decimal("48.0"),
                "waiting_minutes": Decimal("9.0"), "handled_rate": Decimal("66.7"), "handled_within": Decimal("50.0"),
                "callback_pass": Decimal("66.7"), "major_complaints": Decimal(1), "repair_quality": None}
EXPECTED_REPAIRS = {"satisfaction": Decimal("50.0"), "complaint_rate": Decimal("50.0"),
                    "resolution_rate": Decimal("50.0"), "response_hours": Decimal("3.0"),
                    "completion_hours": Decimal("48.0"), "waiting_minutes": Decimal("6.0"),
                    "handled_rate": Decimal("100.0"), "handled_within": Decimal("50.0"),
                    "callback_pass": Decimal("50.0"), "major_complaints": Decimal(0), "repair_quality": None}


def test_every_metric_matches_the_hand_computed_month(app, month, monkeypatch):
    monkeypatch.setattr(plans, "repair_pass_rate", lambda start, end, department=None: None)
    with app.app_context():
        assert {k: plans.actual(k, NOV) for k in METRICS} == EXPECTED_ALL
        assert {k: plans.actual(k, NOV, month["repairs"]) for k in METRICS} == EXPECTED_REPAIRS


def test_a_quarter_counts_its_three_months(app, month):
    with app.app_context():
        q4 = Period("quarter", 2026, 4)
        assert plans.actual("resolution_rate", q4) == Decimal("50.0")   # c1 and c5 of four
        assert plans.actual("satisfaction", q4, month["repairs"]) == Decimal("33.3")   # c1 of c1, c2, c5


def test_repair_quality_comes_from_the_repairs_pass_rate(app, month, monkeypatch):
    seen = []
    monkeypatch.setattr(plans, "repair_pass_rate", lambda start, end, department=None: seen.append(
        (start, end, department)) or (49, 50))
    with app.app_context():
        assert plans.actual("repair_quality", NOV, month["repairs"]) == Decimal("98.0")
    assert seen == [(dt.date(2026, 11, 1), dt.date(2026, 12, 1), month["repairs"])]
    monkeypatch.setattr(plans, "repair_pass_rate", lambda start, end, department=None: (0, 0))
    with app.app_context():
        assert plans.actual("repair_quality", NOV) is None   # nothing confirmed: no figure, not 0 %


def test_nothing_to_count_is_no_data_not_zero(app, cast):
    with app.app_context():
        values = {k: plans.actual(k, NOV) for k in METRICS}
    assert values.pop("major_complaints") == 0
    assert set(values.values()) == {None}


def _plan(cast, department_id=None, **targets):
    return plans.create(cast["manager"], year=2026, department_id=department_id,
                        targets=targets or {k: m.default for k, m in METRICS.items()})


@time_machine.travel(NOW, tick=False)
def test_the_achievement_table_holds_target_actual_gap_trend_and_measures(app, month, cast):
    with app.app_context():
        plan = _plan(cast, month["repairs"])
        plans.save_note(cast["manager"], plan.id, "satisfaction", NOV.key, "回访不满意的顾客逐一上门")
        rows = {r["key"]: r for r in plans.achievement(plan, NOV)}
    s = rows["satisfaction"]
    assert (s["target"], s["actual"], s["gap"], s["met"], s["behind"]) == (Decimal(100), Decimal("50.0"),
                                                                           Decimal("-50.0"), False, True)
    assert s["previous"] == Decimal("0.0") and s["trend"] == "better"   # October: c5 unsatisfied
    assert s["note"].note == "回访不满意的顾客逐一上门"
    r = rows["response_hours"]   # lower is better: 3 h against 24 h is met
    assert (r["met"], r["gap"]) == (True, Decimal("-21.0"))
    assert rows["major_complaints"]["met"] is True
    assert rows["repair_quality"]["met"] is None or rows["repair_quality"]["actual"] is not None


def test_targets_are_typed_and_checked_and_each_change_is_audited(app, cast):
    with app.app_context():
        with pytest.raises(DomainError) as refused:
            plans.create(cast["manager"], year=2026, targets={"satisfaction": "120"})
        assert refused.value.field == "satisfaction"
        with pytest.raises(DomainError):
            plans.create(cast["head"], year=2026, targets={})   # a head reads, the manager plans
        plan = _plan(cast)
        with pytest.raises(DomainError) as duplicate:
            _plan(cast)
        assert duplicate.value.field == "year"
        entries = AuditEntry.select().count()
        updated = plans.update(cast["manager"], plan.id, plan.version, targets={"satisfaction": "95", "callback_pass": "98"})
        assert updated.targets() == {"satisfaction": Decimal("95.0"), "callback_pass": Decimal("98.0")}
        assert AuditEntry.select().count() > entries
        with pytest.raises(DomainError):   # the version seen is stale now
            plans.update(cast["manager"], plan.id, plan.version, targets={})


def test_a_department_plan_and_the_whole_department_plan_live_side_by_side(app, month, cast):
    with app.app_context():
        whole, repairs = _plan(cast), _plan(cast, month["repairs"])
        assert plans.plan_for(2026) == whole and plans.plan_for(2026, month["repairs"]) == repairs
        assert [p.id for p in plans.plans(2026)] == [whole.id, repairs.id]


def test_measures_of_the_tracking_sheet_move_through_their_states(app, cast):
    with app.app_context():
        plan = _plan(cast)
        with pytest.raises(DomainError) as refused:
            plans.add_measure(cast["manager"], plan.id, title="", owner_id=cast["head"].id, due_on=dt.date(2026, 12, 1))
        assert refused.value.field == "title"
        measure = plans.add_measure(cast["manager"], plan.id, title="前台增设取号机", owner_id=cast["head"].id,
                                    due_on=dt.date(2026, 12, 1), metric="waiting_minutes")
        with pytest.raises(DomainError):   # neither owner nor manager
            plans.apply_measure(measure.id, "done", cast["desk"], measure.version, note="完成")
        with pytest.raises(DomainError) as no_note:
            plans.apply_measure(measure.id, "done", cast["head"], measure.version)
        assert no_note.value.field == "note"
        done = plans.apply_measure(measure.id, "done", cast["head"], measure.version, note="已安装")
        assert (done.state, done.result) == ("done", "已安装")
        with pytest.raises(DomainError):   # reopening is the manager's
            plans.apply_measure(measure.id, "reopen", cast["head"], done.version)
        assert plans.apply_measure(measure.id, "reopen", cast["manager"], done.version).state == "open"
        assert Measure.get_by_id(measure.id).done_at is None


@time_machine.travel(NOW, tick=False)
def test_the_evaluation_proposes_the_better_of_target_and_actual_and_is_adopted_once(app, month, cast):
    with app.test_request_context():
        plan = _plan(cast, month["repairs"])
        rows = {r["key"]: r for r in plans.evaluation(plan)}
        assert rows["response_hours"]["proposal"] == Decimal("3.0")     # beat 24 h: keep the better
        assert rows["satisfaction"]["proposal"] == Decimal(100)        # behind: keep the target
        assert rows["satisfaction"]["monthly"][9:] == [Decimal("0.0"), Decimal("50.0"), None]   # Oct, Nov, Dec
        assert len(rows["satisfaction"]["chart"]["bars"]) == 12
        following = plans.adopt_proposal(cast["manager"], plan.id)
        assert (following.year, following.department_id, following.adopted_from_id) == (2027, month["repairs"], plan.id)
        assert following.targets()["response_hours"] == Decimal("3.0")
        with pytest.raises(DomainError):
            plans.adopt_proposal(cast["manager"], plan.id)
        assert Plan.select().count() == 2


@time_machine.travel(NOW, tick=False)
def test_the_pages_and_prints_show_the_plan_in_chinese(app, client, auth, month, cast):
    from tests.pdf import assert_embedded_cjk_font, pdf_text
    with app.app_context():
        plan = _plan(cast)
    auth.login("manager")
    headers = {"Accept-Language": "zh-CN"}
    page = client.get(f"/quality/plan/{plan.id}/achievement?period=2026-11", headers=headers)
    assert page.status_code == 200 and "客户满意度" in page.get_data(as_text=True)
    assert client.get(f"/quality/plan/{plan.id}/achievement?period=2026-Q4").status_code == 200
    assert client.get(f"/quality/plan/{plan.id}/achievement?period=2025-11").status_code == 422
    assert client.get(f"/quality/plan/{plan.id}/tracking").status_code == 200
    assert client.get(f"/quality/plan/{plan.id}/evaluation").status_code == 200
    assert client.get("/quality/plan").status_code == 200
    for url, title in ((f"/quality/plan/{plan.id}/achievement.pdf?period=2026-11", "达成表"),
                       (f"/quality/plan/{plan.id}/evaluation.pdf", "年度服务能力执行效果")):
        pdf = client.get(url, headers=headers)
        assert pdf.status_code == 200, url
        assert_embedded_cjk_font(pdf.data)
        text = pdf_text(pdf.data)
        assert title in text and "50.0" in text
    # a typed target out of range comes back beside its field, everything kept
    response = client.post(f"/quality/plan/{plan.id}", data={"version": plan.version, "targets-satisfaction": "120",
                                                              "targets-callback_pass": "97"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert 'value="97"' in body or 'value="97.0"' in body
    # a measures note where behind
    response = client.post(f"/quality/plan/{plan.id}/achievement?period=2026-11",
                           data={"metric": "satisfaction", "note": "逐一回访"})
    assert response.status_code == 303
    assert "逐一回访" in client.get(f"/quality/plan/{plan.id}/achievement?period=2026-11").get_data(as_text=True)


def test_leadership_reads_the_plan_but_does_not_change_it(app, client, auth, cast):
    with app.app_context():
        plan = _plan(cast)
    auth.login("lead")
    assert client.get(f"/quality/plan/{plan.id}").status_code == 200
    assert client.post(f"/quality/plan/{plan.id}", data={"version": 1}).status_code == 403
    assert client.get("/quality/plan/new").status_code == 403
    auth.logout()
    auth.login("desk")
    assert client.get("/quality/plan").status_code == 403


@time_machine.travel(NOW, tick=False)
def test_the_board_shows_this_month_against_the_whole_department_plan(app, client, month, cast, monkeypatch):
    from models import board
    monkeypatch.setattr(plans, "repair_pass_rate", lambda start, end, department=None: None)
    with app.test_request_context():
        assert plans.board_panel() is None   # no plan, no panel
        _plan(cast)
        panel = plans.board_panel()
        row, token = board.create_token(cast["manager"], "大堂")
    rows = {r["key"]: r for r in panel["rows"]}
    assert rows["satisfaction"] == {"key": "satisfaction", "zh": "客户满意度", "en": "Customer satisfaction", "unit": "%",
                                    "value": "50.0", "target": "100.0", "met": False}
    assert (panel["met"], panel["behind"]) == (2, 5)   # response 3 h and waiting 9 min met; repairs no data
    page = client.get(f"/board?token={token}").get_data(as_text=True)
    assert 'id="board-plan"' in page and "2/8" in page
