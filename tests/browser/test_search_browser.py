"""Finding the way staff type, at 768×1024 in Chinese on the demo's data: a host by the initials of
the name, a complaint by a phrase from the middle of its description."""
import pytest
from playwright.sync_api import expect

from models.demo import seed_demo
from tests.browser.conftest import log_in


@pytest.fixture
def demo(app, monkeypatch):
    monkeypatch.setattr("models.demo.generate_password", lambda: "demo-password-1")
    with app.app_context():
        seed_demo()
    return "demo-password-1"


def test_a_clerk_finds_a_host_by_initials_and_a_complaint_by_a_middle_phrase(live_server, new_context, demo,
                                                                              screenshot):
    desk = new_context().new_page()
    log_in(desk, live_server, "desk", demo)
    desk.goto(f"{live_server}/visitors/new")
    picker = desk.get_by_placeholder("姓名或拼音，如 zw、zhangwei")
    picker.press_sequentially("zw")
    options = desk.locator("#host-options")
    expect(options.locator(".host-option")).to_have_count(1)
    expect(options).to_contain_text("张伟")
    options.get_by_text("张伟").click()
    expect(desk.locator("#host-options input[name=host]:checked")).to_have_count(1)
    screenshot(desk, "host-by-initials", full_page=False)

    clerk = new_context().new_page()
    log_in(clerk, live_server, "specialist", demo)
    clerk.goto(f"{live_server}/complaints?state=all")
    clerk.get_by_label("编号、客户、电话或投诉内容中的词").press_sequentially("空调不制冷")
    rows = clerk.locator("#complaint-rows")
    expect(rows).to_contain_text("会议室空调不制冷，影响客户洽谈")
    expect(rows).not_to_contain_text("电动自行车充电器")
    screenshot(clerk, "complaint-by-middle-phrase")
