"""A complaint from intake to the manager's close, as the people involved would do it
(the start from a front-desk call is left to the call screen's own test)."""
from playwright.sync_api import expect

from tests.browser.conftest import act
from tests.browser.conftest import log_in as enter


def test_a_complaint_goes_round_until_the_customer_is_satisfied(live_server, new_context, make_user, screenshot):
    make_user("spec", "specialist", display_name="李专员")
    make_user("head", "dept_head", display_name="赵主任", department="维修部")
    make_user("manager", "service_manager", display_name="周经理")
    desk = new_context().new_page()
    enter(desk, live_server, "spec")

    desk.goto(f"{live_server}/complaints/new")
    desk.get_by_label("客户姓名").fill("张先生")
    desk.get_by_label("电话").fill("12345")
    desk.get_by_label("类别").select_option(label="产品质量")
    desk.get_by_label("严重程度").select_option(label="重大")
    desk.get_by_label("投诉内容").fill("新买的洗衣机漏水")
    desk.get_by_role("button", name="登记投诉").click()
    expect(desk.locator("#phone-error")).to_be_visible()
    expect(desk.get_by_label("电话")).to_be_focused()
    expect(desk.get_by_label("投诉内容")).to_have_value("新买的洗衣机漏水")
    # The viewport, not the full page: the sticky header would sit over the error.
    screenshot(desk, "intake-error", full_page=False)
    desk.get_by_label("电话").fill("138 0013 8000")
    desk.get_by_role("button", name="登记投诉").click()
    expect(desk.locator("#complaint-state")).to_have_text("已接收")
    number = desk.locator("h1").inner_text().split()[-1]

    act(desk, "受理致歉", **{"向客户的致歉与承诺": "已致歉，承诺明天上门"})
    act(desk, "转交责任部门", **{"责任部门": "维修部"})
    expect(desk.locator("#complaint-state")).to_have_text("已转交")
    screenshot(desk, "assigned")

    dept = new_context().new_page()
    enter(dept, live_server, "head")

    def department_handles(result):
        dept.goto(f"{live_server}/complaints/inbox")
        dept.get_by_role("link", name=number).click()
        act(dept, "登记处理措施", **{"处理措施": "上门更换进水管"})
        act(dept, "反馈处理结果", **{"处理结果": result})
        expect(dept.locator("#complaint-state")).to_have_text("已反馈处理结果")

    department_handles("已修好")
    screenshot(dept, "result-reported")

    desk.reload()
    act(desk, "已告知客户")
    act(desk, "回访：不满意", **{"客户不满意的地方": "第二天又漏水"})
    expect(desk.locator("#complaint-state")).to_have_text("已重新打开")
    act(desk, "转交责任部门", **{"责任部门": "维修部"})

    department_handles("更换了整台洗衣机")
    desk.reload()
    act(desk, "已告知客户")
    act(desk, "回访：满意", **{"客户原话": "很满意"})
    expect(desk.locator("#complaint-state")).to_have_text("回访满意")
    # A major complaint: the specialist has no close button, the manager has.
    expect(desk.locator("summary", has_text="关闭")).to_have_count(0)

    boss = new_context().new_page()
    enter(boss, live_server, "manager")
    boss.goto(f"{live_server}/complaints")
    screenshot(boss, "list")
    boss.get_by_role("link", name=number).click()
    act(boss, "关闭", **{"根本原因": "进水管批次质量问题"})
    expect(boss.locator("#action-error")).to_contain_text("根本原因和改进建议")
    expect(boss.get_by_label("根本原因")).to_have_value("进水管批次质量问题")
    screenshot(boss, "close-refused", full_page=False)
    boss.get_by_label("改进建议").fill("更换供应商并抽检")
    boss.locator("details[open] form button[type=submit]").click()
    expect(boss.locator("#complaint-state")).to_have_text("已关闭")
    expect(boss.locator("#timeline li")).to_have_count(15)  # each handling signs for it first
    screenshot(boss, "closed")


def test_a_regular_customers_complaints_come_fifty_at_a_time(app, live_server, page, make_user, screenshot):
    from models import complaints
    from models.complaints import Customer
    from views.ui import PAGE_ROWS
    clerk = make_user("spec", "specialist", display_name="李专员")
    with app.test_request_context():
        made = [complaints.create(clerk, name="常客王女士", phone="13900130000", content="漏水", channel="phone",
                                  category=complaints.categories()[0], severity="general")
                for _ in range(PAGE_ROWS + 7)]
        customer = Customer.get(Customer.phone == "13900130000")
    enter(page, live_server, "spec")
    page.goto(f"{live_server}/customers/{customer.id}")
    rows = page.locator("#customer-complaints tbody tr:not(.more-row)")
    expect(rows).to_have_count(PAGE_ROWS)
    expect(page.locator("#customer-complaints")).not_to_contain_text(made[0].number)
    more = page.get_by_role("button", name="显示更多")
    more.scroll_into_view_if_needed()
    screenshot(page, "show-more", full_page=False)
    more.click()
    expect(rows).to_have_count(PAGE_ROWS + 7)
    expect(page.locator("#customer-complaints")).to_contain_text(made[0].number)
    expect(page.get_by_role("button", name="显示更多")).to_have_count(0)
    page.locator("#customer-complaints").get_by_text(made[0].number).scroll_into_view_if_needed()
    screenshot(page, "all-shown", full_page=False)
