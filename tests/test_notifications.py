"""The bell: a count of unread notifications, in the reader's language; and the outbox
that mails them after the commit, once each."""
import ast
import datetime as dt
import pathlib

import pytest
import time_machine

from models.audit import AuditEntry
from models.base import write_transaction
from models.notifications import N_, Notification, NotificationDelivery, notify
from tasks.notifications import deliver_notifications

WELCOME = N_("Welcome to the service portal, %(name)s.")
# 10:00 in Shanghai: outside the default quiet hours, so a notice that is not urgent goes at once.
NOW = dt.datetime(2026, 11, 23, 2, 0)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def mailbox(monkeypatch):
    """What the local SMTP stub was given; set .fail to an exception to refuse."""
    import smtplib

    class Mailbox(list):
        fail = None

    box = Mailbox()

    class StubSMTP:
        def __init__(self, host, port, timeout):
            self.host = host

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def send_message(self, message):
            if box.fail is not None:
                raise box.fail
            box.append(message)

    monkeypatch.setattr(smtplib, "SMTP", StubSMTP)
    return box


@pytest.fixture
def smtp(app):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=2525, PUBLIC_URL="https://portal.example.com/service/")
    return app


def test_bell_counts_unread_and_opening_one_marks_it_read(app, client, auth, make_user):
    desk = make_user("desk")
    other = make_user("other")
    with app.app_context():
        first = notify(desk, WELCOME, link=("auth.change_password", {}), name="王芳")
        notify(desk, WELCOME, name="again")
        notify(other, WELCOME, name="not mine")
    auth.login("desk")
    bell = client.get("/notifications/bell", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert '<span class="badge">2</span>' in bell
    page = client.get("/notifications/?lang=zh").get_data(as_text=True)
    assert "王芳，欢迎使用服务门户。" in page and "not mine" not in page
    response = client.post(f"/notifications/{first.id}/open")
    assert response.headers["Location"] == "/account/password"
    assert Notification.get_by_id(first.id).read_at is not None
    bell = client.get("/notifications/bell", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert '<span class="badge">1</span>' in bell
    client.post("/notifications/read-all")
    bell = client.get("/notifications/bell", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "badge" not in bell


def test_nobody_opens_another_persons_notification(app, client, auth, make_user):
    make_user("desk")
    other = make_user("other")
    with app.app_context():
        theirs = notify(other, WELCOME, link=("admin.users", {}), name="x")
    auth.login("desk")
    response = client.post(f"/notifications/{theirs.id}/open")
    assert response.headers["Location"] == "/"
    assert Notification.get_by_id(theirs.id).read_at is None


def test_a_notification_stored_with_its_path_by_an_older_version_still_opens_and_mails(
        smtp, client, auth, make_user, mailbox):
    desk = make_user("desk", email="wang@example.com")
    with smtp.app_context():
        old = Notification.create(user=desk, message=WELCOME, params='{"name": "x"}', stored_url="/mail")
        NotificationDelivery.create(notification=old, channel="email", due_at=old.created_at)
        assert deliver_notifications.call_local() == 1
    assert "https://portal.example.com/service/mail\n" in mailbox[0].get_content()
    auth.login("desk")
    assert client.post(f"/notifications/{old.id}/open").headers["Location"] == "/mail"


def test_the_outbox_mails_each_notification_once_in_the_readers_language(smtp, make_user, mailbox, monkeypatch,
                                                                         frozen):
    from tasks import huey
    queued = []
    monkeypatch.setattr(huey, "enqueue", lambda task: queued.append(task))
    user = make_user("desk", email="wang@example.com", locale="zh_Hans")
    silent = make_user("other")
    with smtp.app_context():
        with write_transaction():
            note = notify(user, WELCOME, link=("mail.index", {}), name="王芳")
            notify(silent, WELCOME, name="no address")
            assert mailbox == [] and queued == []  # nothing leaves before the commit
        # A person without an address gets no outbox row: nothing to rescan every minute.
        assert [d.notification_id for d in NotificationDelivery.select()] == [note.id]
        assert deliver_notifications.call_local() == 1
        assert deliver_notifications.call_local() == 0  # sent and marked: not again
    assert queued == []
    assert len(mailbox) == 1
    message = mailbox[0]
    assert message["To"] == "wang@example.com" and message["Subject"] == "王芳，欢迎使用服务门户。"
    assert "https://portal.example.com/service/mail\n" in message.get_content()
    delivery = NotificationDelivery.get()
    assert delivery.sent_at is not None and delivery.due_at is None and delivery.attempts == 1


def test_without_smtp_nothing_is_queued_for_mail_and_setting_it_up_later_mails_no_history(
        app, make_user, mailbox):
    user = make_user("desk", email="wang@example.com")
    with app.app_context():
        notify(user, WELCOME, name="x")
        app.config.update(SMTP_HOST="127.0.0.1")
        assert deliver_notifications.call_local() == 0
    assert mailbox == [] and NotificationDelivery.select().count() == 0


def test_a_notification_made_in_a_rolled_back_transaction_is_never_sent(smtp, make_user, mailbox):
    user = make_user("desk", email="wang@example.com")
    with smtp.app_context():
        with pytest.raises(RuntimeError):
            with write_transaction():
                notify(user, WELCOME, name="x")
                raise RuntimeError("the record could not be saved")
        assert deliver_notifications.call_local() == 0
        assert Notification.select().count() == 0 and NotificationDelivery.select().count() == 0
    assert mailbox == []


def test_a_failure_is_kept_for_the_admin_and_retried_later_with_back_off(smtp, make_user, mailbox, frozen):
    import smtplib
    user = make_user("desk", email="wang@example.com")
    with smtp.app_context():
        note = notify(user, WELCOME, name="x")
        mailbox.fail = smtplib.SMTPRecipientsRefused({"wang@example.com": (450, b"mailbox busy")})
        assert deliver_notifications.call_local() == 0
        row = NotificationDelivery.get()
        assert row.sent_at is None and row.attempts == 1 and "mailbox busy" in row.error
        assert row.due_at == NOW + dt.timedelta(minutes=1)
        assert deliver_notifications.call_local() == 0  # not due yet: not tried again at once
        frozen.shift(dt.timedelta(minutes=1))
        assert deliver_notifications.call_local() == 0
        assert NotificationDelivery.get().due_at == NOW + dt.timedelta(minutes=1 + 2)  # doubled
        mailbox.fail = None
        frozen.shift(dt.timedelta(minutes=2))
        assert deliver_notifications.call_local() == 1
        assert NotificationDelivery.get().sent_at is not None
        failures = AuditEntry.select().where(AuditEntry.record_type == "notification", AuditEntry.record_id == note.id)
        assert [(e.action, "mailbox busy" in e.reason) for e in failures] == [("delivery_failed", True)] * 2
    assert len(mailbox) == 1


def test_a_mail_server_that_refuses_the_connection_is_asked_once_per_sweep(smtp, make_user, monkeypatch, frozen):
    """Nothing was sent, so the mail is retried; the other mails wait for the next sweep untried
    rather than each waiting on the same server."""
    import smtplib
    connections = []

    def refused(host, port, timeout):
        connections.append(host)
        raise ConnectionRefusedError(111, "Connection refused")
    monkeypatch.setattr(smtplib, "SMTP", refused)
    users = [make_user(name, email=f"{name}@example.com") for name in ("wang", "li", "zhao")]
    with smtp.app_context():
        for user in users:
            notify(user, WELCOME, name="x")
        assert deliver_notifications.call_local() == 0
    assert len(connections) == 1
    rows = list(NotificationDelivery.select().order_by(NotificationDelivery.id))
    assert rows[0].attempts == 1 and rows[0].error.startswith("Unreachable: 127.0.0.1:2525")
    assert rows[0].due_at == NOW + dt.timedelta(minutes=1)
    assert [(r.attempts, r.due_at) for r in rows[1:]] == [(0, NOW), (0, NOW)]


def test_the_admin_reads_why_a_mail_failed_in_the_audit_log(smtp, client, auth, make_user, mailbox, frozen):
    make_user("admin", "admin")
    user = make_user("desk", email="wang@example.com")
    with smtp.app_context():
        notify(user, WELCOME, name="x")
        mailbox.fail = ConnectionRefusedError(111, "Connection refused")
        deliver_notifications.call_local()
    auth.login("admin")
    page = client.get("/audit?type=notification&lang=zh").get_data(as_text=True)
    assert "发送失败" in page and "Connection refused" in page


def test_a_mail_is_given_up_after_the_set_number_of_attempts(smtp, make_user, mailbox, frozen):
    from models import settings
    from models.notifications import MAX_ATTEMPTS
    user = make_user("desk", email="wang@example.com")
    with smtp.app_context():
        settings.save(None, {MAX_ATTEMPTS: 2})
        notify(user, WELCOME, name="x")
        mailbox.fail = OSError("network unreachable")
        deliver_notifications.call_local()
        frozen.shift(dt.timedelta(minutes=1))
        deliver_notifications.call_local()
        frozen.shift(dt.timedelta(days=1))
        deliver_notifications.call_local()
        row = NotificationDelivery.get()
        assert row.attempts == 2 and row.due_at is None and row.sent_at is None
        assert [e.action for e in AuditEntry.select().where(AuditEntry.record_type == "notification")
                .order_by(AuditEntry.id)] == ["delivery_failed", "delivery_given_up"]


def test_a_second_sweep_while_the_first_is_sending_does_not_send_again(smtp, make_user, frozen):
    from models.notifications import deliver_pending
    user = make_user("desk", email="wang@example.com")
    sent = []

    def send(note, address):
        # Another consumer's sweep runs while this one waits on the mail server.
        assert deliver_pending({"email": send}) == 0
        sent.append(note.id)

    with smtp.app_context():
        note = notify(user, WELCOME, name="x")
        assert deliver_pending({"email": send}) == 1
    assert sent == [note.id]


def test_a_consumer_killed_mid_send_never_sends_twice_and_the_admin_is_told(smtp, make_user, mailbox, frozen):
    from models.notifications import deliver_pending
    user = make_user("desk", email="wang@example.com")

    def killed(note, address):
        raise KeyboardInterrupt  # the consumer stops after the claim, before the result is stored

    with smtp.app_context():
        note = notify(user, WELCOME, name="x")
        with pytest.raises(KeyboardInterrupt):
            deliver_pending({"email": killed})
        frozen.shift(dt.timedelta(hours=1))
        assert deliver_notifications.call_local() == 0
        assert deliver_notifications.call_local() == 0
        row = NotificationDelivery.get()
        assert row.sent_at is None and row.due_at is None and row.claimed_at is None
        entries = AuditEntry.select().where(AuditEntry.record_type == "notification", AuditEntry.record_id == note.id)
        assert [e.action for e in entries] == ["delivery_interrupted"]
    assert mailbox == []


def test_a_mistyped_endpoint_fails_where_the_notification_is_made(app, make_user):
    from werkzeug.routing import BuildError
    user = make_user("desk")
    with app.app_context(), pytest.raises(BuildError):
        notify(user, WELCOME, link=("visitors.no_such_page", {"visit_id": 1}), name="x")


def test_no_model_passes_a_literal_url_path_to_notify():
    """Models store endpoints: a path written into a notification breaks when a route moves."""
    offenders = []
    for path in sorted(pathlib.Path(__file__).parent.parent.joinpath("models").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            name = getattr(node, "func", None) and getattr(node.func, "id", getattr(node.func, "attr", ""))
            if not (isinstance(node, ast.Call) and name == "notify"):
                continue
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                first = arg.values[0] if isinstance(arg, ast.JoinedStr) and arg.values else arg
                if isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value.startswith("/"):
                    offenders.append(f"{path.name}:{node.lineno}")
            if any(k.arg == "url" for k in node.keywords):
                offenders.append(f"{path.name}:{node.lineno} (url=)")
    assert offenders == []


def test_a_host_answers_a_waiting_visitor_from_the_notification_in_one_tap(client, auth, make_user):
    import re

    from models.visitors import Visit, apply, register_visit
    make_user("desk", "front_desk", display_name="王芳")
    host = make_user("zhang", "specialist", display_name="张伟")
    visit = register_visit(None, visitor_name="李明", phone="13800138000", organisation="华信科技", purpose="meeting",
                           purpose_other="", host=host, companions=0, id_number="", car_plate="", note="",
                           arrived_at=Visit.created_at.default())
    auth.login("zhang")
    for page_url in ("/notifications/?lang=zh", "/?lang=zh"):  # the list, and the home page's latest
        page = client.get(page_url).get_data(as_text=True)
        assert "李明（华信科技）正在前台等您。" in page
        assert re.search(rf'action="/visitors/{visit.id}/answer">\s*<input[^>]+csrf_token[^>]*>\s*'
                         rf'<input type="hidden" name="next" value="/[^"]*">\s*'
                         rf'<button type="submit" name="reply" value="coming"', page)
        assert "马上到前台" in page

    # One tap on "coming" in the list answers and comes back to the list.
    response = client.post(f"/visitors/{visit.id}/answer", data={"reply": "coming", "next": "/notifications/"})
    assert response.status_code == 303 and response.headers["Location"] == "/notifications/"
    assert Visit.get_by_id(visit.id).host_answer == "coming"
    assert Notification.get(Notification.user == host).read_at is not None
    page = client.get("/notifications/?lang=zh").get_data(as_text=True)
    assert "您的回复: 马上到前台" in page and 'aria-pressed="true"' in page

    # Once the visitor is with the host there is nothing left to answer.
    apply(None, visit.id, "with_host")
    page = client.get("/notifications/?lang=zh").get_data(as_text=True)
    assert "李明（华信科技）正在前台等您。" in page and f"/visitors/{visit.id}/answer\"" not in page
    # An outside address in `next` is not followed.
    response = client.post(f"/visitors/{visit.id}/answer", data={"reply": "wait", "next": "https://evil.example/"})
    assert response.headers["Location"] == f"/visitors/{visit.id}/answer"
