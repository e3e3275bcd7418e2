"""Quality at 768×1024 in Chinese, on the demo's data: a floor walk with a finding whose
rectification the person closes and the manager verifies; a regional check that fines a repeat."""
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


def _finding(page, item, person, lost, seen):
    page.get_by_label("检查项目").select_option(label=item)
    page.get_by_label("责任人").select_option(label=person)
    page.get_by_label("失分").fill(lost)
    page.get_by_label("检查发现").fill(seen)
    page.get_by_role("button", name="登记失分项").click()


def test_a_floor_walk_finding_is_rectified_and_verified(app, live_server, new_context, demo, screenshot):
    manager = new_context().new_page()
    log_in(manager, live_server, "manager", demo)
    manager.goto(f"{live_server}/quality")
    expect(manager.locator("#walk-state")).to_contain_text("今天尚未登记巡场")
    screenshot(manager, "overview")
    manager.locator("#start-walk").click()
    expect(manager.get_by_label("检查类别")).to_have_value("floor_walk")
    manager.get_by_role("button", name="开始").click()
    _finding(manager, "微笑服务（1）", "王芳", "2", "接待顾客时面无表情")
    expect(manager.locator("#finding-form")).to_contain_text("失分须大于 0 且不超过该项目的 1 分")
    expect(manager.get_by_label("检查发现")).to_have_value("接待顾客时面无表情")
    manager.get_by_label("失分").fill("0.5")
    manager.get_by_role("button", name="登记失分项").click()
    expect(manager.locator("#finding-rows")).to_contain_text("接待顾客时面无表情")
    manager.locator("#action-complete").get_by_role("button").click()
    expect(manager.locator("#inspection-state")).to_have_text("已完成")
    screenshot(manager, "floor-walk")

    desk = new_context().new_page()
    log_in(desk, live_server, "desk", demo)
    href = manager.locator("#finding-rows").get_by_role("link", name="未整改").get_attribute("href")
    desk.goto(f"{live_server}/quality")
    expect(desk.locator("#my-fines")).to_contain_text("50.00")
    desk.goto(f"{live_server}{href}")
    expect(desk.locator("#rectification-state")).to_have_text("未整改")
    desk.locator("#action-close").get_by_role("button").click()
    expect(desk.locator("#close-note-error")).to_have_text("请填写整改措施。")
    desk.get_by_label("整改措施").fill("已练习微笑服务并请组长抽查")
    desk.locator("#action-close").get_by_role("button").click()
    expect(desk.locator("#rectification-state")).to_have_text("已整改待复查")
    expect(desk.locator("#action-verify")).to_have_count(0)  # the owner does not verify their own work

    manager.goto(f"{live_server}{href}")
    manager.locator("#action-verify").get_by_role("button").click()
    expect(manager.locator("#rectification-state")).to_have_text("已复查通过")
    expect(manager.locator("#what-was-done")).to_have_text("已练习微笑服务并请组长抽查")
    screenshot(manager, "verified")


def test_a_regional_check_fines_a_repeat_three_times(app, live_server, page, demo, screenshot):
    log_in(page, live_server, "manager", demo)
    page.goto(f"{live_server}/quality/inspections/new")
    page.get_by_label("检查类别").select_option(label="区域月度检查")
    page.get_by_label("受检部门").select_option(label="前台接待")
    page.get_by_role("button", name="开始").click()
    _finding(page, "服务用语规范（2） · 前台接待", "李娜", "0.5", "接待时仍未使用礼貌用语")
    page.locator("#action-complete").get_by_role("button").click()
    expect(page.locator("#inspection-state")).to_have_text("已完成")
    row = page.locator("#finding-rows tr").filter(has_text="李娜")
    expect(row).to_contain_text("150.00")  # 0.5 counts as 1 point × ¥50 × 3, the repeat of the last regional check
    expect(row).to_contain_text("第 4 次")
    screenshot(page, "regional")
    row.get_by_role("link", name="150.00").click()
    expect(page.locator("#fine-amount")).to_have_text("150.00")
    page.goto(f"{live_server}/quality/proposals")
    expect(page.locator("article").filter(has_text="李娜")).to_have_count(2)  # the demo's third time, and this fourth
    screenshot(page, "proposals")
