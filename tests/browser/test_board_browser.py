"""The wall screen at 1920×1080: a visitor registered at the desk shows within 5 s."""
import re

from playwright.sync_api import expect

from models.board import create_token
from tests.browser.conftest import WALL, log_in
from tests.conftest import PASSWORD


def test_board_shows_a_new_visitor_within_five_seconds(app, live_server, new_context, make_user, screenshot):
    admin = make_user("boss", "admin")
    make_user("desk", "front_desk", display_name="王芳")
    make_user("zhang", "specialist", display_name="张伟")
    with app.app_context():
        _row, token = create_token(admin, "大堂屏幕")
    wall = new_context(viewport=WALL).new_page()
    wall.goto(f"{live_server}/board?token={token}")
    waiting = wall.locator(".tile.big .number")
    expect(waiting).to_have_text("0")

    desk = new_context().new_page()
    log_in(desk, live_server, "desk", PASSWORD)
    desk.goto(f"{live_server}/visitors/new")
    desk.get_by_label("电话").fill("13800138000")
    desk.get_by_label("访客姓名").fill("李明")
    desk.get_by_label(re.compile("张伟")).check()
    desk.get_by_role("button", name="登记并通知被访人").click()
    expect(desk.get_by_role("heading", name=re.compile("李明"))).to_be_visible()

    expect(waiting).to_have_text("1", timeout=6_000)
    expect(wall.locator(".waits")).to_contain_text("找 张伟")
    with app.app_context():  # the host answers: the wall shows it, with its time
        from models.visitors import Visit, apply
        apply(Visit.get().host, Visit.get().id, "answer", reply="coming")
    expect(wall.locator(".waits")).to_contain_text(re.compile(r"马上来 coming \d\d:\d\d"), timeout=6_000)
    assert wall.evaluate("document.documentElement.scrollHeight <= window.innerHeight")
    screenshot(wall, "wall", full_page=False)
