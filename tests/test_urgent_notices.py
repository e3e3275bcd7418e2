"""What cannot wait for the morning goes out in the quiet hours: escalations, a missed promise, a major
complaint, a watchlisted visitor. The bell has them at once whatever the hour; these are about the
manager's WeCom robot, which would otherwise hold them until 08:00."""
import datetime as dt

import pytest
import time_machine

from models import calls
from models.notifications import NotificationDelivery, notify, N_
from models.users import User
from models.visitors import WatchlistEntry, register_visit
from tests.helpers import at, local, make_complaint, staff

NIGHT = at(2026, 11, 23, 23, 30)  # Shanghai, inside the default quiet hours 22:00-08:00


@pytest.fixture
def people(app, make_user):
    people = staff(make_user, "spec", "manager", "desk")
    with app.app_context():
        User.update(wecom_webhook="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=manager").where(
            User.id == people["manager"].id).execute()
        return {**people, "manager": User.get_by_id(people["manager"].id)}


def _managers_robot_due():
    return {row.notification.message: row.due_at
            for row in NotificationDelivery.select().where(NotificationDelivery.channel == "wecom")}


def _missed_promise(app, people, clock):
    clock.move_to(at(2026, 11, 23, 22, 0))
    with app.test_request_context():
        calls.log_call(None, caller_name="周先生", organisation="", phone="02162345678", reason="空调不制冷",
                       call_type="inquiry", outcome="promised", promiser=people["spec"],
                       reply_due=local(2026, 11, 23, 23, 0))
    clock.move_to(NIGHT)
    calls.sweep_promises()


def _major_complaint(app, people, clock):
    make_complaint(app, people["spec"], severity="major")


def _watchlisted_visitor(app, people, clock):
    WatchlistEntry.create(phone="13800138000", reason="曾在大堂滋事")
    with app.test_request_context():
        register_visit(people["desk"], visitor_name="李明", phone="13800138000", organisation="", purpose="meeting",
                       purpose_other="", host=people["spec"], companions=0, id_number="", car_plate="", note="",
                       arrived_at=local(2026, 11, 23, 23, 20), watchlist_reason="经理同意，保安陪同")


@pytest.mark.parametrize("happening, message", [
    (_missed_promise, "Missed promise"),
    (_major_complaint, "Major complaint"),
    (_watchlisted_visitor, "Watchlist"),
])
def test_what_cannot_wait_reaches_the_managers_robot_in_the_quiet_hours(app, people, happening, message):
    with time_machine.travel(NIGHT, tick=False) as clock, app.app_context():
        happening(app, people, clock)
        due = [at for text, at in _managers_robot_due().items() if text.startswith(message)]
        assert due == [local(2026, 11, 23, 23, 30)]


def test_a_reminder_that_can_wait_waits_for_eight_oclock(app, people):
    with time_machine.travel(NIGHT, tick=False), app.app_context():
        notify(people["manager"], N_("Welcome to the service portal, %(name)s."), name="经理")
        assert _managers_robot_due() == {"Welcome to the service portal, %(name)s.": local(2026, 11, 24, 8, 0)}
