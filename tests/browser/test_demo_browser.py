"""The first run as a newcomer sees it: the demo's complaint list, procurement list and duty
log on the tablet, and the wall board, all with something in them."""
import re

from playwright.sync_api import expect

from models.board import create_token
from models.demo import seed_demo
from models.users import User
from tests.browser.conftest import WALL, log_in


def test_a_newcomer_sees_every_area_working(app, live_server, new_context, screenshot, monkeypatch):
    monkeypatch.setattr("models.demo.generate_password", lambda: "demo-password-1")
    with app.app_context():
        seed_demo()
        _row, token = create_token(User.by_username("manager"), "大堂屏幕")

    page = new_context().new_page()
    log_in(page, live_server, "specialist", "demo-password-1")
    page.goto(f"{live_server}/complaints")
    rows = page.locator("tbody tr")
    expect(rows.first).to_contain_text("VIP")
    assert rows.count() >= 15
    expect(page.get_by_text("已逾期").first).to_be_visible()
    screenshot(page, "complaints", full_page=False)

    page = new_context().new_page()
    log_in(page, live_server, "logistics", "demo-password-1")
    page.goto(f"{live_server}/procurement")
    for state in ("草稿（未提交）", "已批准，待采购", "已下单", "已退回申请人"):
        expect(page.locator("td", has_text=state).first).to_be_visible()
    expect(page.get_by_text("交货逾期")).to_be_visible()
    screenshot(page, "procurement")

    page = new_context().new_page()
    log_in(page, live_server, "desk", "demo-password-1")
    page.goto(f"{live_server}/duty")
    expect(page.get_by_role("heading", name=re.compile("值班日志 · .* · (白班|夜班)"))).to_be_visible()
    expect(page.get_by_text("投诉来电：何先生")).to_be_visible()
    screenshot(page, "duty")
    page.goto(f"{live_server}/duty/days")
    expect(page.get_by_text("已签字").first).to_be_visible()

    wall = new_context(viewport=WALL).new_page()
    wall.goto(f"{live_server}/board?token={token}")
    expect(wall.locator(".tile.big .number")).to_have_text("2")
    expect(wall.get_by_text("逾期").first).to_be_visible()
    screenshot(wall, "wall", full_page=False)
