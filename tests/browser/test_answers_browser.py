"""A host answers the front desk from the link in a message, on a tablet that is not logged in."""
import re

from playwright.sync_api import expect

from models.visitors import Visit, register_visit
from tasks.notifications import deliver_notifications
from tests.browser.conftest import log_in


def test_a_host_taps_the_link_in_the_mail_and_the_desk_sees_the_answer(
        app, live_server, new_context, make_user, screenshot, monkeypatch):
    make_user("desk", "front_desk", display_name="王芳")
    host = make_user("zhang", "specialist", display_name="张伟", locale="zh_Hans", email="zhang@example.com")
    app.config.update(SMTP_HOST="127.0.0.1", PUBLIC_URL=live_server)
    sent = []

    class StubSMTP:
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def send_message(self, message):
            sent.append(message.get_content())
    monkeypatch.setattr("smtplib.SMTP", StubSMTP)
    with app.app_context():
        register_visit(None, visitor_name="李明", phone="13800138000", organisation="华信科技", purpose="meeting",
                       purpose_other="", host=host, companions=0, id_number="", car_plate="", note="",
                       arrived_at=Visit.created_at.default())
        deliver_notifications.call_local()
    link = re.search(r"^请访客直接上楼: (\S+)$", sent[0], re.M).group(1)

    # A fresh browser, as from the mail app: no session, no login page.
    page = new_context(locale="zh-CN").new_page()
    page.goto(link)
    expect(page.get_by_role("heading", name="李明 在前台等您")).to_be_visible()
    expect(page.get_by_text("把这个回复发给前台？")).to_be_visible()
    screenshot(page, "question")
    page.get_by_role("button", name="请访客直接上楼").click()
    expect(page.get_by_role("heading", name="已将您的回复告知前台。")).to_be_visible()
    expect(page.get_by_text("请访客直接上楼")).to_be_visible()
    screenshot(page, "answered")
    # The same link again says it was used.
    page.goto(link)
    expect(page.get_by_text(re.compile("您已回复：请访客直接上楼"))).to_be_visible()
    screenshot(page, "used")

    desk = new_context(locale="zh-CN").new_page()
    log_in(desk, live_server, "desk")
    desk.goto(f"{live_server}/visitors")
    expect(desk.locator("#desk-board")).to_contain_text("被访人请访客上楼")
    screenshot(desk, "desk")
