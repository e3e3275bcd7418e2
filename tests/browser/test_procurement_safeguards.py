"""What the people in the issue saw, in their browsers at 768×1024: a department's only head
asks for something and the next level up approves it; an order above the confirmed amount
goes back for approval instead of being placed; at the receipt logistics picks the stock
item and prints the return note for the rejected goods."""
import datetime as dt
import re

from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_procurement_flow import VALID_TAX_ID, enter, open_from_inbox
from tests.pdf import pdf_text


def test_sole_head_amount_guard_and_receipt_choices(live_server, new_context, make_user, screenshot, app):
    make_user("solehead", "dept_head", department="工程部", display_name="孙主任")
    make_user("log", "logistics", department="行政后勤部", display_name="刘后勤")
    make_user("leader", "leadership", display_name="赵领导")
    with app.app_context():
        from models.procurement import stock, suppliers
        stock.StockItem.create(name="A4打印纸", spec="70g 500张/包", unit="箱", balance=4)
        suppliers.save_supplier(None, name="办公用品公司", tax_id=VALID_TAX_ID, contact="李经理")
    needed = (dt.date.today() + dt.timedelta(days=14)).isoformat()
    delivery = (dt.date.today() + dt.timedelta(days=7)).isoformat()

    # The engineering department's only head asks for 12 boxes at 770: nobody else in the department approves.
    head = enter(new_context(), live_server, "solehead")
    head.goto(f"{live_server}/procurement/new")
    head.get_by_label("物资名称").fill("A4打印纸")
    head.get_by_label("规格型号").fill("70克/500张")
    head.get_by_label("数量").fill("12")
    head.get_by_label("单位").fill("箱")
    head.get_by_label("预估单价（元）").fill("770")
    head.get_by_label("需求日期").fill(needed)
    head.get_by_role("button", name="提交审批").click()
    expect(head.locator("#estimated-total")).to_have_text("¥9,240.00")
    expect(head.locator("#waiting-for")).to_contain_text("申请人本人是此步骤唯一的审批人，因此由上一级审批：赵领导")
    number = head.locator("h1").inner_text().split()[-1]
    screenshot(head, "sole-head")

    leader = enter(new_context(), live_server, "leader")
    open_from_inbox(leader, live_server, number)
    leader.get_by_role("button", name="同意").click()
    expect(leader.locator(".steps .step.current")).to_contain_text("行政后勤审核")

    # Logistics confirms 4,900 (below the leadership threshold) and then tries to order at 9,240.
    logistics = enter(new_context(), live_server, "log")
    open_from_inbox(logistics, live_server, number)
    review = logistics.locator("#decide-form")
    review.get_by_label("采购方式").select_option(label="询价比价")
    review.get_by_label("已核对预算：在预算内").check()
    review.get_by_label("核定金额（元）").fill("4900")
    review.get_by_role("button", name="同意").click()
    expect(logistics.locator("#requisition-state")).to_have_text("已批准，待采购")
    order = logistics.locator("#order-form")
    expect(order.locator("#approved-amount")).to_contain_text("¥4,900.00")
    order.get_by_label("供应商").select_option(label="办公用品公司")
    order.get_by_label("交货日期").fill(delivery)
    order.get_by_role("button", name="下单采购").click()
    expect(logistics.locator("#requisition-state")).to_have_text("审批中")
    expect(logistics.locator("#toasts")).to_contain_text("订单未下达：¥9,240.00 超过已批准的 ¥4,900.00，还需：行政后勤审核、公司领导审批。")
    expect(logistics.locator(".sent-back")).to_contain_text("订单金额超过已批准金额")
    screenshot(logistics, "order-sent-back")

    # Reviewed again at 9,240, leadership approves, and the order goes through.
    review = logistics.locator("#decide-form")
    expect(review.get_by_label("核定金额（元）")).to_have_value(re.compile(r"^9240(\.00)?$"))
    review.get_by_label("采购方式").select_option(label="询价比价")
    review.get_by_label("已核对预算：在预算内").check()
    review.get_by_role("button", name="同意").click()
    expect(logistics.locator(".steps .step.current")).to_contain_text("公司领导审批")
    leader.reload()
    leader.get_by_role("button", name="同意").click()
    expect(leader.locator("#requisition-state")).to_have_text("已批准，待采购")
    logistics.reload()
    order = logistics.locator("#order-form")
    order.get_by_label("供应商").select_option(label="办公用品公司")
    order.get_by_label("交货日期").fill(delivery)
    order.get_by_role("button", name="下单采购").click()
    expect(logistics.locator("#requisition-state")).to_have_text("已下单")

    # At the receipt the ledger's own paper is offered, not a new line for "70克/500张".
    inspection = logistics.locator("#receive-form")
    expect(inspection.get_by_label("入库物资")).to_have_value(re.compile(r"^\d+$"))
    expect(inspection.get_by_label("入库物资").locator("option:checked")).to_contain_text("A4打印纸 70g 500张/包")
    inspection.get_by_label("验收合格").fill("10")
    inspection.get_by_label("拒收", exact=True).fill("2")
    inspection.get_by_label("拒收原因").fill("外箱压坏")
    inspection.get_by_label("入库物资").scroll_into_view_if_needed()
    screenshot(logistics, "receiving", full_page=False)
    inspection.get_by_role("button", name="登记验收结果").click()
    expect(logistics.locator("#returns")).to_contain_text("外箱压坏")
    screenshot(logistics, "received")

    return_href = logistics.get_by_role("link", name="打印退货单").get_attribute("href")
    note = logistics.request.get(live_server + return_href)
    assert note.headers["content-type"] == "application/pdf"
    text = pdf_text(note.body()).replace(" ", "")
    for word in ("退货单", "TH-", "外箱压坏", "供应商签收"):
        assert word in text, word
    (SCREENSHOTS / "procurement-safeguards-return-note.pdf").write_bytes(note.body())
    requisition = logistics.request.get(live_server + logistics.locator("#print-requisition").get_attribute("href"))
    (SCREENSHOTS / "procurement-safeguards-requisition.pdf").write_bytes(requisition.body())
    text = pdf_text(requisition.body()).replace(" ", "").replace("\n", "")
    for word in ("审批记录", "采购下单", "重新审批", "9,240.00", "4,900.00", "赵领导", "孙主任"):
        assert word in text, word
    logistics.goto(f"{live_server}/stock")
    expect(logistics.locator("#stock-rows")).to_contain_text("A4打印纸")
    assert logistics.locator("#stock-rows tr", has_text="A4打印纸").count() == 1
