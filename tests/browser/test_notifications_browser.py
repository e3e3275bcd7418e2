"""A notification opens the page it is about (built from its endpoint), and the admin
reads why its e-mail could not be sent."""
import datetime as dt
import re

from playwright.sync_api import expect

from models.duty import add_entry, open_day
from tasks.notifications import deliver_notifications
from tests.browser.conftest import log_in
from tests.conftest import PASSWORD


def test_the_manager_opens_a_major_event_from_the_bell_and_the_admin_sees_a_failed_mail(
        app, live_server, new_context, make_user, screenshot, monkeypatch):
    desk = make_user("desk", "front_desk", display_name="王芳")
    make_user("manager", "service_manager", display_name="杨磊", email="yang@example.com")
    make_user("root", "admin", display_name="管理员")
    app.config.update(SMTP_HOST="127.0.0.1")

    def refused(*args, **kwargs):
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr("smtplib.SMTP", refused)
    now = dt.datetime.utcnow()
    with app.app_context():
        day = open_day(desk, (now + dt.timedelta(hours=8)).date(), "day")
        add_entry(desk, day, now, "accident", "地下室漏水", major=True)
        deliver_notifications.call_local()

    manager = new_context().new_page()
    log_in(manager, live_server, "manager", PASSWORD)
    manager.get_by_role("link", name=re.compile("通知")).first.click()
    manager.get_by_role("button", name=re.compile("地下室漏水")).click()
    expect(manager).to_have_url(re.compile(rf"/duty/{day.id}$"))
    expect(manager.get_by_text("地下室漏水").first).to_be_visible()
    screenshot(manager, "duty-day-from-the-bell")

    admin = new_context().new_page()
    log_in(admin, live_server, "root", PASSWORD)
    admin.goto(f"{live_server}/audit?type=notification")
    rows = admin.locator("table")
    expect(rows).to_contain_text("发送失败")
    expect(rows).to_contain_text("Connection refused")
    screenshot(admin, "failed-mail-in-the-audit")
