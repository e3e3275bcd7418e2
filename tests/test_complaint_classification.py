"""VIP and severity after intake: changing them recomputes the deadlines from intake (less
the waits on the customer), as a timeline step, audited, by customer service only; and the
page names every deadline that applies and the clock it runs on — frozen time.

The zone is Asia/Shanghai (UTC+8); 2026-11-23 is a Monday."""
import datetime as dt
import json
import re

import pytest
import time_machine

from models import complaints, settings
from models.audit import AuditEntry
from models.complaints import Complaint, ComplaintEvent, Customer, TransitionError
from models.notifications import Notification
from tests.helpers import apply_action as _apply
from tests.helpers import at, local
from tests.helpers import make_complaint as _make
from tests.helpers import on_the_clock


@pytest.fixture(autouse=True)
def _deadlines_on_the_clock(app):
    """These deadlines are wall-clock hours: the setting is turned off explicitly, since working
    time is the default now (tests that count working time turn it on themselves)."""
    on_the_clock(app)


H = dt.timedelta(hours=1)
T0 = (2026, 11, 23, 10)


def _get(app, complaint):
    with app.test_request_context():
        return Complaint.get_by_id(complaint.id)


def _taken_in_and_waited(app, people, **fields):
    """Taken in at T0 (general, no VIP), waited on the customer from T0+2h to T0+5h."""
    with time_machine.travel(at(*T0), tick=False) as clock:
        complaint = _make(app, people["spec"], **fields)
        clock.move_to(at(*T0) + 2 * H)
        _apply(app, complaint, "pause", people["spec"])
        clock.move_to(at(*T0) + 5 * H)
        _apply(app, complaint, "resume", people["spec"])
    return complaint


def test_vip_and_major_later_recompute_the_deadlines_from_intake_less_the_wait(app, people):
    complaint = _taken_in_and_waited(app, people)
    start = local(*T0)
    before = _get(app, complaint)
    assert (before.reply_due_at, before.handle_due_at, before.plan_due_at) == (start + 27 * H, start + 27 * H, None)
    with time_machine.travel(at(*T0) + 6 * H, tick=False):
        _apply(app, complaint, "reclassify", people["spec"], is_vip=True, severity="major", note="客户是大客户，且已曝光")
    after = _get(app, complaint)
    # VIP: reply 4 h, handled 12 h; major: a solution within 72 h; each pushed on by the 3 h waited.
    assert after.severity == "major" and after.customer.is_vip
    assert after.reply_due_at == start + 7 * H
    assert after.handle_due_at == start + 15 * H
    assert after.plan_due_at == start + 75 * H
    assert after.state == "received" and after.version == before.version + 1
    with app.test_request_context():
        step = ComplaintEvent.select().where(ComplaintEvent.action == "reclassify").get()
        assert step.note == "客户是大客户，且已曝光" and step.at == start + 6 * H
        assert step.heading == complaints.EVENT_LABELS["reclassify"]
        change = (AuditEntry.select().where(AuditEntry.record_type == "complaint", AuditEntry.record_id == complaint.id)
                  .order_by(AuditEntry.id.desc()).get())
        changed = json.loads(change.changes) if isinstance(change.changes, str) else change.changes
        assert changed["severity"] == ["general", "major"] and "handle_due_at" in changed
        customer_change = AuditEntry.select().where(AuditEntry.record_type == "customer",
                                                    AuditEntry.action == "update").get()
        assert "is_vip" in customer_change.changes
        # Now major: the managers hear of it, as at the intake of a major complaint.
        assert Notification.select().where(Notification.user == people["manager"].id).count() == 1


def test_the_deadlines_are_recomputed_in_working_time(app, people):
    with app.test_request_context():
        settings.save(None, {complaints.WORKING_TIME: True})
    with time_machine.travel(at(*T0), tick=False) as clock:
        complaint = _make(app, people["spec"])  # Monday 10:00: 24 working hours
        clock.move_to(at(*T0) + H)
        _apply(app, complaint, "reclassify", people["spec"], is_vip=True, severity="general", note="VIP")
    after = _get(app, complaint)
    # 4 working hours from Monday 10:00 (lunch 12:00-13:30): 15:30; 12 hours: Tuesday 16:00.
    assert after.reply_due_at == local(2026, 11, 23, 15, 30)
    assert after.handle_due_at == local(2026, 11, 24, 16, 0)
    assert after.deadlines_in_working_time is True


def test_the_customers_other_open_complaints_follow_the_vip(app, people):
    first = _taken_in_and_waited(app, people)
    with time_machine.travel(at(*T0) + 7 * H, tick=False):
        second = _make(app, people["spec"], content="又坏了")
        _apply(app, second, "reclassify", people["spec"], is_vip=True, severity="general", note="认定为 VIP")
    start = local(*T0)
    other = _get(app, first)
    assert other.reply_due_at == start + 7 * H and other.handle_due_at == start + 15 * H
    with app.test_request_context():
        assert [e.action for e in other.events()][-1] == "reclassify"


def test_a_customer_recognised_as_vip_at_a_later_intake_gets_vip_deadlines_everywhere(app, people):
    first = _taken_in_and_waited(app, people)
    with time_machine.travel(at(*T0) + 8 * H, tick=False):
        second = _make(app, people["spec"], content="又坏了", is_vip=True)
    start = local(*T0)
    older = _get(app, first)
    assert older.customer.is_vip
    assert older.reply_due_at == start + 7 * H and older.handle_due_at == start + 15 * H
    with app.test_request_context():
        step = [e for e in older.events()][-1]
        assert step.action == "reclassify" and step.note == second.number


def test_a_reopened_complaint_keeps_its_reopening_as_the_start_of_handling(app, people):
    from tests.helpers import walk_to as _walk_to
    with time_machine.travel(at(*T0), tick=False) as clock:
        complaint = _make(app, people["spec"])
        _walk_to(app, people, complaint, "customer_informed")
        clock.move_to(at(*T0) + 30 * H)
        _apply(app, complaint, "unsatisfied", people["spec"], note="还是坏的")
        clock.move_to(at(*T0) + 31 * H)
        _apply(app, complaint, "reclassify", people["spec"], is_vip=True, severity="general", note="VIP")
    after = _get(app, complaint)
    assert after.handle_due_at == local(*T0) + 30 * H + 12 * H


def test_only_customer_service_changes_vip_or_severity_and_only_a_change(app, people):
    complaint = _make(app, people["spec"])
    with pytest.raises(TransitionError, match="Your role may not do this"):
        _apply(app, complaint, "reclassify", people["head"], is_vip=True, severity="major", note="x")
    with pytest.raises(TransitionError, match="Nothing changed"):
        _apply(app, complaint, "reclassify", people["spec"], is_vip=False, severity="general", note="x")
    with pytest.raises(TransitionError, match="Why the classification changes"):
        _apply(app, complaint, "reclassify", people["spec"], is_vip=True, severity="general", note="")
    with pytest.raises(TransitionError, match="Choose the severity"):
        _apply(app, complaint, "reclassify", people["spec"], is_vip=True, severity="huge", note="x")
    with app.test_request_context():
        assert not Customer.get().is_vip and Complaint.get().severity == "general"
        assert ComplaintEvent.select().where(ComplaintEvent.action == "reclassify").count() == 0


def test_changing_vip_on_the_page(app, client, auth, people):
    with time_machine.travel(at(*T0), tick=False):
        complaint = _make(app, people["spec"])
        auth.login("spec")
        page = client.get(f"/complaints/{complaint.id}").get_data(as_text=True)
        assert 'id="action-reclassify"' in page and 'id="reclassify-vip"' in page
        response = client.post(f"/complaints/{complaint.id}/act", data={
            "action": "reclassify", "version": "1", "is_vip": "y", "severity": "general", "note": "老客户"})
        assert response.status_code == 303
        page = client.get(f"/complaints/{complaint.id}").get_data(as_text=True)
        assert 'class="tag vip"' in page and "VIP or severity changed; deadlines recomputed" in page
        assert "2026-11-23 14:00" in page  # the VIP reply, 4 h after intake
        refused = client.post(f"/complaints/{complaint.id}/act", data={
            "action": "reclassify", "version": "2", "severity": "major", "note": ""})
        page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Why the classification changes" in page
    assert 'id="reclassify-severity"' in page and '<option value="major" selected>' in page


def _deadlines_block(page):
    """The deadlines as the page reads: tags dropped, spaces folded."""
    block = page.split('id="deadlines"')[1].split("</dd>")[0]
    return " ".join(re.sub(r"<[^>]+>", " ", block).replace(" :", ":").split())


def test_the_page_names_every_deadline_and_its_clock(app, client, auth, people):
    with time_machine.travel(at(*T0), tick=False):
        general = _make(app, people["spec"])
        major = _make(app, people["spec"], phone="13900139001", severity="major")
        auth.login("spec")
        block = _deadlines_block(client.get(f"/complaints/{general.id}").get_data(as_text=True))
        assert "Reply to the customer due: 2026-11-24 10:00" in block
        assert "Department handling due: 2026-11-24 10:00" in block
        assert "Major complaint solution due" not in block
        assert "Counted on the clock" in block
        block = _deadlines_block(client.get(f"/complaints/{major.id}").get_data(as_text=True))
        assert "Reply to the customer due: 2026-11-24 10:00" in block
        assert "Major complaint solution due (from intake): 2026-11-26 10:00" in block
        assert "Department handling due: 2026-11-26 10:00" in block
        _apply(app, major, "acknowledge", people["spec"])
        block = _deadlines_block(client.get(f"/complaints/{major.id}").get_data(as_text=True))
        assert "Reply to the customer due: 2026-11-24 10:00 · no longer running" in block
    with app.test_request_context():
        settings.save(None, {complaints.WORKING_TIME: True})
    with time_machine.travel(at(*T0), tick=False):
        counted = _make(app, people["spec"], phone="13900139002")
        block = _deadlines_block(client.get(f"/complaints/{counted.id}").get_data(as_text=True))
        assert "Counted in working time" in block
        # The one taken in on the clock still says so after the setting changed.
        block = _deadlines_block(client.get(f"/complaints/{general.id}").get_data(as_text=True))
        assert "Counted on the clock" in block


def test_an_overdue_deadline_is_marked(app, client, auth, people):
    with time_machine.travel(at(*T0), tick=False) as clock:
        complaint = _make(app, people["spec"])
        clock.move_to(at(*T0) + 25 * H)
        auth.login("spec")
        block = _deadlines_block(client.get(f"/complaints/{complaint.id}").get_data(as_text=True))
    assert block.count("Overdue") == 2
