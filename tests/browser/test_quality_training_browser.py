"""Attendance on a tablet at 768×1024, in Chinese: the manager taps each person present, the
row turns present in place, a score out of range is refused beside it, the course is held."""
import datetime as dt

from playwright.sync_api import expect

from models.base import utcnow
from tests.browser.conftest import log_in
from tests.conftest import PASSWORD


def test_the_manager_taps_the_people_present_and_holds_the_course(app, live_server, page, make_user, screenshot):
    manager = make_user("manager", "service_manager", display_name="杨磊")
    a = make_user("a", "front_desk", department="前台接待", display_name="王芳")
    make_user("b", "front_desk", department="前台接待", display_name="李娜")
    with app.test_request_context():
        from models.quality import training
        from models.users import Department
        course = training.create(manager, kind="periodic", title="服务礼仪", starts_at=utcnow() - dt.timedelta(minutes=10),
                                 trainer="陈静", department_ids=[Department.get(name="前台接待").id])
    log_in(page, live_server, "manager", PASSWORD)
    page.goto(f"{live_server}/quality/training/{course.id}")
    row = page.locator(f"#attendee-{a.id}")
    row.get_by_role("button", name="王芳").click()
    expect(row).to_have_class("attendee present")
    expect(row.get_by_role("button", name="王芳")).to_have_attribute("aria-pressed", "true")
    row.get_by_label("成绩（0–100）").fill("150")
    row.get_by_role("button", name="保存").click()
    expect(page.locator(f"#attendee-{a.id} .error")).to_contain_text("成绩应在 0 到 100 之间")
    page.locator(f"#attendee-{a.id}").get_by_label("成绩（0–100）").fill("90")
    page.locator(f"#attendee-{a.id}").get_by_role("button", name="保存").click()
    expect(page.locator(f"#attendee-{a.id} .error")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.locator("summary", has_text="已举行：签到完成").click()
    page.locator("#action-hold").get_by_role("button", name="已举行：签到完成").click()
    expect(page.locator("#course-state")).to_have_text("已举行，已签到")
    screenshot(page, "attendance")
    with app.app_context():
        from models.quality.training import Attendee
        assert Attendee.get(Attendee.person == a.id).score == 90
