"""An assessment through its states at 768×1024 in Chinese: the person rates themself (a rating out of
range is refused beside its field), the head of their department rates, the person acknowledges."""
from playwright.sync_api import expect

from models.quality import assessments
from tests.browser.conftest import log_in


def _rate(page, button, values):
    form = page.locator("details[open] form")
    for label, value in zip(("工作业绩", "服务态度", "专业技能", "团队协作"), values):
        form.get_by_label(label).fill(value)
    form.get_by_role("button", name=button).click()


def test_an_assessment_through_self_head_and_acknowledgement(app, live_server, new_context, make_user, screenshot):
    manager = make_user("manager", "service_manager", display_name="杨磊", department="客户服务部")
    make_user("head", "dept_head", display_name="陈静", department="前台接待")
    make_user("desk", "front_desk", display_name="王芳", department="前台接待")
    with app.test_request_context():
        assessments.open_period(manager)

    page = new_context().new_page()
    log_in(page, live_server, "desk")
    page.goto(f"{live_server}/quality/assessments/")
    page.locator("#my-assessments").get_by_role("link").first.click()
    expect(page.locator("#assessment-state")).to_have_text("待自评")
    _rate(page, "自评", ["120", "80", "70", "100"])
    expect(page.locator("#self_rate-performance-error")).to_contain_text("0 至 100")
    expect(page.locator("#self_rate-attitude")).to_have_value("80")
    screenshot(page, "refused")
    _rate(page, "自评", ["90", "80", "70", "100"])
    expect(page.locator("#assessment-state")).to_have_text("已自评，待上级评分")

    head = new_context().new_page()
    log_in(head, live_server, "head")
    head.goto(f"{live_server}/quality/assessments/")
    head.locator("#to-rate").get_by_role("link").first.click()
    _rate(head, "上级评分", ["60", "70", "80", "50"])
    expect(head.locator("#assessment-state")).to_have_text("已评分，待本人确认")
    expect(head.locator("#final-score")).to_contain_text("79.8")

    page.reload()
    page.locator("details[open] form").get_by_role("button", name="确认考核结果").click()
    expect(page.locator("#assessment-state")).to_have_text("本人已确认")
    screenshot(page, "confirmed")
