"""The working-hours calendar, the paused clock, the register and the customer page, at
tablet size, as the admin and a specialist would use them."""
import pytest
from playwright.sync_api import expect

from models import complaints
from tests.browser.conftest import act, log_in
from tests.browser.conftest import log_in as enter
from tests.conftest import PASSWORD
from tests.helpers import on_the_clock


@pytest.fixture(autouse=True)
def _deadlines_on_the_clock(app):
    """The deadlines read here are wall-clock hours; working time is the default since the official calendar."""
    on_the_clock(app)


def test_the_admin_enters_the_national_day_calendar(live_server, new_context, make_user, screenshot):
    make_user("boss", "admin", display_name="管理员")
    page = new_context().new_page()
    log_in(page, live_server, "boss", PASSWORD)
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto(f"{live_server}/admin/working-hours")
    expect(page.get_by_label("星期一")).to_have_value("09:00-12:00, 13:30-18:00")

    page.get_by_label("日期", exact=True).fill("2026-10-01")
    page.get_by_label("截止日期（连续多天时填写）").fill("2026-10-07")
    page.get_by_label("名称").fill("2026 国庆节")
    page.get_by_role("button", name="录入日历").click()
    expect(page.locator("#calendar-days")).to_contain_text("2026-10-07")

    # A make-up day on a Friday is a typo: it is refused beside the choice, what was typed stays.
    page.get_by_label("日期", exact=True).fill("2026-10-09")
    page.get_by_label("调休上班日").check()
    page.get_by_label("名称").fill("国庆调休")
    page.get_by_role("button", name="录入日历").click()
    expect(page.locator("#kind-error")).to_contain_text("本来就是工作日")
    expect(page.get_by_label("名称")).to_have_value("国庆调休")
    screenshot(page, "make-up-day-refused", full_page=False)
    page.get_by_label("日期", exact=True).fill("2026-10-10")
    page.get_by_role("button", name="录入日历").click()
    expect(page.locator("#calendar-days")).to_contain_text("国庆调休")

    page.get_by_label("星期三").fill("09:00-12:00, 11:00-18:00")
    page.get_by_role("button", name="保存每周工作时间").click()
    expect(page.locator("#day2-error")).to_contain_text("时段有重叠")
    screenshot(page, "calendar")


def test_a_specialist_pauses_a_complaint_and_reads_the_register(live_server, new_context, make_user, app,
                                                                screenshot):
    spec = make_user("spec", "specialist", display_name="李专员")
    make_user("head", "dept_head", display_name="赵主任", department="维修部")
    with app.test_request_context():
        complaint = complaints.create(spec, name="王小明", phone="13800138000", content="空调不制冷", channel="phone",
                                      category="product quality", severity="general", is_vip=True,
                                      address="北京市朝阳区建国路 88 号")
        complaints.create(spec, name="刘女士", phone="13900139000", content="账单多收了一次", channel="online",
                          category="billing", severity="major")
    page = new_context().new_page()
    enter(page, live_server, "spec")
    page.goto(f"{live_server}/complaints/{complaint.id}")
    act(page, "受理致歉")
    act(page, "转交责任部门", **{"责任部门": "维修部"})
    act(page, "等待客户答复（暂停计时）", **{"等待客户提供什么": "等客户提供购买发票"})
    expect(page.locator(".tag.paused")).to_have_text("等待客户答复")
    expect(page.locator("#timeline")).to_contain_text("等客户提供购买发票")
    expect(page.locator("#timeline")).to_contain_text("已等待")
    screenshot(page, "paused")
    act(page, "客户已答复：恢复计时", **{"客户的答复": "发票已拍照发来"})
    expect(page.locator(".tag.paused")).to_have_count(0)
    expect(page.locator("#timeline")).to_contain_text("时限相应顺延")
    screenshot(page, "resumed")

    with page.expect_popup() as popup:
        page.locator("#print-handling-form").click()
    pdf = page.request.get(f"{live_server}/complaints/{complaint.id}.pdf")
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    popup.value.close()

    page.goto(f"{live_server}/complaints")
    page.get_by_role("link", name="台帐与月度汇总").click()
    expect(page.locator("#fig-total")).to_have_text("2")
    expect(page.locator("#by-category")).to_contain_text("收费")
    screenshot(page, "register")
    page.goto(f"{live_server}/complaints/register?month=2026-13")  # a hand-edited link
    expect(page.locator("#register-month-error")).to_contain_text("请输入月份")

    page.goto(f"{live_server}/customers")
    page.get_by_role("link", name="王小明").click()
    expect(page.locator("#customer-complaints")).to_contain_text(complaint.number)
    expect(page.locator("#print-customer-form")).to_be_visible()
    screenshot(page, "customer")
