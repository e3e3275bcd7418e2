"""One requisition above the leadership threshold, as the four people involved would take it
through: requester → department head → logistics → leadership → order → receipt, each in
their own browser, printing the requisition and the goods receipt note at the end."""
import datetime as dt
import re

from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS, log_in
from tests.conftest import PASSWORD
from tests.pdf import assert_embedded_cjk_font, pdf_text

VALID_TAX_ID = "91350100M000100Y43"


def enter(context, base_url, username):
    page = context.new_page()
    log_in(page, base_url, username, PASSWORD)
    return page


def open_from_inbox(page, base_url, number):
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name=re.compile("物资采购")).click()
    page.locator("#inbox-rows").get_by_role("link", name=number).click()
    expect(page.locator("h1")).to_contain_text(number)


def test_a_requisition_above_the_threshold_goes_from_request_to_receipt(live_server, new_context, make_user,
                                                                         screenshot, app):
    make_user("req", "specialist", department="客服部", display_name="张申请")
    make_user("head", "dept_head", department="客服部", display_name="陈主任")
    make_user("log", "logistics", department="行政后勤部", display_name="刘后勤")
    make_user("leader", "leadership", display_name="赵领导")
    # Relative to the day the test runs: a requisition may not ask for a date in the past.
    needed = (dt.date.today() + dt.timedelta(days=14)).isoformat()
    delivery = (dt.date.today() + dt.timedelta(days=7)).isoformat()

    # The requester fills the form; a price typed in words is refused beside the field.
    requester = enter(new_context(), live_server, "req")
    requester.get_by_role("navigation", name="主菜单").get_by_role("link", name="物资采购").click()
    requester.get_by_role("link", name="新建采购申请").click()
    expect(requester.get_by_label("部门")).to_have_value(re.compile(r"\d+"))
    requester.get_by_label("物资名称").fill("激光打印机")
    requester.get_by_label("规格型号").fill("HP LaserJet Pro M404dn")
    requester.get_by_label("数量").fill("3")
    requester.get_by_label("单位").fill("台")
    requester.get_by_label("预估单价（元）").fill("两千一")
    requester.get_by_label("需求日期").fill(needed)
    requester.get_by_label("用途").fill("前台与客服打印")
    requester.get_by_role("button", name="提交审批").click()
    expect(requester.locator("#lines-0-unit_price-error")).to_contain_text("请输入以元为单位的金额")
    expect(requester.get_by_label("规格型号")).to_have_value("HP LaserJet Pro M404dn")
    screenshot(requester, "price-refused", full_page=False)
    requester.get_by_label("预估单价（元）").fill("2,100")
    requester.get_by_role("button", name="提交审批").click()
    expect(requester.locator("#requisition-state")).to_have_text("审批中")
    expect(requester.locator("#estimated-total")).to_have_text("¥6,300.00")
    number = requester.locator("h1").inner_text().split()[-1]
    assert re.fullmatch(r"CG-\d{4}-000001", number)
    screenshot(requester, "submitted")

    # The department head sees it counted in the navigation and approves it.
    head = enter(new_context(), live_server, "head")
    expect(head.locator(".mainnav .nav-count")).to_have_text("1")
    screenshot(head, "head-home", full_page=False)
    open_from_inbox(head, live_server, number)
    head.get_by_role("button", name="同意").click()
    expect(head.locator(".steps .step.current")).to_contain_text("行政后勤审核")

    # Logistics registers the supplier (a mistyped code first), then reviews the requisition.
    logistics = enter(new_context(), live_server, "log")
    logistics.goto(f"{live_server}/suppliers")
    logistics.get_by_label("供应商名称").fill("办公设备有限公司")
    logistics.get_by_label("统一社会信用代码").fill("91350100M000100Y44")
    logistics.get_by_label("联系人").fill("李经理")
    logistics.get_by_role("button", name="新增供应商").click()
    expect(logistics.locator("#tax_id-error")).to_contain_text("校验码不符")
    expect(logistics.get_by_label("联系人")).to_have_value("李经理")
    screenshot(logistics, "tax-id-refused", full_page=False)
    logistics.get_by_label("统一社会信用代码").fill(VALID_TAX_ID)
    logistics.get_by_role("button", name="新增供应商").click()
    expect(logistics.locator("#supplier-rows")).to_contain_text("办公设备有限公司")

    open_from_inbox(logistics, live_server, number)
    review = logistics.locator("#decide-form")
    review.get_by_label("采购方式").select_option(label="询价比价")
    review.get_by_label("已核对预算：在预算内").check()
    review.get_by_label("核定金额（元）").fill("6150")
    screenshot(logistics, "review")
    review.get_by_role("button", name="同意").click()
    expect(logistics.locator(".steps .step.current")).to_contain_text("公司领导审批")
    expect(logistics.locator("#confirmed-amount")).to_have_text("¥6,150.00")

    # Leadership: above 5,000 yuan it is theirs.
    leader = enter(new_context(), live_server, "leader")
    open_from_inbox(leader, live_server, number)
    leader.get_by_label("审批意见（退回时请写明原因）").fill("同意购买")
    leader.get_by_role("button", name="同意").click()
    expect(leader.locator("#requisition-state")).to_have_text("已批准，待采购")
    screenshot(leader, "approved")

    # Logistics orders and, on arrival, inspects and takes the goods into stock.
    logistics.reload()
    order = logistics.locator("#order-form")
    order.get_by_label("供应商").select_option(label="办公设备有限公司")
    order.get_by_label("单价（元）").fill("2050")
    order.get_by_label("交货日期").fill(delivery)
    order.get_by_label("质量标准").fill("原厂正品，保修三年")
    order.get_by_role("button", name="下单采购").click()
    expect(logistics.locator("#requisition-state")).to_have_text("已下单")
    screenshot(logistics, "ordered")
    inspection = logistics.locator("#receive-form")
    expect(inspection.get_by_label("验收合格")).to_have_value("3")
    inspection.get_by_role("button", name="登记验收结果").click()
    expect(logistics.locator("#requisition-state")).to_have_text("已验收入库")
    expect(logistics.locator("#deliveries")).to_contain_text("RK-")
    screenshot(logistics, "received")

    logistics.goto(f"{live_server}/stock")
    expect(logistics.locator("#stock-rows")).to_contain_text("激光打印机")
    screenshot(logistics, "stock")

    # Both forms print in Chinese with an embedded CJK font and the approvers in the boxes.
    logistics.goto(f"{live_server}/procurement")
    logistics.get_by_role("link", name=number).click()
    requisition_pdf = logistics.request.get(live_server + logistics.locator("#print-requisition").get_attribute("href"))
    assert requisition_pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(requisition_pdf.body()).replace(" ", "")
    for word in ("物资采购申请表", number, "激光打印机", "张申请", "陈主任", "刘后勤", "赵领导", "同意购买", "6,150.00",
                 "询价比价"):
        assert word in text, word
    assert_embedded_cjk_font(requisition_pdf.body())
    (SCREENSHOTS / "procurement-flow-requisition.pdf").write_bytes(requisition_pdf.body())

    receipt_href = logistics.get_by_role("link", name="打印入库单").get_attribute("href")
    receipt_pdf = logistics.request.get(live_server + receipt_href)
    text = pdf_text(receipt_pdf.body()).replace(" ", "")
    for word in ("入库单", "RK-", "办公设备有限公司", "激光打印机", "6,150.00", "刘后勤"):
        assert word in text, word
    assert_embedded_cjk_font(receipt_pdf.body())
    (SCREENSHOTS / "procurement-flow-receipt.pdf").write_bytes(receipt_pdf.body())

    # The requester was told at each turn.
    requester.reload()
    expect(requester.locator("#requisition-state")).to_have_text("已验收入库")
    screenshot(requester, "requester-final")
