"""Money is shown one way: on the page, on paper and in the spreadsheet (where it stays a number)."""
import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from openpyxl import load_workbook

from models.money import Money, format_money
from models.reports import ReportRun

from .pdf import pdf_text


@pytest.mark.parametrize("value, shown", [
    (Decimal("1234.5"), "1,234.50"),
    (Decimal("0.005"), "0.01"),  # half up, as amounts are stored
    (12345, "12,345.00"),
    ("10000.00", "10,000.00"),  # the report's figures keep amounts as text
    (0.1 + 0.2, "0.30"),
    (Decimal("-80"), "-80.00"),
    (Decimal("1234567.891"), "1,234,567.89"),
    (None, ""),
])
def test_an_amount_is_grouped_in_thousands_with_two_decimals(value, shown):
    assert format_money(value) == shown


def test_the_money_filter_is_format_money(app):
    assert app.jinja_env.filters["money"] is format_money
    with app.test_request_context():
        assert app.jinja_env.from_string("¥{{ amount | money }}").render(amount=Decimal("5000")) == "¥5,000.00"


def test_an_amount_reads_the_same_on_the_page_on_paper_and_in_the_sheet(client, auth, make_user, monkeypatch):
    monkeypatch.setattr("models.procurement.requisitions.procurement_stats", lambda *args: {
        "count": 3, "approved": 2, "total_confirmed": Decimal("12345.5"), "avg_hours_to_approve": 20.0})
    make_user("manager", "service_manager")
    with time_machine.travel(dt.datetime(2026, 12, 2, 2, 0), tick=False):
        auth.login("manager")
        client.get("/reports?kind=month&month=2026-11&lang=zh")
        run = ReportRun.get()
        page = client.get(f"/reports/runs/{run.id}?lang=zh").get_data(as_text=True)
        printed = pdf_text(client.get(f"/reports/runs/{run.id}.pdf").data)
        book = load_workbook(io.BytesIO(client.get(f"/reports/runs/{run.id}.xlsx?lang=zh").data))
        csv_text = client.get(f"/reports/runs/{run.id}.csv?lang=en").data.decode("utf-8-sig")
    assert "12,345.50" in page
    assert "12,345.50" in printed
    amounts = [row[2] for row in book.active.iter_rows(min_row=2) if row[1].value == "核定金额（元）"]
    assert [(cell.value, cell.number_format) for cell in amounts] == [(12345.5, "#,##0.00")], \
        "a number the sheet can add up, shown as on the page"
    assert "Procurement,Confirmed amount (CNY),12345.50" in csv_text


def test_an_export_cell_marked_money_is_rounded_to_the_cent():
    assert Money("19.999") == Decimal("20.00") and isinstance(Money(3), Decimal)
