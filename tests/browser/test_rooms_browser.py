"""Meeting rooms at 768×1024 in Chinese: tap a free half-hour, book it with an invited visitor,
and the front desk checks that visitor in from its expected list with one tap."""
import datetime as dt

from playwright.sync_api import expect

from models import rooms
from models.visitors import Appointment
from tests.browser.conftest import log_in


def _mid_morning_zone():
    """A fixed zone where it is now about 10:00, so today's grid has free half-hours ahead
    whatever the hour the test runs (Etc/GMT-X is UTC+X)."""
    offset = (10 - dt.datetime.now(dt.timezone.utc).hour) % 24
    offset = offset - 24 if offset > 12 else offset
    return f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT"


def test_book_a_room_with_a_visitor_and_the_desk_checks_them_in(app, live_server, new_context, make_user, screenshot):
    app.config["TIMEZONE"] = _mid_morning_zone()
    make_user("org", "specialist", display_name="张伟")
    make_user("desk", "front_desk", display_name="王芳")
    with app.app_context():
        room = rooms.add_room(None, name="一号会议室", capacity=12, equipment="投影仪")

    page = new_context().new_page()
    log_in(page, live_server, "org")
    page.goto(f"{live_server}/rooms")
    expect(page.locator("#day-grid")).to_contain_text("一号会议室")
    screenshot(page, "day-grid", full_page=False)
    page.locator(f'[data-slot="{room.id}-12:00"]').click()
    expect(page.get_by_label("开始时间")).to_have_value("12:00")
    expect(page.get_by_label("会议室")).to_have_value(str(room.id))
    page.get_by_label("会议名称").fill("供应商洽谈")
    page.get_by_label("茶水饮料").check()
    page.locator("#guests-0-name").fill("陈静")
    page.locator("#guests-0-phone").fill("13700001111")
    page.locator("#guests-0-organisation").fill("远航物流")
    screenshot(page, "booking-form")
    page.get_by_role("button", name="预约").click()
    expect(page.locator("#booking-state")).to_have_text("已预订")
    expect(page.locator("#guests")).to_contain_text("陈静")
    expect(page.locator("#guests")).to_contain_text("前台待接待")
    screenshot(page, "booking")

    desk = new_context().new_page()
    log_in(desk, live_server, "desk")
    desk.goto(f"{live_server}/visitors")
    row = desk.locator("li.visit").filter(has_text="陈静")
    expect(row).to_contain_text("远航物流")
    expect(row).to_contain_text("张伟")
    screenshot(desk, "desk-expected")
    row.get_by_role("button", name="登记到访").click()
    desk.wait_for_url(lambda url: "/visitors/" in url and not url.endswith("/visitors"))
    expect(desk.locator("body")).to_contain_text("陈静")
    with app.app_context():
        assert Appointment.get().visit_id is not None

    page.reload()
    expect(page.locator("#guests")).to_contain_text("已登记来访")
