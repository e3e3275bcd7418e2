"""Home visits: planning from recent complaints and purchases, the workflow, the month's count
against the minimum, and the month-end reminder (once per month, also when rerun)."""
import contextlib
import datetime as dt

import pytest
import time_machine

from models import complaints, home_visits
from models.callbacks import Sale
from models.home_visits import HomeVisit, HomeVisitError, HomeVisitReminder
from models.notifications import Notification
from models.reports import Period

NOW = dt.datetime(2026, 11, 10, 2, 0)  # 10:00 in Shanghai


@pytest.fixture(autouse=True)
def frozen(app, request):
    """Model tests read their messages in a request's language; page tests make their own requests
    (an outer app context would keep one `g`, and with it one CSRF token, across them)."""
    context = contextlib.nullcontext() if "client" in request.fixturenames else app.test_request_context()
    with time_machine.travel(NOW, tick=False), context:
        yield


@pytest.fixture
def people(make_user):
    return {"spec": make_user("spec", "specialist", display_name="张伟"),
            "manager": make_user("manager", "service_manager", display_name="杨磊"),
            "manager2": make_user("manager2", "service_manager", display_name="赵敏")}


def _complaint(people, phone, name="李明"):
    return complaints.create(people["spec"], name=name, phone=phone, content="漏水", channel="phone",
                             category="product quality", severity="general")


def _visited(people, phone, when):
    visit = home_visits.plan(people["spec"], phone=phone, planned_for=when.date())
    return home_visits.apply(visit.id, "record", people["spec"], visit.version, visited_at=when,
                             visited_by_id=people["spec"].id, findings="使用正常", satisfaction="satisfied")


def test_planning_lists_recent_complaints_and_purchases_not_yet_visited(people):
    complaint = _complaint(people, "13800138001")
    buyer = complaints.find_or_create_customer(people["spec"], "王强", "13800138002")
    Sale.create(customer=buyer, product="冰箱", sale_date=dt.date(2026, 11, 1))
    old = complaints.find_or_create_customer(people["spec"], "旧客户", "13800138003")
    Sale.create(customer=old, product="电视", sale_date=dt.date(2026, 9, 1))  # beyond the 30 days
    rows = home_visits.candidates()
    assert {(c.name, bool(k), bool(s)) for c, k, s in rows} == {("李明", True, False), ("王强", False, True)}
    assert [k.id for c, k, s in rows if k] == [complaint.id]
    home_visits.plan(people["spec"], phone="13800138001", planned_for=dt.date(2026, 11, 12),
                     complaint_id=complaint.id)
    assert [c.name for c, _k, _s in home_visits.candidates()] == ["王强"]


def test_a_visit_is_planned_recorded_and_closed_after_its_follow_up(people):
    _complaint(people, "13800138001")
    visit = home_visits.plan(people["spec"], phone="13800138001", planned_for=dt.date(2026, 11, 12), purpose="回访")
    assert visit.number == "BF-2026-000001" and visit.state == "planned"
    visit = home_visits.apply(visit.id, "record", people["spec"], visit.version, visited_at=NOW,
                              visited_by_id=people["spec"].id, companions="黄师傅", findings="门封老化",
                              satisfaction="fair", follow_up="更换门封")
    assert (visit.state, visit.satisfaction, visit.follow_up) == ("visited", "fair", "更换门封")
    with pytest.raises(HomeVisitError) as refused:
        home_visits.apply(visit.id, "close", people["spec"], visit.version)
    assert refused.value.field == "note"
    visit = home_visits.apply(visit.id, "close", people["spec"], visit.version, note="已更换")
    assert visit.state == "closed" and visit.follow_up_result == "已更换"


def test_a_visit_without_follow_up_is_complete_when_recorded(people):
    _complaint(people, "13800138001")
    assert _visited(people, "13800138001", NOW).state == "closed"


def test_refused_steps_name_their_field(people):
    _complaint(people, "13800138001")
    with pytest.raises(HomeVisitError) as refused:
        home_visits.plan(people["spec"], phone="13900000000", planned_for=dt.date(2026, 11, 12))
    assert refused.value.field == "phone"
    visit = home_visits.plan(people["spec"], phone="13800138001", planned_for=dt.date(2026, 11, 12))
    for kwargs, field in [({"visited_at": NOW + dt.timedelta(hours=1)}, "visited_at"),
                          ({"visited_at": NOW}, "visited_by"),
                          ({"visited_at": NOW, "visited_by_id": people["spec"].id}, "findings"),
                          ({"visited_at": NOW, "visited_by_id": people["spec"].id, "findings": "x"}, "satisfaction")]:
        with pytest.raises(HomeVisitError) as refused:
            home_visits.apply(visit.id, "record", people["spec"], visit.version, **kwargs)
        assert refused.value.field == field
    with pytest.raises(HomeVisitError, match="role"):
        home_visits.apply(visit.id, "void", people["spec"], visit.version, note="重复")
    assert home_visits.apply(visit.id, "void", people["manager"], visit.version, note="重复").state == "voided"


def test_the_month_count_holds_only_visits_made_in_the_month(people):
    for i in range(3):
        _complaint(people, f"1380013800{i}")
        _visited(people, f"1380013800{i}", NOW - dt.timedelta(days=i))
    _complaint(people, "13800138009")
    _visited(people, "13800138009", dt.datetime(2026, 10, 31, 15, 0))  # 23:00 local on 31 October
    home_visits.plan(people["spec"], phone="13800138009", planned_for=dt.date(2026, 11, 20))  # not made yet
    assert home_visits.month_count(Period.parse("month", "2026-11")) == {"count": 3, "minimum": 5, "met": False}
    assert home_visits.month_count(Period.parse("month", "2026-10"))["count"] == 1


def _reminders():
    return Notification.select().where(Notification.message == home_visits.REMINDER)


def test_the_month_end_reminder_comes_once_in_the_last_week_of_a_short_month(people):
    _complaint(people, "13800138001")
    _visited(people, "13800138001", NOW)
    with time_machine.travel(dt.datetime(2026, 11, 23, 15, 59), tick=False):  # 23:59 local, 24 Nov is day 1
        assert home_visits.remind_short_month() == 0
    with time_machine.travel(dt.datetime(2026, 11, 23, 16, 0), tick=False):  # 00:00 on 24 November
        assert home_visits.remind_short_month() == 1
        assert home_visits.remind_short_month() == 0
    with time_machine.travel(dt.datetime(2026, 11, 29, 2, 0), tick=False):
        assert home_visits.remind_short_month() == 0
    assert sorted(n.user.username for n in _reminders()) == ["manager", "manager2"]
    assert HomeVisitReminder.get().month == "2026-11"


def test_no_reminder_when_the_minimum_is_met(people):
    for i in range(5):
        _complaint(people, f"1380013800{i}")
        _visited(people, f"1380013800{i}", NOW)
    with time_machine.travel(dt.datetime(2026, 11, 28, 2, 0), tick=False):
        assert home_visits.remind_short_month() == 0
    assert not _reminders().exists()


def test_a_reminder_killed_half_way_is_sent_whole_by_the_rerun(people, monkeypatch):
    real = home_visits.notify
    made = []

    def dies_on_second(*args, **kwargs):
        made.append(args)
        if len(made) == 2:
            raise RuntimeError("consumer killed")
        return real(*args, **kwargs)
    monkeypatch.setattr(home_visits, "notify", dies_on_second)
    with time_machine.travel(dt.datetime(2026, 11, 28, 2, 0), tick=False):
        with pytest.raises(RuntimeError):
            home_visits.remind_short_month()
        assert not HomeVisitReminder.select().exists() and not _reminders().exists()
        assert home_visits.remind_short_month() == 1
        assert home_visits.remind_short_month() == 0
    assert _reminders().count() == 2
    assert HomeVisit.select().count() == 0


def test_the_pages_plan_from_the_list_record_with_errors_beside_fields_and_print(app, client, auth, people):
    from tests.pdf import assert_embedded_cjk_font, pdf_text
    with app.app_context():
        complaint = _complaint(people, "13800138001")
    auth.login("spec")
    page = client.get("/home-visits").get_data(as_text=True)
    assert 'id="home-visit-count"' in page and "0 home visits made this month; at least 5" in page
    assert f"complaint={complaint.id}" in page.split('id="visit-candidates"')[1]
    response = client.post("/home-visits/new", data={"phone": "13800138001", "planned_for": "2026-11-12",
                                                     "complaint": str(complaint.id), "purpose": "了解维修情况"})
    assert response.status_code == 303
    visit = HomeVisit.get()
    assert visit.complaint_id == complaint.id
    response = client.post(f"/home-visits/{visit.id}", data={
        "action": "record", "record-version": "1", "record-visited_at": "2026-11-10T09:30",
        "record-visited_by": str(people["spec"].id), "record-findings": "门封老化"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="record-satisfaction-error"' in body and "门封老化" in body
    response = client.post(f"/home-visits/{visit.id}", data={
        "action": "record", "record-version": "1", "record-visited_at": "2026-11-10T09:30",
        "record-visited_by": str(people["spec"].id), "record-findings": "门封老化", "record-satisfaction": "fair"})
    assert response.status_code == 303
    assert HomeVisit.get_by_id(visit.id).state == "closed"
    assert "1 home visits made this month" in client.get("/home-visits").get_data(as_text=True)
    pdf = client.get("/home-visits/form.pdf?month=2026-11")
    assert_embedded_cjk_font(pdf.data)
    text = pdf_text(pdf.data)
    assert "月度上门拜访顾客填报表" in text and "门封老化" in text and "1 家" in text


def test_the_count_shows_on_the_callback_figures_and_the_board(app, client, auth, people, make_user):
    from models.board import figures
    with app.app_context():
        _complaint(people, "13800138001")
        _visited(people, "13800138001", NOW)
        assert figures()["home_visits"] == {"count": 1, "minimum": 5, "met": False}
    auth.login("spec")
    page = client.get("/callbacks/stats?month=2026-11").get_data(as_text=True)
    assert "1 home visits made this month; at least 5 are asked for." in page.split('id="stats-home-visits"')[1]


def test_the_page_closes_a_followed_up_visit_and_voids_one_and_a_bad_version_is_not_a_500(app, client, auth,
                                                                                          people):
    with app.app_context():
        _complaint(people, "13800138001")
        visit = home_visits.plan(people["spec"], phone="13800138001", planned_for=dt.date(2026, 11, 12))
        visit = home_visits.apply(visit.id, "record", people["spec"], visit.version, visited_at=NOW,
                                  visited_by_id=people["spec"].id, findings="门封老化", satisfaction="fair",
                                  follow_up="更换门封")
        planned = home_visits.plan(people["spec"], phone="13800138001", planned_for=dt.date(2026, 11, 13))
    auth.login("spec")
    response = client.post(f"/home-visits/{visit.id}", data={"action": "close", "close-version": "x",
                                                             "close-note": "已更换"})
    assert response.status_code == 422 and "已更换" in response.get_data(as_text=True)
    response = client.post(f"/home-visits/{visit.id}", data={"action": "close", "close-version": str(visit.version),
                                                             "close-note": "已更换门封"})
    assert response.status_code == 303 and HomeVisit.get_by_id(visit.id).state == "closed"
    auth.logout()
    auth.login("manager")
    response = client.post(f"/home-visits/{planned.id}", data={"action": "void", "void-version": str(planned.version),
                                                               "void-note": "重复计划"})
    assert response.status_code == 303 and HomeVisit.get_by_id(planned.id).state == "voided"
