"""The official calendar: a year's public holidays and 调休 days imported from chinese-calendar,
and complaint deadlines that count working time by default across them."""
import datetime as dt
import json

import pytest
import time_machine
from chinese_calendar import constants

from models import complaints, worktime
from models.audit import AuditEntry
from models.worktime import HOLIDAY, WORKDAY, CalendarDay
from tests.helpers import at, local
from tests.helpers import make_complaint as _make

NATIONAL_DAY = [dt.date(2026, 10, d) for d in range(1, 8)]


def _rows(app):
    with app.app_context():
        return {row.day: row for row in CalendarDay.select()}


def test_importing_2026_enters_its_holidays_and_make_up_working_days(app, client, admin):
    response = client.post("/admin/working-hours/import/2026")
    assert response.status_code == 303 and response.headers["Location"].endswith("/admin/working-hours?year=2026")
    rows = _rows(app)
    assert all(rows[day].kind == HOLIDAY and rows[day].label == "国庆节" for day in NATIONAL_DAY)
    assert rows[dt.date(2026, 2, 17)].label == "春节" and rows[dt.date(2026, 6, 19)].label == "端午"
    # Every 调休 working day the package knows for 2026, with the normal day's hours.
    make_up = [day for day in constants.workdays if day.year == 2026]
    assert make_up and all(rows[day].kind == WORKDAY and rows[day].periods == "" for day in make_up)
    # One known by hand: Saturday 10 October 2026 is worked for National Day.
    assert rows[dt.date(2026, 10, 10)].kind == WORKDAY and rows[dt.date(2026, 10, 10)].label == "国庆节调休"
    with app.app_context():
        cal = worktime.calendar()
        assert not cal.is_working_day(dt.date(2026, 10, 8 - 1)) and cal.is_working_day(dt.date(2026, 10, 10))
        entry = AuditEntry.get(AuditEntry.action == "imported")
        assert entry.actor.username == "boss" and len(json.loads(entry.changes)["added"][1]) == len(rows)
    page = client.get("/admin/working-hours?year=2026").get_data(as_text=True)
    assert f"{len(rows)} day(s) added" in page and "0 already entered kept" in page
    assert page.count("国庆节调休") == 2  # 20 September and 10 October


def test_a_second_import_adds_nothing_and_an_admins_own_day_wins(app, client, admin):
    client.post("/admin/working-hours/days", data={
        "first": "2026-10-01", "kind": "holiday", "label": "公司国庆", "submission_key": "own"})
    client.post("/admin/working-hours/import/2026")
    rows = _rows(app)
    assert rows[dt.date(2026, 10, 1)].label == "公司国庆" and rows[dt.date(2026, 10, 2)].label == "国庆节"
    total = len(rows)
    client.post("/admin/working-hours/import/2026")
    assert len(_rows(app)) == total
    page = client.get("/admin/working-hours?year=2026").get_data(as_text=True)
    assert "0 day(s) added" in page and f"{total} already entered kept" in page
    # An imported day can still be taken out.
    response = client.post(f"/admin/working-hours/days/{rows[dt.date(2026, 10, 2)].id}/remove")
    assert response.status_code == 303 and dt.date(2026, 10, 2) not in _rows(app)


def test_a_year_the_package_does_not_know_is_refused(app, client, admin):
    page = client.get("/admin/working-hours?year=2030").get_data(as_text=True)
    assert "Import the State Council" not in page and "enter 2030's days by hand" in page
    response = client.post("/admin/working-hours/import/2030")
    assert response.status_code == 422
    assert "The holiday arrangement for 2030 is not known" in response.get_data(as_text=True)
    assert _rows(app) == {}
    with app.app_context():
        with pytest.raises(worktime.UnknownYear):
            worktime.import_official(None, 2030)


def test_the_import_button_is_there_for_a_known_year(app, client, admin):
    page = client.get("/admin/working-hours?year=2026").get_data(as_text=True)
    assert 'action="/admin/working-hours/import/2026"' in page


def test_a_first_run_imports_this_and_next_year_once(app):
    with time_machine.travel(at(2026, 12, 2, 9), tick=False), app.app_context():
        assert worktime.import_this_and_next_year() == [2026]  # 2027 is not announced in the package yet
        count = CalendarDay.select().count()
        assert worktime.import_this_and_next_year() == [] and CalendarDay.select().count() == count


def test_a_deadline_counted_in_working_time_by_default_crosses_national_day(app, client, auth, people):
    with app.app_context():
        worktime.import_official(None, 2026)
        assert complaints.counts_working_time()  # the default now
    # Wednesday 30 September, 10:00: 6.5 working hours that day, none 1–7 October,
    # 7.5 on Thursday 8 and Friday 9, and the make-up Saturday 10 October from 09:00.
    with time_machine.travel(at(2026, 9, 30, 10), tick=False):
        complaint = _make(app, people["spec"])
    assert complaint.handle_due_at == local(2026, 10, 10, 11, 30)
    assert complaint.reply_due_at == local(2026, 10, 10, 11, 30)
    auth.login("spec")
    page = client.get(f"/complaints/{complaint.id}").get_data(as_text=True)
    assert "Counted in working time (the working-hours calendar)." in page
