"""The complaint register and its monthly summary: figures computed by hand, the page,
the XLSX and CSV downloads read back, bad input."""
import datetime as dt
import io

import pytest
import time_machine
from openpyxl import load_workbook

from models import complaints
from models.complaints import Complaint
from models.reports import Period
from models.users import Department
from tests.helpers import apply_at as _do
from tests.helpers import at, staff
from tests.helpers import on_the_clock


@pytest.fixture(autouse=True)
def _deadlines_on_the_clock(app):
    """These deadlines are wall-clock hours: the setting is turned off explicitly, since working
    time is the default now (tests that count working time turn it on themselves)."""
    on_the_clock(app)


@pytest.fixture
def people(make_user):
    return staff(make_user, "spec", "manager", "head", "sales")


def _dept(app, name):
    with app.test_request_context():
        return Department.get(Department.name == name).id


def _make(app, people, when, phone, **overrides):
    fields = dict(name=f"客户{phone[-2:]}", phone=phone, content="内容", channel="phone", category="delivery",
                  severity="general")
    fields.update(overrides)
    with time_machine.travel(when, tick=False), app.test_request_context():
        return complaints.create(people["spec"], **fields)


def _handle(app, people, complaint, department, head, when, assigned_at):
    _do(app, complaint, "acknowledge", people["spec"], assigned_at)
    _do(app, complaint, "assign", people["spec"], assigned_at, department_id=_dept(app, department))
    _do(app, complaint, "handle", people[head], when, note="已处理")


@pytest.fixture
def november(app, people):
    """Five complaints taken in in November 2026 (Shanghai time), and three that do not count."""
    # c1: delivery, Repairs, waited on the customer 1 h, handled after 4 h: 3 h, on time; satisfied and closed.
    c1 = _make(app, people, at(2026, 11, 2, 10), "13100000001")
    _do(app, c1, "acknowledge", people["spec"], at(2026, 11, 2, 10))
    _do(app, c1, "assign", people["spec"], at(2026, 11, 2, 10), department_id=_dept(app, "Repairs"))
    _do(app, c1, "pause", people["spec"], at(2026, 11, 2, 11))
    _do(app, c1, "resume", people["spec"], at(2026, 11, 2, 12))
    _do(app, c1, "handle", people["head"], at(2026, 11, 2, 14), note="已处理")
    _do(app, c1, "report", people["head"], at(2026, 11, 2, 15), note="已修好")
    _do(app, c1, "inform", people["spec"], at(2026, 11, 2, 16))
    _do(app, c1, "satisfied", people["spec"], at(2026, 11, 3, 10))
    _do(app, c1, "close", people["spec"], at(2026, 11, 3, 11), root_cause="司机迟到", improvement="调整路线")
    # c2: billing, major, Repairs, handled exactly at its 72 h deadline (on time); the callback is unsatisfied.
    c2 = _make(app, people, at(2026, 11, 3, 10), "13100000002", category="billing", severity="major")
    _handle(app, people, c2, "Repairs", "head", at(2026, 11, 6, 10), at(2026, 11, 3, 10))
    _do(app, c2, "report", people["head"], at(2026, 11, 6, 11), note="已退款")
    _do(app, c2, "inform", people["spec"], at(2026, 11, 6, 12))
    _do(app, c2, "unsatisfied", people["spec"], at(2026, 11, 7, 10), note="退款金额不对")
    # c3: delivery, Sales, handled after 48 h: late.
    c3 = _make(app, people, at(2026, 11, 10, 10), "13100000003")
    _handle(app, people, c3, "Sales", "sales", at(2026, 11, 12, 10), at(2026, 11, 10, 10))
    # c4: service attitude, not assigned yet.
    _make(app, people, at(2026, 11, 15, 10), "13100000004", category="service attitude")
    # c5: the last minutes of November in Shanghai (still 11-30 in UTC too).
    _make(app, people, at(2026, 11, 30, 23, 50), "13100000005", category="billing")
    # Not in November: October in Shanghai; December in Shanghai though November in UTC; voided.
    _make(app, people, at(2026, 10, 31, 23, 30), "13100000006")
    _make(app, people, at(2026, 12, 1, 0, 10), "13100000007")
    voided = _make(app, people, at(2026, 11, 20, 10), "13100000008")
    _do(app, voided, "void", people["manager"], at(2026, 11, 20, 11), note="重复录入")


def test_the_monthly_figures(app, november):
    with app.test_request_context():
        start, end = Period.parse("month", "2026-11").utc_range()
        assert (start, end) == (dt.datetime(2026, 10, 31, 16), dt.datetime(2026, 11, 30, 16))
        stats = complaints.complaint_stats(start, end)
    assert stats == {
        "total": 5,
        "by_category": {"billing": 2, "delivery": 2, "service attitude": 1},
        "by_department": {None: 2, "Repairs": 2, "Sales": 1},
        "by_severity": {"general": 4, "major": 1},
        "handled": 3, "handling_rate": 0.6,
        "avg_handling_hours": 41.0,  # (3 + 72 + 48) / 3
        "on_time": 2, "on_time_rate": 0.6667,
        "called_back": 2, "satisfied": 1, "satisfied_rate": 0.5,
    }


def test_the_figures_of_one_department(app, november):
    with app.test_request_context():
        stats = complaints.complaint_stats(*Period.parse("month", "2026-11").utc_range(), department_id=_dept(app, "Repairs"))
    assert (stats["total"], stats["handled"], stats["handling_rate"], stats["avg_handling_hours"],
            stats["on_time_rate"], stats["satisfied_rate"]) == (2, 2, 1.0, 37.5, 1.0, 0.5)
    assert stats["by_department"] == {"Repairs": 2}


def test_an_empty_month_has_no_rates(app, people):
    with app.test_request_context():
        stats = complaints.complaint_stats(*Period.parse("month", "2026-02").utc_range())
    assert stats["total"] == 0 and stats["handling_rate"] is None and stats["avg_handling_hours"] is None
    assert stats["on_time_rate"] is None and stats["satisfied_rate"] is None


def test_the_register_page(app, client, auth, november):
    auth.login("spec")
    page = client.get("/complaints/register?month=2026-11").get_data(as_text=True)
    summary = page[page.index('id="register-summary"'):page.index('id="register-rows"')]
    for figure in ('id="fig-total">5<', ">60.0%<", ">41.0<", ">66.7%<", ">50.0%<"):
        assert figure in summary, figure
    rows = page[page.index('id="register-rows"'):]
    assert rows.count("TS-2026-") == 5 and "13100000008" not in rows
    repairs = client.get(f"/complaints/register?month=2026-11&department={_dept(app, 'Repairs')}",
                         headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in repairs and repairs.count("TS-2026-") == 2


def test_the_register_as_xlsx_reads_back(app, client, auth, november):
    auth.login("spec")
    response = client.get("/complaints/register?month=2026-11&format=xlsx")
    assert response.status_code == 200 and "spreadsheetml" in response.headers["Content-Type"]
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Number", "Received", "Customer") and len(rows) == 6
    by_number = {row[0]: row for row in rows[1:]}
    with app.test_request_context():
        first = Complaint.select().order_by(Complaint.created_at).where(Complaint.customer.in_(
            [c.id for c in complaints.Customer.select().where(complaints.Customer.phone == "13100000001")])).get()
    row = by_number[first.number]
    assert row[1] == "2026-11-02 10:00" and row[7] == "Repairs" and row[10] == 3.0 and row[11] == "Yes"
    assert row[12] == "Satisfied" and row[13] == "司机迟到" and row[14] == "调整路线"
    summary = load_workbook(io.BytesIO(client.get(
        "/complaints/register?month=2026-11&format=xlsx&table=summary").data)).active
    figures = {label: value for label, value in summary.iter_rows(min_row=2, values_only=True)}
    assert figures["Complaints taken in"] == 5 and figures["Handling rate"] == "60.0%"
    assert figures["Category: Billing"] == 2 and figures["Department: not assigned yet"] == 2
    assert figures["Average handling time (hours)"] == 41.0 and figures["Satisfaction"] == "50.0%"


def test_the_register_as_csv(app, client, auth, november):
    auth.login("spec")
    response = client.get("/complaints/register?month=2026-11&format=csv")
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeffNumber,Received,Customer") and len(text.strip().splitlines()) == 6
    assert "filename*=UTF-8''%E6%8A%95%E8%AF%89%E5%8F%B0%E5%B8%90-2026-11.csv" in response.headers[
        "Content-Disposition"]


@pytest.mark.parametrize("query", ["month=2026-13", "month=abc", "month=1999-01", "department=999"])
def test_bad_filters_are_told_not_an_error_page(app, client, auth, people, query):
    auth.login("spec")
    response = client.get(f"/complaints/register?{query}")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter a month like" in page or "Choose a department from the list" in page


def test_the_register_needs_the_complaints_permission(client, auth, make_user):
    make_user("desk", "front_desk")
    auth.login("desk")
    assert client.get("/complaints/register").status_code == 403
