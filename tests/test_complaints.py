"""Complaints: intake, every transition (allowed and refused), concurrency, lists."""
import re

import pytest

from models import complaints
from models.audit import AuditEntry
from models.complaints import TRANSITIONS, Complaint, ComplaintEvent, Customer, TransitionError
from models.notifications import Notification
from models.users import Department
from tests.helpers import apply_action as _apply
from tests.helpers import make_complaint as _make
from tests.helpers import walk_to as _walk_to
from tests.helpers import on_the_clock


@pytest.fixture(autouse=True)
def _deadlines_on_the_clock(app):
    """These deadlines are wall-clock hours: the setting is turned off explicitly, since working
    time is the default now (tests that count working time turn it on themselves)."""
    on_the_clock(app)


INTAKE = {"name": "张三", "phone": "138 0013 8000", "organisation": "", "address": "北京市海淀区",
          "channel": "phone", "category": "delivery", "severity": "general", "content": "送货晚了三天",
          "staff_person": "", "submission_key": "k1"}


def _repairs(app):
    with app.test_request_context():
        return Department.get(Department.name == "Repairs").id


def test_intake_creates_customer_complaint_number_and_timeline(app, client, auth, people):
    auth.login("spec")
    response = client.post("/complaints/new", data=INTAKE)
    assert response.status_code == 303
    with app.test_request_context():
        complaint = Complaint.get()
        assert response.headers["Location"] == f"/complaints/{complaint.id}"
        assert complaint.number.startswith("TS-") and complaint.number.endswith("-000001")
        assert complaint.customer.phone == "13800138000" and complaint.state == "received"
        assert [e.to_state for e in complaint.events()] == ["received"]
        assert AuditEntry.select().where(AuditEntry.record_type == "complaint").count() == 1
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "送货晚了三天" in page and "Acknowledge" in page


def test_the_same_phone_finds_the_same_customer(app, people):
    _make(app, people["spec"])
    _make(app, people["spec"], phone="139-0013-9000", is_vip=True)
    with app.test_request_context():
        assert Customer.select().count() == 1 and Customer.get().is_vip


def test_a_double_submission_creates_one_complaint(app, client, auth, people):
    auth.login("spec")
    client.post("/complaints/new", data=INTAKE)
    client.post("/complaints/new", data=INTAKE)
    with app.test_request_context():
        assert Complaint.select().count() == 1


def test_intake_prefilled_from_a_call(client, auth, people):
    auth.login("spec")
    page = client.get("/complaints/new?name=王五&phone=13700137000&organisation=某公司&channel=phone"
                      "&content=电话里说坏了&call_id=42").get_data(as_text=True)
    for text in ("王五", "13700137000", "某公司", "电话里说坏了", 'value="42"'):
        assert text in page


def _call(app, user):
    from models.calls import log_call
    with app.test_request_context():
        return log_call(user, caller_name="王五", organisation="", phone="13700137000", reason="电话里说坏了",
                        call_type="complaint", outcome="answered", answer_text="转客服")


def test_intake_stores_the_call_id(app, client, auth, people):
    call = _call(app, people["spec"])
    auth.login("spec")
    client.post("/complaints/new", data=dict(INTAKE, call_id=str(call.id)))
    with app.test_request_context():
        assert Complaint.get().call_id == call.id


def test_a_bad_phone_is_refused_beside_the_field_and_nothing_typed_is_lost(app, client, auth, people):
    auth.login("spec")
    response = client.post("/complaints/new", data=dict(INTAKE, phone="12345"), htmx=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="phone-error"' in page and "送货晚了三天" in page
    with app.test_request_context():
        assert Complaint.select().count() == 0


def test_a_staff_complaint_names_the_person_and_is_in_the_register(app, client, auth, people):
    auth.login("spec")
    response = client.post("/complaints/new", data=dict(INTAKE, category="staff"))
    assert response.status_code == 422 and "Name the staff member" in response.get_data(as_text=True)
    client.post("/complaints/new", data=dict(INTAKE, category="staff", staff_person="赵师傅"))
    register = client.get("/complaints/staff").get_data(as_text=True)
    assert "赵师傅" in register


def test_a_major_complaint_notifies_the_service_managers_at_once(app, people):
    complaint = _make(app, people["spec"], severity="major")
    with app.test_request_context():
        note = Notification.get(Notification.user == people["manager"].id)
        assert complaint.number in note.params and note.url == f"/complaints/{complaint.id}"


def test_the_whole_path_records_every_step(app, people):
    complaint = _make(app, people["spec"])
    with app.test_request_context():
        _walk_to(app, people, complaint, "closed")
        complaint = Complaint.get_by_id(complaint.id)
        assert complaint.state == "closed" and complaint.root_cause == "人手不足"
        states = [e.to_state for e in complaint.events()]
        assert states == ["received", "acknowledged", "assigned", "accepted", "handled", "result_reported",
                          "customer_informed", "callback", "closed"]
        assert [e.actor.username for e in complaint.events()][3:5] == ["head", "head"]
        assert AuditEntry.select().where(AuditEntry.record_type == "complaint").count() == 9


def test_unsatisfied_reopens_and_the_complaint_goes_round_again(app, people):
    complaint = _make(app, people["spec"])
    with app.test_request_context():
        _walk_to(app, people, complaint, "customer_informed")
        _apply(app, complaint, "unsatisfied", people["spec"], note="还是坏的")
        assert Complaint.get_by_id(complaint.id).state == "reopened"
        _apply(app, complaint, "assign", people["spec"], department_id=_repairs(app))
        assert Complaint.get_by_id(complaint.id).state == "assigned"


ALL_STATES = ["received", "acknowledged", "assigned", "handled", "result_reported", "customer_informed",
              "callback", "closed"]


@pytest.mark.parametrize("action", sorted(TRANSITIONS))
def test_each_action_is_refused_in_every_state_it_does_not_start_from(app, people, action):
    transition = TRANSITIONS[action]
    for state in ALL_STATES:
        if state in transition.sources:
            continue
        complaint = _make(app, people["spec"], phone="13600136000")
        with app.test_request_context():
            _walk_to(app, people, complaint, state)
            with pytest.raises(TransitionError, match="cannot be done"):
                _apply(app, complaint, action, people["manager"], note="x", department_id=_repairs(app),
                       root_cause="r", improvement="i")
            assert Complaint.get_by_id(complaint.id).state == state


@pytest.mark.parametrize("action, who, state, message", [
    ("acknowledge", "head", "received", "Your role may not do this"),
    ("assign", "head", "acknowledged", "Your role may not do this"),
    ("handle", "stranger", "assigned", "Only the responsible department"),
    ("handle", "spec", "assigned", "Only the responsible department"),
    ("report", "stranger", "handled", "Only the responsible department"),
    ("inform", "head", "result_reported", "Your role may not do this"),
    ("satisfied", "head", "customer_informed", "Your role may not do this"),
    ("unsatisfied", "head", "customer_informed", "Your role may not do this"),
    ("close", "head", "callback", "Your role may not do this"),
    ("void", "spec", "received", "Your role may not do this"),
    ("void", "head", "assigned", "Your role may not do this"),
])
def test_each_step_is_refused_to_the_wrong_person(app, people, action, who, state, message):
    complaint = _make(app, people["spec"])
    with app.test_request_context():
        _walk_to(app, people, complaint, state)
        with pytest.raises(TransitionError, match=message):
            _apply(app, complaint, action, people[who], note="x", department_id=_repairs(app),
                   root_cause="r", improvement="i")
        assert Complaint.get_by_id(complaint.id).state == state


def test_only_a_manager_closes_a_major_complaint(app, people):
    complaint = _make(app, people["spec"], severity="major")
    with app.test_request_context():
        _walk_to(app, people, complaint, "callback")
        with pytest.raises(TransitionError, match="Only a service manager may close a major"):
            _apply(app, complaint, "close", people["spec"], root_cause="r", improvement="i")
        _apply(app, complaint, "close", people["manager"], root_cause="r", improvement="i")
        assert Complaint.get_by_id(complaint.id).state == "closed"


def test_a_specialist_closes_a_general_complaint(app, people):
    complaint = _make(app, people["spec"])
    with app.test_request_context():
        _walk_to(app, people, complaint, "callback")
        _apply(app, complaint, "close", people["spec"], root_cause="r", improvement="i")
        assert Complaint.get_by_id(complaint.id).state == "closed"


@pytest.mark.parametrize("action, state, kwargs, message", [
    ("close", "callback", {"root_cause": "r"}, "root cause and the improvement"),
    ("close", "callback", {"improvement": "i"}, "root cause and the improvement"),
    ("void", "received", {}, "Fill in"),
    ("handle", "assigned", {}, "Fill in"),
    ("report", "handled", {}, "Fill in"),
    ("unsatisfied", "customer_informed", {}, "Fill in"),
    ("assign", "acknowledged", {}, "Choose the responsible department"),
])
def test_missing_details_are_refused(app, people, action, state, kwargs, message):
    complaint = _make(app, people["spec"])
    with app.test_request_context():
        _walk_to(app, people, complaint, state)
        with pytest.raises(TransitionError, match=message):
            _apply(app, complaint, action, people["manager"], **kwargs)
        assert Complaint.get_by_id(complaint.id).state == state


def test_voiding_keeps_the_reason(app, people):
    complaint = _make(app, people["spec"])
    with app.test_request_context():
        _apply(app, complaint, "void", people["manager"], note="重复录入")
        complaint = Complaint.get_by_id(complaint.id)
        assert complaint.state == "voided" and complaint.void_reason == "重复录入" and complaint.is_void


def test_of_two_people_acting_at_once_the_second_is_told_it_changed(app, client, auth, people):
    complaint = _make(app, people["spec"])
    auth.login("spec")
    seen = {"action": "acknowledge", "version": str(complaint.version), "note": "已致歉"}
    assert client.post(f"/complaints/{complaint.id}/act", data=seen).status_code == 303
    response = client.post(f"/complaints/{complaint.id}/act", data=seen)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "changed this complaint meanwhile" in page
    with app.test_request_context():
        assert ComplaintEvent.select().where(ComplaintEvent.action == "acknowledge").count() == 1


def test_a_refusal_on_the_page_keeps_what_was_typed(app, client, auth, people):
    complaint = _make(app, people["spec"])
    auth.login("spec")
    client.post(f"/complaints/{complaint.id}/act", data={"action": "acknowledge", "version": "1"})
    with app.test_request_context():
        _walk_to(app, people, complaint, "callback")
        version = Complaint.get_by_id(complaint.id).version
    response = client.post(f"/complaints/{complaint.id}/act",
                           data={"action": "close", "version": str(version), "root_cause": "缺少培训"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "root cause and the improvement" in page and "缺少培训" in page


def test_a_forged_version_is_refused_without_an_error_page(client, auth, people, app):
    complaint = _make(app, people["spec"])
    auth.login("spec")
    response = client.post(f"/complaints/{complaint.id}/act", data={"action": "acknowledge", "version": "x"})
    assert response.status_code == 422


def test_the_page_offers_only_what_this_person_may_do_now(app, client, auth, people):
    complaint = _make(app, people["spec"])
    _walk_to(app, people, complaint, "assigned")
    auth.login("stranger")  # a head of another department, who once acted on it
    with app.test_request_context():
        complaints.ComplaintEvent.create(complaint=complaint.id, actor=people["stranger"], action="pause",
                                         to_state="assigned")
    page = client.get(f"/complaints/{complaint.id}").get_data(as_text=True)
    assert 'id="action-accept"' not in page and "Nothing for you to do" in page
    auth.logout()
    auth.login("head")
    page = client.get(f"/complaints/{complaint.id}").get_data(as_text=True)
    assert 'id="action-accept"' in page and 'id="action-acknowledge"' not in page
    auth.logout()
    auth.login("spec")
    page = client.get(f"/complaints/{complaint.id}").get_data(as_text=True)
    assert 'id="action-reclassify"' in page and 'id="action-void"' not in page


def test_vip_and_major_complaints_come_first(app, client, auth, people):
    _make(app, people["spec"], name="普通", phone="13100131000")
    _make(app, people["spec"], name="重大", phone="13200132000", severity="major")
    _make(app, people["spec"], name="贵宾", phone="13300133000", is_vip=True)
    auth.login("spec")
    page = client.get("/complaints").get_data(as_text=True)
    assert page.index("贵宾") < page.index("重大") < page.index("普通")


def test_the_list_filters_by_category_and_search(app, client, auth, people):
    _make(app, people["spec"], name="甲", phone="13100131000", category="billing")
    _make(app, people["spec"], name="乙", phone="13200132000", category="delivery")
    auth.login("spec")
    page = client.get("/complaints?category=billing").get_data(as_text=True)
    assert "甲" in page and "乙" not in page
    page = client.get("/complaints?q=13200132000", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "乙" in page and "甲" not in page and "<html" not in page


def test_the_department_inbox_shows_what_waits_on_it(app, client, auth, people):
    complaint = _make(app, people["spec"])
    with app.test_request_context():
        _walk_to(app, people, complaint, "assigned")
    with app.test_request_context():
        vip = _make(app, people["spec"], phone="13700137000", is_vip=True)
        _walk_to(app, people, vip, "assigned")
    auth.login("head")
    page = client.get("/complaints/inbox").get_data(as_text=True)
    assert page.index(vip.number) < page.index(complaint.number)
    auth.logout()
    auth.login("stranger")
    assert complaint.number not in client.get("/complaints/inbox").get_data(as_text=True)


def test_similar_complaints_are_listed(app, client, auth, people):
    first = _make(app, people["spec"])
    second = _make(app, people["spec"], phone="13500135000", name="别人")
    other = _make(app, people["spec"], phone="13400134000", name="无关", category="billing")
    auth.login("spec")
    page = client.get(f"/complaints/{first.id}").get_data(as_text=True)
    similar = page[page.index('id="similar-rows"'):]
    assert second.number in similar and other.number not in similar


def test_the_search_finds_a_number_by_its_last_digits_a_name_by_its_start_and_a_complaint_by_its_number(
        app, client, auth, people):
    first = _make(app, people["spec"], name="张伟", phone="13912345678")
    _make(app, people["spec"], name="李娜", phone="021-62345678")
    auth.login("spec")

    def found(q):
        page = client.get("/complaints", query_string={"q": q}, headers={"HX-Request": "true"}).get_data(as_text=True)
        return {name for name in ("张伟", "李娜") if name in page}
    assert found("5678") == {"张伟", "李娜"}  # the last digits, as a caller reads them out
    assert found("139 1234") == {"张伟"}
    assert found("张") == {"张伟"}
    assert found(first.number) == {"张伟"}
    assert found(first.number[:8].lower()) == {"张伟", "李娜"}


def test_the_search_is_answered_from_indexes(app):
    """No table scan of complaints or customers, however many there are (SQLite's plan)."""
    from models.base import db, is_sqlite
    if not is_sqlite():
        pytest.skip("the plan checked is SQLite's; PostgreSQL chooses by its statistics")
    with app.app_context():
        sql, params = complaints.listing(q="5678").sql()
        plan = " / ".join(row[-1] for row in db.execute_sql("EXPLAIN QUERY PLAN " + sql, params))
    assert "SCAN" not in plan.replace("SCAN CONSTANT ROW", ""), plan


def test_customers_are_searchable(app, client, auth, people):
    _make(app, people["spec"], name="钱七", phone="13100131000")
    auth.login("spec")
    assert "钱七" in client.get("/customers?q=1310013").get_data(as_text=True)


# Deadlines and escalation, with frozen time and the sweep called directly.

def test_deadlines_follow_the_settings_and_vip_ones_are_shorter(app, people):
    import datetime as dt
    import time_machine
    with time_machine.travel(dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.timezone.utc), tick=False):
        general = _make(app, people["spec"])
        major = _make(app, people["spec"], phone="13100131000", severity="major")
        vip = _make(app, people["spec"], phone="13200132000", is_vip=True)
    start = dt.datetime(2026, 3, 2, 8, 0)
    assert (general.reply_due_at, general.handle_due_at) == (start + dt.timedelta(hours=24),
                                                               start + dt.timedelta(hours=24))
    assert major.handle_due_at == start + dt.timedelta(hours=72)
    assert (vip.reply_due_at, vip.handle_due_at) == (start + dt.timedelta(hours=4), start + dt.timedelta(hours=12))


def _notes(app, username):
    from models.users import User
    with app.app_context():
        user = User.by_username(username)
        return [n.message for n in Notification.select().where(Notification.user == user,
                                                                Notification.message != complaints.ASSIGNED_NOTICE)]


def test_an_overdue_complaint_goes_to_the_head_then_the_manager_each_once(app, people, client, auth):
    import datetime as dt
    import time_machine
    from tasks.complaints import escalate_overdue_complaints
    with time_machine.travel(dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.timezone.utc), tick=False) as clock:
        complaint = _make(app, people["spec"])
        with app.test_request_context():
            _walk_to(app, people, complaint, "assigned")
        escalate_overdue_complaints.call_local()
        assert _notes(app, "head") == []
        clock.move_to(dt.datetime(2026, 3, 3, 8, 1, tzinfo=dt.timezone.utc))
        escalate_overdue_complaints.call_local()
        escalate_overdue_complaints.call_local()
        assert _notes(app, "head") == ["Complaint %(number)s is overdue"]
        assert _notes(app, "stranger") == [] and _notes(app, "manager") == []
        auth.login("spec")
        assert 'class="overdue"' in client.get("/complaints").get_data(as_text=True)
        clock.move_to(dt.datetime(2026, 3, 4, 8, 2, tzinfo=dt.timezone.utc))
        escalate_overdue_complaints.call_local()
        escalate_overdue_complaints.call_local()
        assert _notes(app, "manager") == ["Complaint %(number)s is overdue and was escalated to you"]
        assert len(_notes(app, "head")) == 1


def test_a_consumer_that_was_down_catches_up_with_each_escalation_once(app, people):
    import datetime as dt
    import time_machine
    from tasks.complaints import escalate_overdue_complaints
    with time_machine.travel(dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.timezone.utc), tick=False) as clock:
        complaint = _make(app, people["spec"])
        with app.test_request_context():
            _walk_to(app, people, complaint, "assigned")
        clock.move_to(dt.datetime(2026, 3, 9, 8, 0, tzinfo=dt.timezone.utc))
        escalate_overdue_complaints.call_local()
        escalate_overdue_complaints.call_local()
    assert len(_notes(app, "head")) == 1 and len(_notes(app, "manager")) == 1


def test_a_handled_complaint_is_not_escalated(app, people):
    import datetime as dt
    import time_machine
    from tasks.complaints import escalate_overdue_complaints
    with time_machine.travel(dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.timezone.utc), tick=False) as clock:
        complaint = _make(app, people["spec"])
        with app.test_request_context():
            _walk_to(app, people, complaint, "handled")
        clock.move_to(dt.datetime(2026, 3, 9, 8, 0, tzinfo=dt.timezone.utc))
        escalate_overdue_complaints.call_local()
    assert _notes(app, "head") == [] and _notes(app, "manager") == []


def test_a_reopened_complaint_gets_a_fresh_deadline_and_its_own_escalations(app, people):
    import datetime as dt
    import time_machine
    from tasks.complaints import escalate_overdue_complaints
    with time_machine.travel(dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.timezone.utc), tick=False) as clock:
        complaint = _make(app, people["spec"])
        with app.test_request_context():
            _walk_to(app, people, complaint, "assigned")
        clock.move_to(dt.datetime(2026, 3, 3, 9, 0, tzinfo=dt.timezone.utc))
        escalate_overdue_complaints.call_local()
        with app.test_request_context():
            _walk_to(app, people, complaint, "customer_informed")
            _apply(app, complaint, "unsatisfied", people["spec"], note="还是坏的")
            reopened = Complaint.get_by_id(complaint.id)
        assert reopened.handle_due_at == dt.datetime(2026, 3, 4, 9, 0) and reopened.escalated_head_at is None
        clock.move_to(dt.datetime(2026, 3, 4, 9, 1, tzinfo=dt.timezone.utc))
        escalate_overdue_complaints.call_local()
    assert len(_notes(app, "head")) == 2


def test_a_category_the_admin_adds_is_offered_at_intake(app, client, admin, people):
    from models import settings
    with app.test_request_context():
        settings.save(admin, {complaints.CATEGORIES: "delivery, 安装"})
    auth_page = client.get("/complaints/new").get_data(as_text=True)
    assert 'value="安装"' in auth_page and 'value="billing"' not in auth_page


def test_the_list_shows_fifty_then_more_on_request(app, client, auth, people, monkeypatch):
    import views.ui
    monkeypatch.setattr(views.ui, "PAGE_ROWS", 2)
    for index in range(3):
        _make(app, people["spec"], name=f"客户{index}", phone=f"1310013100{index}")
    auth.login("spec")
    page = client.get("/complaints", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "客户0" in page and "客户1" in page and "客户2" not in page
    more = re.search(r'hx-get="([^"]*page=2[^"]*)"', page).group(1).replace("&amp;", "&")
    rest = client.get(more, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "客户2" in rest and "<table" not in rest and "page=3" not in rest
