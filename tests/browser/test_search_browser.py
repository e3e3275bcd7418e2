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


def test_the_desk_finds_a_call_and_a_duty_log_entry_by_words_of_them(live_server, page, demo, screenshot):
    log_in(page, live_server, "desk", demo)
    page.goto(f"{live_server}/calls")
    page.get_by_label("按来电事由、来电人或号码查找来电").press_sequentially("油烟 扰民")
    found = page.locator("#calls-found")
    expect(found.get_by_role("heading")).to_have_text("与“油烟 扰民”相符的来电")
    expect(found).to_contain_text("何先生")
    screenshot(page, "calls")
    page.goto(f"{live_server}/duty/days")
    page.get_by_label("查找值班日志记录").press_sequentially("卫生间漏水")
    entries = page.locator("#duty-found")
    expect(entries).to_contain_text("卫生间水管漏水")
    screenshot(page, "duty-log")
