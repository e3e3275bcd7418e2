"""A logged call becomes at most one complaint: the model refuses a second, the database
too; the call and the complaint link to each other; the desk sees the number to tell the
caller. And two people acting at once: the one who lost keeps what they typed."""
import re

import pytest
from peewee import IntegrityError

from models import complaints
from models.calls import log_call
from models.complaints import Complaint, ComplaintEvent, TransitionError
from models.users import Department
from tests.helpers import make_complaint as _make
from tests.helpers import staff
from tests.helpers import walk_to as _walk_to


@pytest.fixture
def people(make_user):
    return staff(make_user, "desk", "spec", "manager", "head", desk={"display_name": "王芳"})


@pytest.fixture
def call(app, people):
    with app.test_request_context():
        return log_call(people["desk"], caller_name="周先生", organisation="1205室租户", phone="021-62345678",
                        reason="空调不制冷，要求维修", call_type="complaint", outcome="answered", answer_text="已致歉")


def _intake(call, key):
    return {"name": "周先生", "phone": "021-62345678", "organisation": "1205室租户", "channel": "phone",
            "content": "空调不制冷，要求维修", "category": "facilities", "severity": "general",
            "call_id": str(call.id), "submission_key": key}


def test_the_model_makes_one_complaint_of_a_call(app, people, call):
    first = _make(app, people["spec"], call_id=call.id)
    with pytest.raises(TransitionError, match=f"complaint {first.number} already"):
        _make(app, people["spec"], call_id=call.id)
    with app.test_request_context():
        assert Complaint.select().count() == 1
        assert Complaint.get().call.caller_name == "周先生"  # the complaint links to its call
        assert call.complaints.get().number == first.number  # and the call to its complaint


def test_the_database_refuses_a_second_complaint_of_a_call(app, people, call):
    first = _make(app, people["spec"], call_id=call.id)
    with app.test_request_context(), pytest.raises(IntegrityError):
        Complaint.create(number="TS-X", customer=first.customer_id, channel="phone", category="other",
                         content="x", call=call.id)


def test_the_desk_converts_a_call_once_and_sees_the_number(app, client, auth, people, call):
    auth.login("desk")
    page = client.get(f"/calls/{call.id}?lang=zh").get_data(as_text=True)
    assert "转为投诉" in page
    response = client.post("/complaints/new", data=_intake(call, "k1"))
    assert response.headers["Location"] == f"/calls/{call.id}"
    complaint = Complaint.get()
    page = client.get(f"/calls/{call.id}?lang=zh").get_data(as_text=True)
    assert f"投诉 {complaint.number} 已登记" in page  # the toast after the conversion
    notice = re.search(r'id="call-complaint">(.*?)</p>', page, re.S).group(1)
    assert complaint.number in notice and "请把编号告诉来电人" in notice
    assert "转为投诉" not in page
    # A second tab that still offers the conversion: refused beside the form, nothing typed lost.
    form = client.get(f"/complaints/new?call_id={call.id}&name=周先生&content=又打来了").get_data(as_text=True)
    assert 'id="call_id-error"' in form and complaint.number in form
    again = client.post("/complaints/new", data=dict(_intake(call, "k2"), content="第二次登记"), htmx=True)
    page = again.get_data(as_text=True)
    assert again.status_code == 422 and complaint.number in page and "第二次登记" in page
    assert Complaint.select().count() == 1


def test_two_desks_converting_at_once_make_one_complaint(app, people, call, monkeypatch):
    """The check before the insert misses the other desk's conversion: the unique call decides."""
    first = _make(app, people["spec"], call_id=call.id)
    monkeypatch.setattr(complaints, "call_refusal", lambda call_id: None)
    with pytest.raises(TransitionError):
        _make(app, people["spec"], call_id=call.id)
    with app.test_request_context():
        assert Complaint.select().count() == 1 and Complaint.get().id == first.id


def test_the_loser_of_two_at_once_keeps_the_note_typed(app, client, auth, people):
    complaint = _make(app, people["spec"])
    auth.login("spec")
    seen = {"action": "acknowledge", "version": "1", "note": "已致歉"}
    client.post(f"/complaints/{complaint.id}/act", data=seen)
    typed = {"action": "acknowledge", "version": "1", "note": "我也给客户打了电话，承诺明天上门"}
    response = client.post(f"/complaints/{complaint.id}/act", data=typed, htmx=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "changed this complaint meanwhile" in page
    kept = re.search(r'id="typed-kept">(.*?)</div>\s*</div>', page, re.S).group(1)
    assert "我也给客户打了电话，承诺明天上门" in kept
    with app.test_request_context():
        assert ComplaintEvent.select().where(ComplaintEvent.action == "acknowledge").count() == 1


def test_a_step_still_possible_comes_back_open_with_every_field(app, client, auth, people):
    complaint = _make(app, people["spec"])
    _walk_to(app, people, complaint, "acknowledged")
    with app.test_request_context():
        repairs = Department.get(Department.name == "Repairs").id
        stale = Complaint.get_by_id(complaint.id).version
    from tests.helpers import apply_action as _apply
    _apply(app, complaint, "pause", people["manager"], note="等客户照片")  # someone else, meanwhile
    auth.login("spec")
    response = client.post(f"/complaints/{complaint.id}/act", data={
        "action": "assign", "version": str(stale), "department": str(repairs), "note": "与维修部共同讨论"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "changed this complaint meanwhile" in page
    form = page.split('id="action-assign"')[1].split("</form>")[0]
    assert "与维修部共同讨论" in form and f'<option value="{repairs}" selected>' in form
    assert 'id="typed-kept"' not in page
