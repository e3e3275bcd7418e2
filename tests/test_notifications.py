"""The bell: a count of unread notifications, in the reader's language."""
import ast
import pathlib

import pytest

from models.notifications import N_, Notification, notify


def test_bell_counts_unread_and_opening_one_marks_it_read(app, client, auth, make_user):
    desk = make_user("desk")
    other = make_user("other")
    with app.app_context():
        first = notify(desk, N_("Welcome to the service portal, %(name)s."), link=("auth.change_password", {}),
                       name="王芳")
        notify(desk, N_("Welcome to the service portal, %(name)s."), name="again")
        notify(other, N_("Welcome to the service portal, %(name)s."), name="not mine")
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
        theirs = notify(other, N_("Welcome to the service portal, %(name)s."), link=("admin.users", {}), name="x")
    auth.login("desk")
    response = client.post(f"/notifications/{theirs.id}/open")
    assert response.headers["Location"] == "/"
    assert Notification.get_by_id(theirs.id).read_at is None


def test_notifications_are_mailed_once_in_the_readers_language_when_smtp_is_set(app, make_user, monkeypatch):
    import smtplib
    sent = []

    class FakeSMTP:
        def __init__(self, host, port, timeout):
            sent.append({"host": host, "port": port})

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def send_message(self, message):
            sent[-1]["message"] = message

    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    user = make_user("desk", email="wang@example.com", locale="zh_Hans")
    silent = make_user("other")
    with app.test_request_context():
        notify(silent, N_("Welcome to the service portal, %(name)s."), name="x")
        assert sent == []  # no SMTP configured
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=2525, PUBLIC_URL="https://portal.example.com/service/")
        note = notify(user, N_("Welcome to the service portal, %(name)s."), link=("mail.index", {}), name="王芳")
        notify(silent, N_("Welcome to the service portal, %(name)s."), name="no address")
    assert len(sent) == 1 and sent[0]["host"] == "127.0.0.1"
    message = sent[0]["message"]
    assert message["To"] == "wang@example.com" and message["Subject"] == "王芳，欢迎使用服务门户。"
    assert "https://portal.example.com/service/mail\n" in message.get_content()
    from tasks.notifications import email_notification
    assert email_notification.call_local(note.id) is False  # already mailed: not again
    assert len(sent) == 1


def test_a_mistyped_endpoint_fails_where_the_notification_is_made(app, make_user):
    from werkzeug.routing import BuildError
    user = make_user("desk")
    with app.app_context(), pytest.raises(BuildError):
        notify(user, N_("Welcome to the service portal, %(name)s."), link=("visitors.no_such_page", {"visit_id": 1}), name="x")


def test_no_model_passes_a_literal_url_path_to_notify():
    """Models store endpoints: a path written into a notification breaks when a route moves."""
    offenders = []
    for path in sorted(pathlib.Path(__file__).parent.parent.joinpath("models").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "notify"):
                continue
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                first = arg.values[0] if isinstance(arg, ast.JoinedStr) and arg.values else arg
                if isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value.startswith("/"):
                    offenders.append(f"{path.name}:{node.lineno}")
            if any(k.arg == "url" for k in node.keywords):
                offenders.append(f"{path.name}:{node.lineno} (url=)")
    assert offenders == []
