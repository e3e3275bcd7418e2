"""Repair and maintenance visits: the workflow, the confirmation a close needs, the callback
that follows, and the repair quality pass rate."""
import contextlib
import datetime as dt

import pytest
import time_machine

from models import callbacks, complaints, service_visits
from models.callbacks import Callback
from models.base import DomainError
from models.service_visits import ServiceVisit, ServiceVisitError

NOW = dt.datetime(2026, 11, 23, 2, 0)  # 10:00 in Shanghai


@pytest.fixture(autouse=True)
def frozen(app, request):
    """Model tests read their messages in a request's language; page tests make their own requests
    (an outer app context would keep one `g`, and with it one CSRF token, across them)."""
    context = contextlib.nullcontext() if "client" in request.fixturenames else app.test_request_context()
    with time_machine.travel(NOW, tick=False), context:
        yield


@pytest.fixture
def people(make_user):
    return {"spec": make_user("spec", "specialist", display_name="张伟"),
            "manager": make_user("manager", "service_manager", display_name="杨磊"),
            "leader": make_user("leader", "leadership", display_name="赵敏")}


@pytest.fixture
def customer(app, people):
    with app.app_context():
        complaint = complaints.create(people["spec"], name="李明", phone="13800138000", content="洗衣机漏水",
                                      channel="phone", category="product quality", severity="general")
    return complaint.customer


def _visit(people, **kw):
    return service_visits.create(people["spec"], phone="13800138000", kind="repair", product="滚筒洗衣机",
                                 problem="漏水", **kw)


def _step(visit, action, actor, **kw):
    return service_visits.apply(visit.id, action, actor, visit.version, **kw)


def _through_work(visit, people):
    visit = _step(visit, "schedule", people["spec"], appointment_at=NOW + dt.timedelta(days=1), technician="黄师傅")
    return _step(visit, "record_work", people["spec"], parts="进水阀", result="更换进水阀，试机正常")


def test_a_repair_goes_from_request_to_closed_and_numbers_itself(people, customer):
    visit = _visit(people)
    assert visit.number == "WX-2026-000001" and visit.state == "requested"
    visit = _through_work(visit, people)
    assert (visit.state, visit.technician, visit.parts, visit.rounds) == ("done", "黄师傅", "进水阀", 1)
    visit = _step(visit, "confirm_good", people["spec"], note="很满意")
    assert visit.state == "confirmed" and visit.first_time_good
    visit = _step(visit, "close", people["spec"])
    assert visit.state == "closed" and visit.closed_at == NOW
    assert [e.action for e in visit.events()] == ["request", "schedule", "record_work", "confirm_good", "close"]


def test_closing_without_the_customers_confirmation_is_refused(people, customer):
    visit = _through_work(_visit(people), people)
    with pytest.raises(ServiceVisitError, match="cannot be closed without the confirmation"):
        _step(visit, "close", people["spec"])
    assert ServiceVisit.get_by_id(visit.id).state == "done"
    assert "close" not in dict(ServiceVisit.get_by_id(visit.id).actions_for(people["spec"]))


def test_not_good_reopens_the_visit_and_spoils_the_first_time(people, customer):
    visit = _through_work(_visit(people), people)
    with pytest.raises(ServiceVisitError) as refused:
        _step(visit, "confirm_not_good", people["spec"])
    assert refused.value.field == "note"
    visit = _step(visit, "confirm_not_good", people["spec"], note="还是漏水")
    assert visit.state == "reopened" and visit.first_confirmation == "not_good"
    visit = _through_work(visit, people)
    visit = _step(visit, "confirm_good", people["spec"])
    assert visit.rounds == 2 and visit.state == "confirmed" and not visit.first_time_good


def test_refused_steps_say_why(people, customer):
    visit = _visit(people)
    with pytest.raises(ServiceVisitError) as refused:
        _step(visit, "schedule", people["spec"], technician="黄师傅")
    assert refused.value.field == "appointment_at"
    with pytest.raises(ServiceVisitError, match="cannot be done"):
        _step(visit, "confirm_good", people["spec"])
    with pytest.raises(ServiceVisitError, match="role"):
        _step(visit, "void", people["spec"], note="重复")
    with pytest.raises(ServiceVisitError, match="No customer"):
        service_visits.create(people["spec"], phone="13900000000", kind="repair", product="x", problem="y")
    stale = visit
    _step(visit, "schedule", people["spec"], appointment_at=NOW, technician="黄师傅")
    with pytest.raises(DomainError, match="meanwhile"):
        _step(stale, "schedule", people["spec"], appointment_at=NOW, technician="王师傅")
    voided = _step(ServiceVisit.get_by_id(visit.id), "void", people["manager"], note="重复登记")
    assert voided.state == "voided" and voided.void_reason == "重复登记"


def test_a_confirmed_visit_gets_one_callback_outside_quiet_hours(people, customer):
    visit = _through_work(_visit(people), people)
    with time_machine.travel(dt.datetime(2026, 11, 23, 4, 30), tick=False):  # 12:30 local: quiet hours
        visit = _step(visit, "confirm_good", people["spec"])
        assert service_visits.schedule_callbacks() == 1
        assert service_visits.schedule_callbacks() == 0
    callback = Callback.get(Callback.service_visit == visit.id)
    assert callback.reason == "repair" and callback.complaint_id is None
    assert callback.due_at == dt.datetime(2026, 11, 23, 6, 0)  # 14:00 local, after the quiet hours
    assert callbacks.REASONS[callback.reason]


def test_the_pass_rate_counts_visits_good_the_first_time(people, customer):
    outcomes = ["good", "good", "good", "not_good"]
    for first in outcomes:
        visit = _through_work(_visit(people), people)
        _step(visit, "confirm_good" if first == "good" else "confirm_not_good", people["spec"], note="客户意见")
    _visit(people)  # not confirmed yet: not counted
    figures = service_visits.pass_rate(NOW - dt.timedelta(days=1), NOW + dt.timedelta(days=1))
    assert figures == {"confirmed": 4, "good": 3, "rate": 75.0, "target": 98}


def test_the_pages_take_a_request_refuse_a_close_beside_the_form_and_print_and_export(client, auth, people, customer):
    import io

    from openpyxl import load_workbook
    from tests.pdf import assert_embedded_cjk_font, pdf_text
    auth.login("spec")
    response = client.post("/service-visits/new", data={"phone": "13900000000", "kind": "repair",
                                                                "product": "冰箱", "problem": "不制冷"})
    assert response.status_code == 422 and "冰箱" in response.get_data(as_text=True), response.get_data(as_text=True)[:3000]
    response = client.post("/service-visits/new", data={"phone": "13800138000", "kind": "repair",
                                                        "product": "滚筒洗衣机", "problem": "漏水"})
    assert response.status_code == 303
    visit = ServiceVisit.get()
    page = client.get(f"/service-visits/{visit.id}").get_data(as_text=True)
    assert "Make the appointment" in page and "action-close" not in page
    response = client.post(f"/service-visits/{visit.id}", data={"action": "schedule", "schedule-version": "1",
                                                                "schedule-technician": "黄师傅"})
    assert response.status_code == 422
    assert 'id="schedule-appointment_at-error"' in response.get_data(as_text=True)
    assert "黄师傅" in response.get_data(as_text=True)  # nothing typed lost
    response = client.post(f"/service-visits/{visit.id}", data={
        "action": "schedule", "schedule-version": "1", "schedule-technician": "黄师傅",
        "schedule-appointment_at": "2026-11-24T10:00"})
    assert response.status_code == 303
    assert ServiceVisit.get_by_id(visit.id).appointment_at == dt.datetime(2026, 11, 24, 2, 0)
    response = client.post(f"/service-visits/{visit.id}", data={"action": "close", "close-version": "2"})
    assert response.status_code == 422 and "cannot be closed without the confirmation" in response.get_data(as_text=True)
    listing = client.get("/service-visits").get_data(as_text=True)
    assert visit.number in listing and 'id="repair-pass-rate"' in listing
    book = load_workbook(io.BytesIO(client.get("/service-visits/ledger.xlsx?month=2026-11").data))
    assert book.active["A2"].value == visit.number and book.active["I2"].value == "黄师傅"
    pdf = client.get("/service-visits/ledger.pdf?month=2026-11")
    assert pdf.mimetype == "application/pdf"
    assert_embedded_cjk_font(pdf.data)
    text = pdf_text(pdf.data)
    assert "上门维修保养台帐" in text and visit.number in text and "黄师傅" in text


def test_the_repair_callback_page_names_the_visit_and_asks_about_the_repair(app, client, auth, people, customer):
    with app.test_request_context():
        visit = _through_work(_visit(people), people)
        _step(visit, "confirm_good", people["spec"])
        service_visits.schedule_callbacks()
    callback = Callback.get(Callback.service_visit == visit.id)
    auth.login("spec")
    page = client.get(f"/callbacks/{callback.id}").get_data(as_text=True)
    assert visit.number in page and "are you satisfied with the repair?" in page
