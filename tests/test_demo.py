"""The first run: `seed-demo` on an empty database gives every area something in each of
its states, made through the domain rules (timelines, deadlines, audit), dated relative to today."""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from models.demo import seed_demo

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: A weekday morning, late on the first evening of a month (its register only just begun),
#: and before the day shift (the night shift of yesterday under way).
MOMENTS = [dt.datetime(2026, 3, 4, 10, 30, tzinfo=SHANGHAI), dt.datetime(2026, 4, 1, 22, 40, tzinfo=SHANGHAI),
           dt.datetime(2026, 5, 11, 6, 15, tzinfo=SHANGHAI)]


@pytest.fixture
def quiet_password(monkeypatch):
    monkeypatch.setattr("models.demo.generate_password", lambda: "demo-password-1")


def _seed(app, moment):
    with time_machine.travel(moment, tick=False), app.app_context():
        return seed_demo(only_if_empty=True)


@pytest.mark.parametrize("moment", MOMENTS, ids=["morning", "month-start-evening", "before-day-shift"])
def test_the_demo_shows_every_area_working(app, moment, quiet_password):
    from models import callbacks, complaints, procurement, worktime
    from models.procurement import orders, requisitions
    from models.audit import AuditEntry
    from models.base import utcnow
    from models.board import figures
    from models.calls import Call
    from models.complaints import OPEN_STATES, Complaint, ComplaintEvent, complaint_stats
    from models.desk_items import LostItem, MailItem
    from models.duty import DutyDay, DutyEntry, Handover
    from models.notifications import Notification
    from models.reports import Period
    from models.users import User
    from models.visitors import Appointment, Visit

    assert _seed(app, moment) == "demo-password-1"
    with time_machine.travel(moment, tick=False), app.app_context():
        now, today = utcnow(), moment.date()
        rows = list(Complaint.select())
        states = {c.state for c in rows}
        assert len(rows) >= 30
        assert {"received", "acknowledged", "assigned", "handled", "result_reported", "customer_informed",
                "callback", "reopened", "closed", "voided"} <= states
        open_ones = [c for c in rows if c.state in OPEN_STATES]
        assert sum(c.is_overdue() for c in open_ones) >= 3
        assert any(c.is_vip for c in open_ones) and any(c.is_major for c in open_ones)
        assert any(c.is_paused for c in open_ones)
        assert len({c.category for c in rows}) >= 6 and len({c.department_id for c in rows if c.department_id}) >= 4
        # The stories happened in the past, in order, under the rules' own deadlines.
        for complaint in rows:
            times = [e.at for e in ComplaintEvent.select().where(ComplaintEvent.complaint == complaint)
                     .order_by(ComplaintEvent.id)]
            assert times[0] == complaint.created_at and times == sorted(times) and times[-1] <= now
            created = (AuditEntry.select().where(AuditEntry.record_type == "complaint",
                                                 AuditEntry.record_id == complaint.id).order_by(AuditEntry.id).first())
            assert created.action == "create" and created.at == complaint.created_at
        overdue = next(c for c in open_ones if c.state == "assigned" and c.is_overdue())
        # In working time by default, across the official calendar the demo imported first.
        assert overdue.deadlines_count_working_time and worktime.days(moment.year).exists()
        assert overdue.handle_due_at == worktime.calendar().add(overdue.created_at, dt.timedelta(hours=24))
        assert overdue.escalated_head_at is not None  # the sweep took it up
        closed = [c for c in rows if c.state == "closed"]
        assert all(c.root_cause and c.first_handled_at for c in closed)
        # Working minutes: none for one taken in and handled on a Sunday or in the Spring Festival.
        assert all(c.handling_minutes == int(complaints.elapsed(c.created_at, c.first_handled_at).total_seconds()
                                             // 60) for c in closed)
        assert any(c.handling_minutes for c in closed)
        assert any(not c.handled_on_time for c in closed) and any(c.handled_on_time for c in closed)
        # Last month's report and this month's register have complaints to count.
        last_month = Period.containing("month", today).previous()
        assert complaint_stats(*last_month.utc_range())["total"] >= 5
        assert complaint_stats(*Period.containing("month", today).utc_range())["total"] >= 1
        assert callbacks.callback_stats(*last_month.utc_range())["done"] >= 3
        from models import home_visits, service_visits
        assert {v.state for v in home_visits.HomeVisit.select()} == {"planned", "visited", "closed"}
        assert {v.state for v in service_visits.ServiceVisit.select()} == set(service_visits.OPEN_STATES) | {"closed"}
        assert callbacks.Callback.select().where(callbacks.Callback.service_visit.is_null(False)).count() == 2

        queue = list(callbacks.queue())
        assert len(queue) >= 4 and {"complaint", "after_sale"} <= {c.reason for c in queue}
        assert any(c.is_overdue() for c in queue)

        by_state = {r.state for r in procurement.Requisition.select()}
        assert {"draft", "pending", "rejected", "approved", "ordered", "received", "reimbursed"} <= by_state
        assert all(count >= 1 for _label, count in requisitions.waiting_by_step())
        assert orders.late_orders().count() == 1

        dates = {d.date for d in DutyDay.select()}
        assert len(dates) >= 7 and max(dates) >= today - dt.timedelta(days=1)
        assert DutyEntry.select().count() >= 20
        assert Handover.select().where(Handover.incoming_signed_at.is_null(False)).count() >= 7
        assert DutyDay.select().where(DutyDay.signed_at.is_null(False)).exists()
        assert DutyDay.unsigned().where(DutyDay.date < today).exists()  # yesterday's waits for the manager

        assert MailItem.waiting().count() >= 3 and MailItem.overdue().exists()
        assert LostItem.held().count() >= 3

        assert Visit.waiting().count() == 2 and Visit.on_site().count() == 4
        from models.rooms import BookingGuest
        invited = BookingGuest.select(BookingGuest.appointment)
        assert Appointment.expected_on(today).where(Appointment.id.not_in(invited)).count() == 2
        assert Visit.select().where(Visit.state == "left").count() >= 100
        assert Call.promises_open().count() == 3 and Call.promises_open().where(Call.reply_due < now).count() == 1

        from models.compensations import Compensation, open_recoveries
        assert {"proposed", "returned", "approved", "paid", "settled", "voided"} <= {
            c.state for c in Compensation.select()}
        assert [r.age_days() for r in open_recoveries()] == [38, 6]
        assert Compensation.select().where(Compensation.complaint.is_null(False)).count() >= 3

        board = figures(now)
        assert board["complaints_open"] >= 15 and board["complaints_overdue"] >= 3
        assert board["callbacks_today"]["due"] >= 4 and sum(board["trend"]["visitors"]) >= 50
        # History's notifications were read long ago; what is new is not.
        specialist = User.by_username("specialist")
        assert 0 < Notification.unread_for(specialist).count() < 40

        # Meeting rooms: a visitor invited to today's meeting (in the day's working hours), preparation
        # waiting for logistics, a weekly series, past minutes with open action items.
        from models import rooms
        assert len(rooms.rooms()) == 3 and rooms.unfinished_prep() and rooms.BookingSeries.select().exists()
        if moment.hour < 16:
            assert Appointment.expected_on(today).where(Appointment.id.in_(invited)).count() == 1
        assert rooms.ActionItem.select().where(rooms.ActionItem.state == "open").count() >= 2


def test_the_demo_loads_once_and_its_pages_open_for_their_people(app, client, auth, quiet_password):
    from models.board import create_token
    from models.complaints import Complaint
    from models.users import User

    moment = MOMENTS[0]
    _seed(app, moment)
    with app.app_context():
        complaints = Complaint.select().count()
        assert _seed(app, moment) is None and Complaint.select().count() == complaints
        _row, token = create_token(User.by_username("admin") or User.by_username("manager"), "大堂屏幕")
    pages = {"specialist": ["/complaints", "/complaints/register", "/callbacks", "/compensations",
                            "/compensations/recoveries"], "manager": ["/reports", "/compensations"],
             "logistics": ["/procurement"], "desk": ["/duty", "/visitors"]}
    with time_machine.travel(moment, tick=False):
        for username, urls in pages.items():
            auth.login(username, "demo-password-1")
            for url in urls:
                page = client.get(url)
                assert page.status_code == 200, (username, url)
            auth.logout()
        assert "孙丽" in _text(client, "specialist", "/complaints")
        assert "CG-2026-" in _text(client, "logistics", "/procurement")
        board = client.get(f"/board?token={token}")
        assert board.status_code == 200


def _text(client, username, url):
    from tests.conftest import AuthActions
    auth = AuthActions(client)
    auth.login(username, "demo-password-1")
    text = client.get(url).get_data(as_text=True)
    auth.logout()
    return text


def test_the_demo_numbers_run_with_the_dates(app, quiet_password):
    from models.complaints import Complaint
    _seed(app, MOMENTS[0])
    with app.app_context():
        numbers = [c.number for c in Complaint.select().order_by(Complaint.created_at, Complaint.id)]
        assert numbers == sorted(numbers)
