"""Facility repairs: reporting, assigning, repairing with materials from stock, the reporter's
confirmation, urgent notices, the escalation sweep and the repair quality pass rate."""
import datetime as dt
import io

import pytest
import time_machine
from PIL import Image

from models import repairs
from models.audit import AuditEntry
from models.notifications import Notification
from models.procurement.stock import StockItem, StockMove
from models.repairs import Repair, RepairError, RepairMaterial
from tests.helpers import at, local

H = dt.timedelta(hours=1)


@pytest.fixture
def crew(make_user):
    return {
        "desk": make_user("desk", "front_desk", department="前台", display_name="王前台"),
        "desk2": make_user("desk2", "front_desk", department="前台", display_name="李前台"),
        "log": make_user("log", "logistics", department="行政后勤部", display_name="刘后勤"),
        "log2": make_user("log2", "logistics", department="行政后勤部", display_name="孙后勤"),
        "head": make_user("loghead", "dept_head", department="行政后勤部", display_name="后勤主任"),
        "manager": make_user("manager", "service_manager", display_name="杨经理"),
        "fitter": make_user("fitter", "specialist", department="工程维修部", display_name="黄师傅"),
    }


def _fresh(repair):
    return Repair.get_by_id(repair.id)


def _report(crew, urgency="normal", who="desk", **kwargs):
    return repairs.report(crew[who], place="一楼大厅东门", what="自动门不能关闭", urgency=urgency, **kwargs)


def _step(repair, action, actor, **kwargs):
    return repairs.apply(repair.id, action, actor, _fresh(repair).version, **kwargs)


def _repaired(crew, **kwargs):
    repair = _report(crew, **kwargs)
    _step(repair, "assign", crew["log"], assignee_id=crew["fitter"].id)
    _step(repair, "done", crew["fitter"], work_done="更换门禁感应器")
    return _fresh(repair)


def _photo_bytes():
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


# ---------------------------------------------------------------- the workflow

def test_a_reported_fault_gets_a_number_and_its_urgency_deadline(app, crew):
    with app.test_request_context(), time_machine.travel(at(2026, 11, 3, 9, 0), tick=False):
        repair = _report(crew, urgency="urgent")
    assert repair.number.startswith("BX-2026-")
    assert repair.state == "reported"
    assert repair.due_at == local(2026, 11, 4, 9, 0)  # 24 hours for an urgent fault
    assert repair.department.name == "前台"
    assert AuditEntry.select().where(AuditEntry.record_type == "repair", AuditEntry.action == "create").count() == 1


def test_place_and_what_are_needed(app, crew):
    with app.test_request_context():
        with pytest.raises(RepairError) as refused:
            repairs.report(crew["desk"], place=" ", what="灯坏了")
        assert refused.value.field == "place"
        with pytest.raises(RepairError) as refused:
            repairs.report(crew["desk"], place="二楼", what="", urgency="normal")
        assert refused.value.field == "what"
    assert Repair.select().count() == 0


def test_a_fault_goes_from_report_to_confirmation(app, crew):
    with app.test_request_context():
        repair = _repaired(crew)
        assert repair.state == "done" and repair.done_by_id == crew["fitter"].id
        assert Notification.select().where(Notification.user == crew["desk"].id).count() == 1  # confirm it
        _step(repair, "confirm", crew["desk"])
    repair = _fresh(repair)
    assert repair.state == "confirmed" and repair.confirmed_by_id == crew["desk"].id
    assert repair.first_time_good and not repair.on_behalf


def test_reopened_then_reassigned_repaired_and_confirmed_is_not_good_the_first_time(app, crew):
    with app.test_request_context():
        repair = _repaired(crew)
        with pytest.raises(RepairError) as refused:
            _step(repair, "reopen", crew["desk"], note="")
        assert refused.value.field == "note"
        _step(repair, "reopen", crew["desk"], note="还是关不上")
        assert _fresh(repair).state == "reopened"
        # logistics and the one who did it hear of it
        told = {n.user_id for n in Notification.select().where(Notification.message == repairs.REOPENED_MESSAGE)}
        assert told == {crew["log"].id, crew["log2"].id, crew["fitter"].id}
        _step(repair, "assign", crew["log"], contractor="恒通门业", contractor_phone="021-5555 1234")
        assert _fresh(repair).worker_label == "恒通门业 021-5555 1234"
        _step(repair, "done", crew["log"], work_done="更换电机")
        _step(repair, "confirm", crew["desk"])
    repair = _fresh(repair)
    assert repair.state == "confirmed" and repair.reopen_count == 1 and not repair.first_time_good


def test_confirming_someone_elses_fault_is_refused_and_nothing_changes(app, crew):
    with app.test_request_context():
        repair = _repaired(crew)
        for person in ("desk2", "fitter", "log"):
            with pytest.raises(RepairError) as refused:
                _step(repair, "confirm", crew[person])
            assert "reported" in str(refused.value)
            with pytest.raises(RepairError):
                _step(repair, "reopen", crew[person], note="不行")
    assert _fresh(repair).state == "done"


def test_logistics_confirms_on_the_reporters_behalf_after_the_setting_days(app, crew):
    with app.test_request_context():
        with time_machine.travel(at(2026, 11, 3, 9, 0), tick=False):
            repair = _repaired(crew)
        with time_machine.travel(at(2026, 11, 6, 8, 59), tick=False), pytest.raises(RepairError) as refused:
            _step(repair, "confirm", crew["log"])
        assert "3 days" in str(refused.value)
        with time_machine.travel(at(2026, 11, 6, 9, 0), tick=False):
            _step(repair, "confirm", crew["log"])
        with time_machine.travel(at(2026, 11, 6, 9, 0), tick=False), pytest.raises(RepairError):
            _step(repair, "confirm", crew["desk2"])  # not another desk: it is confirmed already
    repair = _fresh(repair)
    assert repair.state == "confirmed" and repair.on_behalf and repair.confirmed_by_id == crew["log"].id


def test_only_the_assignee_or_logistics_records_the_repair(app, crew):
    with app.test_request_context():
        repair = _report(crew)
        _step(repair, "assign", crew["log"], assignee_id=crew["fitter"].id)
        for person in ("desk", "manager"):
            with pytest.raises(RepairError):
                _step(repair, "done", crew[person], work_done="修好了")
        with pytest.raises(RepairError) as refused:
            _step(repair, "assign", crew["desk"], assignee_id=crew["desk"].id)
        with pytest.raises(RepairError) as refused:
            _step(repair, "done", crew["fitter"], work_done="")
        assert refused.value.field == "work_done"
    assert _fresh(repair).state == "assigned"


def test_assigning_needs_staff_or_a_contractor_with_a_phone(app, crew):
    with app.test_request_context():
        repair = _report(crew)
        for kwargs, field in (({}, "assignee"), ({"contractor": "恒通门业"}, "contractor_phone"),
                              ({"assignee_id": crew["fitter"].id, "contractor": "恒通门业", "contractor_phone": "1"},
                               "contractor"), ({"assignee_id": 99999}, "assignee")):
            with pytest.raises(RepairError) as refused:
                _step(repair, "assign", crew["log"], **kwargs)
            assert refused.value.field == field, kwargs
        _step(repair, "assign", crew["log"], assignee_id=crew["fitter"].id)
        assert Notification.select().where(Notification.user == crew["fitter"].id).count() == 1
    assert _fresh(repair).state == "assigned"


def test_a_stale_version_is_refused(app, crew):
    with app.test_request_context():
        repair = _report(crew)
        _step(repair, "assign", crew["log"], assignee_id=crew["fitter"].id)
        with pytest.raises(RepairError):
            repairs.apply(repair.id, "reassign", crew["log2"], repair.version, assignee_id=crew["log2"].id)
    assert _fresh(repair).assignee_id == crew["fitter"].id


def test_void_needs_a_reason(app, crew):
    with app.test_request_context():
        repair = _report(crew)
        with pytest.raises(RepairError):
            _step(repair, "void", crew["log"], note=" ")
        _step(repair, "void", crew["log"], note="重复报修")
    repair = _fresh(repair)
    assert repair.state == "voided" and repair.void_reason == "重复报修" and repair.voided_at


def test_photos_are_stored_with_the_report(app, crew):
    data = _photo_bytes()
    with app.test_request_context():
        repair = _report(crew, photos=[("door.png", data, "PNG", 40, 30)])
        photos = repair.photo_list()
    assert [p.original_name for p in photos] == ["door.png"]


# ---------------------------------------------------------------- materials from the stock ledger

def test_materials_are_issued_from_stock_with_the_repair(app, crew):
    with app.app_context():
        bulb = StockItem.create(name="LED灯管", spec="T8 1.2m", unit="支", balance=10)
        tape = StockItem.create(name="绝缘胶布", unit="卷", balance=3)
    with app.test_request_context():
        repair = _report(crew)
        _step(repair, "assign", crew["log"], assignee_id=crew["fitter"].id)
        _step(repair, "done", crew["fitter"], work_done="换灯管", materials=[(bulb.id, 4), (tape.id, 1)])
    assert StockItem.get_by_id(bulb.id).balance == 6 and StockItem.get_by_id(tape.id).balance == 2
    moves = list(StockMove.select().where(StockMove.qty_out > 0).order_by(StockMove.id))
    assert [(m.qty_out, m.taken_by) for m in moves] == [(4, "黄师傅"), (1, "黄师傅")]
    assert all(repair.number in m.note for m in moves)
    assert [(m.item.name, m.quantity) for m in _fresh(repair).material_list()] == [("LED灯管", 4), ("绝缘胶布", 1)]


def test_more_than_in_stock_is_refused_beside_its_line_and_nothing_is_issued(app, crew):
    with app.app_context():
        bulb = StockItem.create(name="LED灯管", spec="T8", unit="支", balance=10)
        tape = StockItem.create(name="绝缘胶布", unit="卷", balance=3)
    with app.test_request_context():
        repair = _report(crew)
        _step(repair, "assign", crew["log"], assignee_id=crew["fitter"].id)
        with pytest.raises(RepairError) as refused:
            _step(repair, "done", crew["fitter"], work_done="换灯管", materials=[(bulb.id, 4), (tape.id, 5)])
    assert refused.value.field == "materials-1-quantity"
    assert "3" in str(refused.value)
    assert StockItem.get_by_id(bulb.id).balance == 10  # the first line went back too
    assert StockMove.select().count() == 0 and RepairMaterial.select().count() == 0
    assert _fresh(repair).state == "assigned"


# ---------------------------------------------------------------- notices and the escalation sweep

def test_an_urgent_fault_tells_every_logistics_user_at_once(app, crew):
    with app.test_request_context():
        _report(crew, urgency="normal")
        assert Notification.select().count() == 0
        _report(crew, urgency="emergency")
    told = {n.user_id for n in Notification.select().where(Notification.message == repairs.URGENT_MESSAGES["emergency"])}
    assert told == {crew["log"].id, crew["log2"].id}


def test_an_overdue_fault_is_escalated_once(app, crew):
    with app.test_request_context():
        with time_machine.travel(at(2026, 11, 3, 9, 0), tick=False):
            late = _report(crew, urgency="emergency")  # 4 hours
            in_time = _report(crew, urgency="emergency")
            _step(in_time, "assign", crew["log"], assignee_id=crew["fitter"].id)
        with time_machine.travel(at(2026, 11, 3, 12, 0), tick=False):
            _step(in_time, "done", crew["fitter"], work_done="修好")
        with time_machine.travel(at(2026, 11, 3, 12, 59), tick=False):
            assert repairs.escalate_overdue() == 0
        with time_machine.travel(at(2026, 11, 3, 13, 0), tick=False):
            assert repairs.escalate_overdue() == 1
            assert repairs.escalate_overdue() == 0
        with time_machine.travel(at(2026, 11, 5, 13, 0), tick=False):
            assert repairs.escalate_overdue() == 0
    escalations = list(Notification.select().where(Notification.message == repairs.ESCALATED_MESSAGE))
    assert {n.user_id for n in escalations} == {crew["head"].id, crew["manager"].id}
    assert _fresh(late).escalated_at == local(2026, 11, 3, 13, 0)
    assert _fresh(in_time).escalated_at is None


def test_the_sweep_task_runs_the_escalation(app, crew):
    from tasks.repairs import escalate_repairs
    with app.test_request_context():
        with time_machine.travel(at(2026, 11, 3, 9, 0), tick=False):
            _report(crew, urgency="emergency")
        with time_machine.travel(at(2026, 11, 4, 9, 0), tick=False):
            escalate_repairs.call_local()
            escalate_repairs.call_local()
    assert Notification.select().where(Notification.message == repairs.ESCALATED_MESSAGE).count() == 2


# ---------------------------------------------------------------- the pass rate (hand-computed)

def _confirmed_at(crew, when, reopened=False, who="desk", void=False):
    with time_machine.travel(when - 2 * H, tick=False):
        repair = _repaired(crew, who=who)
        if reopened:
            _step(repair, "reopen", crew[who], note="又坏了")
            _step(repair, "assign", crew["log"], assignee_id=crew["fitter"].id)
            _step(repair, "done", crew["fitter"], work_done="再修")
    with time_machine.travel(when, tick=False):
        _step(repair, "confirm", crew[who])
    if void:
        Repair.update(voided_at=when).where(Repair.id == repair.id).execute()
    return repair


def test_pass_rate_counts_first_time_good_among_confirmed_in_the_period(app, crew):
    with app.test_request_context():
        # October (local days): 3 good, 1 reopened; one confirmed just before midnight on 31 Oct
        _confirmed_at(crew, at(2026, 10, 2, 10))
        _confirmed_at(crew, at(2026, 10, 15, 10))
        _confirmed_at(crew, at(2026, 10, 31, 23, 59), who="log2")
        _confirmed_at(crew, at(2026, 10, 20, 10), reopened=True)
        # 1 November 00:00 local is November
        _confirmed_at(crew, at(2026, 11, 1, 0, 0), reopened=True)
        _confirmed_at(crew, at(2026, 11, 2, 10))
        _confirmed_at(crew, at(2026, 11, 3, 10), void=True)  # voided: in neither count
        # open, done-not-confirmed: not counted
        _report(crew)
        _repaired(crew)
        assert repairs.pass_rate(dt.date(2026, 10, 1), dt.date(2026, 11, 1)) == (3, 4)
        assert repairs.pass_rate(dt.date(2026, 11, 1), dt.date(2026, 12, 1)) == (1, 2)
        assert repairs.pass_rate(dt.date(2026, 9, 1), dt.date(2026, 10, 1)) == (0, 0)
        desk = crew["desk"].department
        logistics = crew["log2"].department
        assert repairs.pass_rate(dt.date(2026, 10, 1), dt.date(2026, 11, 1), department=desk) == (2, 3)
        assert repairs.pass_rate(dt.date(2026, 10, 1), dt.date(2026, 11, 1), department=logistics.id) == (1, 1)
        figures = repairs.quality(dt.date(2026, 10, 1), dt.date(2026, 11, 1))
    assert figures == {"good": 3, "total": 4, "percent": 75.0, "target": 98, "met": False}


# ---------------------------------------------------------------- the pages

def _report_form(**overrides):
    data = {"place": "一楼大厅东门", "what": "自动门不能关闭", "urgency": "urgent", "submission_key": "bx-1"}
    data.update(overrides)
    return data


def test_the_desk_reports_a_fault_with_a_photo(client, auth, crew):
    auth.login("desk")
    response = client.post("/repairs/new", data=_report_form(photos=[(io.BytesIO(_photo_bytes()), "门.png")]),
                           content_type="multipart/form-data")
    assert response.status_code == 303
    repair = Repair.get()
    assert response.headers["Location"].endswith(f"/repairs/{repair.id}")
    assert repair.urgency == "urgent" and repair.reported_by_id == crew["desk"].id
    photo = repair.photo_list()[0]
    assert client.get(f"/repairs/photos/{photo.id}?thumb=1").mimetype == "image/jpeg"
    page = client.get(f"/repairs/{repair.id}?lang=zh").get_data(as_text=True)
    assert repair.number in page and "一楼大厅东门" in page and "紧急" in page
    # a second tap on the same form makes no second fault
    client.post("/repairs/new", data=_report_form(), content_type="multipart/form-data")
    assert Repair.select().count() == 1


def test_an_invalid_report_keeps_what_was_typed(client, auth, crew):
    auth.login("desk")
    data = _report_form(place="", photos=[(io.BytesIO(b"%PDF-1.4 not a photo"), "门.jpg")])
    response = client.post("/repairs/new?lang=zh", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "自动门不能关闭" in page and "门.jpg: 该文件不是照片" in page
    assert Repair.select().count() == 0


def test_a_repair_through_the_pages_with_a_material_refused_beside_its_line(client, auth, crew):
    with client.application.app_context():
        bulb = StockItem.create(name="LED灯管", spec="T8", unit="支", balance=2)
    with client.application.test_request_context():
        repair = _report(crew)
    auth.login("log")
    response = client.post(f"/repairs/{repair.id}", data={"action": "assign", "assign-version": "1",
                                                          "assign-assignee": crew["fitter"].id})
    assert response.status_code == 303 and _fresh(repair).state == "assigned"
    auth.logout()
    auth.login("fitter")
    done = {"action": "done", "done-version": str(_fresh(repair).version), "done-work_done": "更换灯管",
            "done-materials-0-item": str(bulb.id), "done-materials-0-quantity": "5"}
    response = client.post(f"/repairs/{repair.id}?lang=zh", data=done)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "更换灯管" in page and 'id="done-materials-0-quantity-error"' in page
    assert _fresh(repair).state == "assigned"
    done["done-materials-0-quantity"] = "2"
    assert client.post(f"/repairs/{repair.id}", data=done).status_code == 303
    assert StockItem.get_by_id(bulb.id).balance == 0 and _fresh(repair).state == "done"
    # someone else confirming is refused with a message on the page
    confirm = {"action": "confirm", "confirm-version": str(_fresh(repair).version)}
    auth.logout()
    auth.login("log")
    response = client.post(f"/repairs/{repair.id}?lang=zh", data=confirm)
    assert response.status_code == 422 and "只有报修人" in response.get_data(as_text=True)
    auth.logout()
    auth.login("desk")
    assert client.post(f"/repairs/{repair.id}", data=confirm).status_code == 303
    assert _fresh(repair).state == "confirmed"


def test_someone_elses_repair_is_not_shown(client, auth, crew):
    with client.application.test_request_context():
        repair = _report(crew)
    auth.login("desk2")
    assert client.get(f"/repairs/{repair.id}").status_code == 404
    assert repair.number not in client.get("/repairs").get_data(as_text=True)
    auth.logout()
    auth.login("log")
    assert repair.number in client.get("/repairs").get_data(as_text=True)


def test_the_ledger_prints_and_exports_the_month(client, auth, crew):
    from tests.pdf import assert_embedded_cjk_font, pdf_text
    with client.application.test_request_context():
        with time_machine.travel(at(2026, 11, 3, 9, 0), tick=False):
            repair = _repaired(crew)
            _step(repair, "confirm", crew["desk"])
    auth.login("log")
    page = client.get("/repairs/ledger?month=2026-11&lang=zh").get_data(as_text=True)
    assert repair.number in page and "100.0" in page
    response = client.get("/repairs/ledger.pdf?month=2026-11")
    assert response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    assert "维修登记表" in text and repair.number in text and "一楼大厅东门" in text and "黄师傅" in text
    assert "合格率" in text
    assert_embedded_cjk_font(response.data)
    csv = client.get("/repairs/ledger.csv?month=2026-11").get_data(as_text=True)
    assert repair.number in csv and "更换门禁感应器" in csv
    assert client.get("/repairs/ledger.xlsx?month=2026-11").status_code == 200
    auth.logout()
    auth.login("desk")
    assert client.get("/repairs/ledger").status_code == 403


# ---------------------------------------------------------------- reports page and board

def test_the_report_and_the_board_show_the_months_repair_quality(client, auth, crew, make_user):
    from models import board
    from models.reports import Period, build
    with client.application.test_request_context():
        with time_machine.travel(at(2026, 11, 3, 9, 0), tick=False):
            _step(_repaired(crew), "confirm", crew["desk"])
            again = _repaired(crew)
            _step(again, "reopen", crew["desk"], note="又坏了")
            _step(again, "assign", crew["log"], assignee_id=crew["fitter"].id)
            _step(again, "done", crew["fitter"], work_done="再修")
            _step(again, "confirm", crew["desk"])
        figures = build(Period.parse("month", "2026-11"))
        assert figures["sections"]["repairs"] == {"reported": 2, "escalated": 0, "good": 1, "total": 2,
                                                  "percent": 50.0, "target": 98, "met": False}
        with time_machine.travel(at(2026, 11, 20, 9, 0), tick=False):
            values = {t["key"]: t for t in board.targets(None)}
    assert values["repair_pass"] == {"key": "repair_pass", "value": 50.0, "target": 98.0, "met": False}
    make_user("mgr2", "service_manager")
    with time_machine.travel(at(2026, 12, 2, 9, 0), tick=False):
        auth.login("mgr2")
        page = client.get("/reports?kind=month&month=2026-11&lang=zh").get_data(as_text=True)
    assert "维修质量合格率" in page and "50.0 %" in page
