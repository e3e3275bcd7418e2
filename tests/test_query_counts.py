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
