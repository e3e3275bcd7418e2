"""One-tap answers: the signed, single-use, expiring links in a host's visitor notice, which
answer the front desk without logging in; and nothing else is ever answered that way."""
import datetime as dt
import json
import re
import threading

import pytest
import time_machine
from itsdangerous import URLSafeSerializer

from models import answers
from models.audit import AuditEntry
from models.notifications import Notification
from models.visitors import DESK_MESSAGES, Visit, apply, register_visit
from tasks.notifications import deliver_notifications
from tests.helpers import PROCUREMENT_STAFF, make_requisition, staff
from tests.test_notifications import mailbox, smtp  # noqa: F401 (fixtures: the local SMTP stub)
from views.access import csrf_exempt

# 10:00 in Shanghai.
NOW = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def cast(make_user):
    desk = make_user("desk", "front_desk", display_name="王芳")
    host = make_user("zhang", "specialist", display_name="张伟", locale="zh_Hans", email="zhang@example.com")
    return desk, host


def _visit(app, host, name="李明"):
    with app.app_context():
        return register_visit(None, visitor_name=name, phone="13800138000", organisation="华信科技",
                              purpose="meeting", purpose_other="", host=host, companions=0, id_number="",
                              car_plate="", note="", arrived_at=Visit.created_at.default())


def _link(app, visit, answer="coming"):
    with app.app_context():
        return f"/visitors/{visit.id}/reply/{answers.token_for(visit, answer)}"


def _text(response):
    """What the page says, without its markup."""
    return re.sub(r"<[^>]+>", "", response.get_data(as_text=True))


def _answered_by_link():
    return AuditEntry.select().where(AuditEntry.action == "answered_by_link").count()


def _desk_told(desk):
    return list(Notification.select().where(Notification.user == desk, Notification.message.in_(
        list(DESK_MESSAGES.values()))))


def test_a_link_answers_once_without_logging_in_and_the_desk_hears_it(app, client, cast, frozen):
    desk, host = cast
    visit = _visit(app, host)
    link = _link(app, visit, "coming")

    # Opening the link (as a chat app's link preview does) only asks.
    page = client.get(link)
    assert page.status_code == 200 and "Set-Cookie" not in page.headers
    assert page.headers["Referrer-Policy"] == "no-referrer"  # the token in the address goes nowhere else
    assert "李明 在前台等您" in _text(page)
    assert re.search(r'<button type="submit"[^>]*>马上到前台</button>', page.get_data(as_text=True))
    assert Visit.get_by_id(visit.id).host_answer == "" and _desk_told(desk) == []

    # The one tap, with no session and no CSRF token: the signed link is the proof.
    done = client.post(link, csrf=False)
    assert done.status_code == 200 and "Set-Cookie" not in done.headers
    assert done.headers["Referrer-Policy"] == "no-referrer"
    assert "已将您的回复告知前台。" in _text(done) and "马上到前台 (10:00)" in _text(done)
    stored = Visit.get_by_id(visit.id)
    assert (stored.state, stored.host_answer) == ("waiting", "coming") and stored.host_answered_at is not None
    told = _desk_told(desk)
    assert [note.message for note in told] == [DESK_MESSAGES["coming"]]
    with app.test_request_context("/?lang=zh"):
        assert told[0].text == "张伟 马上到前台接 李明。"
    # The host's notice is settled, as when they answer in the portal.
    assert Notification.get(Notification.user == host).read_at is not None
    assert AuditEntry.select().where(AuditEntry.action == "answered_by_link", AuditEntry.actor == host,
                             AuditEntry.record_id == visit.id).count() == 1

    # The same link again, or another link of the same message: refused, saying why; one answer stays.
    for again in (link, _link(app, visit, "wait")):
        replay = client.post(again, csrf=False)
        assert replay.status_code == 410 and "您已回复：马上到前台（10:00）。" in _text(replay)
    assert _answered_by_link() == 1 and Visit.get_by_id(visit.id).host_answer == "coming"
    assert len(_desk_told(desk)) == 1


def test_an_expired_link_is_refused(app, client, cast, frozen):
    desk, host = cast
    visit = _visit(app, host)
    link = _link(app, visit, "send_up")
    frozen.shift(dt.timedelta(hours=1, minutes=59))
    assert client.get(link).status_code == 200  # within the two hours the setting gives
    frozen.shift(dt.timedelta(minutes=2))
    for response in (client.get(link), client.post(link, csrf=False)):
        assert response.status_code == 410 and "此链接已于 12:00 失效。" in _text(response)
    assert Visit.get_by_id(visit.id).host_answer == "" and _answered_by_link() == 0
    assert _desk_told(desk) == []


def test_an_expired_link_says_it_expired_whatever_became_of_the_visit(app, client, cast, frozen):
    """The expiry is checked before the visit's state: the host learns the link is old, not the news."""
    _desk, host = cast
    left, answered = _visit(app, host), _visit(app, host, name="赵六")
    links = [_link(app, left), _link(app, answered)]
    with app.app_context():
        apply(None, left.id, "check_out")
        apply(host, answered.id, "answer", reply="wait")
    frozen.shift(dt.timedelta(hours=3))
    for link in links:
        for response in (client.get(link), client.post(link, csrf=False)):
            assert response.status_code == 410 and "此链接已于 12:00 失效。" in _text(response), link
            assert "已离开" not in _text(response) and "您已回复" not in _text(response)


def test_a_tampered_link_is_refused(app, client, cast, frozen):
    desk, host = cast
    visit = _visit(app, host)
    stranger = _visit(app, host, name="赵六")
    link = _link(app, visit, "coming")
    payload, signature = link.rsplit("/", 1)[1].split(".")
    never = 2_000_000_000  # an expiry in 2033
    with app.app_context():
        forged = [
            # The payload changed (another answer, a later expiry) under the old signature.
            URLSafeSerializer("x").dumps([visit.id, host.id, "send_up", never]).split(".")[0] + "." + signature,
            payload + "." + signature[:-3],  # cut short, as a chat app's line break does
            URLSafeSerializer("another-secret", salt=answers.SALT).dumps([visit.id, host.id, "coming", never]),
            # The portal's own secret under another salt: a token of some other purpose.
            URLSafeSerializer(app.config["SECRET_KEY"], salt="other").dumps([visit.id, host.id, "coming", never]),
            "not-a-token",
        ]
    for token in forged:
        # No host can be trusted from a forged link: the reader's browser decides the language.
        response = client.get(f"/visitors/{visit.id}/reply/{token}", headers={"Accept-Language": "zh-CN"})
        assert response.status_code == 403 and "此链接无效：可能被截断或改动过。" in _text(response), token
        response = client.post(f"/visitors/{visit.id}/reply/{token}", csrf=False)
        assert response.status_code == 403 and "This link is not valid" in _text(response), token
    # Another visit's link, put under this visit's address.
    other = _link(app, stranger, "coming").rsplit("/", 1)[1]
    assert client.post(f"/visitors/{visit.id}/reply/{other}", csrf=False).status_code == 403
    assert {v.host_answer for v in Visit.select()} == {""} and _answered_by_link() == 0
    assert _desk_told(desk) == []


def test_a_visit_answered_in_the_portal_or_checked_out_says_so_in_the_hosts_language(app, client, make_user, frozen):
    make_user("desk", "front_desk")
    host = make_user("smith", "specialist", display_name="John Smith", locale="en")
    answered, left = _visit(app, host), _visit(app, host, name="Olga <b>")
    with app.app_context():
        apply(host, answered.id, "answer", reply="wait")
        apply(None, left.id, "check_out")
    # The reader's browser asks for Chinese; the link speaks its host's language.
    response = client.get(_link(app, answered), headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 410
    assert "You have already answered: Can&#39;t come now — ask them to wait (10:00)." in _text(response)
    response = client.post(_link(app, left), csrf=False)
    assert response.status_code == 410 and "Olga &lt;b&gt; has already left (10:00)." in _text(response)
    assert Visit.get_by_id(answered.id).host_answer == "wait" and Visit.get_by_id(left.id).host_answer == ""


def test_a_deactivated_host_s_links_answer_nothing(app, client, cast, frozen):
    from models.users import User
    _desk, host = cast
    visit = _visit(app, host)
    link = _link(app, visit)
    User.update(is_active=False).where(User.id == host.id).execute()
    assert client.post(link, csrf=False).status_code == 403
    assert Visit.get_by_id(visit.id).host_answer == ""


def test_two_taps_at_once_answer_once(app, cast, monkeypatch, frozen):
    """Both taps read the visit unanswered before either writes (on PostgreSQL; SQLite's write
    lock lets one in at a time): the unique key on the visit lets one answer through."""
    desk, host = cast
    visit = _visit(app, host)
    links = [_link(app, visit, "coming"), _link(app, visit, "send_up")]
    both_read = threading.Barrier(2, timeout=2)
    asked = answers.question

    def question_then_wait(*args):
        result = asked(*args)
        try:
            both_read.wait()
        except threading.BrokenBarrierError:
            pass  # SQLite: the other tap waits for the write lock, after this one
        return result
    monkeypatch.setattr(answers, "question", question_then_wait)
    statuses = []

    def tap(link):
        statuses.append(app.test_client().post(link, csrf=False).status_code)
    threads = [threading.Thread(target=tap, args=(link,)) for link in links]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses) == [200, 410]
    assert _answered_by_link() == 1 and len(_desk_told(desk)) == 1
    answered = AuditEntry.get(AuditEntry.action == "answered_by_link")
    assert json.loads(answered.changes)["host_answer"][1] == Visit.get_by_id(visit.id).host_answer


def test_the_email_carries_the_three_links_and_one_answers(smtp, client, cast, mailbox, frozen):  # noqa: F811
    desk, host = cast
    visit = _visit(smtp, host)
    with smtp.app_context():
        assert deliver_notifications.call_local() == 1
    body = mailbox[0].get_content()
    found = dict(re.findall(r"^(.+): (https://portal\.example\.com/service/visitors/\d+/reply/\S+)$", body, re.M))
    assert list(found) == ["马上到前台", "请访客直接上楼", "暂时无法过来 —— 请访客稍候"]
    path = found["请访客直接上楼"].removeprefix("https://portal.example.com/service")
    assert client.post(path, csrf=False).status_code == 200
    assert Visit.get_by_id(visit.id).host_answer == "send_up"
    assert [note.message for note in _desk_told(desk)] == [DESK_MESSAGES["send_up"]]


def test_a_notice_sent_after_the_host_answered_carries_no_links(smtp, cast, mailbox, frozen):  # noqa: F811
    _desk, host = cast
    visit = _visit(smtp, host)
    with smtp.app_context():
        apply(host, visit.id, "answer", reply="coming")
        deliver_notifications.call_local()
    host_mail = next(m for m in mailbox if m["To"] == "zhang@example.com")
    assert "/reply/" not in host_mail.get_content()


def test_no_notification_but_a_hosts_visitor_notice_carries_answer_links(app, make_user, cast):
    """Approvals and money never answer from a link: they open the portal's page after login."""
    _desk, host = cast
    visit = _visit(app, host)
    people = staff(make_user, "requester", "head", table=PROCUREMENT_STAFF)
    with time_machine.travel(dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.timezone.utc)):  # before the helper's dates
        make_requisition(app, people)  # its approver is told it waits for approval
    with app.test_request_context():
        procurement = list(Notification.select().where(Notification.endpoint.startswith("procurement")))
        assert procurement and all(note.answer_links == [] for note in procurement)
        # Any page a notice could open, with this visit's id as its argument: only the host's notice answers.
        answering = [rule.endpoint for rule in app.url_map.iter_rules()
                     if Notification(user=host, endpoint=rule.endpoint,
                                     endpoint_args=json.dumps({"visit_id": visit.id})).answer_links]
    assert answering == [answers.ANSWERED_ENDPOINT]


def test_only_the_answer_link_takes_a_post_without_a_csrf_token(app, client, auth, make_user):
    assert [endpoint for endpoint in app.view_functions if csrf_exempt(app, endpoint)] == ["answers.reply"]
    make_user("desk")
    auth.login("desk")
    assert client.post("/notifications/read-all", csrf=False).status_code == 400


def test_an_older_database_loses_the_table_that_repeated_the_visits_answer(app):
    """Single use is the visit's own answer: the table older code also wrote it to goes."""
    from models import create_tables
    from models.base import db
    with app.app_context():
        db.execute_sql("CREATE TABLE answer_link_use (id INTEGER PRIMARY KEY, answer VARCHAR(12))")
        create_tables()  # what init-db and make run do with a database made by older code
        assert "answer_link_use" not in db.get_tables()
