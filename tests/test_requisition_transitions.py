"""The requisition workflow's table, walked: in every state, each transition the table allows
succeeds for a person allowed to apply it (and is refused to one who is not), and every other
transition is refused with a message, changing nothing."""
import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from models import procurement
from models.procurement.chain import ProcurementError
from models.procurement.requisitions import STATES, TRANSITIONS, Requisition, RequisitionEvent
from tests.helpers import PROCUREMENT_STAFF, department_id, staff
from tests.helpers import decide as _decide
from tests.helpers import fresh as _fresh
from tests.helpers import make_requisition as _make
from tests.helpers import make_supplier as _supplier
from tests.helpers import ordered as _ordered
from tests.helpers import receive as _receive
from tests.helpers import requisition_line as _line

# 2026-03-02 16:00 in Shanghai, as in tests/test_procurement.py: the lines' dates are relative to it.
NOW = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as clock:
        yield clock


@pytest.fixture
def people(make_user):
    return staff(make_user, *PROCUREMENT_STAFF, table=PROCUREMENT_STAFF)


def _dept(app):
    return department_id(app, "客服部")


def _pending(app, people):
    """Waiting at the logistics review (the head approved), small enough to need no leadership."""
    requisition = _make(app, people, [_line(quantity=2, unit_price=Decimal("250.00"))])
    _decide(app, requisition, people["head"])
    return _fresh(requisition)


def _at(app, people, state):
    """A requisition in `state`, reached the way people reach it."""
    if state == "draft":
        return _make(app, people, submit=False)
    if state == "pending":
        return _pending(app, people)
    if state == "rejected":
        requisition = _make(app, people)
        _decide(app, requisition, people["head"], "reject", reason="先买一半")
        return _fresh(requisition)
    if state == "voided":
        requisition = _make(app, people, submit=False)
        _apply(app, requisition, people["requester"], "withdraw", reason="不需要了")
        return _fresh(requisition)
    if state == "approved":
        requisition = _pending(app, people)
        _apply(app, requisition, people["logistics"], "approve", **REVIEW)
        return _fresh(requisition)
    requisition = _ordered(app, people)
    if state == "ordered":
        return requisition
    _receive(app, people, requisition, accepted=10)
    if state == "received":
        return _fresh(requisition)
    _apply(app, requisition, people["logistics"], "reimburse", **_reimbursement(_fresh(requisition)))
    return _fresh(requisition)


REVIEW = {"purchase_method": "direct", "budget_checked": True, "confirmed_amount": Decimal("500.00")}


def _reimbursement(requisition):
    return {"invoice_number": "FP-1", "invoice_amount": requisition.order().received_value(),
            "contract_checked": True, "invoice_checked": True, "receipt_checked": True, "reimbursed": True}


def _apply(app, requisition, who, action, **changes):
    with app.test_request_context():
        current = _fresh(requisition)
        return procurement.apply(who, current.id, current.version, action, **changes)


def _who_and_changes(app, people, requisition, action, typed=True):
    """A person the table lets apply `action` (in its states), and what they type."""
    if not typed:
        return people["requester" if TRANSITIONS[action].who == "requester" else "logistics"], {}
    if action == "amend":
        return people["requester"], {"department_id": _dept(app), "lines": [_line(quantity=3)], "note": "改为3箱"}
    if action == "submit":
        return people["requester"], {}
    if action == "withdraw":
        return people["requester"], {"reason": "改用库存"}
    if action == "approve":
        return people["logistics"], REVIEW
    if action == "reject":
        return people["logistics"], {"reason": "预算不足"}
    if action == "order":
        supplier = _supplier(app)
        return people["logistics"], {"supplier_id": supplier.id, "delivery_date": dt.date(2026, 3, 9)}
    if action == "receive":
        line = requisition.order().lines_list()[0]
        return people["logistics"], {"received_on": dt.date(2026, 3, 2),
                                     "lines": {line.id: (line.quantity, 0, "", "return")}}
    return people["logistics"], _reimbursement(requisition)


@pytest.mark.parametrize("state", list(STATES))
def test_every_transition_from_each_state_is_allowed_or_refused_as_the_table_says(app, people, state):
    requisition = _at(app, people, state)
    assert requisition.state == state
    allowed = [action for action, transition in TRANSITIONS.items() if state in transition.sources]
    for action in (a for a in TRANSITIONS if a not in allowed):
        for who in people.values():
            with app.test_request_context():
                assert procurement.refusal(requisition, action, who), (state, action, who.username)
        with pytest.raises(ProcurementError) as refused:
            _apply(app, requisition, _who_and_changes(app, people, requisition, action, typed=False)[0], action)
        assert str(refused.value), (state, action)
        assert _fresh(requisition).version == requisition.version  # nothing changed
    for number, action in enumerate(allowed):
        subject = _fresh(requisition) if number == 0 else _at(app, people, state)  # a fresh one for each
        who, changes = _who_and_changes(app, people, subject, action)
        with app.test_request_context():
            assert procurement.refusal(subject, action, people["desk"]), (state, action)  # not the desk's to do
            assert action in dict(subject.actions_for(who))
        _apply(app, subject, who, action, **changes)
        after = _fresh(subject)
        assert after.state == (TRANSITIONS[action].target or state), (state, action)
        assert after.version == subject.version + 1
        event_action = "void" if action == "withdraw" else action
        assert RequisitionEvent.select().where(RequisitionEvent.requisition == subject.id,
                                               RequisitionEvent.action == event_action).exists()


def test_the_page_offers_exactly_the_transitions_the_table_allows(app, client, auth, people):
    requisition = _pending(app, people)
    auth.login("log")
    page = client.get(f"/procurement/{requisition.id}").get_data(as_text=True)
    assert 'id="decide-form"' in page and 'id="order-form"' not in page and 'id="amend-link"' not in page
    auth.logout()
    auth.login("req")
    page = client.get(f"/procurement/{requisition.id}").get_data(as_text=True)
    assert 'id="decide-form"' not in page and "Waiting for: Logistics review." in page
    with app.test_request_context():
        assert Requisition.get_by_id(requisition.id).actions_for(people["requester"]) == []


def test_a_refused_step_comes_back_with_the_message_beside_its_field_and_what_was_typed(app, client, auth, people):
    requisition = _pending(app, people)
    auth.login("log")
    url = f"/procurement/{requisition.id}"
    response = client.post(f"{url}/decide", data={"version": str(requisition.version), "decision": "approve",
                                                  "confirmed_amount": "480", "reason": "比价三家"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="purchase_method-error"' in page
    assert "Choose the purchase method." in page and "比价三家" in page and 'value="480"' in page
    response = client.post(f"{url}/decide", data={"version": "1", "decision": "approve"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="action-error"' in page and "acted on this requisition meanwhile" in page
    assert _fresh(requisition).state == "pending"

    received = _ordered(app, people)
    _receive(app, people, received, accepted=10)
    current = _fresh(received)
    response = client.post(f"/procurement/{current.id}/reimburse", data={
        "version": str(current.version), "action": "reimburse", "invoice_number": "FP-9", "invoice_amount": "5,999",
        "contract_checked": "y", "invoice_checked": "y", "receipt_checked": "y"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="reimburse_note-error"' in page and "FP-9" in page
    assert _fresh(received).state == "received"
