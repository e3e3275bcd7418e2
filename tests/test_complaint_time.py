"""Complaint time: deadlines in working time (weekly hours, holidays, 调休), the paused
clock while a complaint waits on the customer, and escalation with both — frozen time.

The zone is Asia/Shanghai (UTC+8, no summer time); the default week is Mon–Fri
09:00–12:00, 13:30–18:00. Dates used: 2026-09-30 is a Wednesday; 国庆 2026 is
10-01 (Thu) to 10-07 (Wed), worked on Sunday 09-20 and Saturday 10-10."""
import datetime as dt

import pytest
import time_machine

from models import complaints, settings, worktime
from models.complaints import Complaint, ComplaintEvent, ComplaintPause, TransitionError
from models.notifications import Notification
from models.users import Department, User
from models.worktime import HOLIDAY, WORKDAY, Calendar, parse_periods
from tasks.complaints import escalate_overdue_complaints
from tests.helpers import apply_action as _apply
from tests.helpers import at, local
from tests.helpers import make_complaint as _make
from tests.helpers import on_the_clock


@pytest.fixture(autouse=True)
def _deadlines_on_the_clock(app):
    """These deadlines are wall-clock hours: the setting is turned off explicitly, since working
    time is the default now (tests that count working time turn it on themselves)."""
    on_the_clock(app)


H = dt.timedelta(hours=1)


NATIONAL_DAY = {**{dt.date(2026, 10, d): (HOLIDAY, "") for d in range(1, 8)},
                dt.date(2026, 9, 20): (WORKDAY, ""), dt.date(2026, 10, 10): (WORKDAY, "")}


@pytest.fixture
def cal():
    return Calendar(worktime.DEFAULT_WEEK, NATIONAL_DAY)


# The arithmetic itself.

@pytest.mark.parametrize("start, hours, due", [
    (local(2026, 11, 23, 10), 2, local(2026, 11, 23, 12)),          # uses up the morning exactly
    (local(2026, 11, 23, 10), 3, local(2026, 11, 23, 14, 30)),      # over lunch
    (local(2026, 11, 23, 12, 30), 1, local(2026, 11, 23, 14, 30)),  # taken in at lunch
    (local(2026, 11, 23, 17), 2, local(2026, 11, 24, 10)),          # across the night
    (local(2026, 11, 23, 20), 1, local(2026, 11, 24, 10)),          # taken in at night
    (local(2026, 11, 24, 6), 7.5, local(2026, 11, 24, 18)),         # a whole working day, ends at 18:00
    (local(2026, 11, 27, 16), 24, local(2026, 12, 2, 17, 30)),      # Friday, across the weekend
    (local(2026, 11, 28, 11), 1, local(2026, 11, 30, 10)),          # taken in on a Saturday
    (local(2026, 9, 30, 17), 8, local(2026, 10, 8, 17, 30)),        # across the National Day holidays
    (local(2026, 10, 9, 17), 2, local(2026, 10, 10, 10)),           # Friday into the 调休 Saturday
    (local(2026, 9, 18, 17), 2, local(2026, 9, 20, 10)),            # Friday into the 调休 Sunday
    (local(2026, 11, 23, 10), 0, local(2026, 11, 23, 10)),
])
def test_adding_working_hours(cal, start, hours, due):
    assert cal.add(start, dt.timedelta(hours=hours)) == due


def test_a_make_up_day_with_its_own_hours(cal):
    cal.days[dt.date(2026, 10, 10)] = (WORKDAY, parse_periods("09:00-12:00"))
    assert cal.add(local(2026, 10, 9, 17), 4 * H) == local(2026, 10, 10, 12)
    assert cal.add(local(2026, 10, 9, 17), 5 * H) == local(2026, 10, 12, 10)


@pytest.mark.parametrize("start, end, hours", [
    (local(2026, 11, 23, 10), local(2026, 11, 23, 11), 1),
    (local(2026, 11, 23, 11), local(2026, 11, 23, 14), 1.5),       # lunch does not count
    (local(2026, 11, 27, 17), local(2026, 11, 30, 10), 2),         # the weekend does not count
    (local(2026, 9, 30, 17), local(2026, 10, 8, 10), 2),           # the holidays do not count
    (local(2026, 10, 9, 17), local(2026, 10, 10, 10), 2),          # the 调休 Saturday counts
    (local(2026, 11, 23, 11), local(2026, 11, 23, 10), 0),
])
def test_working_time_between(cal, start, end, hours):
    assert cal.between(start, end) == dt.timedelta(hours=hours)


def test_a_week_without_working_hours_gives_up_instead_of_looping():
    with pytest.raises(worktime.NoWorkingTime):
        Calendar({d: "" for d in range(7)}).add(local(2026, 11, 23), H)


@pytest.mark.parametrize("text, expected", [
    ("09:00-12:00, 13:30-18:00", "09:00-12:00, 13:30-18:00"),
    ("13:30-18:00 9:00-12:00", "09:00-12:00, 13:30-18:00"),
    ("09:00～12:00，13:30 - 18:00", "09:00-12:00, 13:30-18:00"),
    ("", ""),
])
def test_periods_are_read_as_people_type_them(text, expected):
    assert worktime.format_periods(parse_periods(text)) == expected


@pytest.mark.parametrize("text, message", [
    ("9-12", "is not a period like 09:00-12:00"),
    ("12:00-09:00", "the end is not after the start"),
    ("09:00-12:00, 11:00-13:00", "overlap"),
    ("25:00-26:00", "is not a period"),
])
def test_bad_periods_are_refused_with_a_message(text, message):
    with pytest.raises(ValueError, match=message):
        parse_periods(text)


# Deadlines of complaints.

def _working_time(app, on=True, national_day=True):
    with app.test_request_context():
        settings.save(None, {complaints.WORKING_TIME: on})
        if national_day:
            worktime.add_days(None, dt.date(2026, 10, 1), dt.date(2026, 10, 7), HOLIDAY, "国庆节")
            worktime.add_days(None, dt.date(2026, 10, 10), dt.date(2026, 10, 10), WORKDAY, "国庆调休")


def _assign(app, people, complaint):
    _apply(app, complaint, "acknowledge", people["spec"])
    with app.test_request_context():
        repairs = Department.get(Department.name == "Repairs").id
    _apply(app, complaint, "assign", people["spec"], department_id=repairs)


def _get(app, complaint):
    with app.test_request_context():
        return Complaint.get_by_id(complaint.id)


def _notes(app, username):
    with app.app_context():
        return [n.message for n in Notification.select().where(Notification.user == User.by_username(username),
                                                                Notification.message != complaints.ASSIGNED_NOTICE)]


def test_deadlines_count_working_hours_when_the_setting_says_so(app, people):
    _working_time(app)
    with time_machine.travel(at(2026, 11, 27, 16), tick=False):  # a Friday afternoon
        general = _make(app, people["spec"])
        major = _make(app, people["spec"], phone="13100131000", severity="major")
        vip = _make(app, people["spec"], phone="13200132000", is_vip=True)
    assert general.reply_due_at == general.handle_due_at == local(2026, 12, 2, 17, 30)
    # 72 h: 2 on Friday, 7.5 a day from Monday on: Mon–Fri 37.5, the next Mon–Thu 30, then 2.5 more.
    assert major.handle_due_at == local(2026, 12, 11, 11, 30)
    assert vip.reply_due_at == local(2026, 11, 30, 11)  # 4 h: 2 on Friday, 2 on Monday
    assert vip.handle_due_at == local(2026, 12, 1, 11, 30)  # 12 h: 2 on Friday, 7.5 on Monday, 2.5 on Tuesday


def test_deadlines_skip_the_holidays_and_count_the_make_up_saturday(app, people):
    _working_time(app)
    with time_machine.travel(at(2026, 9, 30, 17), tick=False):
        before_holidays = _make(app, people["spec"])
    with time_machine.travel(at(2026, 10, 9, 17), tick=False):
        before_make_up_day = _make(app, people["spec"], phone="13100131000")
    # 24 h: 1 on 09-30, holidays, 7.5 on 10-08 (Thu) and 10-09 (Fri), 7.5 on the 调休 Saturday, 0.5 on Monday.
    assert before_holidays.handle_due_at == local(2026, 10, 12, 9, 30)
    # 24 h: 1 on Friday, 7.5 on the 调休 Saturday, 7.5 on Monday, 7.5 Tuesday, 0.5 on Wednesday.
    assert before_make_up_day.handle_due_at == local(2026, 10, 14, 9, 30)


def test_without_the_setting_deadlines_run_on_the_clock(app, people):
    _working_time(app, on=False)
    with time_machine.travel(at(2026, 9, 30, 17), tick=False):
        complaint = _make(app, people["spec"])
    assert complaint.handle_due_at == local(2026, 10, 1, 17)


def test_a_calendar_without_working_hours_does_not_stop_intake(app, people):
    _working_time(app, national_day=False)
    with app.test_request_context():
        worktime.save_week(None, {d: "" for d in range(7)})
    with time_machine.travel(at(2026, 11, 23, 10), tick=False):
        complaint = _make(app, people["spec"])
    assert complaint.handle_due_at == local(2026, 11, 24, 10)


# The paused clock.

def test_a_pause_pushes_the_deadlines_by_the_time_waited(app, people):
    with time_machine.travel(at(2026, 11, 23, 10), tick=False) as clock:
        complaint = _make(app, people["spec"])
        _assign(app, people, complaint)
        clock.move_to(at(2026, 11, 23, 11))
        _apply(app, complaint, "pause", people["head"], note="等客户提供发票")
        paused = _get(app, complaint)
        assert paused.is_paused and paused.state == "assigned"
        clock.move_to(at(2026, 11, 25, 11))  # well past the deadline, but waiting
        assert not _get(app, complaint).is_overdue()
        _apply(app, complaint, "resume", people["spec"], note="客户已寄来发票")
    resumed = _get(app, complaint)
    assert not resumed.is_paused and resumed.state == "assigned"
    assert resumed.handle_due_at == local(2026, 11, 24, 10) + 48 * H
    with app.test_request_context():
        events = [(e.action, e.actor.username, e.note) for e in resumed.events()][-2:]
        assert events == [("pause", "head", "等客户提供发票"), ("resume", "spec", "客户已寄来发票")]
        pause = ComplaintPause.get()
        assert pause.counted == 48 * H and pause.started_by.username == "head" and pause.ended_by.username == "spec"


def test_in_working_time_a_pause_pushes_by_the_working_time_waited(app, people):
    _working_time(app)
    with time_machine.travel(at(2026, 11, 27, 16), tick=False) as clock:  # Friday
        complaint = _make(app, people["spec"])
        _assign(app, people, complaint)
        clock.move_to(at(2026, 11, 27, 17))
        _apply(app, complaint, "pause", people["spec"])
        clock.move_to(at(2026, 11, 30, 10))  # Monday: 1 h on Friday, 1 h on Monday
        _apply(app, complaint, "resume", people["spec"])
    # Wednesday 17:30 + 2 working hours: half an hour on Wednesday, 1.5 h on Thursday.
    assert _get(app, complaint).handle_due_at == local(2026, 12, 3, 10, 30)
    with app.test_request_context():
        assert ComplaintPause.get().counted == 2 * H


def test_the_timeline_shows_each_pause_with_its_length(app, client, auth, people):
    with time_machine.travel(at(2026, 11, 23, 10), tick=False) as clock:
        complaint = _make(app, people["spec"])
        _assign(app, people, complaint)
        _apply(app, complaint, "pause", people["spec"], note="等客户回电")
        clock.move_to(at(2026, 11, 23, 12, 30))
        _apply(app, complaint, "resume", people["spec"])
        clock.move_to(at(2026, 11, 23, 13))
        _apply(app, complaint, "pause", people["spec"])
        clock.move_to(at(2026, 11, 23, 13, 45))
        auth.login("spec")
        page = client.get(f"/complaints/{complaint.id}").get_data(as_text=True)
    timeline = page[page.index('id="timeline"'):]
    assert timeline.count("Waiting on the customer") == 2 and "等客户回电" in timeline
    assert "2 h 30 min" in timeline and "45 min so far" in timeline
    assert "Customer answered; deadlines run again" in timeline
    assert 'id="action-resume"' in page and 'id="action-pause"' not in page


def test_pause_and_resume_are_refused_when_they_make_no_sense(app, people):
    complaint = _make(app, people["spec"])
    _assign(app, people, complaint)
    with pytest.raises(TransitionError, match="not waiting on the customer"):
        _apply(app, complaint, "resume", people["spec"])
    with pytest.raises(TransitionError, match="Only customer service or the responsible department"):
        _apply(app, complaint, "pause", people["stranger"])
    _apply(app, complaint, "pause", people["head"])
    with pytest.raises(TransitionError, match="already waits on the customer"):
        _apply(app, complaint, "pause", people["spec"])
    with app.test_request_context():
        assert ComplaintPause.select().count() == 1


def test_handling_while_waiting_ends_the_wait_first(app, people):
    with time_machine.travel(at(2026, 11, 23, 10), tick=False) as clock:
        complaint = _make(app, people["spec"])
        _assign(app, people, complaint)
        _apply(app, complaint, "pause", people["head"])
        clock.move_to(at(2026, 11, 23, 14))
        _apply(app, complaint, "handle", people["head"], note="上门更换")
    handled = _get(app, complaint)
    assert handled.state == "handled" and not handled.is_paused
    assert handled.handling_minutes == 0 and handled.handled_on_time
    with app.test_request_context():
        # Handling without signing for it first records the receipt as its own step.
        assert [e.action for e in handled.events()][-4:] == ["pause", "resume", "accept", "handle"]
        assert ComplaintPause.get().ended_at == local(2026, 11, 23, 14)


# Escalation with the paused clock, including a consumer that was down.

def test_a_waiting_complaint_is_not_escalated_and_after_the_wait_is_escalated_once(app, people):
    with time_machine.travel(at(2026, 11, 23, 10), tick=False) as clock:  # due 11-24 10:00
        complaint = _make(app, people["spec"])
        _assign(app, people, complaint)
        clock.move_to(at(2026, 11, 24, 8))
        _apply(app, complaint, "pause", people["spec"])
        clock.move_to(at(2026, 11, 26, 8))  # two days of waiting: would be long overdue
        escalate_overdue_complaints.call_local()
        assert _notes(app, "head") == [] and _notes(app, "manager") == []
        _apply(app, complaint, "resume", people["spec"])  # due now 11-26 10:00
        clock.move_to(at(2026, 11, 26, 9, 59))
        escalate_overdue_complaints.call_local()
        assert _notes(app, "head") == []
        clock.move_to(at(2026, 11, 26, 10, 1))
        escalate_overdue_complaints.call_local()
        escalate_overdue_complaints.call_local()
        assert len(_notes(app, "head")) == 1 and _notes(app, "manager") == []
        clock.move_to(at(2026, 11, 27, 10, 1))
        escalate_overdue_complaints.call_local()
        escalate_overdue_complaints.call_local()
    assert len(_notes(app, "head")) == 1 and len(_notes(app, "manager")) == 1


def test_a_consumer_that_was_down_across_a_pause_escalates_each_step_once(app, people):
    _working_time(app)
    with time_machine.travel(at(2026, 9, 30, 9), tick=False) as clock:
        # 24 working hours: 7.5 on 09-30, holidays, 7.5 on 10-08 and 10-09, 1.5 on the 调休 Saturday.
        complaint = _make(app, people["spec"])
        assert complaint.handle_due_at == local(2026, 10, 10, 10, 30)
        _assign(app, people, complaint)
        # The consumer goes down now. The complaint waits on the customer through the holidays.
        clock.move_to(at(2026, 9, 30, 17))
        _apply(app, complaint, "pause", people["spec"])
        clock.move_to(at(2026, 10, 8, 10))  # 1 working hour on 09-30, 1 on 10-08
        _apply(app, complaint, "resume", people["spec"])
        assert _get(app, complaint).handle_due_at == local(2026, 10, 10, 14)
        # Back up a week later: the head and, 24 working hours on (10-14 15:30), the manager, each once.
        clock.move_to(at(2026, 10, 16, 9))
        for _ in range(3):
            escalate_overdue_complaints.call_local()
    assert len(_notes(app, "head")) == 1 and len(_notes(app, "manager")) == 1
    escalated = _get(app, complaint)
    assert escalated.escalated_head_at == escalated.escalated_manager_at == local(2026, 10, 16, 9)


def test_catching_up_during_a_pause_escalates_only_what_was_due_before_it(app, people):
    with time_machine.travel(at(2026, 11, 23, 10), tick=False) as clock:  # due 11-24 10:00
        complaint = _make(app, people["spec"])
        _assign(app, people, complaint)
        clock.move_to(at(2026, 11, 24, 12))  # two hours overdue, the consumer was down
        _apply(app, complaint, "pause", people["spec"])
        clock.move_to(at(2026, 11, 30, 12))  # the consumer is back while the complaint still waits
        escalate_overdue_complaints.call_local()
        escalate_overdue_complaints.call_local()
        # The clock stood at 11-24 12:00: overdue for the head, not yet for the manager (11-25 10:00).
        assert len(_notes(app, "head")) == 1 and _notes(app, "manager") == []
        _apply(app, complaint, "resume", people["spec"])  # due 11-30 10:00, manager 12-01 10:00
        escalate_overdue_complaints.call_local()
        assert _notes(app, "manager") == []
        clock.move_to(at(2026, 12, 1, 10, 1))
        escalate_overdue_complaints.call_local()
    assert len(_notes(app, "head")) == 1 and len(_notes(app, "manager")) == 1


def test_pausing_on_the_page(app, client, auth, people):
    complaint = _make(app, people["spec"])
    _assign(app, people, complaint)
    auth.login("head")
    version = _get(app, complaint).version
    response = client.post(f"/complaints/{complaint.id}/act",
                           data={"action": "pause", "version": str(version), "note": "等客户确认上门时间"})
    assert response.status_code == 303
    page = client.get(f"/complaints/{complaint.id}").get_data(as_text=True)
    assert "Waits on the customer since" in page and "等客户确认上门时间" in page
    with app.test_request_context():
        assert ComplaintEvent.select().where(ComplaintEvent.action == "pause").count() == 1


# The admin's calendar page.

WEEK = {f"day{d}": "09:00-12:00, 13:30-18:00" if d < 5 else "" for d in range(7)}


def test_the_admin_enters_the_national_day_holidays_and_make_up_days(app, client, admin):
    response = client.post("/admin/working-hours/days", data={
        "first": "2026-10-01", "last": "2026-10-07", "kind": "holiday", "label": "2026 国庆节", "submission_key": "a"})
    assert response.status_code == 303
    client.post("/admin/working-hours/days", data={
        "first": "2026-10-10", "kind": "workday", "label": "国庆调休", "submission_key": "b"})
    client.post("/admin/working-hours/days", data={
        "first": "2026-09-20", "kind": "workday", "label": "国庆调休", "periods": "9:00-12:00", "submission_key": "c"})
    page = client.get("/admin/working-hours").get_data(as_text=True)
    page = page[page.index('id="calendar-days"'):page.index('</table>', page.index('id="calendar-days"'))]
    assert page.count("2026 国庆节") == 7 and page.count("国庆调休") == 2 and "09:00-12:00" in page
    with app.test_request_context():
        cal = worktime.calendar()
        assert not cal.is_working_day(dt.date(2026, 10, 5)) and cal.is_working_day(dt.date(2026, 10, 10))
        assert cal.periods_on(dt.date(2026, 9, 20)) == parse_periods("09:00-12:00")
        from models.audit import AuditEntry
        assert AuditEntry.select().where(AuditEntry.record_type == "calendar_day").count() == 9


def test_a_double_tap_enters_the_days_once(app, client, admin):
    data = {"first": "2026-10-01", "last": "2026-10-02", "kind": "holiday", "label": "国庆节", "submission_key": "k"}
    client.post("/admin/working-hours/days", data=data)
    assert client.post("/admin/working-hours/days", data=data).status_code == 303
    with app.test_request_context():
        assert worktime.CalendarDay.select().count() == 2


@pytest.mark.parametrize("data, field, message", [
    ({"first": ""}, "first", "Enter the date."),
    ({"first": "2026-02-30"}, "first", "Enter a date like 2026-10-01."),
    ({"first": "2026-10-07", "last": "2026-10-01"}, "last", "The last day is before the first."),
    ({"first": "2026-01-01", "last": "2026-03-01"}, "last", "At most 31 days at once."),
    ({"label": ""}, "label", "This field is required."),
    ({"periods": "09:00-12:00"}, "periods", "A holiday has no working hours"),
    ({"kind": "workday", "first": "2026-10-10", "periods": "9-12"}, "periods", "is not a period like 09:00-12:00"),
    ({"first": "2026-10-03", "last": "2026-10-04"}, "kind", "no working day anyway"),
    ({"kind": "workday", "first": "2026-10-09"}, "kind", "a working day already"),
])
def test_bad_calendar_days_are_refused_beside_the_field(app, client, admin, data, field, message):
    form = {"first": "2026-10-01", "kind": "holiday", "label": "国庆节", "submission_key": "x"}
    form.update(data)
    response = client.post("/admin/working-hours/days", data=form, htmx=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and message in page
    assert f'id="{field}-error"' in page and "<html" not in page
    if form["label"]:
        assert form["label"] in page  # nothing typed is lost
    with app.test_request_context():
        assert worktime.CalendarDay.select().count() == 0


def test_a_date_entered_twice_is_refused_with_what_is_there(app, client, admin):
    client.post("/admin/working-hours/days", data={"first": "2026-10-01", "last": "2026-10-07", "kind": "holiday",
                                                   "label": "国庆节", "submission_key": "1"})
    response = client.post("/admin/working-hours/days", data={"first": "2026-10-07", "last": "2026-10-08",
                                                              "kind": "holiday", "label": "别的", "submission_key": "2"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Already in the calendar: 2026-10-07 (国庆节)" in page


def test_the_weekly_hours_are_edited_and_checked(app, client, admin):
    response = client.post("/admin/working-hours/week", data=dict(WEEK, day5="09:00-12:00"))
    assert response.status_code == 303
    with app.test_request_context():
        assert worktime.calendar().periods_on(dt.date(2026, 11, 28)) == parse_periods("09:00-12:00")
    response = client.post("/admin/working-hours/week", data=dict(WEEK, day2="13:30-18:00, 09:00-14:00"), htmx=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="day2-error"' in page and "overlap" in page
    assert "09:00-14:00" in page
    response = client.post("/admin/working-hours/week", data={f"day{d}": "" for d in range(7)})
    assert response.status_code == 422 and "Give at least one weekday working hours." in response.get_data(
        as_text=True)
    with app.test_request_context():
        assert worktime.calendar().periods_on(dt.date(2026, 11, 25)) == parse_periods(WEEK["day2"])


def test_a_mistaken_day_is_taken_out(app, client, admin):
    client.post("/admin/working-hours/days", data={"first": "2026-10-01", "kind": "holiday", "label": "国庆节",
                                                   "submission_key": "1"})
    with app.test_request_context():
        row = worktime.CalendarDay.get()
    assert client.post(f"/admin/working-hours/days/{row.id}/remove").status_code == 303
    with app.test_request_context():
        assert worktime.CalendarDay.select().count() == 0 and worktime.calendar().is_working_day(row.day)


def test_only_an_admin_edits_the_calendar(client, auth, people):
    auth.login("manager")
    assert client.get("/admin/working-hours").status_code == 403
    assert client.post("/admin/working-hours/week", data=WEEK).status_code == 403
