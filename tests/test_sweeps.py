"""Every sweep, killed half-way: the consumer dies after the first message of a run (here:
notify raises on its second call), and the next run sends everything exactly once —
nothing lost with a mark already set, nothing sent twice."""
import datetime as dt
import json

import pytest
import time_machine

from models import calls, complaints, desk_items, visitors
from models.procurement import requisitions
from models.audit import AuditEntry
from models.base import utcnow
from models.notifications import Notification
from models.users import User

NOW = dt.datetime(2026, 11, 23, 2, 0)  # 10:00 in Shanghai


class ConsumerKilled(Exception):
    pass


@pytest.fixture(autouse=True)
def in_the_app(app):
    """Notifications build their links from the app's routes."""
    with app.app_context():
        yield


@pytest.fixture
def killed_after_first_message(monkeypatch):
    """notify() in `module` fails on its second call, as if the consumer died there;
    the calls after it (the rerun) go through."""
    def install(module):
        real = module.notify
        calls_made = []

        def dies_on_second_call(*args, **kwargs):
            calls_made.append(args)
            if len(calls_made) == 2:
                raise ConsumerKilled
            return real(*args, **kwargs)
        monkeypatch.setattr(module, "notify", dies_on_second_call)
    return install


def sent(fragment):
    """(recipient, link, name or number in the message) of each notification sent, sorted."""
    notes = Notification.select().where(Notification.message.contains(fragment))
    return sorted((User.get_by_id(n.user_id).username, n.url, json.loads(n.params).get("name")
                   or json.loads(n.params).get("caller") or json.loads(n.params).get("number"))
                  for n in notes)


def run_killed_then_again(sweep):
    with pytest.raises(ConsumerKilled):
        sweep()
    sweep()
    sweep()  # a further run finds nothing left to do


# ---------------------------------------------------------------- front desk

@pytest.fixture
def desk_people(make_user):
    return {
        "desk": make_user("desk", "front_desk", display_name="王芳"),
        "host": make_user("zhang", "specialist", display_name="张伟"),
        "manager": make_user("manager", "service_manager", display_name="杨磊"),
        "manager2": make_user("manager2", "service_manager", display_name="赵敏"),
    }


def _visit(host, name, expected_end=None):
    return visitors.register_visit(
        None, visitor_name=name, phone="13800138000", organisation="华信科技", purpose="meeting", purpose_other="",
        host=host, companions=0, id_number="", car_plate="", note="", arrived_at=utcnow(), expected_end=expected_end)


def test_host_reminders_killed_half_way_are_all_sent_once_by_the_rerun(app, desk_people, killed_after_first_message):
    with time_machine.travel(NOW, tick=False) as clock:
        first, second = _visit(desk_people["host"], "李明"), _visit(desk_people["host"], "陈静")
        clock.move_to(NOW + dt.timedelta(minutes=3, seconds=1))
        killed_after_first_message(visitors)
        run_killed_then_again(visitors.sweep_reminders)
    assert sent("still waiting") == [("zhang", f"/visitors/{first.id}/answer", "李明"),
                                     ("zhang", f"/visitors/{second.id}/answer", "陈静")]
    assert sent("has not answered") == [("desk", "/visitors", "李明"), ("desk", "/visitors", "陈静")]


def test_overstay_flags_killed_half_way_are_all_sent_once_by_the_rerun(app, desk_people, killed_after_first_message):
    with time_machine.travel(NOW, tick=False) as clock:
        end = NOW + dt.timedelta(minutes=30)
        first, second = _visit(desk_people["host"], "李明", end), _visit(desk_people["host"], "陈静", end)
        visitors.Visit.update(host_answered_at=NOW).execute()  # the host answered: only the overstay is due
        clock.move_to(end + dt.timedelta(minutes=1))
        killed_after_first_message(visitors)
        run_killed_then_again(visitors.sweep_reminders)
    assert sent("booked visit has ended") == [("zhang", f"/visitors/{first.id}", "李明"),
                                              ("zhang", f"/visitors/{second.id}", "陈静")]


def test_the_closing_report_killed_half_way_is_logged_and_sent_once_by_the_rerun(app, desk_people,
                                                                                   killed_after_first_message):
    from models.duty import DutyEntry
    with time_machine.travel(NOW, tick=False) as clock:
        _visit(desk_people["host"], "李明")
        clock.move_to(dt.datetime(2026, 11, 23, 10, 0))  # 18:00 in Shanghai, the desk closes
        killed_after_first_message(visitors)
        run_killed_then_again(visitors.report_open_at_closing)
    assert sent("desk closed") == [("manager", "/visitors", None), ("manager2", "/visitors", None)]
    assert [e.what for e in DutyEntry.select().where(DutyEntry.source == "visitors")] == [
        "下班时仍未签退的访客：李明（找张伟）"]


def _promise(promiser, caller, due):
    return calls.log_call(None, caller_name=caller, organisation="", phone="02162345678", reason="空调不制冷",
                          call_type="inquiry", outcome="promised", promiser=promiser, reply_due=due)


def test_promise_reminders_killed_half_way_are_all_sent_once_by_the_rerun(app, desk_people, make_user,
                                                                           killed_after_first_message):
    other = make_user("li", "specialist", display_name="李娜")
    with time_machine.travel(NOW, tick=False) as clock:
        due = NOW + dt.timedelta(hours=2)
        first, second = _promise(desk_people["host"], "周先生", due), _promise(other, "吴女士", due)
        clock.move_to(due - dt.timedelta(minutes=29))
        killed_after_first_message(calls)
        run_killed_then_again(calls.sweep_promises)
    assert sent("Reply due soon") == [("li", f"/calls/{second.id}", "吴女士"), ("zhang", f"/calls/{first.id}", "周先生")]


def test_missed_promises_killed_half_way_reach_every_manager_once(app, desk_people, killed_after_first_message):
    with time_machine.travel(NOW, tick=False) as clock:
        due = NOW + dt.timedelta(hours=2)
        call = _promise(desk_people["host"], "周先生", due)
        clock.move_to(due + dt.timedelta(minutes=1))
        killed_after_first_message(calls)
        run_killed_then_again(calls.sweep_promises)
    assert sent("Missed promise") == [("manager", f"/calls/{call.id}", "周先生"),
                                      ("manager2", f"/calls/{call.id}", "周先生")]


def test_mail_reminders_killed_half_way_are_all_sent_once_by_the_rerun(app, desk_people, make_user,
                                                                        killed_after_first_message):
    other = make_user("li", "specialist", display_name="李娜")
    with time_machine.travel(NOW, tick=False) as clock:
        desk_items.register_mail(desk_people["desk"], True, "顺丰速运", "SF1", "", recipient=desk_people["host"])
        desk_items.register_mail(desk_people["desk"], True, "京东物流", "JD1", "", recipient=other)
        clock.move_to(NOW + dt.timedelta(days=3, minutes=1))
        killed_after_first_message(desk_items)
        run_killed_then_again(desk_items.remind_uncollected)
    assert sent("Reminder: a %(carrier)s") == [("li", "/mail", None), ("zhang", "/mail", None)]


# ---------------------------------------------------------------- complaints

def test_escalations_killed_half_way_are_all_sent_once_by_the_rerun(app, make_user, killed_after_first_message):
    from tests.helpers import make_complaint as _make
    from tests.helpers import on_the_clock
    from tests.helpers import walk_to as _walk_to
    on_the_clock(app)  # 24 wall-clock hours below; working time is the default now
    people = {"spec": make_user("spec", "specialist"), "manager": make_user("manager", "service_manager"),
              "head": make_user("head", "dept_head", department="Repairs")}
    start = dt.datetime(2026, 3, 2, 8, 0)
    with time_machine.travel(start, tick=False) as clock:
        late = [_make(app, people["spec"], phone=phone) for phone in ("13900139000", "13900139001")]
        with app.test_request_context():
            for complaint in late:
                _walk_to(app, people, complaint, "assigned")
        clock.move_to(start + dt.timedelta(hours=24, minutes=1))
        killed_after_first_message(complaints)
        run_killed_then_again(complaints.escalate_overdue)
    assert sent("is overdue") == sorted(("head", f"/complaints/{c.id}", c.number) for c in late)
    assert AuditEntry.select().where(AuditEntry.action == "escalate_head").count() == 2


# ---------------------------------------------------------------- procurement

def test_approver_reminders_killed_half_way_are_all_sent_once_by_the_rerun(app, make_user,
                                                                            killed_after_first_message):
    from tests.helpers import make_requisition as _make
    from tests.test_procurement import NOW as PROCUREMENT_NOW
    people = {"requester": make_user("req", "specialist", department="客服部"),
              "head": make_user("head", "dept_head", department="客服部"),
              "head2": make_user("head2", "dept_head", department="客服部")}
    with time_machine.travel(PROCUREMENT_NOW, tick=False) as clock:
        requisition = _make(app, people)
        clock.move_to(PROCUREMENT_NOW + dt.timedelta(days=2, minutes=1))
        killed_after_first_message(requisitions)
        run_killed_then_again(requisitions.remind_waiting)
    link = f"/procurement/{requisition.id}"
    assert sent("Reminder: requisition") == [("head", link, requisition.number), ("head2", link, requisition.number)]
    assert AuditEntry.select().where(AuditEntry.action == "remind").count() == 1


# ---------------------------------------------------------------- callbacks (no message: the callbacks are the mark's work)

def test_a_sales_sweep_killed_half_way_makes_each_callback_once_on_the_rerun(app, monkeypatch):
    from models import callbacks
    from models.complaints import Customer
    with time_machine.travel(NOW, tick=False):
        customer = Customer.create(name="刘洋", phone="13700001111")
        callbacks.Sale.create(customer=customer, product="洗衣机", sale_date=dt.date(2026, 11, 10),
                              warranty_end=dt.date(2027, 1, 10))
        real, numbers = callbacks.next_number, []

        def dies_on_second_number(kind):
            numbers.append(kind)
            if len(numbers) == 2:
                raise ConsumerKilled
            return real(kind)
        monkeypatch.setattr(callbacks, "next_number", dies_on_second_number)
        run_killed_then_again(callbacks.schedule_sale_callbacks)
    assert sorted(c.reason for c in callbacks.Callback.select()) == ["after_sale", "warranty"]


# ---------------------------------------------------------------- the monthly report mail

@pytest.fixture
def smtp(app, monkeypatch):
    """A mail server that records what it is sent; `smtp.down` makes the next send fail."""
    import smtplib

    from models import settings

    class FakeSMTP:
        sent, down = [], False

        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def send_message(self, message):
            if FakeSMTP.down:
                FakeSMTP.down = False
                raise smtplib.SMTPServerDisconnected("connection lost")
            FakeSMTP.sent.append(message)

    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    settings.save(None, {"reports.monthly_recipients": "boss@example.com"})
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=2525)
    return FakeSMTP


def test_a_report_mail_that_failed_is_sent_once_by_the_next_run(app, smtp):
    from tasks.reports import mail_monthly_report
    with time_machine.travel(dt.datetime(2026, 12, 1, 1, 0), tick=False):
        smtp.down = True
        with pytest.raises(Exception):
            mail_monthly_report.call_local()
        mail_monthly_report.call_local()
        mail_monthly_report.call_local()
    assert [m["Subject"].split()[-1] for m in smtp.sent] == ["2026-11"]


def test_a_report_mail_whose_consumer_died_while_sending_is_sent_once_after_the_claim_goes_stale(app, smtp):
    from models import reports
    from tasks.reports import mail_monthly_report
    with time_machine.travel(dt.datetime(2026, 12, 1, 1, 0), tick=False) as clock:
        reports.claim_monthly_mailing(dt.date(2026, 12, 1))  # claimed, then the process died mid-mail
        mail_monthly_report.call_local()
        assert smtp.sent == []  # another consumer may still be sending it
        clock.shift(reports.STALE_CLAIM + dt.timedelta(minutes=1))
        mail_monthly_report.call_local()
        mail_monthly_report.call_local()
    assert [m["Subject"].split()[-1] for m in smtp.sent] == ["2026-11"]
