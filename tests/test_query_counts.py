"""The lists a page shows cost the same number of queries for one row as for many:
no row loads its neighbours one by one (N+1)."""
import datetime as dt

import pytest
import time_machine
from playhouse.test_utils import count_queries

from models import complaints
from models.visitors import Visit

NOW = dt.datetime(2026, 11, 23, 2, 0)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def queries_for(client, url):
    with count_queries() as counter:
        response = client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 200, url
    return counter.count


def assert_query_count_does_not_grow(client, url, add_rows):
    add_rows(1)
    few = queries_for(client, url)
    add_rows(12)
    assert queries_for(client, url) == few, f"{url}: queries grow with the rows"


def test_the_visitor_log_and_the_desk(client, auth, make_user):
    host = make_user("host", "specialist", department="客服部")
    make_user("desk", "front_desk")
    auth.login("desk")
    counter = iter(range(1000))

    def add_visits(n):
        Visit.insert_many([{"number": f"VP-Q{next(counter):04d}", "visitor_name": "访客", "phone": "13800138000",
                            "purpose": "meeting", "host": host.id, "arrived_at": NOW - dt.timedelta(minutes=5),
                            "state": "on_site"} for _ in range(n)]).execute()
    assert_query_count_does_not_grow(client, "/visitors/log", add_visits)
    assert_query_count_does_not_grow(client, "/visitors", add_visits)


def test_the_complaint_list(app, client, auth, make_user):
    clerk = make_user("spec", "specialist", department="客服部")
    auth.login("spec")
    counter = iter(range(1000))

    def add_complaints(n):
        for _ in range(n):
            complaints.create(clerk, name="客户", phone=f"1390013{next(counter):04d}", content="漏水",
                              channel="phone", category=complaints.categories()[0], severity="general")
    assert_query_count_does_not_grow(client, "/complaints?state=all", add_complaints)


def test_the_requisition_list(app, client, auth, make_user):
    from decimal import Decimal

    from models.procurement import requisitions
    from models.users import Department
    requester = make_user("req", "specialist", department="客服部")
    auth.login("req")
    department = Department.get(Department.name == "客服部").id
    line = {"item_name": "A4打印纸", "spec": "", "quantity": 1, "unit": "箱", "unit_price": Decimal("10.00"),
            "needed_on": dt.date(2026, 12, 1), "purpose": ""}

    def add_requisitions(n):
        for _ in range(n):
            with app.test_request_context():
                requisitions.create(requester, department_id=department, lines=[line], submit=True)
    assert_query_count_does_not_grow(client, "/procurement?state=all", add_requisitions)


def test_a_complaint_page_shows_the_newest_similar_ones_at_a_fixed_cost(app, client, auth, make_user):
    clerk = make_user("spec", "specialist", department="客服部")
    auth.login("spec")
    counter = iter(range(1000))

    def add_complaints(n):
        return [complaints.create(clerk, name="客户", phone=f"1390013{next(counter):04d}", content="漏水",
                                  channel="phone", category=complaints.categories()[0], severity="general")
                for _ in range(n)]
    first = add_complaints(1)[0]
    url = f"/complaints/{first.id}"
    assert_query_count_does_not_grow(client, url, add_complaints)
    similar = client.get(url).get_data(as_text=True).split('id="similar-rows"')[1].split("</table>")[0]
    assert similar.count("<tr") - 1 == complaints.SIMILAR_SHOWN  # the header row, then the newest ten


def test_the_returns_list_and_register(app, client, auth, make_user):
    from decimal import Decimal

    from models import returns
    desk = make_user("desk", "front_desk")
    auth.login("desk")
    counter = iter(range(1000))

    def add_returns(n):
        for _ in range(n):
            i = next(counter)
            with app.test_request_context():
                record = returns.receive(desk, name="顾客", phone=f"1390014{i:04d}", order_number=f"Q{i}",
                                         sale_date=dt.date(2026, 11, 1), goods="餐桌", vendor="林氏家居",
                                         category="furniture", sale_amount=Decimal("100"))
                returns.apply(record.id, "refuse", desk, record.version, refusal_kind="other", note="顾客改变主意")
    assert_query_count_does_not_grow(client, "/returns?state=all", add_returns)
    assert_query_count_does_not_grow(client, "/returns/register", add_returns)
def test_the_compensation_lists(app, client, auth, make_user):
    from decimal import Decimal

    from models import compensations
    from models.compensations import Compensation
    proposer = make_user("spec", "specialist", department="客服部")
    manager = make_user("manager", "service_manager", department="客服部")
    auth.login("manager")
    counter = iter(range(1000))

    def add_compensations(n):
        for _ in range(n):
            with app.test_request_context():
                c = compensations.propose(proposer, case="漏水", responsible_party="厂商", amount=Decimal("500"),
                                          name="客户", phone=f"1390013{next(counter):04d}")
                c = compensations.apply(c.id, "approve", manager, c.version)
                compensations.apply(c.id, "pay", manager, c.version, amount=Decimal("500"), day=NOW.date(),
                                    method="cash")
                compensations.propose(proposer, case="漏水", responsible_party="厂商", amount=Decimal("500"),
                                      name="客户", phone=f"1390013{next(counter):04d}")
    assert_query_count_does_not_grow(client, "/compensations?state=all", add_compensations)
    assert_query_count_does_not_grow(client, "/compensations/recoveries", add_compensations)
    assert Compensation.select().count() > 20
def test_the_visit_pages(app, client, auth, make_user):
    import datetime as dt

    from models import home_visits, service_visits
    spec = make_user("spec", "specialist", department="客服部")
    auth.login("spec")
    counter = iter(range(1000))

    def add_visits(n):
        with app.test_request_context():
            for _ in range(n):
                phone = f"1390013{next(counter):04d}"
                complaints.create(spec, name="客户", phone=phone, content="漏水", channel="phone",
                                  category=complaints.categories()[0], severity="general")
                visit = home_visits.plan(spec, phone=phone, planned_for=dt.date(2026, 11, 23))
                home_visits.apply(visit.id, "record", spec, visit.version, visited_at=NOW, visited_by_id=spec.id,
                                  findings="正常", satisfaction="satisfied")
                home_visits.plan(spec, phone=phone, planned_for=dt.date(2026, 11, 24))
                complaints.create(spec, name="客户", phone=f"1370013{next(counter):04d}", content="漏水",
                                  channel="phone", category=complaints.categories()[0], severity="general")
                service_visits.create(spec, phone=phone, kind="repair", product="洗衣机", problem="漏水")
    assert_query_count_does_not_grow(client, "/home-visits", add_visits)
    assert_query_count_does_not_grow(client, "/service-visits", add_visits)


def test_a_customer_page_shows_their_complaints_fifty_at_a_time_and_the_form_the_newest(app, client, auth,
                                                                                         make_user):
    from models.complaints import Customer
    from tests.pdf import pdf_text
    from views.complaints import CUSTOMER_FORM_ROWS
    from views.ui import PAGE_ROWS
    clerk = make_user("spec", "specialist", department="客服部")
    auth.login("spec")

    def add_complaints(n):
        return [complaints.create(clerk, name="常客", phone="13900130000", content="漏水", channel="phone",
                                  category=complaints.categories()[0], severity="general") for _ in range(n)]
    first = add_complaints(1)[0]
    customer = Customer.get(Customer.phone == "13900130000")
    url = f"/customers/{customer.id}"
    assert_query_count_does_not_grow(client, url, add_complaints)
    newest = add_complaints(PAGE_ROWS)[-1]
    page = client.get(url).get_data(as_text=True)
    rows = page.split('id="customer-complaints"')[1].split("</table>")[0]
    assert rows.count("/complaints/") == PAGE_ROWS and newest.number in rows and first.number not in rows
    assert f'hx-get="{url}?page=2"' in rows
    total = complaints.Complaint.select().count()
    more = client.get(f"{url}?page=2", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert more.count("/complaints/") == total - PAGE_ROWS and first.number in more and "<table" not in more

    text = " ".join(pdf_text(client.get(f"{url}.pdf").data).split())
    assert newest.number in text and first.number not in text
    assert f"共 {total} 条记录，此处列出最近 {CUSTOMER_FORM_ROWS} 条" in text


def test_a_supplier_page_shows_its_orders_fifty_at_a_time(app, client, auth, make_user):
    from models.procurement.orders import PurchaseOrder
    from tests.helpers import PROCUREMENT_STAFF, make_requisition, make_supplier, requisition_line, staff
    from views.ui import PAGE_ROWS
    people = staff(make_user, *PROCUREMENT_STAFF, table=PROCUREMENT_STAFF)
    supplier = make_supplier(app)
    auth.login(people["logistics"].username)
    counter = iter(range(1000))

    def add_orders(n):  # drafts stand in for ordered requisitions: the page lists only the orders
        for _ in range(n):
            requisition = make_requisition(app, people, [requisition_line(needed_on=NOW.date())], submit=False)
            PurchaseOrder.create(number=f"CG-Q{next(counter):04d}", requisition=requisition.id, supplier=supplier.id,
                                 delivery_date=NOW.date(), created_by=people["logistics"].id)
    url = f"/suppliers/{supplier.id}"
    assert_query_count_does_not_grow(client, url, add_orders)
    add_orders(PAGE_ROWS)
    page = client.get(url).get_data(as_text=True)
    rows = page.split('id="supplier-orders"')[1].split("</ul>")[0]
    assert rows.count("CG-Q") == PAGE_ROWS and f"CG-Q{PAGE_ROWS + 12:04d}" in rows and "CG-Q0000" not in rows
    assert f'hx-get="{url}?page=2"' in rows
    more = client.get(f"{url}?page=2", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert more.count("CG-Q") == PurchaseOrder.select().count() - PAGE_ROWS and "CG-Q0000" in more


def test_a_stock_item_shows_its_moves_fifty_at_a_time(app, client, auth, make_user):
    from models.procurement.stock import StockItem, StockMove
    from views.ui import PAGE_ROWS
    keeper = make_user("log", "logistics", department="行政后勤部")
    auth.login("log")
    item = StockItem.create(name="A4打印纸", spec="70g", unit="箱", balance=0)
    counter = iter(range(1, 1000))

    def add_moves(n):
        StockMove.insert_many([{"item": item.id, "at": NOW, "qty_in": 1, "balance_after": i, "actor": keeper.id,
                                "note": f"入库{i:04d}"} for i in (next(counter) for _ in range(n))]).execute()
    url = f"/stock/{item.id}"
    assert_query_count_does_not_grow(client, url, add_moves)
    add_moves(PAGE_ROWS)
    total = StockMove.select().count()
    rows = client.get(url).get_data(as_text=True).split('id="move-rows"')[1].split("</table>")[0]
    assert rows.count("入库") == PAGE_ROWS and f"入库{total:04d}" in rows and "入库0001" not in rows
    assert f'hx-get="{url}?page=2"' in rows
    more = client.get(f"{url}?page=2", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert more.count("入库") == total - PAGE_ROWS and "入库0001" in more and "<table" not in more


def test_the_duty_days_fifty_at_a_time_and_the_newest_unsigned(app, client, auth, make_user):
    from models.duty import DutyDay
    from views.ui import PAGE_ROWS
    make_user("manager", "service_manager", department="客服部")
    auth.login("manager")
    counter = iter(range(1000))

    def add_days(n):
        DutyDay.insert_many([{"date": dt.date(2026, 11, 22) - dt.timedelta(days=next(counter)), "shift": "day",
                              "on_duty": "值班员"} for _ in range(n)]).execute()
    assert_query_count_does_not_grow(client, "/duty/days", add_days)
    add_days(PAGE_ROWS + 10)
    total = DutyDay.select().count()
    page = client.get("/duty/days?lang=en").get_data(as_text=True)
    unsigned, recent = page.split("Waiting for your signature")[1].split('id="duty-days"')
    assert unsigned.split("</ul>")[0].count("Day shift") == PAGE_ROWS
    assert f"The newest {PAGE_ROWS} of {total} unsigned days are shown" in unsigned
    recent = recent.split("</ul>")[0]
    assert recent.count("2026-") == PAGE_ROWS and "2026-11-22" in recent
    assert 'hx-get="/duty/days?lang=en&amp;page=2"' in recent
    more = client.get("/duty/days?page=2", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert more.count("<li") == total - PAGE_ROWS


def test_the_callback_queue_fifty_at_a_time_and_the_next_ones_capped(app, client, auth, make_user):
    from models.callbacks import UPCOMING_SHOWN, Callback
    from views.ui import PAGE_ROWS
    clerk = make_user("spec", "specialist", department="客服部")
    auth.login("spec")
    complaint = complaints.create(clerk, name="客户", phone="13900130000", content="漏水", channel="phone",
                                  category=complaints.categories()[0], severity="general")
    counter = iter(range(1000))

    def add_callbacks(n, when=NOW - dt.timedelta(hours=1)):
        Callback.insert_many([{"number": f"HF-Q{next(counter):04d}", "customer": complaint.customer_id,
                               "reason": "complaint", "complaint": complaint.id, "due_at": when, "next_at": when,
                               "deadline_at": when + dt.timedelta(days=3)} for _ in range(n)]).execute()
    assert_query_count_does_not_grow(client, "/callbacks", add_callbacks)
    add_callbacks(PAGE_ROWS)
    add_callbacks(UPCOMING_SHOWN + 5, when=NOW + dt.timedelta(days=2))
    page = client.get("/callbacks?lang=en").get_data(as_text=True)
    queue = page.split('id="callback-queue"')[1].split("</table>")[0]
    assert queue.count('id="callback-') == PAGE_ROWS
    assert 'hx-get="/callbacks?lang=en&amp;page=2"' in queue
    upcoming = page.split('id="callback-upcoming"')[1]
    assert upcoming.split("</table>")[0].count('id="callback-') == UPCOMING_SHOWN
    assert f"The next {UPCOMING_SHOWN} are shown." in upcoming
    due = Callback.select().where(Callback.next_at < NOW).count()
    more = client.get("/callbacks?page=2", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert more.count('id="callback-') == due - PAGE_ROWS and "<table" not in more


def test_a_complaint_timeline_loads_who_acted_and_who_handles_with_the_rows(app, client, auth, make_user):
    from models.complaints import ComplaintEvent
    clerk = make_user("spec", "specialist", department="客服部")
    auth.login("spec")
    complaint = complaints.create(clerk, name="客户", phone="13900130000", content="漏水", channel="phone",
                                  category=complaints.categories()[0], severity="general")
    handlers = iter(make_user(f"h{i}", "specialist", department="客服部", display_name=f"处理人{i:02d}")
                    for i in range(20))

    def add_events(n):
        ComplaintEvent.insert_many([{"complaint": complaint.id, "at": NOW, "actor": clerk.id, "action": "note",
                                     "to_state": complaint.state, "handler": next(handlers).id}
                                    for _ in range(n)]).execute()
    url = f"/complaints/{complaint.id}"
    assert_query_count_does_not_grow(client, url, add_events)
    page = client.get(url).get_data(as_text=True)
    assert "处理人00" in page and "处理人12" in page


def test_the_staff_register_newest_first_fifty_at_a_time(app, client, auth, make_user):
    from views.ui import PAGE_ROWS
    clerk = make_user("spec", "specialist", department="客服部")
    auth.login("spec")
    counter = iter(range(1000))

    def add_complaints(n):
        return [complaints.create(clerk, name="客户", phone=f"1390013{next(counter):04d}", content="态度差",
                                  channel="phone", category=complaints.STAFF_CATEGORY, severity="general",
                                  staff_person="赵师傅") for _ in range(n)]
    first = add_complaints(1)[0]
    assert_query_count_does_not_grow(client, "/complaints/staff", add_complaints)
    newest = add_complaints(PAGE_ROWS)[-1]
    rows = client.get("/complaints/staff").get_data(as_text=True).split('id="complaint-rows"')[1].split("</table>")[0]
    assert rows.count("赵师傅") == PAGE_ROWS and newest.number in rows and first.number not in rows
    more = client.get("/complaints/staff?page=2", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert more.count("赵师傅") == complaints.Complaint.select().count() - PAGE_ROWS and first.number in more
