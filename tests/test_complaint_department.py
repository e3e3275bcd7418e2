"""The responsible department: told of an assignment, signs for it (签收) and names who
handles it, counted in the navigation; and who sees which complaints, on every route."""
import re

import pytest
from playhouse.test_utils import count_queries

from models import complaints
from models.audit import AuditEntry
from models.complaints import Complaint, ComplaintEvent, TransitionError
from models.notifications import Notification
from models.users import Department
from tests.helpers import apply_action as _apply
from tests.helpers import make_complaint as _make
from tests.helpers import staff
from tests.helpers import walk_to as _walk_to


@pytest.fixture
def people(make_user):
    return staff(make_user, "spec", "manager", "head", "fitter", "stranger", "seller",
                 head={"display_name": "Head Zhao"})


def _assigned(app, people, **fields):
    complaint = _make(app, people["spec"], **fields)
    _walk_to(app, people, complaint, "assigned")
    return complaint


def _notes_of(app, user):
    with app.test_request_context():
        return list(Notification.select().where(Notification.user == user.id))


def test_assignment_tells_everyone_of_the_department_and_no_one_else(app, people):
    complaint = _assigned(app, people)
    for who in ("head", "fitter"):
        [note] = _notes_of(app, people[who])
        with app.app_context():
            assert note.message == complaints.ASSIGNED_NOTICE and note.url == f"/complaints/{complaint.id}"
        assert complaint.number in note.params
    for who in ("stranger", "seller", "spec"):
        assert _notes_of(app, people[who]) == []


def test_the_department_signs_for_it_and_names_who_handles_it(app, client, auth, people):
    complaint = _assigned(app, people)
    auth.login("head")
    page = client.get(f"/complaints/{complaint.id}").get_data(as_text=True)
    assert 'id="action-accept"' in page and "Fitter Li" in page
    response = client.post(f"/complaints/{complaint.id}/act", data={
        "action": "accept", "version": str(Complaint.get_by_id(complaint.id).version),
        "handler": str(people["fitter"].id), "note": "明早上门"})
    assert response.status_code == 303
    with app.test_request_context():
        signed = Complaint.get_by_id(complaint.id)
        assert signed.state == "accepted" and signed.handler_id == people["fitter"].id
        event = ComplaintEvent.get(ComplaintEvent.action == "accept")
        assert event.actor_id == people["head"].id and event.handler_id == people["fitter"].id
        assert event.note == "明早上门"
        change = AuditEntry.select().where(AuditEntry.record_type == "complaint").order_by(AuditEntry.id.desc()).get()
        assert "handler" in change.changes and "accepted" in change.changes
    page = client.get(f"/complaints/{complaint.id}").get_data(as_text=True)
    assert re.search(r'id="complaint-handler">Fitter Li<', page)
    assert "Person handling it: Fitter Li" in page  # on the timeline
    # Still before handling: the handling deadline runs and the sweep would escalate it.
    assert "accepted" in complaints.BEFORE_HANDLED and signed.due_at == signed.handle_due_at


def test_a_member_without_complaint_roles_works_the_department_steps(app, client, auth, people):
    complaint = _assigned(app, people)
    auth.login("fitter")  # front desk by role, but of the responsible department
    inbox = client.get("/complaints/inbox").get_data(as_text=True)
    assert complaint.number in inbox
    response = client.post(f"/complaints/{complaint.id}/act", data={
        "action": "accept", "version": str(Complaint.get_by_id(complaint.id).version)})
    assert response.status_code == 303
    with app.test_request_context():
        assert Complaint.get_by_id(complaint.id).handler_id == people["fitter"].id  # the one who signed


def test_the_handler_must_be_of_the_department(app, people):
    complaint = _assigned(app, people)
    with pytest.raises(TransitionError, match="member of the responsible department"):
        _apply(app, complaint, "accept", people["head"], handler_id=people["seller"].id)
    _apply(app, complaint, "accept", people["head"])
    with pytest.raises(TransitionError, match="Choose the person handling it"):
        _apply(app, complaint, "set_handler", people["head"])
    with pytest.raises(TransitionError, match="responsible department or a service manager"):
        _apply(app, complaint, "set_handler", people["stranger"], handler_id=people["fitter"].id)
    _apply(app, complaint, "set_handler", people["head"], handler_id=people["fitter"].id, note="他更熟悉")
    with app.test_request_context():
        assert Complaint.get_by_id(complaint.id).handler_id == people["fitter"].id


def test_handling_without_signing_first_records_the_receipt(app, people):
    complaint = _assigned(app, people)
    _apply(app, complaint, "handle", people["head"], note="更换零件")
    with app.test_request_context():
        handled = Complaint.get_by_id(complaint.id)
        assert handled.state == "handled" and handled.handler_id == people["head"].id
        assert [(e.action, e.from_state, e.to_state) for e in handled.events()][-2:] == [
            ("accept", "assigned", "accepted"), ("handle", "accepted", "handled")]


def test_the_navigation_counts_what_waits_on_my_department(app, client, auth, people):
    waiting = _assigned(app, people)
    signed = _assigned(app, people, phone="13900139001")
    _apply(app, signed, "accept", people["head"])
    _make(app, people["spec"], phone="13900139002")  # not assigned yet
    auth.login("fitter")
    page = client.get("/").get_data(as_text=True)
    link = re.search(r'<a href="/complaints/inbox"[^>]*>(.*?)</a>', page, re.S).group(1)
    assert 'class="count nav-count"' in link and ">2<" in link
    inbox = client.get("/complaints/inbox").get_data(as_text=True)
    assert waiting.number in inbox and signed.number in inbox
    auth.logout()
    auth.login("stranger")
    page = client.get("/").get_data(as_text=True)
    link = re.search(r'<a href="/complaints/inbox"[^>]*>(.*?)</a>', page, re.S).group(1)
    assert "nav-count" not in link


def test_the_navigation_count_is_one_query(app, people):
    _assigned(app, people)
    with app.test_request_context(), count_queries() as counter:
        assert complaints.awaiting_department_count(people["fitter"]) == 1
    assert counter.count == 1


# Who sees what: a head sees their department's complaints and those they acted on.

@pytest.fixture
def two(app, people):
    """One complaint of Repairs, one of Sales (each with its customer), one not assigned yet."""
    repairs = _assigned(app, people, name="修理客户", phone="13900000001")
    sales = _make(app, people["spec"], name="销售客户", phone="13900000002", category="staff",
                  staff_person="小王")
    with app.test_request_context():
        sales_id = Department.get(Department.name == "Sales").id
    _apply(app, sales, "acknowledge", people["spec"])
    _apply(app, sales, "assign", people["spec"], department_id=sales_id)
    loose = _make(app, people["spec"], name="未分客户", phone="13900000003")
    return {"repairs": repairs, "sales": sales, "loose": loose}


def test_a_head_sees_only_their_departments_complaints_on_every_route(app, client, auth, people, two):
    repairs, sales, loose = two["repairs"], two["sales"], two["loose"]
    with app.test_request_context():
        sales_customer, repairs_customer = sales.customer_id, repairs.customer_id
    auth.login("head")
    listing = client.get("/complaints?state=all").get_data(as_text=True)
    assert repairs.number in listing and sales.number not in listing and loose.number not in listing
    search = client.get("/complaints?state=all&q=13900000002").get_data(as_text=True).split('id="complaint-rows"')[1]
    assert sales.number not in search and "No complaint matches" in search
    assert client.get(f"/complaints/{repairs.id}").status_code == 200
    for url in (f"/complaints/{sales.id}", f"/complaints/{sales.id}.pdf", f"/customers/{sales_customer}",
                f"/customers/{sales_customer}.pdf", f"/complaints/{loose.id}"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/complaints/{sales.id}/act", data={"action": "pause", "version": "3"}).status_code == 404
    assert client.get(f"/complaints/{repairs.id}.pdf").status_code == 200
    assert client.get(f"/customers/{repairs_customer}").status_code == 200
    customers = client.get("/customers").get_data(as_text=True)
    assert "139 0000 0001" in customers and "139 0000 0002" not in customers and "139 0000 0003" not in customers
    found = client.get("/customers?q=1390000").get_data(as_text=True).split('id="customer-rows"')[1]
    assert "139 0000 0001" in found and "139 0000 0002" not in found
    assert sales.number not in client.get("/complaints/staff").get_data(as_text=True)
    month = f"{Complaint.get_by_id(repairs.id).created_at:%Y-%m}"
    register = client.get(f"/complaints/register?month={month}").get_data(as_text=True)
    assert repairs.number in register and sales.number not in register
    csv = client.get(f"/complaints/register?month={month}&format=csv").get_data(as_text=True)
    assert repairs.number in csv and sales.number not in csv and "销售客户" not in csv
    summary = client.get(f"/complaints/register?month={month}&format=csv&table=summary").get_data(as_text=True)
    assert re.search(r"Complaints taken in\W+1\b", summary)
    xlsx = client.get(f"/complaints/register?month={month}&format=xlsx")
    assert xlsx.status_code == 200 and b"13900000002" not in xlsx.data


def test_a_similar_complaint_of_another_department_is_not_listed(app, client, auth, people, two):
    other = _make(app, people["spec"], name="修理客户", phone="13900000001")  # same customer, not assigned
    auth.login("head")
    page = client.get(f"/complaints/{two['repairs'].id}").get_data(as_text=True)
    similar = page.split('id="similar-rows"')[1]
    assert other.number not in similar


def test_a_head_also_sees_what_they_acted_on(app, client, auth, people, two):
    _apply(app, two["loose"], "acknowledge", people["spec"])
    with app.test_request_context():
        complaints.create(people["stranger"], name="销售客户", phone="13900000002", content="自己登记的",
                          channel="visit", category="billing", severity="general")
    auth.login("stranger")
    listing = client.get("/complaints?state=all").get_data(as_text=True)
    assert two["sales"].number in listing and "TS-" in listing
    assert two["repairs"].number not in listing and two["loose"].number not in listing
    mine = Complaint.select().where(Complaint.received_by == people["stranger"].id).get()
    assert client.get(f"/complaints/{mine.id}").status_code == 200


def test_customer_service_and_the_manager_see_everything(app, client, auth, people, two):
    for who in ("spec", "manager"):
        auth.login(who)
        listing = client.get("/complaints?state=all").get_data(as_text=True)
        assert all(c.number in listing for c in two.values())
        assert client.get(f"/complaints/{two['sales'].id}.pdf").status_code == 200
        auth.logout()


def test_the_rule_is_one_function(app, people, two):
    with app.test_request_context():
        seen = {c.id for c in complaints.visible_to(people["head"])}
        assert seen == {two["repairs"].id}
        assert all(complaints.can_see(people["head"], c) == (c.id in seen) for c in Complaint.select())
        assert complaints.visible_to(people["spec"]).count() == 3


def test_a_long_inbox_comes_fifty_at_a_time(app, client, auth, people):
    from views.ui import PAGE_ROWS
    first = _assigned(app, people)
    made = [_make(app, people["spec"], content=f"第{n}件") for n in range(PAGE_ROWS)]
    with app.app_context():
        first = Complaint.get_by_id(first.id)
        Complaint.update(state=first.state, department=first.department_id).where(
            Complaint.id.in_([c.id for c in made])).execute()
    auth.login("head")
    page = client.get("/complaints/inbox").get_data(as_text=True)
    assert page.count('href="/complaints/') - page.count('href="/complaints/inbox') >= PAGE_ROWS
    more = re.search(r'hx-get="(/complaints/inbox\?page=2)"', page).group(1)
    rest = client.get(more, headers={"HX-Request": "true"}).get_data(as_text=True)
    shown = set(re.findall(r"TS-\d{4}-\d{6}", page + rest))
    assert shown == {c.number for c in made + [first]}
