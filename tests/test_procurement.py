"""Procurement: requisition → approval chain → order → receiving → stock → reimbursement."""
import datetime as dt
import re
import threading
from decimal import Decimal

import pytest
import time_machine

from models import procurement, settings
from models.procurement import chain, requisitions, stock, suppliers
from models.audit import AuditEntry
from models.notifications import Notification
from models.procurement.chain import ApprovalStep, ProcurementError
from models.procurement.orders import Delivery, PurchaseOrder, ReturnRecord
from models.procurement.requisitions import Requisition, RequisitionAttachment, RequisitionEvent
from models.procurement.stock import StockItem, StockMove
from models.procurement.suppliers import Supplier
from models.users import User
from tests.helpers import PROCUREMENT_STAFF, VALID_TAX_ID, department_id, staff
from tests.helpers import approved as _approved
from tests.helpers import decide as _decide
from tests.helpers import fresh as _fresh
from tests.helpers import make_requisition as _make
from tests.helpers import make_supplier as _supplier
from tests.helpers import ordered as _ordered
from tests.helpers import receive as _receive
from tests.helpers import requisition_line as _line
from tests.helpers import review as _review
from tests.pdf import assert_embedded_cjk_font, pdf_text

# 2026-03-02 16:00 in Shanghai: every date rule below is relative to this frozen moment.
NOW = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as clock:
        yield clock


@pytest.fixture
def people(make_user):
    return staff(make_user, *PROCUREMENT_STAFF, table=PROCUREMENT_STAFF)


def _dept(app, name="客服部"):
    return department_id(app, name)


# ---------------------------------------------------------------- the whole chain, through the web

def _keep(data, name):
    """The printed forms land next to the screenshots, to be looked at (tests/screenshots is git-ignored)."""
    from pathlib import Path
    folder = Path(__file__).resolve().parent / "screenshots"
    folder.mkdir(exist_ok=True)
    (folder / f"procurement-{name}").write_bytes(data)


def form_data(app, **overrides):
    data = {"department": str(_dept(app)), "lines-0-item_name": "激光打印机", "lines-0-spec": "HP M404dn",
            "lines-0-quantity": "3", "lines-0-unit": "台", "lines-0-unit_price": "2,100.00",
            "lines-0-needed_on": "2026-03-20", "lines-0-purpose": "前台打印", "note": "旧打印机报废",
            "submission_key": "req-1", "action": "submit"}
    data.update(overrides)
    return data


def _post_as(client, auth, username, url, data):
    auth.logout()
    auth.login(username)
    return client.post(url, data=data)


def test_the_whole_chain_from_requisition_to_reimbursement(app, client, auth, people):
    auth.login("req")
    response = client.post("/procurement/new", data=form_data(app))
    assert response.status_code == 303
    requisition = Requisition.get()
    assert response.headers["Location"] == f"/procurement/{requisition.id}"
    assert requisition.number == "CG-2026-000001" and requisition.state == "pending"
    assert requisition.estimated_total == Decimal("6300.00")  # worked out on the server: 3 × 2,100
    assert procurement.step_label(requisition.step) == "Department head"
    assert Notification.select().where(Notification.user == people["head"].id).count() == 1

    url = f"/procurement/{requisition.id}"
    response = _post_as(client, auth, "head", f"{url}/decide", {"decision": "approve", "version": "2"})
    assert response.status_code == 303 and _fresh(requisition).step.key == "logistics"
    # The inbox count in the navigation: logistics has one waiting.
    auth.logout()
    auth.login("log")
    page = client.get("/procurement").get_data(as_text=True)
    assert re.search(r'class="count nav-count"[^>]*>1<', page) and requisition.number in page
    response = client.post(f"{url}/decide", data={"decision": "approve", "version": "3", "purchase_method": "quotation",
                                                  "budget_checked": "1", "confirmed_amount": "6,150.00"})
    assert response.status_code == 303
    requisition = _fresh(requisition)
    assert requisition.confirmed_amount == Decimal("6150.00") and requisition.step.key == "leadership"
    response = _post_as(client, auth, "leader", f"{url}/decide", {"decision": "approve", "version": "4"})
    assert response.status_code == 303 and _fresh(requisition).state == "approved"

    supplier = _supplier(app)
    line = requisition.lines_list()[0]
    response = _post_as(client, auth, "log", f"{url}/order", {
        "version": "5", "supplier": str(supplier.id), "delivery_date": "2026-03-09", "quality_standard": "原厂正品，保修三年",
        "lines-0-line_id": str(line.id), "lines-0-spec": "HP LaserJet Pro M404dn", "lines-0-quantity": "3", "lines-0-unit_price": "2050"})
    assert response.status_code == 303
    order = PurchaseOrder.get()
    assert order.number == "HT-2026-000001" and order.total == Decimal("6150.00") and _fresh(requisition).state == "ordered"

    order_line = order.lines_list()[0]
    response = client.post(f"{url}/receive", data={"version": "6", "received_on": "2026-03-02",
                                                   "lines-0-line_id": str(order_line.id), "lines-0-accepted": "3",
                                                   "lines-0-rejected": "0"})
    assert response.status_code == 303
    delivery = Delivery.get()
    assert delivery.receipt_number == "RK-2026-000001" and _fresh(requisition).state == "received"
    item = StockItem.get()
    assert (item.name, item.spec, item.balance) == ("激光打印机", "HP LaserJet Pro M404dn", 3)

    response = client.post(f"{url}/reimburse", data={
        "version": "7", "action": "reimburse", "invoice_number": "No.04521337", "invoice_amount": "6150.00",
        "contract_checked": "1", "invoice_checked": "1", "receipt_checked": "1"})
    assert response.status_code == 303
    assert _fresh(requisition).state == "reimbursed" and PurchaseOrder.get().reimbursed_at is not None

    page = client.get(url).get_data(as_text=True)
    for text in ("陈主任", "刘后勤", "赵领导", "RK-2026-000001", "HT-2026-000001"):
        assert text in page
    events = [e.action for e in _fresh(requisition).events()]
    assert events == ["create", "submit", "approve", "approve", "approve", "order", "receive", "reimburse"]
    assert AuditEntry.select().where(AuditEntry.record_type == "requisition").count() >= 8

    pdf = client.get(f"{url}.pdf")
    _keep(pdf.data, "requisition.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = pdf_text(pdf.data)
    for word in ("物资采购申请表", "CG-2026-000001", "激光打印机", "陈主任", "刘后勤", "赵领导", "同意", "询价比价",
                 "6,150.00", "第1页/共1页"):
        assert word in text.replace(" ", ""), word
    assert_embedded_cjk_font(pdf.data)
    receipt = client.get(f"/procurement/receipts/{delivery.id}.pdf")
    _keep(receipt.data, "goods-receipt.pdf")
    text = pdf_text(receipt.data)
    for word in ("入库单", "RK-2026-000001", "办公用品公司", "M404dn", "6,150.00", "验收人"):
        assert word in text.replace(" ", ""), word
    assert_embedded_cjk_font(receipt.data)


@pytest.mark.parametrize("amount, leadership", [("4999.99", False), ("5000.00", True), ("5000.01", True)])
def test_leadership_approves_from_the_threshold(app, people, amount, leadership):
    requisition = _make(app, people, [_line(unit_price=Decimal("600"))])  # estimated 6,000
    _decide(app, requisition, people["head"])
    _review(app, requisition, people, amount)
    requisition = _fresh(requisition)
    if leadership:
        assert requisition.state == "pending" and requisition.step.key == "leadership"
        assert requisitions.inbox(people["leader"]) == [requisition]
        _decide(app, requisition, people["leader"])
    assert _fresh(requisition).state == "approved"
    decided_by = [e.actor.username for e in _fresh(requisition).decisions()]
    assert decided_by == (["head", "log", "leader"] if leadership else ["head", "log"])


def test_the_threshold_is_a_setting(app, people, make_user):
    admin = make_user("boss", "admin")
    with app.test_request_context():
        settings.save(admin, {chain.LEADERSHIP_THRESHOLD: Decimal("10000")})
    requisition = _make(app, people, [_line(unit_price=Decimal("600"))])
    _decide(app, requisition, people["head"])
    _review(app, requisition, people, "6000")
    assert _fresh(requisition).state == "approved"


def test_nobody_approves_their_own_requisition(app, client, auth, people):
    requisition = _make(app, people, who="head")  # the department head asks for something himself
    with pytest.raises(ProcurementError, match="Nobody approves their own requisition"):
        _decide(app, requisition, people["head"])
    assert requisitions.inbox(people["head"]) == [] and requisitions.inbox(people["head2"]) == [requisition]
    auth.login("head")
    response = client.post(f"/procurement/{requisition.id}/decide", data={"decision": "approve", "version": "2"})
    assert response.status_code == 422 and "Nobody approves their own requisition" in response.get_data(as_text=True)
    assert _fresh(requisition).step.key == "head"
    _decide(app, requisition, people["head2"])
    assert _fresh(requisition).step.key == "logistics"


def test_only_the_right_people_act_on_each_step(app, people):
    requisition = _make(app, people)
    for who, message in (("other_head", "own department"), ("logistics", "someone else"), ("desk", "someone else")):
        with pytest.raises(ProcurementError, match=message):
            _decide(app, requisition, people[who])
    _decide(app, requisition, people["head"])
    with pytest.raises(ProcurementError, match="someone else"):
        _decide(app, requisition, people["leader"])


def test_the_logistics_review_needs_method_budget_and_amount(app, people):
    requisition = _make(app, people)
    _decide(app, requisition, people["head"])
    for kwargs, field in (({"budget_checked": True, "confirmed_amount": Decimal("10")}, "purchase_method"),
                          ({"purchase_method": "direct", "confirmed_amount": Decimal("10")}, "budget_checked"),
                          ({"purchase_method": "direct", "budget_checked": True}, "confirmed_amount")):
        with pytest.raises(ProcurementError) as refused:
            _decide(app, requisition, people["logistics"], **kwargs)
        assert refused.value.field == field
    assert _fresh(requisition).step.key == "logistics"


def test_a_rejected_requisition_is_amended_and_resubmitted_with_its_history(app, client, auth, people):
    requisition = _make(app, people)
    with pytest.raises(ProcurementError, match="Say why"):
        _decide(app, requisition, people["head"], "reject")
    _decide(app, requisition, people["head"], "reject", reason="数量太多，先买5箱")
    requisition = _fresh(requisition)
    assert requisition.state == "rejected" and requisition.step is None
    note = Notification.get(Notification.user == people["requester"].id)
    assert "数量太多" in note.params

    auth.login("req")
    page = client.get(f"/procurement/{requisition.id}/edit").get_data(as_text=True)
    assert "数量太多，先买5箱" in page and 'value="10"' in page
    data = {"department": str(_dept(app)), "version": str(requisition.version), "action": "submit",
            "lines-0-item_name": "A4打印纸", "lines-0-spec": "70g", "lines-0-quantity": "5", "lines-0-unit": "箱",
            "lines-0-unit_price": "250", "lines-0-needed_on": "2026-03-10", "lines-0-purpose": "日常办公"}
    response = client.post(f"/procurement/{requisition.id}/edit", data=data)
    assert response.status_code == 303
    requisition = _fresh(requisition)
    assert requisition.state == "pending" and requisition.round == 2 and requisition.step.key == "head"
    assert requisition.estimated_total == Decimal("1250.00")
    actions = [(e.action, e.round) for e in requisition.events()]
    assert actions == [("create", 0), ("submit", 1), ("reject", 1), ("amend", 1), ("submit", 2)]
    old = [e for e in requisition.events() if e.action == "create"][0]
    assert "×10箱" in old.note  # the lines as first asked for stay in the history
    _decide(app, requisition, people["head"])
    assert [e.action for e in _fresh(requisition).decisions()] == ["approve"]
    assert [e.action for e in _fresh(requisition).decisions(1)] == ["reject"]


def test_of_two_approvers_acting_at_once_one_wins(app, client, auth, people):
    requisition = _make(app, people)
    seen = {"decision": "approve", "version": str(requisition.version)}
    auth.login("head")
    assert client.post(f"/procurement/{requisition.id}/decide", data=seen).status_code == 303
    auth.logout()
    auth.login("head2")
    response = client.post(f"/procurement/{requisition.id}/decide", data=seen)
    assert response.status_code == 422 and "acted on this requisition meanwhile" in response.get_data(as_text=True)
    assert RequisitionEvent.select().where(RequisitionEvent.action == "approve").count() == 1


def test_two_approvers_racing_in_threads_cannot_both_succeed(app, people):
    requisition = _make(app, people)
    version, results = requisition.version, []
    barrier = threading.Barrier(2)

    def act(who):
        with app.test_request_context():
            barrier.wait()
            try:
                procurement.apply(people[who], requisition.id, version, "approve")
                results.append("ok")
            except ProcurementError:
                results.append("refused")
            finally:
                from models.base import db
                db.close()

    threads = [threading.Thread(target=act, args=(who,)) for who in ("head", "head2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert sorted(results) == ["ok", "refused"]
    assert RequisitionEvent.select().where(RequisitionEvent.action == "approve").count() == 1


# ---------------------------------------------------------------- receiving, returns, stock

def test_partial_acceptance_opens_a_return_and_stocks_what_was_accepted(app, client, auth, people):
    requisition = _ordered(app, people, quantity=10, price="600.00")
    delivery = _receive(app, people, requisition, accepted=8, rejected=2, reason="外包装破损，纸张受潮", kind="return")
    assert delivery.receipt_number == "RK-2026-000001"
    record = ReturnRecord.get()
    assert (record.quantity, record.kind, record.state, record.supplier.name) == (2, "return", "open", "办公用品公司")
    assert record.number == "TH-2026-000001"
    # Returned without replacement: nothing more is expected, the goods are received.
    assert _fresh(requisition).state == "received"
    assert StockItem.get().balance == 8
    order = _fresh(requisition).order()
    assert order.received_value() == Decimal("4800.00")
    auth.login("log")
    page = client.get(f"/procurement/{requisition.id}").get_data(as_text=True)
    assert "外包装破损" in page and "TH-2026-000001" in page
    assert client.post(f"/procurement/returns/{record.id}/resolve", data={"resolution": "已退回供应商"}).status_code == 303
    assert ReturnRecord.get().state == "done"
    text = pdf_text(client.get(f"/procurement/receipts/{delivery.id}.pdf").data)
    assert "4,800.00" in text and " 8 " in text


def test_an_exchange_stays_expected_until_the_replacement_arrives(app, people):
    requisition = _ordered(app, people, quantity=10, price="600.00")
    _receive(app, people, requisition, accepted=7, rejected=3, reason="型号不符", kind="exchange")
    assert _fresh(requisition).state == "ordered"
    with pytest.raises(ProcurementError, match="more than the 3 still expected"):
        _receive(app, people, requisition, accepted=4)
    second = _receive(app, people, requisition, accepted=3)
    assert second.receipt_number == "RK-2026-000002" and _fresh(requisition).state == "received"
    assert StockItem.get().balance == 10


def test_a_delivery_with_nothing_accepted_gets_no_receipt_note(app, people):
    requisition = _ordered(app, people)
    delivery = _receive(app, people, requisition, accepted=0, rejected=10, reason="全部破损", kind="exchange")
    assert delivery.receipt_number is None and StockItem.select().count() == 0


def test_late_deliveries_are_flagged(app, client, auth, people, frozen):
    requisition = _ordered(app, people)  # delivery agreed for 2026-03-06
    auth.login("log")
    assert 'id="late-flag"' not in client.get(f"/procurement/{requisition.id}").get_data(as_text=True)
    frozen.move_to(dt.datetime(2026, 3, 7, 2, 0, tzinfo=dt.timezone.utc))
    auth.login("log")  # days later: a new session
    assert 'id="late-flag"' in client.get(f"/procurement/{requisition.id}").get_data(as_text=True)
    late = client.get("/procurement").get_data(as_text=True)
    assert 'id="late-orders"' in late and "HT-2026-000001" in late
    delivery = _receive(app, people, requisition, accepted=10, on=dt.date(2026, 3, 7))
    assert delivery.late
    assert 'id="late-flag"' not in client.get(f"/procurement/{requisition.id}").get_data(as_text=True)


def test_the_stock_balance_after_receipt_and_issue(app, client, auth, people):
    requisition = _ordered(app, people, quantity=10, price="600.00")
    _receive(app, people, requisition, accepted=10)
    item = StockItem.get()
    auth.login("desk")
    data = {"item": str(item.id), "quantity": "3", "taken_by": "李娜", "department": str(_dept(app)),
            "submission_key": "issue-1"}
    assert client.post("/stock/issue", data=data).status_code == 303
    assert client.post("/stock/issue", data=data).status_code == 303  # a double tap hands out once
    assert StockItem.get().balance == 7
    response = client.post("/stock/issue", data=dict(data, quantity="8", submission_key="issue-2"), htmx=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Only 7" in page and 'id="quantity-error"' in page and "李娜" in page
    assert StockItem.get().balance == 7
    moves = [(m.qty_in, m.qty_out, m.balance_after, m.taken_by) for m in StockMove.select().order_by(StockMove.id)]
    assert moves == [(10, 0, 10, ""), (0, 3, 7, "李娜")]
    page = client.get("/stock").get_data(as_text=True)
    assert "李娜" in page and 'id="balance-%d">7<' % item.id in page
    page = client.get(f"/stock/{item.id}").get_data(as_text=True)
    assert "RK-2026-000001" in page


@pytest.mark.parametrize("quantity, message", [("0", "Must be greater than 0"), ("-2", "Must be greater than 0"),
                                               ("abc", "whole number")])
def test_issuing_refuses_bad_quantities(app, client, auth, people, quantity, message):
    requisition = _ordered(app, people)
    _receive(app, people, requisition, accepted=10)
    auth.login("desk")
    response = client.post("/stock/issue", data={"item": str(StockItem.get().id), "quantity": quantity,
                                                 "taken_by": "李娜", "submission_key": "x"})
    assert response.status_code == 422 and message in response.get_data(as_text=True)


# ---------------------------------------------------------------- reimbursement

def test_an_invoice_that_differs_from_the_received_value_is_flagged(app, client, auth, people):
    requisition = _ordered(app, people, quantity=10, price="600.00")
    _receive(app, people, requisition, accepted=8, rejected=2, reason="破损")
    auth.login("log")
    url = f"/procurement/{requisition.id}"
    data = {"version": str(_fresh(requisition).version), "action": "save", "invoice_number": "No.778",
            "invoice_amount": "6000.00", "contract_checked": "1", "invoice_checked": "1", "receipt_checked": "1"}
    assert client.post(f"{url}/reimburse", data=data).status_code == 303
    assert _fresh(requisition).order().invoice_mismatch
    page = client.get(url).get_data(as_text=True)
    assert 'id="invoice-mismatch"' in page and "4,800.00" in page
    data.update(version=str(_fresh(requisition).version), action="reimburse")
    response = client.post(f"{url}/reimburse", data=data)
    assert response.status_code == 422 and "explain the difference" in response.get_data(as_text=True)
    assert _fresh(requisition).state == "received"
    data.update(reimburse_note="发票含退货部分，供应商将开红字发票")
    assert client.post(f"{url}/reimburse", data=data).status_code == 303
    assert _fresh(requisition).state == "reimbursed"


def test_reimbursement_needs_all_three_papers(app, people):
    requisition = _ordered(app, people)
    _receive(app, people, requisition, accepted=10)
    with app.test_request_context():
        current = _fresh(requisition)
        with pytest.raises(ProcurementError, match="Check off"):
            procurement.apply(people["logistics"], current.id, current.version, "reimburse", invoice_number="1",
                                             invoice_amount=Decimal("6000"), contract_checked=True,
                                             invoice_checked=True, receipt_checked=False, reimbursed=True)
    assert _fresh(requisition).state == "received"


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("field, value, message", [
    ("quantity", "-3", "greater than 0"),
    ("quantity", "2.5", "whole number"),
    ("needed_on", "2026-03-01", "cannot be in the past"),
    ("needed_on", "next week", "Enter a date"),
    ("unit_price", "two hundred", "Enter an amount"),
    ("unit_price", "12.345", "at most 2 decimals"),
    ("unit_price", "-5", "cannot be negative"),
    ("item_name", "", "Name the item"),
])
def test_bad_lines_are_refused_beside_the_field_and_keep_what_was_typed(app, client, auth, people, field, value,
                                                                        message):
    auth.login("req")
    response = client.post("/procurement/new", data=form_data(app, **{f"lines-0-{field}": value}), htmx=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    error = re.search(rf'<p class="error" id="lines-0-{field}-error">([^<]*)</p>', page)
    assert error and message in error.group(1), page[:0]
    for typed in ("HP M404dn", "前台打印", "旧打印机报废") + ((value,) if value else ()):
        assert typed in page
    assert Requisition.select().count() == 0


def test_an_empty_requisition_is_refused(app, client, auth, people):
    auth.login("req")
    data = {k: v for k, v in form_data(app).items() if not k.startswith("lines-")}
    response = client.post("/procurement/new", data=data)
    assert response.status_code == 422 and "Add at least one item" in response.get_data(as_text=True)


def test_adding_a_line_keeps_what_was_typed(app, client, auth, people):
    auth.login("req")
    response = client.post("/procurement/new", data=form_data(app, add_line="1"), htmx=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="lines-1-item_name"' in page and "HP M404dn" in page
    data = form_data(app, **{"lines-1-item_name": "硒鼓", "lines-1-quantity": "6", "lines-1-unit": "个",
                             "lines-1-unit_price": "380", "lines-1-needed_on": "2026-03-20"})
    assert client.post("/procurement/new", data=data).status_code == 303
    assert Requisition.get().estimated_total == Decimal("8580.00")


def test_a_draft_is_saved_then_submitted(app, client, auth, people):
    auth.login("req")
    client.post("/procurement/new", data=form_data(app, action="draft"))
    requisition = Requisition.get()
    assert requisition.state == "draft" and requisitions.inbox(people["head"]) == []
    response = client.post(f"/procurement/{requisition.id}/submit", data={"version": str(requisition.version)})
    assert response.status_code == 303 and _fresh(requisition).state == "pending"


def test_a_double_submission_creates_one_requisition(app, client, auth, people):
    auth.login("req")
    client.post("/procurement/new", data=form_data(app))
    client.post("/procurement/new", data=form_data(app))
    assert Requisition.select().count() == 1


@pytest.mark.parametrize("tax_id, message", [
    ("91350100M000100Y4", "18 characters"),
    ("91350100M000100Y44", "check digit"),
    ("9135010OM000100Y43", "not a unified social credit code"),
    ("91ABCDEFM000100Y43", "not a unified social credit code"),
])
def test_a_bad_tax_id_is_refused_beside_the_field(app, client, auth, people, tax_id, message):
    auth.login("log")
    data = {"name": "某某文具店", "tax_id": tax_id, "contact": "钱老板", "phone": "13912345678", "submission_key": "s1"}
    response = client.post("/suppliers", data=data, htmx=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="tax_id-error"' in page and message in page
    assert "某某文具店" in page and "钱老板" in page and tax_id in page
    assert Supplier.select().count() == 0


def test_the_tax_id_check_digit(app):
    with app.test_request_context():
        assert suppliers.check_tax_id(" 91350100m000100y43 ") == VALID_TAX_ID
        assert suppliers.check_tax_id("91440300708461136T") == "91440300708461136T"
        for wrong in ("91440300708461136A", "913501000000100Y43", ""):
            with pytest.raises(ValueError):
                suppliers.check_tax_id(wrong)


def test_suppliers_are_registered_once(app, client, auth, people):
    auth.login("log")
    data = {"name": "某某文具店", "tax_id": VALID_TAX_ID, "phone": "010-12345678", "submission_key": "s1"}
    assert client.post("/suppliers", data=data).status_code == 303
    response = client.post("/suppliers", data=dict(data, submission_key="s2", name="另一家"))
    assert response.status_code == 422 and "某某文具店 has this code already" in response.get_data(as_text=True)
    assert Supplier.select().count() == 1


def test_order_input_is_checked(app, client, auth, people):
    requisition = _approved(app, people)
    auth.login("log")
    line = requisition.lines_list()[0]
    response = client.post(f"/procurement/{requisition.id}/order", data={
        "version": str(requisition.version), "supplier": "", "delivery_date": "2026-02-01",
        "lines-0-line_id": str(line.id), "lines-0-quantity": "-1", "lines-0-unit_price": "abc", "quality_standard": "合格证齐全"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    for error in ("supplier-error", "delivery_date-error", "lines-0-quantity-error", "lines-0-unit_price-error"):
        assert f'id="{error}"' in page
    assert "合格证齐全" in page and PurchaseOrder.select().count() == 0


# ---------------------------------------------------------------- the chain as data

def test_an_admin_adds_an_amount_tier(app, client, auth, people, make_user):
    make_user("boss", "admin")
    auth.login("boss")
    assert "Department head" in client.get("/procurement/chain").get_data(as_text=True)
    response = client.post("/procurement/chain/step", data={
        "label": "总经理审批", "role": "leadership", "position": "40", "min_amount": "20000", "active": "y"})
    assert response.status_code == 303
    small = _approved(app, people, amount="8000", price="800")
    assert small.state == "approved"
    big = _make(app, people, [_line(unit_price=Decimal("2500"))])
    _decide(app, big, people["head"])
    _review(app, big, people, "25000")
    _decide(app, big, people["leader"])
    big = _fresh(big)
    assert big.state == "pending" and procurement.step_label(big.step) == "总经理审批"
    response = client.post("/procurement/chain/step", data={"label": "", "role": "leadership", "position": "x"},
                           htmx=True)
    assert response.status_code == 422 and "Name the step" in response.get_data(as_text=True)


def test_a_department_names_its_own_approver(app, client, auth, people, make_user):
    make_user("boss", "admin")
    deputy = make_user("deputy", "specialist", department="客服部", display_name="副经理")
    head_step = ApprovalStep.get(ApprovalStep.key == "head") if ApprovalStep.select().exists() else None
    if head_step is None:
        with app.test_request_context():
            chain.ensure_default_chain()
        head_step = ApprovalStep.get(ApprovalStep.key == "head")
    auth.login("boss")
    response = client.post("/procurement/chain/approvers", data={
        "department": str(_dept(app)), "step": str(head_step.id), "user": str(deputy.id)})
    assert response.status_code == 303
    requisition = _make(app, people)
    with pytest.raises(ProcurementError, match="named its own approvers"):
        _decide(app, requisition, people["head"])
    assert requisitions.inbox(deputy) == [_fresh(requisition)]
    _decide(app, requisition, deputy)
    assert _fresh(requisition).step.key == "logistics"


# ---------------------------------------------------------------- reminders

def _reminders(user):
    return Notification.select().where(Notification.user == user.id, Notification.message.startswith("Reminder")).count()


def test_a_waiting_approver_is_reminded_once_per_step(app, people, frozen):
    from tasks.procurement import remind_waiting_approvers
    requisition = _make(app, people)
    frozen.move_to(NOW + dt.timedelta(days=1, hours=23))
    remind_waiting_approvers.call_local()
    assert _reminders(people["head"]) == 0
    frozen.move_to(NOW + dt.timedelta(days=2, minutes=1))
    remind_waiting_approvers.call_local()
    remind_waiting_approvers.call_local()
    assert _reminders(people["head"]) == 1 and _reminders(people["head2"]) == 1 and _reminders(people["requester"]) == 0
    _decide(app, requisition, people["head"])
    frozen.move_to(NOW + dt.timedelta(days=9))  # the consumer was down for a week
    remind_waiting_approvers.call_local()
    remind_waiting_approvers.call_local()
    assert _reminders(people["logistics"]) == 1 and _reminders(people["head"]) == 1


# ---------------------------------------------------------------- for the board and reports

def test_waiting_by_step_and_stats(app, people, frozen):
    first = _make(app, people, [_line(unit_price=Decimal("600"))])
    second = _make(app, people, [_line(unit_price=Decimal("600"))])
    _decide(app, second, people["head"])
    _make(app, people, submit=False)
    with app.test_request_context():
        assert [(str(label), n) for label, n in requisitions.waiting_by_step()] == [
            ("Department head", 1), ("Logistics review", 1), ("Leadership approval", 0)]
    frozen.move_to(NOW + dt.timedelta(hours=5))
    _review(app, second, people, "4000")
    frozen.move_to(NOW + dt.timedelta(hours=10))
    _decide(app, first, people["head"])
    _review(app, first, people, "6000")
    _decide(app, first, people["leader"])
    with app.test_request_context():
        stats = requisitions.procurement_stats(dt.datetime(2026, 3, 1), dt.datetime(2026, 3, 3))
        assert stats == {"count": 2, "approved": 2, "total_confirmed": Decimal("10000.00"),
                         "avg_hours_to_approve": 7.5}
        other = requisitions.procurement_stats(dt.datetime(2026, 3, 1), dt.datetime(2026, 3, 3),
                                              department_id=_dept(app, "销售部"))
        assert other["count"] == 0 and other["avg_hours_to_approve"] is None


# ---------------------------------------------------------------- who sees what

def test_a_requisition_is_seen_by_its_department_and_the_approvers_only(app, client, auth, people, make_user):
    requisition = _make(app, people)
    make_user("sales", "specialist", department="销售部")
    auth.login("sales")
    assert client.get(f"/procurement/{requisition.id}").status_code == 403
    assert client.get(f"/procurement/{requisition.id}.pdf").status_code == 403
    assert requisition.number not in client.get("/procurement").get_data(as_text=True)
    for username in ("head", "log", "leader"):
        auth.logout()
        auth.login(username)
        assert client.get(f"/procurement/{requisition.id}").status_code == 200


def test_the_front_desk_issues_but_does_not_order(app, client, auth, people):
    auth.login("desk")
    assert client.get("/stock").status_code == 200
    assert client.get("/suppliers").status_code == 403
    assert client.get("/procurement/new").status_code == 200


def test_the_requester_withdraws_a_returned_requisition_with_a_reason(app, client, auth, people):
    requisition = _make(app, people)
    _decide(app, requisition, people["head"], "reject", reason="不需要了")
    auth.login("req")
    url = f"/procurement/{requisition.id}/withdraw"
    version = str(_fresh(requisition).version)
    response = client.post(url, data={"version": version, "withdraw_reason": ""})
    assert response.status_code == 422 and 'id="withdraw_reason-error"' in response.get_data(as_text=True)
    assert client.post(url, data={"version": version, "withdraw_reason": "改用库存"}).status_code == 303
    requisition = _fresh(requisition)
    assert requisition.state == "voided" and requisition.void_reason == "改用库存" and requisition.is_void


def test_only_the_requester_amends(app, client, auth, people):
    requisition = _make(app, people, submit=False)
    auth.login("head")
    response = client.get(f"/procurement/{requisition.id}/edit")
    assert response.status_code == 303 and response.headers["Location"] == f"/procurement/{requisition.id}"
    with pytest.raises(ProcurementError, match="Only the requester submits"):
        with app.test_request_context():
            procurement.apply(people["head"], requisition.id, requisition.version, "submit")


def test_the_pages_speak_chinese(app, client, auth, people):
    requisition = _make(app, people)
    auth.login("head")
    page = client.get(f"/procurement/{requisition.id}?lang=zh").get_data(as_text=True)
    for text in ("采购申请", "部门负责人", "待审批", "同意", "退回修改", "规格型号"):
        assert text in page, text


def test_the_wall_board_counts_requisitions_waiting_at_each_step(app, people):
    from models.board import figures
    _make(app, people)
    second = _make(app, people)
    _decide(app, second, people["head"])
    with app.test_request_context():
        waiting = figures()["requisitions_waiting"]
    assert [(en, n) for _zh, en, n in waiting] == [("Department head", 1), ("Logistics review", 1),
                                                  ("Leadership approval", 0)]
    assert waiting[0][0] == "部门负责人"


def _pdf_bytes():
    return b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_the_requester_attaches_a_quotation_and_others_who_may_see_it_download_it(app, client, auth, people):
    import io as _io
    requisition = _make(app, people)
    auth.login("req")
    response = client.post(f"/procurement/{requisition.id}/attachments?lang=zh",
                           data={"file": (_io.BytesIO(_pdf_bytes()), "报价单 A.pdf"), "submission_key": "a1"},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    again = client.post(f"/procurement/{requisition.id}/attachments",
                        data={"file": (_io.BytesIO(_pdf_bytes()), "报价单 A.pdf"), "submission_key": "a1"},
                        content_type="multipart/form-data")
    assert again.status_code == 303  # a double tap stores the file once
    attachment = RequisitionAttachment.get()
    assert RequisitionAttachment.select().count() == 1
    assert (attachment.filename, attachment.extension, attachment.uploaded_by_id) == ("报价单 A.pdf", "pdf",
                                                                                     people["requester"].id)
    page = client.get(f"/procurement/{requisition.id}?lang=zh").get_data(as_text=True)
    assert "报价单 A.pdf" in page and "已附文件" in page
    auth.logout()
    auth.login("head")  # the department head sees the requisition, and so its files
    download = client.get(f"/procurement/attachments/{attachment.id}")
    assert download.status_code == 200 and download.data == _pdf_bytes()
    assert download.headers["Content-Type"] == "application/pdf" and "attachment" in download.headers[
        "Content-Disposition"]
    auth.logout()
    auth.login("otherhead")  # another department's head does not
    assert client.get(f"/procurement/attachments/{attachment.id}").status_code == 403


def test_a_file_that_is_not_a_document_is_refused_beside_the_field(app, client, auth, people):
    import io as _io
    requisition = _make(app, people)
    auth.login("req")
    response = client.post(f"/procurement/{requisition.id}/attachments?lang=zh",
                           data={"file": (_io.BytesIO(b"MZ\x90\x00 not really a pdf"), "quote.pdf"),
                                 "submission_key": "a2"}, content_type="multipart/form-data")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="file-error">请附 PDF、JPEG 或 PNG 照片、Excel（.xlsx）或 Word（.docx）文件。' in page
    empty = client.post(f"/procurement/{requisition.id}/attachments?lang=zh", data={"submission_key": "a3"},
                        content_type="multipart/form-data")
    assert empty.status_code == 422 and "请选择要附加的文件。" in empty.get_data(as_text=True)
    auth.logout()
    auth.login("head")  # an approver reads the files, the requester and logistics add them
    refused = client.post(f"/procurement/{requisition.id}/attachments?lang=zh",
                          data={"file": (_io.BytesIO(_pdf_bytes()), "x.pdf"), "submission_key": "a4"},
                          content_type="multipart/form-data")
    assert refused.status_code == 422 and RequisitionAttachment.select().count() == 0


# ---------------------------------------------------------------- commitments above what was approved

def _place(app, people, requisition, lines=None):
    with app.test_request_context():
        current = _fresh(requisition)
        supplier = Supplier.get_or_none(Supplier.name == "办公用品公司") or _supplier(app)
        return procurement.apply(people["logistics"], current.id, current.version, "order", supplier_id=supplier.id,
                                       delivery_date=dt.date(2026, 3, 6), quality_standard="", lines=lines or {})


def test_one_function_says_which_steps_an_amount_still_needs(app, people):
    requisition = _make(app, people, [_line(quantity=12, unit_price=Decimal("770"))])  # estimated 9,240
    with app.test_request_context():
        assert [s.key for s in requisitions.missing_approvals(_fresh(requisition), Decimal("9240"))] == [
            "head", "logistics", "leadership"]
    _decide(app, requisition, people["head"])
    _review(app, requisition, people, "4900")
    with app.test_request_context():
        current = _fresh(requisition)
        assert requisitions.missing_approvals(current, Decimal("4900")) == []
        assert requisitions.missing_approvals(current, Decimal("4800")) == []
        # The head approved the 9,240 estimate; logistics only 4,900; leadership nothing.
        assert [s.key for s in requisitions.missing_approvals(current, Decimal("9240"))] == ["logistics",
                                                                                           "leadership"]
        assert [s.key for s in requisitions.missing_approvals(current, Decimal("9300"))] == [
            "head", "logistics", "leadership"]


def test_a_confirmed_amount_above_what_the_head_approved_goes_back_to_the_head(app, people):
    requisition = _make(app, people)  # estimated 2,500
    _decide(app, requisition, people["head"])
    _review(app, requisition, people, "6000")
    requisition = _fresh(requisition)
    assert requisition.state == "pending" and requisition.step.key == "head"
    assert requisitions.inbox(people["head"]) == [requisition]
    _decide(app, requisition, people["head"])
    assert _fresh(requisition).step.key == "leadership"  # logistics confirmed the 6,000 already
    _decide(app, requisition, people["leader"])
    requisition = _fresh(requisition)
    assert requisition.state == "approved"
    assert [(e.step.key, e.amount) for e in requisition.decisions()] == [
        ("head", Decimal("2500.00")), ("logistics", Decimal("6000.00")), ("head", Decimal("6000.00")),
        ("leadership", Decimal("6000.00"))]


def test_an_order_above_the_confirmed_amount_is_not_placed_and_goes_back_for_approval(app, people):
    """The reported case: ¥4,900 confirmed for a ¥9,240 estimate skipped leadership, and the
    order was then placed for ¥9,240."""
    requisition = _make(app, people, [_line(quantity=12, unit_price=Decimal("770"))])
    _decide(app, requisition, people["head"])
    _review(app, requisition, people, "4900")
    assert _fresh(requisition).state == "approved"  # 4,900 is below the leadership threshold
    with pytest.raises(procurement.SentBackForApproval, match="needs: Logistics review、Leadership approval"):
        _place(app, people, requisition)
    requisition = _fresh(requisition)
    assert PurchaseOrder.select().count() == 0
    assert (requisition.state, requisition.step.key, requisition.requested_amount) == (
        "pending", "logistics", Decimal("9240.00"))
    assert requisition.amount_for_approval == Decimal("9240.00")
    sent = RequisitionEvent.get(RequisitionEvent.action == "over_order")
    assert sent.amount == Decimal("9240.00") and "办公用品公司" in sent.note and "@770.00" in sent.note
    # Told once when the head approved, once now.
    assert Notification.select().where(Notification.user == people["logistics"].id,
                                       Notification.message.contains("waits for your approval")).count() == 2
    assert AuditEntry.select().where(AuditEntry.record_type == "requisition",
                                     AuditEntry.record_id == requisition.id).count() >= 5
    _review(app, requisition, people, "9240")
    assert _fresh(requisition).step.key == "leadership"
    _decide(app, requisition, people["leader"])
    assert _fresh(requisition).state == "approved"
    order = _place(app, people, requisition)
    assert order.total == Decimal("9240.00") and _fresh(requisition).state == "ordered"


def test_an_order_within_the_approved_amount_is_placed(app, people):
    requisition = _make(app, people, [_line(quantity=12, unit_price=Decimal("770"))])
    _decide(app, requisition, people["head"])
    _review(app, requisition, people, "4900")
    line = _fresh(requisition).lines_list()[0]
    order = _place(app, people, requisition, {line.id: ("70g", 12, Decimal("400"))})  # 4,800
    assert order.total == Decimal("4800.00") and _fresh(requisition).state == "ordered"


def test_the_order_page_says_the_order_went_back_for_approval(app, client, auth, people):
    requisition = _make(app, people, [_line(quantity=12, unit_price=Decimal("770"))])
    _decide(app, requisition, people["head"])
    _review(app, requisition, people, "4900")
    requisition = _fresh(requisition)
    supplier = _supplier(app)
    line = requisition.lines_list()[0]
    auth.login("log")
    page = client.get(f"/procurement/{requisition.id}").get_data(as_text=True)
    assert 'id="approved-amount"' in page and "4,900.00" in page
    response = client.post(f"/procurement/{requisition.id}/order", data={
        "version": str(requisition.version), "supplier": str(supplier.id), "delivery_date": "2026-03-09",
        "lines-0-line_id": str(line.id), "lines-0-spec": "70g", "lines-0-quantity": "12", "lines-0-unit_price": "770"})
    assert response.status_code == 303 and PurchaseOrder.select().count() == 0
    page = client.get(f"/procurement/{requisition.id}").get_data(as_text=True)
    assert "The order was not placed: ¥9,240.00 is more than the approved ¥4,900.00" in page
    assert 'class="notice sent-back"' in page and 'id="decide-form"' in page  # logistics reviews it again
    assert _fresh(requisition).state == "pending"


def test_an_invoice_above_the_approved_amount_goes_back_for_approval(app, client, auth, people):
    requisition = _ordered(app, people, quantity=10, price="600.00")  # 6,000 approved by leadership
    _receive(app, people, requisition, accepted=10)
    auth.login("log")
    url = f"/procurement/{requisition.id}"
    data = {"version": str(_fresh(requisition).version), "action": "reimburse", "invoice_number": "No.991",
            "invoice_amount": "6,500.00", "contract_checked": "1", "invoice_checked": "1", "receipt_checked": "1",
            "reimburse_note": "含运费500元"}
    response = client.post(f"{url}/reimburse", data=data)
    assert response.status_code == 303
    requisition = _fresh(requisition)
    order = requisition.order()
    # The head approved the 6,000 estimate, logistics and leadership 6,000: all three again.
    assert (requisition.state, requisition.step.key, requisition.requested_amount) == (
        "pending", "head", Decimal("6500.00"))
    assert order.reimbursed_at is None and (order.invoice_number, order.invoice_amount) == ("No.991",
                                                                                           Decimal("6500.00"))
    page = client.get(url).get_data(as_text=True)
    assert "Not reimbursed: ¥6,500.00 is more than the approved ¥6,000.00" in page
    _decide(app, requisition, people["head"])
    _review(app, requisition, people, "6500")
    assert _fresh(requisition).step.key == "leadership"
    _decide(app, requisition, people["leader"])
    assert _fresh(requisition).state == "received"  # back to the reimbursement, not to a new order
    data["version"] = str(_fresh(requisition).version)
    assert client.post(f"{url}/reimburse", data=data).status_code == 303
    assert _fresh(requisition).state == "reimbursed"


def test_a_higher_invoice_refused_by_leadership_returns_to_the_reimbursement(app, people):
    requisition = _ordered(app, people, quantity=10, price="600.00")
    _receive(app, people, requisition, accepted=10)
    with app.test_request_context():
        current = _fresh(requisition)
        with pytest.raises(procurement.SentBackForApproval):
            procurement.apply(people["logistics"], current.id, current.version, "reimburse",
                                             invoice_number="No.1", invoice_amount=Decimal("7000"),
                                             contract_checked=True, invoice_checked=True, receipt_checked=True,
                                             note="涨价", reimbursed=True)
    _decide(app, requisition, people["head"])
    _review(app, requisition, people, "7000")
    _decide(app, requisition, people["leader"], "reject", reason="请供应商按合同价开票")
    requisition = _fresh(requisition)
    assert requisition.state == "received" and requisition.requested_amount is None
    assert Notification.select().where(Notification.user == people["logistics"].id,
                                       Notification.params.contains("请供应商按合同价开票")).count() == 1


# ---------------------------------------------------------------- who approves when nobody else can

def test_a_departments_only_head_is_approved_by_the_next_level_up(app, client, auth, people, make_user):
    make_user("solehead", "dept_head", department="工程部", display_name="孙主任")
    with app.test_request_context():
        requisition = requisitions.create(User.get(User.username == "solehead"), department_id=_dept(app, "工程部"),
                                         lines=[_line()], submit=True)
    requisition = _fresh(requisition)
    assert requisition.step.key == "head"
    assert requisitions.inbox(people["leader"]) == [requisition]
    assert requisitions.inbox(people["head"]) == []  # another department's head does not
    assert Notification.select().where(Notification.user == people["leader"].id).count() == 1
    auth.login("solehead")
    page = client.get(f"/procurement/{requisition.id}").get_data(as_text=True)
    assert "The requester is this step's only approver, so the next level up approves: 赵领导" in page
    _decide(app, requisition, people["leader"])
    assert _fresh(requisition).step.key == "logistics"


def test_the_next_level_up_is_set_on_the_chain_page(app, client, auth, people, make_user):
    make_user("boss", "admin")
    manager = make_user("mgr", "service_manager", display_name="吴经理")
    make_user("solehead", "dept_head", department="工程部")
    with app.test_request_context():
        chain.ensure_default_chain()
    head_step = ApprovalStep.get(ApprovalStep.key == "head")
    auth.login("boss")
    page = client.get(f"/procurement/chain?step={head_step.id}").get_data(as_text=True)
    assert 'id="fallback_role"' in page
    response = client.post("/procurement/chain/step", data={
        "step_id": str(head_step.id), "label": "", "role": "dept_head", "position": "10", "own_department": "y",
        "fallback_role": "service_manager", "active": "y"})
    assert response.status_code == 303 and ApprovalStep.get_by_id(head_step.id).fallback_role == "service_manager"
    with app.test_request_context():
        requisition = requisitions.create(User.get(User.username == "solehead"), department_id=_dept(app, "工程部"),
                                         lines=[_line()], submit=True)
    assert requisitions.inbox(manager) == [_fresh(requisition)] and requisitions.inbox(people["leader"]) == []


def test_a_step_nobody_may_approve_tells_the_administrator(app, client, auth, people, make_user):
    admin = make_user("boss", "admin")
    make_user("solehead", "dept_head", department="工程部")
    with app.test_request_context():
        chain.ensure_default_chain()
    ApprovalStep.update(fallback_role="").where(ApprovalStep.key == "head").execute()
    with app.test_request_context():
        requisition = requisitions.create(User.get(User.username == "solehead"), department_id=_dept(app, "工程部"),
                                         lines=[_line()], submit=True)
    assert Notification.get(Notification.user == admin.id).message.startswith("Requisition %(number)s waits at")
    auth.login("solehead")
    page = client.get(f"/procurement/{requisition.id}").get_data(as_text=True)
    assert "Nobody may approve this step" in page


def _escalations(user):
    return Notification.select().where(Notification.user == user.id, Notification.message.contains("escalated")).count()


def test_a_step_that_waits_too_long_is_escalated_once(app, people, frozen):
    from tasks.procurement import escalate_waiting_requisitions
    requisition = _make(app, people)
    assert requisitions.inbox(people["leader"]) == []
    frozen.move_to(NOW + dt.timedelta(hours=71, minutes=59))
    escalate_waiting_requisitions.call_local()
    assert _escalations(people["leader"]) == 0 and _fresh(requisition).step_escalated_at is None
    frozen.move_to(NOW + dt.timedelta(hours=72))
    escalate_waiting_requisitions.call_local()
    escalate_waiting_requisitions.call_local()
    requisition = _fresh(requisition)
    assert _escalations(people["leader"]) == 1 and _escalations(people["head"]) == 0
    assert requisition.step_escalated_at == dt.datetime(2026, 3, 5, 8, 0)
    assert AuditEntry.select().where(AuditEntry.action == "escalate", AuditEntry.record_id == requisition.id).count() == 1
    assert requisitions.inbox(people["leader"]) == [requisition]  # the next level up may act now
    _decide(app, requisition, people["leader"])
    requisition = _fresh(requisition)
    assert requisition.step.key == "logistics" and requisition.step_escalated_at is None
    frozen.move_to(NOW + dt.timedelta(days=30))  # the consumer was down: caught up, once per step
    escalate_waiting_requisitions.call_local()
    escalate_waiting_requisitions.call_local()
    assert _escalations(people["leader"]) == 2


def test_the_escalation_is_marked_in_the_same_transaction_as_its_notification(app, people, frozen, monkeypatch):
    requisition = _make(app, people)
    frozen.move_to(NOW + dt.timedelta(hours=80))

    def broken(*args, **kwargs):
        raise RuntimeError("the notification could not be written")
    monkeypatch.setattr(requisitions, "notify", broken)
    with app.app_context(), pytest.raises(RuntimeError):
        requisitions.escalate_waiting()
    assert _fresh(requisition).step_escalated_at is None  # not marked: the next sweep tries again
    monkeypatch.undo()
    with app.app_context():
        assert requisitions.escalate_waiting() == 1
    assert _escalations(people["leader"]) == 1


def test_the_escalation_hours_are_a_setting(app, people, frozen, make_user):
    admin = make_user("boss", "admin")
    with app.test_request_context():
        settings.save(admin, {chain.ESCALATE_HOURS: 8})
    _make(app, people)
    frozen.move_to(NOW + dt.timedelta(hours=8))
    with app.app_context():
        assert requisitions.escalate_waiting() == 1


# ---------------------------------------------------------------- the stock ledger's items

def _ordered_with(app, people, spec, name="A4打印纸", unit="箱"):
    """An ordered requisition of 10 × 600 whose agreed specification is worded `spec`."""
    requisition = _approved(app, people)
    with app.test_request_context():
        current = _fresh(requisition)
        line = current.lines_list()[0]
        line.item_name, line.unit = name, unit
        line.save()
        supplier = Supplier.get_or_none(Supplier.name == "办公用品公司") or _supplier(app)
        procurement.apply(people["logistics"], current.id, current.version, "order", supplier_id=supplier.id,
                                delivery_date=dt.date(2026, 3, 6), quality_standard="",
                                lines={line.id: (spec, 10, Decimal("600"))})
    return _fresh(requisition)


def test_the_same_goods_worded_differently_go_to_the_same_stock_item(app, people):
    first = _ordered_with(app, people, "70g 500张/包")
    _receive(app, people, first, accepted=10)
    second = _ordered_with(app, people, "70克 500张/包 （5包/箱）")
    _receive(app, people, second, accepted=4)  # the same name and unit: the ledger's item by default
    item = StockItem.get()
    assert StockItem.select().count() == 1 and item.balance == 14 and item.spec == "70g 500张/包"
    assert _fresh(second).order().lines_list()[0].stock_item_id == item.id


def test_a_new_stock_item_is_created_once_and_deliberately(app, people):
    first = _ordered_with(app, people, "70g 500张/包")
    _receive(app, people, first, accepted=10)
    second = _ordered_with(app, people, "80g 500张/包")
    with app.test_request_context():
        current = _fresh(second)
        line = current.order().lines_list()[0]
        procurement.apply(people["logistics"], current.id, current.version, "receive", received_on=dt.date(2026, 3, 2),
                            lines={line.id: (3, 0, "", "return")}, stock_items={line.id: stock.NEW_ITEM})
        current = _fresh(second)  # the rest arrives: it goes where the first part went, not to a third line
        procurement.apply(people["logistics"], current.id, current.version, "receive", received_on=dt.date(2026, 3, 2),
                            lines={line.id: (7, 0, "", "return")})
    items = [(i.spec, i.balance) for i in StockItem.select().order_by(StockItem.id)]
    assert items == [("70g 500张/包", 10), ("80g 500张/包", 10)]
    assert AuditEntry.select().where(AuditEntry.record_type == "stock_item", AuditEntry.action == "create").count() == 2


def test_goods_go_only_to_an_item_counted_in_the_same_unit(app, client, auth, people):
    first = _ordered_with(app, people, "70g 500张/包", unit="包")
    _receive(app, people, first, accepted=10)
    packs = StockItem.get()
    second = _ordered_with(app, people, "70g 500张/包")  # in boxes
    with app.test_request_context():
        current = _fresh(second)
        line = current.order().lines_list()[0]
        with pytest.raises(ProcurementError, match="counted in 包, these goods in 箱") as refused:
            procurement.apply(people["logistics"], current.id, current.version, "receive", received_on=dt.date(2026, 3, 2),
                                lines={line.id: (10, 0, "", "return")}, stock_items={line.id: packs.id})
        assert refused.value.field == f"stock-{line.id}"
        assert line.default_stock_item() is None  # nothing in boxes: a new item is offered
    assert StockItem.get_by_id(packs.id).balance == 10 and Delivery.select().count() == 1
    auth.login("log")
    response = client.post(f"/procurement/{second.id}/receive?lang=zh", data={
        "version": str(_fresh(second).version), "received_on": "2026-03-02", "lines-0-line_id": str(line.id), "lines-0-accepted": "9",
        "lines-0-rejected": "1", "lines-0-reason": "破损一箱", "lines-0-stock_item": str(packs.id)})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="lines-0-stock_item-error"' in page and "以“包”计" in page
    assert 'value="9"' in page and "破损一箱" in page and Delivery.select().count() == 1


def test_logistics_picks_the_stock_item_on_the_receiving_form(app, client, auth, people):
    first = _ordered_with(app, people, "70g 500张/包")
    _receive(app, people, first, accepted=10)
    with app.test_request_context():
        stock.StockItem.create(name="复印纸", spec="A3", unit="箱")
    second = _ordered_with(app, people, "70克/500张")
    line = _fresh(second).order().lines_list()[0]
    item = StockItem.get(StockItem.spec == "70g 500张/包")
    auth.login("log")
    page = client.get(f"/procurement/{second.id}?lang=zh").get_data(as_text=True)
    select = re.search(r'<select id="lines-0-stock_item" name="lines-0-stock_item"[^>]*>(.*?)</select>', page, re.S).group(1)
    assert f'<option selected value="{item.id}">' in select and "复印纸 A3" in select
    assert "新建库存物资：A4打印纸 70克/500张" in select and '<label for="lines-0-stock_item">入库物资' in page
    response = client.post(f"/procurement/{second.id}/receive", data={
        "version": str(_fresh(second).version), "received_on": "2026-03-02", "lines-0-line_id": str(line.id), "lines-0-accepted": "10",
        "lines-0-rejected": "0", "lines-0-stock_item": "new"})
    assert response.status_code == 303
    assert [i.spec for i in StockItem.select().where(StockItem.name == "A4打印纸").order_by(StockItem.id)] == [
        "70g 500张/包", "70克/500张"]


# ---------------------------------------------------------------- the printed forms

def test_the_printed_requisition_shows_every_round_with_its_reasons(app, client, auth, people):
    requisition = _make(app, people)
    _decide(app, requisition, people["head"], "reject", reason="数量太多，先买5箱")
    with app.test_request_context():
        current = _fresh(requisition)
        procurement.apply(people["requester"], current.id, current.version, "amend", department_id=_dept(app),
                          lines=[_line(quantity=5)])
        current = _fresh(requisition)
        procurement.apply(people["requester"], current.id, current.version, "submit")
    _decide(app, requisition, people["head"], reason="同意，按5箱")
    _review(app, requisition, people, "1250")
    auth.login("req")
    pdf = client.get(f"/procurement/{requisition.id}.pdf")
    _keep(pdf.data, "requisition-rounds.pdf")
    text = pdf_text(pdf.data)
    flat = text.replace(" ", "")
    for word in ("审批记录", "退回修改", "数量太多，先买5箱", "同意，按5箱", "询价比价", "1,250.00", "2026-03-0216:00"):
        assert word in flat, word
    history = [line.split() for line in text.splitlines() if line.split()[:1] in (["1"], ["2"]) and "16:00" in line]
    assert [(row[0], row[2]) for row in history] == [
        ("1", "提交审批"), ("1", "退回修改"), ("2", "提交审批"), ("2", "同意"), ("2", "同意")]
    assert text.count("陈主任") >= 3  # returned in round 1, approved in round 2, and the signature box
    assert_embedded_cjk_font(pdf.data)


def test_the_goods_receipt_note_shows_accepted_and_rejected_with_the_reason(app, client, auth, people):
    requisition = _ordered(app, people, quantity=10, price="600.00")
    delivery = _receive(app, people, requisition, accepted=8, rejected=2, reason="外包装破损，纸张受潮", kind="exchange")
    auth.login("log")
    pdf = client.get(f"/procurement/receipts/{delivery.id}.pdf")
    _keep(pdf.data, "goods-receipt-rejected.pdf")
    text = pdf_text(pdf.data)
    flat = text.replace(" ", "")
    for word in ("入库单", "合格", "拒收", "外包装破损，纸张受潮", "换货（供应商补发）", "退货单TH-2026-000001", "4,800.00"):
        assert word in flat, word
    row = next(line for line in text.splitlines() if "A4打印纸" in line).split()
    assert row[:1] == ["1"] and ["8", "2"] == [w for w in row if w in ("8", "2")][:2]


def test_a_return_note_is_printed_for_goods_going_back_to_the_supplier(app, client, auth, people, make_user):
    requisition = _ordered(app, people, quantity=10, price="600.00")
    _receive(app, people, requisition, accepted=0, rejected=10, reason="型号不符，非70g", kind="return")
    record = ReturnRecord.get()
    auth.login("log")
    page = client.get(f"/procurement/{requisition.id}?lang=zh").get_data(as_text=True)
    assert f'href="/procurement/returns/{record.id}.pdf"' in page and "打印退货单" in page
    pdf = client.get(f"/procurement/returns/{record.id}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    _keep(pdf.data, "return-note.pdf")
    flat = pdf_text(pdf.data).replace(" ", "")
    for word in ("退货单", "TH-2026-000001", "测试服务有限公司", "办公用品公司", "HT-2026-000001", "CG-2026-000001",
                 "A4打印纸", "退货（不再补发）", "型号不符，非70g", "6,000.00", "无（本批未入库）", "待供应商取回",
                 "验收人签字", "采购经办签字", "供应商签收", "第1页/共1页"):
        assert word in flat, word
    assert_embedded_cjk_font(pdf.data)
    make_user("sales", "specialist", department="销售部")
    auth.logout()
    auth.login("sales")
    assert client.get(f"/procurement/returns/{record.id}.pdf").status_code == 403
    assert client.get("/procurement/returns/999.pdf").status_code == 404


def test_reimbursing_a_requisition_without_an_order_is_not_found_not_a_500(app, client, auth, people):
    requisition = _make(app, people)
    auth.login("log")
    assert client.post(f"/procurement/{requisition.id}/reimburse", data={"version": "1"}).status_code == 404
