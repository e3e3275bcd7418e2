"""Messages where people are: WeCom, DingTalk and Feishu robots, chosen per kind of notice,
sent from the outbox once, retried after a failure, held in quiet hours unless urgent.

No network reaches the vendors here: each robot's webhook points at a local HTTP receiver
that records what it was sent, and answers as it is told (a failure, then recovery)."""
import base64
import datetime as dt
import hashlib
import hmac
import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine

from models.audit import AuditEntry
from models.notifications import (
    N_, DepartmentDelivery, Notification, NotificationChoice, NotificationDelivery, deliver_pending, notify,
    notify_department,
)
from models.users import Department, User
from tasks.notifications import SENDERS, deliver_notifications

WAITING = N_("%(name)s (%(organisation)s) is waiting for you at the front desk.")
WELCOME = N_("Welcome to the service portal, %(name)s.")
DAY = dt.datetime(2026, 11, 23, 2, 0)  # 10:00 in Shanghai
NIGHT = dt.datetime(2026, 11, 23, 15, 0)  # 23:00 in Shanghai: inside the default quiet hours 22:00-08:00
PATHS = {"wecom": "/cgi-bin/webhook/send?key=k-1", "dingtalk": "/robot/send?access_token=abc123",
         "feishu": "/open-apis/bot/v2/hook/0f1e2d3c"}
OK = {"wecom": {"errcode": 0, "errmsg": "ok"}, "dingtalk": {"errcode": 0, "errmsg": "ok"},
      "feishu": {"code": 0, "msg": "success", "data": {}}}


class Receiver:
    """A robot's server on 127.0.0.1: records each request (and when it came); answers from
    `answers` while any are left ((status, JSON body)), then with the vendor's "ok" — after
    `delay` seconds, as a robot that hangs does (the request is recorded, so it has arrived)."""

    def __init__(self):
        self.requests = []
        self.answers = []
        self.delay = 0
        self.released = threading.Event()  # set at the end of the test: a hanging answer stops waiting
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers),
                                          "json": json.loads(body), "at": time.monotonic()})
                if receiver.delay:
                    receiver.released.wait(receiver.delay)
                status, answer = receiver.answers.pop(0) if receiver.answers else (200, receiver.ok(self.path))
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(json.dumps(answer).encode())
                except (BrokenPipeError, ConnectionResetError):
                    pass  # answered too late: the portal stopped waiting

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def ok(self, path):
        return next(OK[name] for name, known in PATHS.items() if path.startswith(known.split("?")[0]))

    def url(self, channel):
        return f"http://127.0.0.1:{self.server.server_port}{PATHS[channel]}"

    def close(self):
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    served = Receiver()
    yield served
    served.close()


@pytest.fixture
def hanging():
    """A second robot's server, one that takes the message and then does not answer in time."""
    served = Receiver()
    served.delay = 5
    yield served
    served.close()


#: Seconds a robot has to answer in these tests (ROBOT_TIMEOUT), well under `hanging`'s delay.
TIMEOUT = 0.4


def closed_port_url(channel):
    """A webhook on a port nothing listens on: the connection is refused, nothing is sent."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}{PATHS[channel]}"


@pytest.fixture
def day():
    with time_machine.travel(DAY, tick=False) as traveller:
        yield traveller


@pytest.fixture
def site(app):
    app.config.update(PUBLIC_URL="https://portal.example.com/", BABEL_DEFAULT_LOCALE="zh_Hans")
    return app


def robot_user(make_user, receiver, channel, secret="", username="zhang", **fields):
    user = make_user(username, "specialist", display_name="张伟", locale="zh_Hans", **fields)
    User.update({f"{channel}_webhook": receiver.url(channel), **({f"{channel}_secret": secret} if secret else {})}
                ).where(User.id == user.id).execute()
    return User.get_by_id(user.id)


def sign(key, message):
    return base64.b64encode(hmac.new(key.encode(), message.encode(), hashlib.sha256).digest()).decode()


@pytest.mark.parametrize("channel", ["wecom", "dingtalk", "feishu"])
def test_each_robot_gets_its_documented_text_message_with_the_answer_links_once(
        channel, site, make_user, receiver, day, monkeypatch):
    secret = {"wecom": "", "dingtalk": "SEC0123456789abcdef", "feishu": "f3ishuS3cret"}[channel]
    user = robot_user(make_user, receiver, channel, secret)
    monkeypatch.setattr("models.notifications.ANSWER_PROVIDERS",
                        [lambda note: [("马上到前台", "https://portal.example.com/a/coming-token")]])
    with site.app_context():
        notify(user, WAITING, link=("visitors.desk", {}), urgent=True, name="李明", organisation="华信科技")
        assert deliver_notifications.call_local() == 1
        assert deliver_notifications.call_local() == 0
    assert len(receiver.requests) == 1
    sent = receiver.requests[0]
    assert sent["headers"]["Content-Type"].startswith("application/json")
    body = sent["json"]
    expected = ("李明（华信科技）正在前台等您。\nhttps://portal.example.com/visitors\n"
                "马上到前台: https://portal.example.com/a/coming-token")
    if channel == "wecom":
        assert sent["path"] == PATHS["wecom"]
        assert body == {"msgtype": "text", "text": {"content": expected}}
    elif channel == "dingtalk":
        query = parse_qs(urlsplit(sent["path"]).query)
        assert query["access_token"] == ["abc123"]
        stamp = query["timestamp"][0]
        assert int(stamp) == int(DAY.replace(tzinfo=dt.timezone.utc).timestamp() * 1000)
        assert query["sign"] == [sign(secret, f"{stamp}\n{secret}")]  # encoded once, as DingTalk checks it
        assert body == {"msgtype": "text", "text": {"content": expected}}
    else:
        assert sent["path"] == PATHS["feishu"]
        stamp = str(int(DAY.replace(tzinfo=dt.timezone.utc).timestamp()))
        assert body == {"msg_type": "text", "content": {"text": expected}, "timestamp": stamp,
                        "sign": sign(f"{stamp}\n{secret}", "")}
    assert NotificationDelivery.get().sent_at is not None


def test_a_robot_that_fails_is_retried_after_the_back_off_and_sends_once(site, make_user, receiver, day):
    user = robot_user(make_user, receiver, "wecom")
    receiver.answers = [(500, {"error": "busy"})]
    with site.app_context():
        notify(user, WELCOME, name="张伟")
        assert deliver_notifications.call_local() == 0
        row = NotificationDelivery.get()
        assert row.sent_at is None and "500" in row.error and row.due_at == DAY + dt.timedelta(minutes=1)
        assert deliver_notifications.call_local() == 0  # not due yet
        assert len(receiver.requests) == 1
        day.shift(dt.timedelta(minutes=1))
        assert deliver_notifications.call_local() == 1
        assert deliver_notifications.call_local() == 0
    assert len(receiver.requests) == 2 and receiver.requests[0]["json"] == receiver.requests[1]["json"]
    assert NotificationDelivery.get().sent_at is not None


def test_a_refusal_answered_with_200_is_a_failure_with_the_robots_reason(site, client, auth, make_user, receiver,
                                                                        day):
    """The robots refuse with HTTP 200 and an error code: that is not "sent"."""
    make_user("boss", "admin")
    user = robot_user(make_user, receiver, "dingtalk")
    receiver.answers = [(200, {"errcode": 310000, "errmsg": "keywords not in content"})] * 8
    with site.app_context():
        notify(user, WELCOME, name="张伟")
        deliver_notifications.call_local()
        row = NotificationDelivery.get()
        assert row.sent_at is None and row.error == "RobotRefused: 310000 keywords not in content"
        for _ in range(7):
            day.shift(dt.timedelta(days=1))
            deliver_notifications.call_local()
        assert NotificationDelivery.get().state == "given_up"
    assert len(receiver.requests) == 8
    auth.login("boss")
    page = client.get("/admin/deliveries?lang=zh").get_data(as_text=True)
    assert "张伟" in page and "钉钉" in page and "310000 keywords not in content" in page and "已放弃" in page


def test_a_consumer_restart_after_the_claim_never_sends_twice(site, client, auth, make_user, receiver, day):
    make_user("boss", "admin")
    user = robot_user(make_user, receiver, "feishu")

    def posted_then_killed(note, address):
        SENDERS["feishu"](note, address)
        raise KeyboardInterrupt  # the process is gone before it marks the row sent

    with site.app_context():
        notify(user, WELCOME, name="张伟")
        with pytest.raises(KeyboardInterrupt):
            deliver_pending({"feishu": posted_then_killed})
        for _ in range(3):
            day.shift(dt.timedelta(hours=1))
            assert deliver_notifications.call_local() == 0
        row = NotificationDelivery.get()
        assert row.sent_at is None and row.due_at is None and row.state == "interrupted"
        assert AuditEntry.get(AuditEntry.action == "delivery_interrupted").record_type == "notification"
    assert len(receiver.requests) == 1
    auth.login("boss")
    page = client.get("/admin/deliveries?lang=zh").get_data(as_text=True)
    assert "中断" in page and "飞书" in page


def test_quiet_hours_hold_what_is_not_urgent_and_let_an_urgent_notice_through(site, make_user, receiver):
    user = robot_user(make_user, receiver, "wecom")
    with time_machine.travel(NIGHT, tick=False) as night, site.app_context():
        notify(user, WELCOME, name="张伟")
        notify(user, WAITING, link=("visitors.desk", {}), urgent=True, name="李明", organisation="华信科技")
        assert deliver_notifications.call_local() == 1
        assert "李明" in receiver.requests[0]["json"]["text"]["content"]
        held = NotificationDelivery.get(NotificationDelivery.urgent == False)  # noqa: E712
        assert held.due_at == dt.datetime(2026, 11, 24, 0, 0)  # 08:00 in Shanghai
        night.move_to(dt.datetime(2026, 11, 23, 23, 59))
        assert deliver_notifications.call_local() == 0
        night.move_to(dt.datetime(2026, 11, 24, 0, 0))
        assert deliver_notifications.call_local() == 1
    assert len(receiver.requests) == 2 and "欢迎" in receiver.requests[1]["json"]["text"]["content"]


def test_a_retry_that_would_fall_in_quiet_hours_waits_for_their_end_unless_urgent(site, make_user, receiver):
    user = robot_user(make_user, receiver, "wecom")
    receiver.answers = [(500, {}), (500, {})]
    with time_machine.travel(dt.datetime(2026, 11, 23, 13, 59, 30), tick=False), site.app_context():  # 21:59:30
        notify(user, WELCOME, name="张伟")
        notify(user, WAITING, link=("visitors.desk", {}), urgent=True, name="李明", organisation="华信科技")
        assert deliver_notifications.call_local() == 0
        retries = {d.urgent: d.due_at for d in NotificationDelivery.select()}
    assert retries == {False: dt.datetime(2026, 11, 24, 0, 0), True: dt.datetime(2026, 11, 23, 14, 0, 30)}


def test_a_host_routes_visitors_to_wecom_and_the_rest_to_the_bell_only(site, client, auth, make_user, receiver, day):
    user = robot_user(make_user, receiver, "wecom", email="zhang@example.com")
    site.config.update(SMTP_HOST="127.0.0.1")
    auth.login("zhang")
    page = client.get("/notifications/channels?lang=zh").get_data(as_text=True)
    assert "通知方式" in page and "企业微信" in page and "电子邮件" in page and "访客" in page
    response = client.post("/notifications/channels", data={"visitors": ["wecom"], "submission_key": "k1"})
    assert response.status_code == 303
    assert {row.kind: row.channels for row in NotificationChoice.select()}["visitors"] == "wecom"
    with site.app_context():
        notify(user, WAITING, link=("visitors.host_answer", {"visit_id": 1}), urgent=True, name="李明",
               organisation="华信科技")
        notify(user, WELCOME, link=("quality.index", {}), name="张伟")
        assert [d.channel for d in NotificationDelivery.select()] == ["wecom"]
        assert deliver_notifications.call_local() == 1
    assert len(receiver.requests) == 1 and "李明" in receiver.requests[0]["json"]["text"]["content"]
    assert AuditEntry.get(AuditEntry.record_type == "notification_choice").actor_id == user.id


def test_a_channel_nobody_set_up_for_a_person_is_not_offered(client, auth, make_user):
    make_user("zhang", "specialist")
    auth.login("zhang")
    page = client.get("/notifications/channels?lang=zh").get_data(as_text=True)
    assert "目前只有门户中的铃铛" in page and 'name="visitors"' not in page
    response = client.post("/notifications/channels", data={"visitors": ["wecom"], "submission_key": "k2"})
    assert response.status_code == 422  # not a choice for them: refused, nothing stored
    assert NotificationChoice.select().count() == 0


def test_a_department_robot_gets_an_urgent_repair_once_however_many_are_told(site, make_user, receiver, day):
    from models import repairs
    logistics = make_user("li", "logistics", department="后勤部")
    make_user("wu", "logistics", department="后勤部")
    reporter = make_user("desk", "front_desk", department="前台")
    Department.update(wecom_webhook=receiver.url("wecom")).where(Department.name == "后勤部").execute()
    with site.app_context():
        repair = repairs.report(reporter, place="三楼会议室", what="空调漏水", urgency="urgent")
        # Telling the department of the same event again (a repeated run) adds nothing.
        assert notify_department(logistics.department_id, f"repair-reported:{repair.id}", N_("x"), urgent=True) == 1
        assert DepartmentDelivery.select().count() == 1
        assert deliver_notifications.call_local() == 1
        assert deliver_notifications.call_local() == 0
    assert len(receiver.requests) == 1
    content = receiver.requests[0]["json"]["text"]["content"]
    assert repair.number in content and "三楼会议室" in content
    assert f"https://portal.example.com/repairs/{repair.id}" in content


def test_a_complaint_assigned_to_a_department_reaches_its_group_robot(site, make_user, receiver, day, people):
    from tests.helpers import make_complaint, walk_to
    Department.update(feishu_webhook=receiver.url("feishu")).where(Department.name == "Repairs").execute()
    complaint = make_complaint(site, people["spec"])
    walk_to(site, people, complaint, "assigned")
    with site.app_context():
        assert deliver_notifications.call_local() == 1
    assert len(receiver.requests) == 1
    assert f"投诉 {complaint.number}" in receiver.requests[0]["json"]["content"]["text"]


def test_the_admin_sets_a_persons_robots_and_a_wrong_address_is_refused_beside_the_field(client, admin, make_user):
    user = make_user("zhang", "specialist", display_name="张伟")
    form = {"display_name": "张伟", "department": "0", "roles": ["specialist"], "is_active": "y", "locale": "",
            "wecom_webhook": "https://example.com/not-a-robot", "dingtalk_webhook": "",
            "dingtalk_secret": "SEC0123456789abcdef", "feishu_webhook": "", "feishu_secret": ""}
    response = client.post(f"/admin/users/{user.id}?lang=zh", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=" in page  # the example, beside the field
    assert "请同时粘贴 Webhook 地址" in page
    assert 'value="https://example.com/not-a-robot"' in page  # nothing typed is lost
    form |= {"wecom_webhook": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx",
             "dingtalk_webhook": "https://oapi.dingtalk.com/robot/send?access_token=abc123"}
    assert client.post(f"/admin/users/{user.id}", data=form).status_code == 303
    stored = User.get_by_id(user.id)
    assert stored.wecom_webhook.endswith("key=693a91f6-7xxx") and stored.dingtalk_secret == "SEC0123456789abcdef"
    change = AuditEntry.select().where(AuditEntry.record_type == "user", AuditEntry.action == "update").get()
    assert "wecom_webhook" in change.changes and "SEC0123456789abcdef" not in change.changes


def test_the_admin_sets_a_departments_group_robot(client, admin, make_user):
    department = Department.create(name="后勤部")
    page = client.get(f"/admin/departments/{department.id}/robots?lang=zh").get_data(as_text=True)
    assert "群机器人" in page
    response = client.post(f"/admin/departments/{department.id}/robots",
                           data={"feishu_webhook": "https://open.feishu.cn/open-apis/bot/v2/hook/0f1e-2d3c"})
    assert response.status_code == 303
    assert Department.get_by_id(department.id).feishu_webhook.endswith("/hook/0f1e-2d3c")


def _plan(query):
    from models.base import db, is_sqlite
    sql, params = query.sql()
    if is_sqlite():
        return " ".join(str(row[-1]) for row in db.execute_sql("EXPLAIN QUERY PLAN " + sql, params))
    with db.atomic():
        db.execute_sql("SET LOCAL enable_seqscan = off")  # a test's few rows would be read in a scan anyway
        return " ".join(row[0] for row in db.execute_sql("EXPLAIN " + sql, params))


def test_the_failures_page_reads_only_the_unsent_rows_of_each_outbox(app):
    """Every message ever sent stays in the outboxes: the admin's list is answered from the index of
    the unsent ones, not a scan of them all."""
    for outbox in (NotificationDelivery, DepartmentDelivery):
        plan = _plan(outbox.failing().limit(51))
        assert f"{outbox._meta.table_name}_unsent" in plan, plan


def test_the_failures_page_shows_fifty_and_then_more(day, site, client, admin, make_user):
    user = make_user("zhang", "specialist", display_name="张伟")
    with site.app_context():
        for n in range(53):
            notify(user, WELCOME, name=f"第{n}位")
    NotificationDelivery.insert_many(
        [{"notification": note.id, "channel": "wecom", "due_at": None, "attempts": 8, "error": "URLError: refused"}
         for note in Notification.select()]).execute()
    page = client.get("/admin/deliveries?lang=zh").get_data(as_text=True)
    assert page.count("URLError: refused") == 50 and "显示更多" in page
    more = client.get("/admin/deliveries?page=2", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert more.count("URLError: refused") == 3 and "显示更多" not in more


def test_a_robot_that_took_the_message_but_did_not_answer_is_not_sent_it_again(site, client, auth, make_user,
                                                                              hanging, day):
    """Never twice beats at least once: the request was out, the robot may have posted it (the bell has it)."""
    make_user("boss", "admin")
    site.config["ROBOT_TIMEOUT"] = TIMEOUT
    user = robot_user(make_user, hanging, "wecom")
    with site.app_context():
        notify(user, WELCOME, name="张伟")
        assert deliver_notifications.call_local() == 0
        row = NotificationDelivery.get()
        assert (row.state, row.due_at, row.sent_at, row.attempts) == ("unanswered", None, None, 1)
        hanging.delay = 0
        for _ in range(3):
            day.shift(dt.timedelta(hours=1))
            assert deliver_notifications.call_local() == 0
    assert len(hanging.requests) == 1
    entry = AuditEntry.get(AuditEntry.action == "delivery_unanswered")
    assert entry.record_type == "notification" and "timed out" in entry.reason
    auth.login("boss")
    page = client.get("/admin/deliveries?lang=zh").get_data(as_text=True)
    assert "结果未知：不再发送" in page and "已发出，但未及时收到回应" in page


def test_a_robot_that_cannot_be_reached_is_tried_again_and_its_other_rows_wait_untried(site, make_user, receiver,
                                                                                     day):
    """Refused: nothing was sent, so it is retried; and its next row is not tried in the same sweep."""
    site.config["ROBOT_TIMEOUT"] = TIMEOUT
    user = robot_user(make_user, receiver, "wecom")
    User.update(wecom_webhook=closed_port_url("wecom")).where(User.id == user.id).execute()
    with site.app_context():
        first = notify(user, WELCOME, name="一")
        second = notify(user, WELCOME, name="二")
        assert deliver_notifications.call_local() == 0
        tried, untried = (NotificationDelivery.get(NotificationDelivery.notification == note) for note in (first, second))
        assert tried.state == "retrying" and tried.attempts == 1 and "refused" in tried.error
        assert (untried.due_at, untried.attempts, untried.error) == (DAY, 0, "")
        User.update(wecom_webhook=receiver.url("wecom")).where(User.id == user.id).execute()  # the robot is back
        day.shift(dt.timedelta(minutes=1))
        assert deliver_notifications.call_local() == 2
    assert len(receiver.requests) == 2


def test_a_hanging_robot_holds_up_neither_the_urgent_message_nor_the_sweep(site, make_user, receiver, hanging, day):
    site.config["ROBOT_TIMEOUT"] = TIMEOUT
    li = robot_user(make_user, hanging, "wecom", username="li")
    zhang = robot_user(make_user, receiver, "dingtalk", username="zhang")
    with site.app_context():
        for n in range(4):  # older than the urgent notice, and on the channel swept first
            notify(li, WELCOME, name=f"第{n}位")
        notify(zhang, WAITING, link=("visitors.desk", {}), urgent=True, name="李明", organisation="华信科技")
        started = time.monotonic()
        assert deliver_notifications.call_local() == 1
        took = time.monotonic() - started
        # The urgent notice went first, before the hanging robot was tried once; its other three
        # rows waited for the next sweep, untried, rather than out a timeout each.
        assert len(receiver.requests) == 1 and "李明" in receiver.requests[0]["json"]["text"]["content"]
        assert len(hanging.requests) == 1 and receiver.requests[0]["at"] < hanging.requests[0]["at"]
        assert took < 2 * TIMEOUT
        rows = list(NotificationDelivery.select().where(NotificationDelivery.channel == "wecom")
                    .order_by(NotificationDelivery.id))
        assert rows[0].state == "unanswered" and [(r.due_at, r.attempts) for r in rows[1:]] == [(DAY, 0)] * 3


WECOM_HOOK = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7b2c-4e1d-8f3a-0c9d1e2f7xxx"
DINGTALK_HOOK = "https://oapi.dingtalk.com/robot/send?access_token=5c1b8e7d9a0f4e3b2d6c8a1f0e9d7b3aabc1"


def test_a_robots_token_is_masked_in_the_audit_log_and_on_the_page_and_its_secret_never_shown(
        client, admin, make_user):
    user = make_user("zhang", "specialist", display_name="张伟")
    form = {"display_name": "张伟", "department": "0", "roles": ["specialist"], "is_active": "y", "locale": "",
            "wecom_webhook": WECOM_HOOK, "dingtalk_webhook": DINGTALK_HOOK, "dingtalk_secret": "SEC0123456789abcdef",
            "feishu_webhook": "", "feishu_secret": ""}
    assert client.post(f"/admin/users/{user.id}", data=form).status_code == 303
    change = AuditEntry.get(AuditEntry.record_type == "user", AuditEntry.action == "update")
    assert "693a91f6" not in change.changes and "5c1b8e7d" not in change.changes
    assert json.loads(change.changes)["wecom_webhook"] == ["", "qyapi.weixin.qq.com …7xxx"]
    assert "qyapi.weixin.qq.com …7xxx" in client.get("/audit?lang=zh").get_data(as_text=True)

    page = client.get(f"/admin/users/{user.id}?lang=zh").get_data(as_text=True)
    assert "693a91f6" not in page and "5c1b8e7d" not in page and "SEC0123456789abcdef" not in page
    assert 'value="qyapi.weixin.qq.com …7xxx"' in page and 'value="oapi.dingtalk.com …abc1"' in page
    assert re.search(r'<input[^>]*type="password"[^>]*name="dingtalk_secret"|<input[^>]*name="dingtalk_secret"'
                     r'[^>]*type="password"', page) and "已保存；留空则保留" in page

    # Saved again as the page shows it (masked addresses, empty secret): everything stays.
    shown = form | {"wecom_webhook": "qyapi.weixin.qq.com …7xxx", "dingtalk_webhook": "oapi.dingtalk.com …abc1",
                    "dingtalk_secret": "", "extension": "8001"}
    assert client.post(f"/admin/users/{user.id}", data=shown).status_code == 303
    stored = User.get_by_id(user.id)
    assert (stored.wecom_webhook, stored.dingtalk_webhook, stored.dingtalk_secret) == (
        WECOM_HOOK, DINGTALK_HOOK, "SEC0123456789abcdef")
    assert stored.extension == "8001"

    # Another robot's address: the old robot's secret does not go with it.
    other = "https://oapi.dingtalk.com/robot/send?access_token=ffff0000"
    assert client.post(f"/admin/users/{user.id}", data=shown | {"dingtalk_webhook": other}).status_code == 303
    assert (User.get_by_id(user.id).dingtalk_webhook, User.get_by_id(user.id).dingtalk_secret) == (other, "")


def test_a_departments_robot_is_audited_masked(client, admin):
    department = Department.create(name="后勤部")
    client.post(f"/admin/departments/{department.id}/robots", data={"wecom_webhook": WECOM_HOOK})
    assert Department.get_by_id(department.id).wecom_webhook == WECOM_HOOK
    change = AuditEntry.get(AuditEntry.record_type == "department", AuditEntry.action == "update")
    assert json.loads(change.changes) == {"wecom_webhook": ["", "qyapi.weixin.qq.com …7xxx"]}
    page = client.get(f"/admin/departments/{department.id}/robots").get_data(as_text=True)
    assert "693a91f6" not in page
