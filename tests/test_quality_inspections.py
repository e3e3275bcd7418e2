"""Quality part 1: the fines formula against seed 002's own worked examples, repeats and the
third-time flag, the bonus fund, refusals, who sees what, the sweeps, and the prints."""
import contextlib
import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from models import settings
from models.notifications import Notification
from models.quality import fines, inspections, rectifications
from models.quality.checklists import ChecklistItem, save_item
from models.quality.fines import BonusFundEntry, Fine, StaffProposal
from models.quality.inspections import FloorWalkReminder, Inspection, QualityError
from models.quality.rectifications import Rectification
from models.users import Department

NOW = dt.datetime(2026, 11, 10, 2, 0)  # 10:00 in Shanghai
TODAY = dt.date(2026, 11, 10)


@pytest.fixture(autouse=True)
def frozen(app, request):
    context = contextlib.nullcontext() if "client" in request.fixturenames else app.test_request_context()
    with time_machine.travel(NOW, tick=False), context:
        yield


@pytest.fixture
def people(make_user):
    return {"manager": make_user("manager", "service_manager", display_name="杨磊", department="客户服务部"),
            "desk": make_user("desk", "front_desk", display_name="王芳", department="前台"),
            "desk2": make_user("desk2", "front_desk", display_name="李娜", department="前台"),
            "head": make_user("head", "dept_head", display_name="陈静", department="前台"),
            "repairer": make_user("repairer", "specialist", display_name="黄工", department="工程维修部"),
            "leader": make_user("leader", "leadership", display_name="刘总")}


@pytest.fixture
def item(people):
    front = Department.get(name="前台")
    return save_item(None, title="迎宾问候声", points="2", department_id=front.id, post="前台接待")


def _inspection(people, kind="self", day=TODAY, who="manager", department="前台"):
    dept = Department.get(name=department).id if department else None
    return inspections.create(people[who], kind=kind, department_id=dept, inspected_on=day)


def _complete(inspection, who):
    return inspections.apply(inspection.id, "complete", who, Inspection.get_by_id(inspection.id).version)


def _check(people, item, kind, day, lost="0.5", person="desk"):
    inspection = _inspection(people, kind, day)
    inspections.add_finding(people["manager"], inspection.id, item_id=item.id, person_id=people[person].id,
                            points_lost=lost, seen="未做到迎声")
    return _complete(inspection, people["manager"])


def _fine_of(inspection):
    return Fine.select().join(fines.Finding).where(fines.Finding.inspection == inspection.id).get()


# The formula, seed 002's worked examples

def test_half_a_point_lost_at_the_front_desk_in_a_self_check_is_fined_50_yuan(people, item):
    inspection = _check(people, item, "self", TODAY)
    fine = _fine_of(inspection)
    assert fine.amount == Decimal("50.00")
    assert (fine.points, fine.multiplier, fine.person_id) == (Decimal("1"), Decimal("1"), people["desk"].id)
    assert inspection.state == "completed"
    assert Notification.select().where(Notification.user == people["desk"].id).count() == 1


def test_the_same_fault_in_the_next_self_check_costs_100_yuan(people, item):
    _check(people, item, "self", TODAY - dt.timedelta(days=30))
    second = _check(people, item, "self", TODAY)
    fine = _fine_of(second)
    assert (fine.repeat_count, fine.amount) == (2, Decimal("100.00"))


def test_regional_check_fines_twice_and_a_repeat_three_times(people, item):
    first = _check(people, item, "regional", TODAY - dt.timedelta(days=30))
    assert _fine_of(first).amount == Decimal("100.00")  # 0.5 -> 1 point x 50 x 2
    second = _check(people, item, "regional", TODAY)
    assert (_fine_of(second).repeat_count, _fine_of(second).amount) == (2, Decimal("150.00"))  # 1 x 50 x 3


def test_the_third_time_flags_the_person_for_the_manager_to_decide(people, item):
    for days in (60, 30):
        _check(people, item, "regional", TODAY - dt.timedelta(days=days))
    assert not StaffProposal.select().exists()
    third = _check(people, item, "regional", TODAY)
    proposal = StaffProposal.get()
    assert (proposal.person_id, proposal.state, _fine_of(third).repeat_count) == (people["desk"].id, "open", 3)
    assert Notification.select().where(Notification.user == people["manager"].id,
                                       Notification.endpoint == "quality.proposals").count() == 1
    with pytest.raises(QualityError):
        fines.decide(people["head"], proposal.id, proposal.version, decision="reassign", note="调岗")
    with pytest.raises(QualityError) as refused:
        fines.decide(people["manager"], proposal.id, proposal.version, decision="reassign", note="")
    assert refused.value.field == "note"
    decided = fines.decide(people["manager"], proposal.id, proposal.version, decision="reassign", note="调至后勤")
    assert (decided.state, decided.decision) == ("decided", "reassign")
    assert people["desk"].is_active  # nothing automatic


def test_a_repeat_is_the_same_person_and_item_in_the_immediately_previous_check_of_that_kind(people, item):
    other = save_item(None, title="仪容仪表", points="3", department_id=Department.get(name="前台").id)
    _check(people, item, "self", TODAY - dt.timedelta(days=60))
    clean = _inspection(people, "self", TODAY - dt.timedelta(days=30))
    inspections.add_finding(people["manager"], clean.id, item_id=other.id, person_id=people["desk2"].id,
                            points_lost="1.5", seen="未佩戴工牌")
    _complete(clean, people["manager"])
    _check(people, item, "regional", TODAY - dt.timedelta(days=20))  # another kind: does not count
    again = _check(people, item, "self", TODAY)
    assert (_fine_of(again).repeat_count, _fine_of(again).amount) == (1, Decimal("50.00"))
    assert _fine_of(clean).amount == Decimal("75.00")  # 1.5 points: counted as they are


def test_every_number_of_the_formula_is_a_setting(people, item):
    settings.save(None, {fines.POINT_VALUE: Decimal("60"), fines.MIN_POINTS: Decimal("0.5"),
                         fines.MULTIPLIERS["self"][0]: Decimal("1.5")})
    assert _fine_of(_check(people, item, "self", TODAY)).amount == Decimal("45.00")


def test_special_checks_and_floor_walks_fine_like_a_self_check_but_earn_no_reward(people, item):
    walk = _check(people, item, "floor_walk", TODAY - dt.timedelta(days=1))
    assert _fine_of(walk).amount == Decimal("50.00")
    again = _check(people, item, "floor_walk", TODAY)
    assert _fine_of(again).amount == Decimal("100.00")
    empty = _inspection(people, "special", TODAY)
    _complete(empty, people["manager"])
    assert not BonusFundEntry.select().exists()


# Bonus fund

def test_a_faultless_department_earns_its_reward_and_payouts_stay_within_the_balance(people, item):
    _complete(_inspection(people, "self"), people["manager"])
    _complete(_inspection(people, "regional"), people["manager"])
    front = Department.get(name="前台")
    assert fines.balance(front.id) == Decimal("350.00")
    with pytest.raises(QualityError) as refused:
        fines.payout(people["manager"], department_id=front.id, person_id=people["desk"].id, amount="400",
                     reason="季度奖励")
    assert refused.value.field == "amount"
    with pytest.raises(QualityError) as refused:
        fines.payout(people["manager"], department_id=front.id, person_id=people["repairer"].id, amount="100",
                     reason="季度奖励")
    assert refused.value.field == "person"
    fines.payout(people["manager"], department_id=front.id, person_id=people["desk"].id, amount="300",
                 reason="季度奖励：迎宾规范")
    assert fines.balance(front.id) == Decimal("50.00")
    ledger = fines.ledger(dt.date(2026, 11, 1), dt.date(2026, 12, 1), front.id)
    assert [e.amount for e in ledger["entries"]] == [Decimal("100.00"), Decimal("250.00"), Decimal("-300.00")]


def test_voiding_a_completed_inspection_takes_its_fines_fund_and_rectifications_with_it(people, item):
    done = _check(people, item, "self", TODAY)
    clean = _complete(_inspection(people, "regional"), people["manager"])
    with pytest.raises(QualityError):
        inspections.apply(done.id, "void", people["manager"], done.version, note="")
    inspections.apply(done.id, "void", people["manager"], done.version, note="检查项目录入错误")
    inspections.apply(clean.id, "void", people["manager"], clean.version, note="重复录入")
    assert not fines.fines_between(TODAY, TODAY + dt.timedelta(days=1)).exists()
    assert fines.balance(Department.get(name="前台").id) == 0
    assert Rectification.get().state == "voided"


def test_a_fine_is_corrected_by_a_new_fine_never_edited(people, item):
    fine = _fine_of(_check(people, item, "self", TODAY))
    new = fines.correct(people["manager"], fine.id, fine.version, amount="30", reason="复核后减为30元")
    old = Fine.get_by_id(fine.id)
    assert (old.state, old.amount, new.corrects_id, new.amount) == ("corrected", Decimal("50.00"), fine.id,
                                                                     Decimal("30.00"))
    assert [f.id for f in fines.fines_between(TODAY, TODAY + dt.timedelta(days=1))] == [new.id]
    with pytest.raises(QualityError):
        fines.correct(people["manager"], old.id, old.version, amount="20", reason="再改")


# Refusals beside the fields

def test_points_outside_the_item_and_a_person_outside_the_department_are_refused(people, item):
    inspection = _inspection(people)
    for lost in ("0", "-1", "2.5", "abc"):
        with pytest.raises(QualityError) as refused:
            inspections.add_finding(people["manager"], inspection.id, item_id=item.id, person_id=people["desk"].id,
                                    points_lost=lost, seen="x")
        assert refused.value.field == "points_lost", lost
    with pytest.raises(QualityError) as refused:
        inspections.add_finding(people["manager"], inspection.id, item_id=item.id, person_id=people["repairer"].id,
                                points_lost="1", seen="x")
    assert refused.value.field == "person"
    assert "工程维修部" not in str(refused.value) and "前台" in str(refused.value)
    with pytest.raises(QualityError) as refused:
        inspections.add_finding(people["manager"], inspection.id, item_id=item.id, person_id=people["desk"].id,
                                points_lost="2", seen=" ")
    assert refused.value.field == "seen"
    with pytest.raises(QualityError):
        _inspection(people, "regional", who="head")  # a head runs only their own self-check
    with pytest.raises(QualityError) as refused:
        _inspection(people, "self", day=TODAY + dt.timedelta(days=1))
    assert refused.value.field == "inspected_on"


# Who sees what

def test_heads_see_their_department_people_their_own_leadership_everything(people, item):
    _check(people, item, "self", TODAY)
    _check(people, item, "self", TODAY, person="desk2")
    repairs = save_item(None, title="维修及时", points="2", department_id=Department.get(name="工程维修部").id)
    other = _inspection(people, "self", department="工程维修部")
    inspections.add_finding(people["manager"], other.id, item_id=repairs.id, person_id=people["repairer"].id,
                            points_lost="1", seen="超时")
    _complete(other, people["manager"])
    count = lambda q: q.count()  # noqa: E731
    assert count(fines.visible_fines(people["leader"])) == 3
    assert count(fines.visible_fines(people["head"])) == 2
    assert count(fines.visible_fines(people["desk"])) == 1
    assert count(rectifications.visible_rectifications(people["desk2"])) == 1
    assert count(inspections.visible_inspections(people["head"])) == 2
    assert count(inspections.visible_inspections(people["repairer"])) == 1


# Rectifications and the sweeps

def test_a_finding_becomes_a_rectification_closed_by_its_owner_and_verified_by_the_inspector(people, item):
    _check(people, item, "self", TODAY)
    rect = Rectification.get()
    assert (rect.owner_id, rect.due_on, rect.state) == (people["desk"].id, TODAY + dt.timedelta(days=7), "open")
    with pytest.raises(QualityError):
        rectifications.apply(rect.id, "close", people["desk2"], rect.version, note="已整改")
    with pytest.raises(QualityError) as refused:
        rectifications.apply(rect.id, "close", people["desk"], rect.version, note="")
    assert refused.value.field == "note"
    done = rectifications.apply(rect.id, "close", people["desk"], rect.version, note="已培训迎宾用语")
    with pytest.raises(QualityError):
        rectifications.apply(rect.id, "verify", people["desk"], done.version)
    reopened = rectifications.apply(rect.id, "reopen", people["manager"], done.version, note="仍未做到")
    done = rectifications.apply(rect.id, "close", people["head"], reopened.version, note="复训并抽查")
    verified = rectifications.apply(rect.id, "verify", people["manager"], done.version)
    assert (verified.state, verified.verified_by_id, verified.what_was_done) == ("verified", people["manager"].id,
                                                                                "复训并抽查")


def test_overdue_rectifications_remind_the_owner_once_then_the_head_once(people, item):
    _check(people, item, "self", TODAY)

    def told(user):
        return Notification.select().where(Notification.user == people[user].id,
                                           Notification.endpoint == "quality.rectification").count()
    assert rectifications.remind_overdue(NOW + dt.timedelta(days=7)) == 0  # due today: not overdue
    assert rectifications.remind_overdue(NOW + dt.timedelta(days=8)) == 1
    assert rectifications.remind_overdue(NOW + dt.timedelta(days=8, hours=1)) == 0
    assert (told("desk"), told("head")) == (1, 0)
    assert rectifications.remind_overdue(NOW + dt.timedelta(days=10)) == 0
    assert rectifications.remind_overdue(NOW + dt.timedelta(days=11)) == 1
    assert rectifications.remind_overdue(NOW + dt.timedelta(days=12)) == 0
    assert (told("desk"), told("head")) == (1, 1)


def test_the_floor_walk_reminder_comes_once_after_the_hour_and_not_when_walked(people, item):
    assert inspections.remind_floor_walk(dt.datetime(2026, 11, 10, 2, 59)) == 0  # 10:59 local
    assert inspections.remind_floor_walk(dt.datetime(2026, 11, 10, 3, 0)) == 1
    assert inspections.remind_floor_walk(dt.datetime(2026, 11, 10, 5, 0)) == 0
    assert FloorWalkReminder.select().count() == 1
    with time_machine.travel(dt.datetime(2026, 11, 11, 1, 0), tick=False):
        _inspection(people, "floor_walk", day=dt.date(2026, 11, 11), department=None)
        assert inspections.remind_floor_walk(dt.datetime(2026, 11, 11, 4, 0)) == 0  # walked today
    assert Notification.select().where(Notification.user == people["manager"].id).count() == 1


def test_weekly_sheet_lists_open_and_closed_items_by_department(people, item):
    _check(people, item, "self", TODAY)
    _check(people, item, "self", TODAY, person="desk2")
    rect = Rectification.select().order_by(Rectification.id).first()
    rectifications.apply(rect.id, "close", people["desk"], rect.version, note="已整改")
    start, _end = rectifications.week_of(TODAY)
    sheet = rectifications.weekly_sheet(people["manager"], start)
    assert [(name, sorted(r.state for r in rows)) for name, rows in sheet] == [("前台", ["done", "open"])]
    assert rectifications.weekly_sheet(people["manager"], start - dt.timedelta(days=7)) == []


def test_checklist_items_have_positive_points(people):
    with pytest.raises(Exception) as refused:
        save_item(None, title="仪容仪表", points="0")
    assert refused.value.field == "points"
    assert ChecklistItem.select().count() == 0


# Pages

@pytest.fixture
def staffed(people, item, auth):
    return people


def _page_check(people, item):
    with time_machine.travel(NOW, tick=False):
        return _check(people, item, "self", TODAY)


def test_every_page_renders_for_the_manager_and_the_person_fined(app, client, staffed, item, auth):
    with app.test_request_context():
        inspection = _page_check(staffed, item)
        fine = _fine_of(inspection)
        rect = Rectification.get()
    auth.login("manager")
    for url in ("/quality", "/quality/inspections", "/quality/inspections?kind=self", f"/quality/inspections/{inspection.id}",
                "/quality/inspections/new?kind=floor_walk", "/quality/fines", f"/quality/fines/{fine.id}",
                "/quality/rectifications", "/quality/rectifications?state=all", f"/quality/rectifications/{rect.id}",
                "/quality/rectifications/weekly", "/quality/proposals", "/quality/checklist",
                f"/quality/checklist/{item.id}", "/quality/ledger.csv", "/quality/ledger.xlsx"):
        assert client.get(url).status_code == 200, url
    auth.logout()
    auth.login("desk")
    page = client.get("/quality").get_data(as_text=True)
    assert fine.number in page
    assert client.get(f"/quality/fines/{fine.id}").status_code == 200
    auth.logout()
    auth.login("desk2")
    assert client.get(f"/quality/fines/{fine.id}").status_code == 404


def test_a_finding_out_of_bounds_comes_back_beside_its_field_with_what_was_typed(app, client, staffed, item, auth):
    with app.test_request_context():
        inspection = _inspection(staffed)
    auth.login("manager")
    response = client.post(f"/quality/inspections/{inspection.id}/findings",
                           data={"item": item.id, "person": staffed["repairer"].id, "points_lost": "3",
                                 "seen": "未主动问候", "submission_key": "k1"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "at most the item" in page and "未主动问候" in page
    response = client.post(f"/quality/inspections/{inspection.id}/findings",
                           data={"item": item.id, "person": staffed["repairer"].id, "points_lost": "1",
                                 "seen": "未主动问候", "submission_key": "k2"})
    assert response.status_code == 422 and "is not of the inspected department" in response.get_data(as_text=True)
    response = client.post(f"/quality/inspections/{inspection.id}/findings",
                           data={"item": item.id, "person": staffed["desk"].id, "points_lost": "0.5",
                                 "seen": "未主动问候", "submission_key": "k3"})
    assert response.status_code == 303
    response = client.post(f"/quality/inspections/{inspection.id}",
                           data={"action": "complete", "complete-version": Inspection.get_by_id(inspection.id).version})
    assert response.status_code == 303
    assert Fine.get().amount == Decimal("50.00")


def test_the_fine_notice_and_the_ledger_print_in_chinese(app, client, staffed, item, auth):
    from tests.pdf import assert_embedded_cjk_font, pdf_text
    with app.test_request_context():
        fine = _fine_of(_page_check(staffed, item))
    auth.login("manager")
    notice = client.get(f"/quality/fines/{fine.id}/notice.pdf")
    assert notice.status_code == 200
    text = pdf_text(notice.data)
    assert "处罚通知单" in text and fine.number in text and "50.00" in text and "迎宾问候声" in text
    assert_embedded_cjk_font(notice.data)
    assert Fine.get_by_id(fine.id).printed_at is not None
    ledger = client.get(f"/quality/ledger.pdf?department_id={fine.department_id}&month=2026-11")
    text = pdf_text(ledger.data)
    assert "罚款及奖励基金台账" in text and "王芳" in text
    assert_embedded_cjk_font(ledger.data)
    weekly = client.get("/quality/rectifications/weekly.pdf?week=2026-11-10")
    text = pdf_text(weekly.data)
    assert "每周问题整改跟进表" in text and "迎宾问候声" in text and "前台" in text
    assert_embedded_cjk_font(weekly.data)


def test_the_minute_sweep_runs_both_reminders_once(people, item):
    from tasks.quality import quality_sweep
    _check(people, item, "self", TODAY)
    with time_machine.travel(NOW + dt.timedelta(days=8, hours=2), tick=False):  # overdue; 12:00 without a walk
        assert quality_sweep.call_local() == 2
        assert quality_sweep.call_local() == 0


def test_the_manager_keeps_the_checklist_pays_out_corrects_and_decides_on_the_pages(app, client, staffed, item, auth):
    front = Department.get(name="前台")
    with app.test_request_context():
        for days in (60, 30):
            _check(staffed, item, "regional", TODAY - dt.timedelta(days=days))
        fine = _fine_of(_check(staffed, item, "regional", TODAY))
        _complete(_inspection(staffed, "self"), staffed["manager"])  # ¥100 into the fund
    auth.login("manager")
    refused = client.post("/quality/checklist", data={"title": "服务用语", "points": "0", "department": front.id,
                                                      "submission_key": "c1"})
    assert refused.status_code == 422 and "more than 0" in refused.get_data(as_text=True)
    assert client.post("/quality/checklist", data={"title": "服务用语", "points": "2", "department": front.id,
                                                   "active": "y", "submission_key": "c2"}).status_code == 303
    assert ChecklistItem.select().where(ChecklistItem.title == "服务用语").count() == 1

    too_much = client.post("/quality/fund/payout", data={"department": front.id, "person": staffed["desk"].id,
                                                         "amount": "150", "reason": "季度奖励", "submission_key": "p1"})
    assert too_much.status_code == 422 and "cannot exceed" in too_much.get_data(as_text=True)
    assert client.post("/quality/fund/payout", data={"department": front.id, "person": staffed["desk"].id,
                                                     "amount": "100", "reason": "季度奖励",
                                                     "submission_key": "p2"}).status_code == 303
    assert fines.balance(front.id) == 0

    corrected = client.post(f"/quality/fines/{fine.id}", data={"version": fine.version, "amount": "100",
                                                               "reason": "复核：按二倍计"})
    assert corrected.status_code == 303
    assert Fine.get_by_id(fine.id).state == "corrected"
    assert Fine.get(Fine.corrects == fine.id).amount == Decimal("100.00")

    proposal = StaffProposal.get()
    missing = client.post(f"/quality/proposals/{proposal.id}", data={f"p{proposal.id}-version": proposal.version,
                                                                     f"p{proposal.id}-decision": "keep"})
    assert missing.status_code == 422
    assert client.post(f"/quality/proposals/{proposal.id}", data={
        f"p{proposal.id}-version": proposal.version, f"p{proposal.id}-decision": "keep",
        f"p{proposal.id}-note": "已面谈，留岗观察"}).status_code == 303
    assert StaffProposal.get_by_id(proposal.id).decision == "keep"


def test_a_head_starts_only_their_own_departments_self_check(app, client, staffed, item, auth):
    auth.login("head")
    page = client.get("/quality/inspections/new").get_data(as_text=True)
    assert "Regional monthly check" not in page and "工程维修部" not in page
    repairs = Department.get(name="工程维修部")
    refused = client.post("/quality/inspections/new", data={"kind": "self", "department": repairs.id,
                                                            "inspected_on": "2026-11-10", "submission_key": "h1"})
    assert refused.status_code == 422 and "may not start" in refused.get_data(as_text=True)
    front = Department.get(name="前台")
    assert client.post("/quality/inspections/new", data={"kind": "self", "department": front.id,
                                                         "inspected_on": "2026-11-10",
                                                         "submission_key": "h2"}).status_code == 303
    assert Inspection.get().inspector_id == staffed["head"].id


def test_proposals_page_by_50_and_a_refused_decision_on_a_later_page_comes_back(app, client, staffed, item, auth):
    with app.test_request_context():
        for days in (60, 30, 0):
            _check(staffed, item, "regional", TODAY - dt.timedelta(days=days))
        first = StaffProposal.get()
        StaffProposal.insert_many([{"person": first.person_id, "finding": first.finding_id}] * 50).execute()
        last = StaffProposal.select().order_by(StaffProposal.id.desc()).get()
    auth.login("manager")
    page = client.get("/quality/proposals").get_data(as_text=True)
    assert page.count('id="proposal-') == 50 and "?page=2" in page and f'id="proposal-{last.id}"' not in page
    more = client.get("/quality/proposals?page=2", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in more and more.count('id="proposal-') == 1 and f'id="proposal-{last.id}"' in more
    refused = client.post(f"/quality/proposals/{last.id}", data={f"p{last.id}-version": last.version,
                                                                 f"p{last.id}-decision": "keep"})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and f'id="proposal-{last.id}"' in text
