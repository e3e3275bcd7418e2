"""A person chooses where their notices go (通知方式); the admin reads why a robot's message
did not leave. Both at the desk tablet's size, in Chinese."""
import datetime as dt

import time_machine
from playwright.sync_api import expect

from models.notifications import NotificationChoice, notify
from models.users import User
from tasks.notifications import deliver_notifications
from tests.browser.conftest import log_in
from tests.test_channels import WAITING, Receiver


def test_a_host_sends_visitors_to_wecom_and_the_admin_reads_a_robots_refusal(
        app, live_server, new_context, make_user, screenshot):
    make_user("root", "admin", display_name="管理员")
    host = make_user("zhang", "specialist", display_name="张伟", email="zhang@example.com")
    app.config.update(SMTP_HOST="127.0.0.1", BABEL_DEFAULT_LOCALE="zh_Hans")
    receiver = Receiver()
    try:
        with app.app_context():
            User.update(wecom_webhook=receiver.url("wecom")).where(User.id == host.id).execute()

        page = new_context().new_page()
        log_in(page, live_server, "zhang")
        page.goto(f"{live_server}/notifications/")
        page.get_by_role("link", name="通知方式").click()
        visitors = page.get_by_role("group", name="前台访客")
        expect(visitors.get_by_label("企业微信")).to_be_checked()  # no choice yet: every channel
        visitors.get_by_label("电子邮件").uncheck()
        for kind in ("快递信件与电话留言", "投诉与回访", "报修、突发事件与值班日志", "审批：采购、先行赔付、用车、广播",
                     "提醒及其他"):
            group = page.get_by_role("group", name=kind)
            group.get_by_label("企业微信").uncheck()
        screenshot(page, "channels")
        page.get_by_role("button", name="保存").click()
        expect(page.get_by_text("已保存")).to_be_visible()
        with app.app_context():
            assert {r.kind: r.channels for r in NotificationChoice.select()}["visitors"] == "wecom"

        receiver.answers = [(200, {"errcode": 93000, "errmsg": "invalid webhook url"})] * 20
        with time_machine.travel(dt.datetime(2026, 11, 23, 2, 0), tick=False), app.app_context():
            notify(User.get_by_id(host.id), WAITING, link=("visitors.desk", {}), urgent=True, name="李明",
                   organisation="华信科技")
            deliver_notifications.call_local()

        admin = new_context().new_page()
        log_in(admin, live_server, "root")
        admin.goto(f"{live_server}/admin/users")
        admin.get_by_role("link", name="发送失败的消息").first.click()
        table = admin.locator("table").first
        expect(table).to_contain_text("张伟")
        expect(table).to_contain_text("企业微信")
        expect(table).to_contain_text("93000 invalid webhook url")
        screenshot(admin, "failed-messages")
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


def test_the_admin_pastes_a_wrong_robot_address_and_is_told_beside_the_field(
        app, live_server, new_context, make_user, screenshot):
    make_user("root", "admin", display_name="管理员")
    person = make_user("zhang", "specialist", display_name="张伟")
    page = new_context().new_page()
    log_in(page, live_server, "root")
    page.goto(f"{live_server}/admin/users/{person.id}")
    page.get_by_label("企业微信群机器人 Webhook").fill("https://qyapi.weixin.qq.com/cgi-bin/webhook/send")
    page.get_by_label("钉钉加签密钥").fill("SEC0123456789abcdef")
    page.get_by_role("button", name="保存").click()
    field = page.locator("#wecom_webhook-field")
    expect(field).to_contain_text("请粘贴机器人的 Webhook 地址")
    expect(page.locator("#dingtalk_secret-field")).to_contain_text("请同时粘贴 Webhook 地址")
    expect(page.get_by_label("企业微信群机器人 Webhook")).to_have_value("https://qyapi.weixin.qq.com/cgi-bin/webhook/send")
    field.scroll_into_view_if_needed()
    screenshot(page, "robot-fields", full_page=False)
    page.get_by_label("企业微信群机器人 Webhook").fill("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6")
    page.get_by_label("钉钉机器人 Webhook").fill("https://oapi.dingtalk.com/robot/send?access_token=abc123")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_text("已保存")).to_be_visible()
    with app.app_context():
        assert User.get_by_id(person.id).dingtalk_webhook.endswith("access_token=abc123")
