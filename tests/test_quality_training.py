"""Training: a course planned for people and departments, attendance tapped on the tablet,
scores bounded, the course held and closed, a person's record, the new staff without
induction and the sweep that tells the manager once, the monthly report and the sign-in sheet."""
import datetime as dt

import pytest
import time_machine

from models.base import DomainError
from models.notifications import Notification
from models.quality import training
from models.quality.training import Attendee, Course, InductionReminder
from models.reports import Period
from models.users import Department, User

NOW = dt.datetime(2026, 11, 20, 2, 0)   # 10:00 in Shanghai
H = dt.timedelta(hours=1)


@pytest.fixture
def cast(make_user):
    with time_machine.travel(NOW - dt.timedelta(days=400), tick=False):
        old = {"manager": make_user("manager", "service_manager", display_name="经理"),
               "head": make_user("head", "dept_head", department="Front desk", display_name="前台主管"),
               "a": make_user("a", "front_desk", department="Front desk", display_name="甲"),
               "b": make_user("b", "front_desk", department="Front desk", display_name="乙"),
               "lead": make_user("lead", "leadership", display_name="领导")}
    with time_machine.travel(NOW - dt.timedelta(days=40), tick=False):
        old["late"] = make_user("late", "front_desk", display_name="迟到新人")
    with time_machine.travel(NOW - dt.timedelta(days=5), tick=False):
        old["fresh"] = make_user("fresh", "specialist", display_name="新人")
    return old


def _course(cast, kind="periodic", starts_at=NOW - H, **kwargs):
    front = Department.get(name="Front desk")
    return training.create(cast["manager"], kind=kind, title="服务礼仪", starts_at=starts_at, trainer="王老师",
                           place="三楼会议室", department_ids=[front.id], person_ids=kwargs.pop("people", []), **kwargs)


@time_machine.travel(NOW, tick=False)
def test_a_course_invites_the_people_and_departments_named(app, cast):
    with app.test_request_context():
        course = _course(cast, people=[cast["fresh"].id])
        names = [a.person.display_name for a in training.attendees(course)]
        assert sorted(names) == sorted(["前台主管", "甲", "乙", "新人"])
        assert course.number.startswith("PX-") and course.departments == "Front desk"
        with pytest.raises(DomainError) as nobody:
            training.create(cast["manager"], kind="special", title="x", starts_at=NOW, trainer="t")
        assert nobody.value.field == "people"
        with pytest.raises(DomainError) as no_kind:
            training.create(cast["manager"], kind="fun", title="x", starts_at=NOW, trainer="t", person_ids=[1])
        assert no_kind.value.field == "kind"
        with pytest.raises(DomainError):   # a desk clerk does not plan training
            training.create(cast["a"], kind="special", title="x", starts_at=NOW, trainer="t", person_ids=[1])


@time_machine.travel(NOW, tick=False)
def test_attendance_is_tapped_scored_within_bounds_and_then_held(app, cast):
    with app.test_request_context():
        course = _course(cast)
        with pytest.raises(DomainError):   # nobody present yet
            training.apply(course.id, "hold", cast["manager"], course.version)
        assert training.toggle(cast["manager"], course.id, cast["a"].id).present is True
        assert training.toggle(cast["manager"], course.id, cast["b"].id).present is True
        assert training.toggle(cast["manager"], course.id, cast["b"].id).present is False   # tapped again: undone
        assert training.set_score(cast["manager"], course.id, cast["a"].id, 88).score == 88
        with pytest.raises(DomainError) as too_high:
            training.set_score(cast["manager"], course.id, cast["a"].id, 101)
        assert too_high.value.field == "score"
        with pytest.raises(DomainError):
            training.set_score(cast["manager"], course.id, cast["a"].id, -1)
        with pytest.raises(DomainError):   # absent people get no score
            training.set_score(cast["manager"], course.id, cast["b"].id, 50)
        with pytest.raises(DomainError):   # not on the list
            training.toggle(cast["manager"], course.id, cast["lead"].id)
        held = training.apply(course.id, "hold", cast["manager"], course.version)
        assert held.state == "held" and held.held_at == NOW
        closed = training.apply(course.id, "close", cast["manager"], held.version)
        with pytest.raises(DomainError):   # a closed course's attendance stands
            training.toggle(cast["manager"], course.id, cast["b"].id)
        assert closed.state == "closed"
        record = {a.course_id: a.present for a in training.record_of(cast["b"])}
        assert record == {course.id: False}


@time_machine.travel(NOW, tick=False)
def test_attendance_waits_for_the_day_and_voiding_needs_a_reason(app, cast):
    with app.test_request_context():
        course = _course(cast, starts_at=NOW + dt.timedelta(days=2))
        with pytest.raises(DomainError):
            training.toggle(cast["manager"], course.id, cast["a"].id)
        with pytest.raises(DomainError) as no_reason:
            training.apply(course.id, "void", cast["manager"], course.version)
        assert no_reason.value.field == "note"
        assert training.apply(course.id, "void", cast["manager"], course.version, note="讲师请假").state == "voided"
        assert training.record_of(cast["a"]) == []


@time_machine.travel(NOW, tick=False)
def test_new_staff_without_induction_are_listed_and_the_manager_told_once(app, cast):
    with app.test_request_context():
        listed = {u.username: overdue for u, _deadline, overdue in training.without_induction()}
        assert listed == {"late": True, "fresh": False}   # the others joined long ago
        assert training.remind_missing_inductions() == 1
        assert training.remind_missing_inductions() == 0   # marked: a rerun sends nothing
        notes = list(Notification.select().where(Notification.user == cast["manager"]))
        assert len(notes) == 1 and InductionReminder.select().count() == 1
        induction = _course(cast, kind="induction", people=[cast["fresh"].id])
        training.toggle(cast["manager"], induction.id, cast["fresh"].id)
        training.apply(induction.id, "hold", cast["manager"], induction.version)
        assert {u.username for u, _d, _o in training.without_induction()} == {"late"}


@time_machine.travel(NOW, tick=False)
def test_the_pages_tap_in_place_and_print_the_sign_in_sheet(app, client, auth, cast):
    from tests.pdf import assert_embedded_cjk_font, pdf_text
    with app.test_request_context():
        course = _course(cast)
    auth.login("manager")
    zh = {"Accept-Language": "zh-CN"}
    page = client.get(f"/quality/training/{course.id}", headers=zh).get_data(as_text=True)
    assert "点按每位出席人员" in page and "甲" in page
    row = client.post(f"/quality/training/{course.id}/tap/{cast['a'].id}", htmx=True, headers=zh)
    assert row.status_code == 200 and 'aria-pressed="true"' in row.get_data(as_text=True)
    bad = client.post(f"/quality/training/{course.id}/score/{cast['a'].id}", data={"score": "150"}, htmx=True, headers=zh)
    assert bad.status_code == 422 and "成绩应在 0 到 100 之间" in bad.get_data(as_text=True)
    with app.app_context():
        assert Attendee.get(Attendee.person == cast["a"].id).score is None
    pdf = client.get(f"/quality/training/{course.id}/signin.pdf", headers=zh)
    assert pdf.status_code == 200
    assert_embedded_cjk_font(pdf.data)
    text = pdf_text(pdf.data)
    assert "培训签到表" in text and "服务礼仪" in text and "乙" in text and "签名" in text
    report = client.get("/quality/training/report.pdf?month=2026-11", headers=zh)
    assert report.status_code == 200
    assert_embedded_cjk_font(report.data)
    assert "月度检查培训报告" in pdf_text(report.data) and "服务礼仪" in pdf_text(report.data)
    assert client.get("/quality/training/report?month=2026-11").status_code == 200
    assert client.get("/quality/training/new-staff").status_code == 200
    # an invalid course comes back with its errors and what was typed
    response = client.post("/quality/training/new", data={"kind": "special", "title": "投诉处理技巧", "trainer": ""})
    assert response.status_code == 422 and "投诉处理技巧" in response.get_data(as_text=True)


@time_machine.travel(NOW, tick=False)
def test_a_person_sees_their_own_record_only(app, client, auth, cast):
    with app.test_request_context():
        _course(cast)
    auth.login("a")
    assert client.get("/quality/training").status_code == 200   # their own record
    assert client.get(f"/quality/training/people/{cast['a'].id}").status_code == 200
    assert client.get(f"/quality/training/people/{cast['b'].id}").status_code == 403
    assert client.get("/quality/training/1").status_code == 403
    assert client.post(f"/quality/training/1/tap/{cast['a'].id}").status_code == 403


def test_the_monthly_report_sets_findings_beside_the_courses_addressing_them(app, cast, monkeypatch):
    period = Period("month", 2026, 11)
    monkeypatch.setattr(training, "findings_by_item", lambda p, d=None: [(7, "仪容仪表", 3, 1.5), (8, "接听电话", 1, 0.5)])
    monkeypatch.setattr(training, "checklist_items", lambda: [(7, "仪容仪表"), (8, "接听电话")])
    with time_machine.travel(NOW, tick=False), app.test_request_context():
        course = _course(cast, item_ids=[7])
        report = training.monthly_report(period)
    assert [(f[1], f[2], [c.id for c in f[4]]) for f in report["findings"]] == [("仪容仪表", 3, [course.id]),
                                                                               ("接听电话", 1, [])]
    assert report["uncovered"] == 1 and report["courses"][0][0].id == course.id


@time_machine.travel(NOW, tick=False)
def test_a_head_runs_the_courses_they_planned_and_not_another_heads(app, client, auth, cast, make_user):
    make_user("other", "dept_head", department="Sales", display_name="销售主管")
    with app.test_request_context():
        front = Department.get(name="Front desk")
        own = training.create(cast["head"], kind="special", title="前台接待规范", starts_at=NOW - H, trainer="前台主管",
                              department_ids=[front.id])
        assert training.toggle(cast["head"], own.id, cast["a"].id).present is True
        assert training.may_manage(cast["head"], own) and not training.may_manage(User.by_username("other"), own)
    auth.login("other")
    zh = {"Accept-Language": "zh-CN"}
    page = client.get(f"/quality/training/{own.id}", headers=zh).get_data(as_text=True)
    assert "甲" in page and "点按每位出席人员" not in page and "aria-pressed" not in page
    refused = client.post(f"/quality/training/{own.id}/tap/{cast['b'].id}", htmx=True, headers=zh)
    assert refused.status_code == 422 and "只有安排本次培训的主管或客服经理" in refused.get_data(as_text=True)
    with app.app_context():
        assert Attendee.get(Attendee.course == own.id, Attendee.person == cast["b"].id).present is False
        with pytest.raises(DomainError):
            training.set_score(User.by_username("other"), own.id, cast["a"].id, 90)
        with pytest.raises(DomainError):
            training.apply(own.id, "hold", User.by_username("other"), own.version)
        assert Course.get_by_id(own.id).state == "planned"
    auth.login("manager")
    assert client.post(f"/quality/training/{own.id}/tap/{cast['b'].id}", htmx=True, headers=zh).status_code == 200
