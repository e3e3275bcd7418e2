"""The bell: a count of unread notifications, in the reader's language."""
from models.notifications import N_, Notification, notify


def test_bell_counts_unread_and_opening_one_marks_it_read(client, auth, make_user):
    desk = make_user("desk")
    other = make_user("other")
    first = notify(desk, N_("Welcome to the service portal, %(name)s."), url="/account/password", name="王芳")
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


def test_nobody_opens_another_persons_notification(client, auth, make_user):
    make_user("desk")
    other = make_user("other")
    theirs = notify(other, N_("Welcome to the service portal, %(name)s."), url="/admin/users", name="x")
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
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=2525)
        note = notify(user, N_("Welcome to the service portal, %(name)s."), url="/", name="王芳")
        notify(silent, N_("Welcome to the service portal, %(name)s."), name="no address")
    assert len(sent) == 1 and sent[0]["host"] == "127.0.0.1"
    message = sent[0]["message"]
    assert message["To"] == "wang@example.com" and message["Subject"] == "王芳，欢迎使用服务门户。"
    from tasks.notifications import email_notification
    assert email_notification.call_local(note.id) is False  # already mailed: not again
    assert len(sent) == 1


def test_a_host_answers_a_waiting_visitor_from_the_notification_in_one_tap(client, auth, make_user):
    import re

    from models.visitors import Visit, register_visit, with_host
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
    with_host(None, visit)
    page = client.get("/notifications/?lang=zh").get_data(as_text=True)
    assert "李明（华信科技）正在前台等您。" in page and f"/visitors/{visit.id}/answer\"" not in page
    # An outside address in `next` is not followed.
    response = client.post(f"/visitors/{visit.id}/answer", data={"reply": "wait", "next": "https://evil.example/"})
    assert response.headers["Location"] == f"/visitors/{visit.id}/answer"
