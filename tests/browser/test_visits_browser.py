"""Home and repair visits at 768×1024 in Chinese, on the demo's data; the wall board's line at 1920×1080."""
import re

import pytest
from playwright.sync_api import expect

from models.board import create_token
from models.demo import seed_demo
from tests.browser.conftest import WALL, log_in


@pytest.fixture
def demo(app, monkeypatch):
    monkeypatch.setattr("models.demo.generate_password", lambda: "demo-password-1")
    with app.app_context():
        seed_demo()
    return "demo-password-1"


def test_the_visit_pages_in_chinese(app, live_server, page, demo, screenshot):
    log_in(page, live_server, "specialist", demo)
    page.goto(f"{live_server}/home-visits")
    expect(page.locator("#home-visit-count")).to_contain_text("本月已上门拜访")
    expect(page.locator("#visit-candidates")).to_contain_text("安排拜访")
    screenshot(page, "home-visits")

    page.goto(f"{live_server}/service-visits")
    expect(page.locator("#repair-pass-rate")).to_contain_text("维修质量合格率")
    screenshot(page, "service-visits")
    page.locator("#open-visits").get_by_role("row").filter(has_text="已维修，待顾客确认").get_by_role("link").click()
    expect(page.locator("#visit-state")).to_have_text("已维修，待顾客确认")
    expect(page.locator("#action-close")).to_have_count(0)  # no close before the customer confirms
    page.get_by_text("顾客反馈：不合格（返修）").first.click()
    page.locator("#action-confirm_not_good").get_by_role("button").click()
    expect(page.locator("#confirm_not_good-note-error")).to_have_text("请写下客户不满意的地方。")
    screenshot(page, "service-visit-refused")
    page.locator("#confirm_not_good-note").fill("仍有异响")
    page.locator("#action-confirm_not_good").get_by_role("button").click()
    expect(page.locator("#visit-state")).to_have_text("不合格：待返修")


def test_the_board_shows_the_months_home_visits(app, live_server, new_context, demo, screenshot):
    from models.users import User
    with app.app_context():
        _row, token = create_token(User.by_username("manager"), "大堂屏幕")
    wall = new_context(viewport=WALL).new_page()
    wall.goto(f"{live_server}/board?token={token}")
    expect(wall.locator("#board-home-visits")).to_contain_text(re.compile(r"上门拜访.*\d+.*≥ 5", re.S))
    screenshot(wall, "wall", full_page=False)
    assert wall.evaluate("document.documentElement.scrollHeight <= window.innerHeight")
