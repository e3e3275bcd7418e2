"""30-day no-reason returns: the workflow (allowed and refused steps), the deadline at its
boundary in Shanghai time, a refund above the sale, a second return of the same order line,
the summary against hand-counted figures, and the pages, prints and downloads."""
import datetime as dt
import io
import os
from decimal import Decimal

import pytest
import time_machine
from openpyxl import load_workbook

from models import returns
from models.base import DomainError
from models.callbacks import Sale
from models.complaints import Customer
from models.returns import GoodsReturn, ReturnEvent
from tests.pdf import assert_embedded_cjk_font, pdf_page_sizes, pdf_text

H = dt.timedelta(hours=1)


def at(y, m, d, hh=10, mm=0):
    """A Shanghai wall-clock time, for time_machine."""
    return (dt.datetime(y, m, d, hh, mm) - 8 * H).replace(tzinfo=dt.timezone.utc)


@pytest.fixture
def people(app, make_user):
    return {"desk": make_user("desk", "front_desk"), "spec": make_user("spec", "specialist"),
            "manager": make_user("manager", "service_manager"), "boss": make_user("lead", "leadership"),
            "logistics": make_user("logi", "logistics")}


def _receive(app, actor, when, **overrides):
    fields = dict(name="王女士", phone="13800000001", order_number="HX-1001", sale_date=dt.date(2026, 10, 31),
                  goods="实木餐桌", vendor="林氏家居", category="furniture", sale_amount=Decimal("3200.00"))
    fields.update(overrides)
    with time_machine.travel(when, tick=False), app.test_request_context():
        return returns.receive(actor, **fields)


def _apply(app, record, action, actor, when=None, **kwargs):
    with time_machine.travel(when or at(2026, 11, 20), tick=False), app.test_request_context():
        current = GoodsReturn.get_by_id(record.id)
        return returns.apply(current.id, action, actor, current.version, **kwargs)


def _accepted(app, people, record, outcome="refund", amount="3200", when=None):
    _apply(app, record, "check", people["desk"], when, goods_intact=True, vendor_agreed=True, vendor_contact="林经理")
    return _apply(app, record, "accept", people["desk"], when, outcome=outcome, amount=Decimal(amount))


# ------------------------------------------------------------------ the workflow

def test_a_return_goes_from_received_to_closed_with_who_and_when(app, people):
    record = _receive(app, people["desk"], at(2026, 11, 20, 9))
    assert record.number.startswith("WLTH-2026-") and record.state == "received" and record.in_time
    checked = _apply(app, record, "check", people["spec"], at(2026, 11, 20, 10), goods_intact=True,
                     vendor_agreed=True, vendor_contact="林经理 13900000000", note="包装完好")
    assert checked.state == "checked" and checked.checked_by_id == people["spec"].id
    accepted = _apply(app, record, "accept", people["desk"], at(2026, 11, 20, 11), outcome="exchange",
                      amount=Decimal("3000"))
    assert (accepted.state, accepted.outcome, accepted.amount) == ("accepted", "exchange", Decimal("3000.00"))
    closed = _apply(app, record, "close", people["desk"], at(2026, 11, 21, 15), note="已换货")
    assert closed.state == "closed" and closed.closed_by_id == people["desk"].id
    assert closed.closed_at == dt.datetime(2026, 11, 21, 7)
    with app.test_request_context():
        steps = [(e.action, e.to_state, e.actor_id, e.at) for e in closed.events()]
    assert steps == [("receive", "received", people["desk"].id, dt.datetime(2026, 11, 20, 1)),
                     ("check", "checked", people["spec"].id, dt.datetime(2026, 11, 20, 2)),
                     ("accept", "accepted", people["desk"].id, dt.datetime(2026, 11, 20, 3)),
                     ("close", "closed", people["desk"].id, dt.datetime(2026, 11, 21, 7))]
    from models.audit import AuditEntry
    with app.test_request_context():
        assert AuditEntry.select().where(AuditEntry.record_type == "goods_return",
                                         AuditEntry.record_id == record.id).count() == 4  # created, then three steps


def test_steps_out_of_turn_or_by_the_wrong_role_are_refused(app, people):
    record = _receive(app, people["desk"], at(2026, 11, 20))
    with pytest.raises(DomainError, match="cannot be done"):
        _apply(app, record, "accept", people["desk"], outcome="refund", amount=Decimal("10"))
    with pytest.raises(DomainError, match="cannot be done"):
        _apply(app, record, "close", people["desk"])
    with pytest.raises(DomainError, match="role may not"):
        _apply(app, record, "check", people["logistics"], goods_intact=True, vendor_agreed=True)
    with pytest.raises(DomainError, match="role may not"):
        _apply(app, record, "void", people["desk"], note="录错")
    with app.test_request_context():
        current = GoodsReturn.get_by_id(record.id)
        assert [name for name, _ in current.actions_for(people["desk"])] == ["check", "refuse"]
        assert [name for name, _ in current.actions_for(people["manager"])] == ["check", "refuse", "void"]
        with pytest.raises(DomainError, match="changed this return meanwhile"):
            returns.apply(record.id, "check", people["desk"], current.version + 1, goods_intact=True,
                          vendor_agreed=True)
    assert GoodsReturn.get_by_id(record.id).state == "received"


def test_accepting_needs_intact_goods_and_the_vendors_agreement(app, people):
    record = _receive(app, people["desk"], at(2026, 11, 20))
    _apply(app, record, "check", people["desk"], goods_intact=False, vendor_agreed=True, note="桌面有划痕")
    with pytest.raises(DomainError, match="not intact"):
        _apply(app, record, "accept", people["desk"], outcome="refund", amount=Decimal("3200"))
    with pytest.raises(DomainError) as refused:
        _apply(app, record, "refuse", people["desk"], refusal_kind="condition", note="")
    assert refused.value.field == "note"
    refused = _apply(app, record, "refuse", people["desk"], refusal_kind="condition", note="桌面有划痕，影响二次销售")
    assert (refused.state, refused.outcome, refused.refusal_kind) == ("refused", "refused", "condition")
    other = _receive(app, people["desk"], at(2026, 11, 20), order_number="HX-2002")
    _apply(app, other, "check", people["desk"], goods_intact=True, vendor_agreed=False)
    with pytest.raises(DomainError, match="vendor has not agreed"):
        _apply(app, other, "accept", people["desk"], outcome="refund", amount=Decimal("100"))


def test_a_check_must_say_both_conditions(app, people):
    record = _receive(app, people["desk"], at(2026, 11, 20))
    with pytest.raises(DomainError) as refused:
        _apply(app, record, "check", people["desk"], goods_intact=True, vendor_agreed=None)
    assert refused.value.field == "vendor_agreed"


def test_only_a_manager_voids_and_a_voided_line_may_be_brought_again(app, people):
    record = _receive(app, people["desk"], at(2026, 11, 20))
    with pytest.raises(DomainError) as refused:
        _apply(app, record, "void", people["manager"], note="")
    assert refused.value.field == "note"
    voided = _apply(app, record, "void", people["manager"], note="订单号录错")
    assert voided.state == "voided" and voided.is_void and voided.void_reason == "订单号录错"
    again = _receive(app, people["desk"], at(2026, 11, 20, 11))
    assert again.state == "received"


# ------------------------------------------------------------------ the deadline

@pytest.mark.parametrize("received, state", [
    (at(2026, 11, 29, 15), "received"),   # day 29
    (at(2026, 11, 30, 20), "received"),   # day 30, the last day
    (at(2026, 12, 1, 9), "refused"),      # day 31
])
def test_the_thirty_days_end_with_the_thirtieth_day_after_the_sale(app, people, received, state):
    record = _receive(app, people["desk"], received, sale_date=dt.date(2026, 10, 31))
    assert record.state == state and record.last_day == dt.date(2026, 11, 30)
    if state == "refused":
        assert (record.outcome, record.refusal_kind, record.decided_by_id) == ("refused", "deadline",
                                                                                people["desk"].id)
        with app.test_request_context():
            assert str(record.deadline_message) == "The return period ended on November 30, 2026."
        # The customer may not be told otherwise: a refused return is not accepted later.
        with pytest.raises(DomainError, match="cannot be done"):
            _apply(app, record, "check", people["desk"], goods_intact=True, vendor_agreed=True)


def test_the_day_is_shanghais_not_utcs(app, people):
    # 23:50 on the 30th in Shanghai is 15:50 UTC: still the last day.
    late = _receive(app, people["desk"], at(2026, 11, 30, 23, 50), sale_date=dt.date(2026, 10, 31))
    assert late.state == "received" and late.day_number == 30
    # 00:10 on 1 December in Shanghai is still 30 November in UTC: day 31 all the same.
    early = _receive(app, people["desk"], at(2026, 12, 1, 0, 10), sale_date=dt.date(2026, 10, 31),
                     order_number="HX-1002")
    assert early.created_at.date() == dt.date(2026, 11, 30)
    assert early.state == "refused" and early.day_number == 31


def test_the_deadline_is_a_setting_fixed_at_receipt(app, people):
    from models import settings
    with app.test_request_context():
        settings.save(people["manager"], {returns.RETURN_DAYS: 7})
    record = _receive(app, people["desk"], at(2026, 11, 8), sale_date=dt.date(2026, 11, 1))
    refused = _receive(app, people["desk"], at(2026, 11, 9), sale_date=dt.date(2026, 11, 1), order_number="B")
    assert (record.state, record.last_day) == ("received", dt.date(2026, 11, 8))
    assert refused.state == "refused"
    with app.test_request_context():
        settings.save(people["manager"], {returns.RETURN_DAYS: 30})
    # Decided a day later, on the vendor's answer: still in time, for it came in time.
    accepted = _accepted(app, people, record, when=at(2026, 11, 12))
    assert accepted.state == "accepted" and GoodsReturn.get_by_id(refused.id).state == "refused"


def test_a_sale_date_in_the_future_is_refused_beside_the_field(app, people):
    with pytest.raises(DomainError) as refused:
        _receive(app, people["desk"], at(2026, 11, 20), sale_date=dt.date(2026, 11, 21))
    assert refused.value.field == "sale_date"


# ------------------------------------------------------------------ money and the order line

def test_a_refund_above_the_sale_is_refused_beside_the_amount(app, people):
    record = _receive(app, people["desk"], at(2026, 11, 20), sale_amount=Decimal("3200.00"))
    _apply(app, record, "check", people["desk"], goods_intact=True, vendor_agreed=True)
    with pytest.raises(DomainError) as refused:
        _apply(app, record, "accept", people["desk"], outcome="refund", amount=Decimal("3200.01"))
    assert refused.value.field == "amount" and "3,200.01 is more than the 3,200.00 paid" in str(refused.value)
    assert GoodsReturn.get_by_id(record.id).state == "checked"
    accepted = _apply(app, record, "accept", people["desk"], outcome="refund", amount=Decimal("3200.00"))
    assert accepted.amount == Decimal("3200.00")


def test_a_second_return_of_the_same_order_line_is_refused(app, people):
    first = _receive(app, people["desk"], at(2026, 11, 20))
    _accepted(app, people, first)
    with pytest.raises(DomainError) as refused:
        # Another desk, spaces and case differing: the same line.
        _receive(app, people["spec"], at(2026, 11, 22), order_number=" hx-1001 ", goods="实木餐桌 ")
    assert refused.value.field == "order_number" and first.number in str(refused.value)
    # Another line of the same order is another return.
    chairs = _receive(app, people["desk"], at(2026, 11, 22), goods="餐椅", sale_amount=Decimal("800"))
    assert chairs.state == "received"
    assert GoodsReturn.select().count() == 2


def test_a_refused_line_may_be_brought_again_but_not_twice_at_once(app, people):
    first = _receive(app, people["desk"], at(2026, 11, 20))
    _apply(app, first, "refuse", people["desk"], refusal_kind="vendor", note="厂商不同意，顾客要求再沟通")
    second = _receive(app, people["desk"], at(2026, 11, 21))
    assert second.state == "received"
    with pytest.raises(DomainError, match=second.number):
        _receive(app, people["desk"], at(2026, 11, 21))


def test_a_sale_from_the_imported_list_gives_the_goods_and_the_date(app, people):
    with app.test_request_context():
        customer = Customer.create(name="李先生", phone="13800000009")
        sale = Sale.create(customer=customer, product="布艺沙发", sale_date=dt.date(2026, 11, 2))
        other = Sale.create(customer=Customer.create(name="别人", phone="13800000010"), product="床",
                            sale_date=dt.date(2026, 11, 2))
        assert [s.id for s in returns.sales_of("13800000009")] == [sale.id]
    record = _receive(app, people["desk"], at(2026, 11, 20), name="李先生", phone="13800000009", sale_id=sale.id,
                      goods="", sale_date=None, order_number="HX-77")
    assert (record.sale_id, record.goods, record.sale_date, record.customer_id) == (
        sale.id, "布艺沙发", dt.date(2026, 11, 2), customer.id)
    with pytest.raises(DomainError) as refused:  # the same imported line again, whatever the order number says
        _receive(app, people["desk"], at(2026, 11, 21), name="李先生", phone="13800000009", sale_id=sale.id,
                 goods="", sale_date=None, order_number="HX-78")
    assert refused.value.field == "order_number"
    with pytest.raises(DomainError) as refused:  # someone else's sale
        _receive(app, people["desk"], at(2026, 11, 21), name="李先生", phone="13800000009", sale_id=other.id)
    assert refused.value.field == "sale_id"


def test_a_return_belongs_to_the_customers_complaint(app, people):
    from models import complaints
    with time_machine.travel(at(2026, 11, 19), tick=False), app.test_request_context():
        complaint = complaints.create(people["spec"], name="王女士", phone="13800000001", content="餐桌开裂",
                                      channel="visit", category="product quality", severity="general")
        stranger = complaints.create(people["spec"], name="赵先生", phone="13800000002", content="送货慢",
                                     channel="phone", category="delivery", severity="general")
    record = _receive(app, people["desk"], at(2026, 11, 20), complaint_number=complaint.number.lower())
    assert record.complaint_id == complaint.id
    with pytest.raises(DomainError) as refused:
        _receive(app, people["desk"], at(2026, 11, 20), order_number="X", complaint_number=stranger.number)
    assert refused.value.field == "complaint_number"


# ------------------------------------------------------------------ the summary

@pytest.fixture
def november(app, people):
    """Six returns received in November 2026 (Shanghai days), one voided, one on 1 December."""
    r1 = _receive(app, people["desk"], at(2026, 11, 1, 0, 5), order_number="A1", vendor="林氏家居",
                  category="furniture", sale_amount=Decimal("3200"), sale_date=dt.date(2026, 10, 20))
    _accepted(app, people, r1, "refund", "3200")
    r2 = _receive(app, people["desk"], at(2026, 11, 5), order_number="A2", vendor="林氏家居", category="furniture",
                  sale_amount=Decimal("1500.50"), sale_date=dt.date(2026, 10, 25))
    _accepted(app, people, r2, "exchange", "1500.50")
    r3 = _receive(app, people["desk"], at(2026, 11, 6), order_number="B1", vendor="欧普照明", category="lighting",
                  sale_amount=Decimal("699"), sale_date=dt.date(2026, 10, 1))  # day 36: refused at once
    r4 = _receive(app, people["desk"], at(2026, 11, 10), order_number="B2", vendor="欧普照明", category="lighting",
                  sale_amount=Decimal("420"), sale_date=dt.date(2026, 11, 1))
    _apply(app, r4, "refuse", people["desk"], refusal_kind="condition", note="灯罩破损")
    r5 = _receive(app, people["desk"], at(2026, 11, 30, 23, 59), order_number="C1", vendor="罗莱家纺",
                  category="textiles", sale_amount=Decimal("880"), sale_date=dt.date(2026, 11, 20))  # undecided
    _accepted(app, people, _receive(app, people["desk"], at(2026, 11, 12), order_number="A3", vendor="林氏家居",
                                    category="furniture", sale_amount=Decimal("999.99"),
                                    sale_date=dt.date(2026, 11, 11)), "refund", "500")
    voided = _receive(app, people["desk"], at(2026, 11, 15), order_number="V1", vendor="罗莱家纺", category="textiles",
                      sale_amount=Decimal("100"), sale_date=dt.date(2026, 11, 11))
    _apply(app, voided, "void", people["manager"], note="重复登记")
    _receive(app, people["desk"], at(2026, 12, 1, 0, 5), order_number="D1", vendor="罗莱家纺", category="textiles",
             sale_amount=Decimal("100"), sale_date=dt.date(2026, 11, 11))
    return [r1, r2, r3, r4, r5]


def test_the_monthly_summary_by_vendor_category_and_outcome(app, november):
    with app.test_request_context():
        s = returns.summary(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert s["total"] == {"count": 6, "refund": 2, "exchange": 1, "refused": 2, "pending": 1,
                          "amount": Decimal("5200.50")}
    assert list(s["by_vendor"]) == ["林氏家居", "欧普照明", "罗莱家纺"]
    assert s["by_vendor"]["林氏家居"] == {"count": 3, "refund": 2, "exchange": 1, "refused": 0, "pending": 0,
                                         "amount": Decimal("5200.50")}
    assert s["by_vendor"]["欧普照明"] == {"count": 2, "refund": 0, "exchange": 0, "refused": 2, "pending": 0,
                                         "amount": Decimal("0.00")}
    assert s["by_category"]["textiles"]["pending"] == 1 and s["by_category"]["lighting"]["count"] == 2
    assert s["by_outcome"]["refund"] == {"count": 2, "amount": Decimal("3700.00")}
    assert s["by_outcome"]["exchange"] == {"count": 1, "amount": Decimal("1500.50")}
    assert s["by_refusal"] == {"deadline": 1, "condition": 1, "vendor": 0, "other": 0}
    with app.test_request_context():
        assert [r.order_number for r in returns.register(dt.date(2026, 11, 1), dt.date(2026, 11, 30))] == [
            "A1", "A2", "B1", "B2", "A3", "C1"]


def test_the_summary_is_zero_for_an_empty_month(app, people):
    with app.test_request_context():
        s = returns.summary(dt.date(2026, 1, 1), dt.date(2026, 1, 31))
    assert s["total"]["count"] == 0 and s["by_vendor"] == {} and s["total"]["amount"] == Decimal("0")


# ------------------------------------------------------------------ the pages

FORM = {"name": "王女士", "phone": "13800000001", "order_number": "HX-1001", "goods": "实木餐桌",
        "sale_date": "2026-10-31", "sale_amount": "3,200", "vendor": "林氏家居", "category": "furniture"}


def _post_new(client, **overrides):
    import uuid
    return client.post("/returns/new", data={**FORM, "submission_key": uuid.uuid4().hex, **overrides})


def test_the_desk_receives_checks_and_refunds_on_the_pages(app, client, auth, people):
    with time_machine.travel(at(2026, 11, 29), tick=False):
        auth.login("desk")
        response = _post_new(client)
        assert response.status_code == 303
        record = GoodsReturn.get()
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert record.number in page and "Conditions checked" not in page
        response = client.post(f"/returns/{record.id}/check", data={
            "check-version": record.version, "check-goods_intact": "yes", "check-vendor_agreed": "yes",
            "check-vendor_contact": "林经理"})
        assert response.status_code == 303
        record = GoodsReturn.get()
        refused = client.post(f"/returns/{record.id}/accept", data={
            "accept-version": record.version, "accept-outcome": "refund", "accept-amount": "3500"})
        assert refused.status_code == 422
        text = refused.get_data(as_text=True)
        assert 'id="accept-amount-error"' in text and "3,500.00 is more than the 3,200.00 paid" in text
        assert 'value="3500"' in text  # what was typed stays
        done = client.post(f"/returns/{record.id}/accept", data={
            "accept-version": record.version, "accept-outcome": "refund", "accept-amount": "3200"})
        assert done.status_code == 303
    record = GoodsReturn.get()
    assert (record.state, record.amount) == ("accepted", Decimal("3200.00"))


def test_a_late_return_is_recorded_refused_with_the_day_it_ended(app, client, auth, people):
    with time_machine.travel(at(2026, 12, 1), tick=False):
        auth.login("desk")
        preview = client.get("/returns/lookup?phone=13800000001&sale_date=2026-10-31").get_data(as_text=True)
        assert "The return period ended on November 30, 2026." in preview
        response = _post_new(client)
        page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The return period ended on November 30, 2026." in page and "day 31" in page
    assert GoodsReturn.get().state == "refused"


def test_bad_input_comes_back_beside_its_field(app, client, auth, people):
    with time_machine.travel(at(2026, 11, 20), tick=False):
        auth.login("desk")
        bad = _post_new(client, sale_amount="abc", goods="", sale_date="")
        text = bad.get_data(as_text=True)
        assert bad.status_code == 422
        assert 'id="sale_amount-error"' in text and 'id="goods-error"' in text and 'id="sale_date-error"' in text
        assert _post_new(client).status_code == 303
        again = _post_new(client)
        assert again.status_code == 422 and 'id="order_number-error"' in again.get_data(as_text=True)
    assert GoodsReturn.select().count() == 1


def test_the_lookup_offers_the_customers_imported_sales(app, client, auth, people):
    with app.test_request_context():
        customer = Customer.create(name="李先生", phone="13800000009")
        sale = Sale.create(customer=customer, product="布艺沙发", sale_date=dt.date(2026, 11, 2))
    with time_machine.travel(at(2026, 11, 20), tick=False):
        auth.login("desk")
        offered = client.get("/returns/lookup?phone=138 0000 0009").get_data(as_text=True)
        assert "布艺沙发" in offered and f'value="{sale.id}"' in offered
        chosen = client.get(f"/returns/lookup?phone=13800000009&sale_id={sale.id}").get_data(as_text=True)
        assert 'id="chosen-sale"' in chosen and "Day 18 after the sale" in chosen
        response = _post_new(client, name="李先生", phone="13800000009", sale_id=str(sale.id), goods="",
                             sale_date="")
    assert response.status_code == 303 and GoodsReturn.get().sale_id == sale.id


def test_who_may_reach_the_returns(app, client, auth, people):
    auth.login("logi")
    assert client.get("/returns").status_code == 403
    assert client.get("/returns/register").status_code == 403
    auth.logout()
    auth.login("lead")
    assert client.get("/returns/new").status_code == 403
    assert client.get("/returns/summary").status_code == 200


def test_the_printed_register_and_summary_and_their_xlsx(app, client, auth, november):
    auth.login("lead")
    register = client.get("/returns/register.pdf?from=2026-11-01&to=2026-11-30")
    assert register.status_code == 200
    assert_embedded_cjk_font(register.data)
    text = pdf_text(register.data)
    if os.environ.get("SAVE_PDFS"):
        open("/tmp/returns_register.pdf", "wb").write(register.data)
    flat = "".join(text.split())  # the narrow cells wrap their text
    assert "30天无理由退货登记表" in text and "届满" in flat and "灯罩破损" in flat
    assert "V1" not in text and "D1" not in text
    assert pdf_page_sizes(register.data)[0] == (297, 210)
    summary = client.get("/returns/summary.pdf?month=2026-11")
    assert_embedded_cjk_font(summary.data)
    text = pdf_text(summary.data)
    if os.environ.get("SAVE_PDFS"):
        open("/tmp/returns_summary.pdf", "wb").write(summary.data)
    assert "30天无理由退货汇总表" in text and "林氏家居" in text and "5,200.50" in text and "灯饰" in text
    book = load_workbook(io.BytesIO(client.get("/returns/register?from=2026-11-01&to=2026-11-30&format=xlsx").data))
    rows = list(book.active.iter_rows(values_only=True))
    assert len(rows) == 7 and rows[1][4] == "A1"
    book = load_workbook(io.BytesIO(client.get("/returns/summary?month=2026-11&format=xlsx").data))
    rows = list(book.active.iter_rows(values_only=True))
    assert ("Vendor", "林氏家居", 3, 2, 1, 0, 0, 5200.5) in rows and rows[0][2] == "Count"
    page = client.get("/returns/summary?month=2026-11").get_data(as_text=True)
    assert 'id="fig-total">6<' in page and 'id="fig-accepted">3<' in page
    assert client.get("/returns/register?from=2026-11-30&to=2026-11-01").status_code == 422
    assert client.get("/returns/summary?month=2026-13").status_code == 422


def test_the_demo_fills_the_register(app, monkeypatch):
    from models.demo import seed_demo
    monkeypatch.setattr("models.demo.generate_password", lambda: "demo-password-1")
    with time_machine.travel(at(2026, 12, 2, 10), tick=False), app.app_context():
        seed_demo(only_if_empty=True)
        rows = list(GoodsReturn.select())
        assert {r.state for r in rows} == {"received", "accepted", "refused", "closed"}
        assert {r.outcome for r in rows} == {"", "refund", "exchange", "refused"}
        assert any(r.sale_id for r in rows) and any(r.refusal_kind == "deadline" for r in rows)
        assert all(e.at <= dt.datetime(2026, 12, 2, 2) for e in ReturnEvent.select())
