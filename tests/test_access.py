"""The role × endpoint matrix: every endpoint declares who may use it, and that
declaration is what each role actually meets — on real records: every route that takes
an id is requested with the id of a seeded record the person may see, so an allowed
role must get the page (200), not a "not found" that would pass for allowed."""
import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from flask import url_for
from PIL import Image

from models import (
    board, calls, compensations, complaints, desk_items, duty, home_visits, repairs, reports, returns, service_visits,
    visitors, weekly_archive, worktime,
)
from models import documents
from models.notifications import Notification
from models.procurement import chain, requisitions
from models.procurement.chain import ApprovalStep
from models.procurement.orders import Delivery, ReturnRecord
from models.procurement.stock import StockItem
from models.procurement.suppliers import Supplier
from models.roles import PERMISSIONS, ROLES, has_permission
from tests.helpers import (
    PROCUREMENT_STAFF, apply_action, department_id, make_complaint, make_requisition, ordered, receive, staff,
)
from views.access import PUBLIC, declared_permission

# 2026-03-02 16:00 in Shanghai, a Monday: the desk's day shift, no quiet hours for callbacks.
NOW = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.timezone.utc)
UTC_NOW = NOW.replace(tzinfo=None)  # as the database stores it

#: (the URL's first segment, or the whole rule, the argument) -> which seeded record it takes.
#: A new route with an id needs its record here and in seed_records().
SEEDED = {
    ("/procurement/<int:requisition_id>/edit", "requisition_id"): "draft",
    ("admin", "user_id"): "user",
    ("admin", "department_id"): "department",
    ("admin", "token_id"): "board_token",
    ("admin", "day_id"): "calendar_day",
    ("appointments", "appointment_id"): "appointment",
    ("callbacks", "callback_id"): "callback",
    ("calls", "call_id"): "call",
    ("complaints", "complaint_id"): "complaint",
    ("customers", "customer_id"): "customer",
    ("duty", "day_id"): "duty_day",
    ("duty", "entry_id"): "duty_entry",
    ("duty", "handover_id"): "handover",
    ("incidents", "report_id"): "incident",
    ("incidents", "photo_id"): "incident_photo",
    ("lost-found", "item_id"): "lost_item",
    ("mail", "item_id"): "mail_item",
    ("notifications", "notification_id"): "notification",
    ("procurement", "requisition_id"): "requisition",
    ("procurement", "attachment_id"): "attachment",
    ("procurement", "approver_id"): "approver",
    ("procurement", "delivery_id"): "delivery",
    ("procurement", "return_id"): "return_record",
    ("reports", "run_id"): "report_run",
    ("reports", "archive_id"): "weekly_archive",
    ("returns", "record_id"): "goods_return",
    ("compensations", "compensation_id"): "compensation",
    ("home-visits", "visit_id"): "home_visit",
    ("service-visits", "visit_id"): "service_visit",
    ("stock", "item_id"): "stock_item",
    ("suppliers", "supplier_id"): "supplier",
    ("visitors", "visit_id"): "visit",
    ("visitors", "entry_id"): "watchlist_entry",
    ("broadcast", "script_id"): "broadcast_script",
    ("broadcast", "version_id"): "script_version",
    ("broadcast", "slot_id"): "programme_slot",
    ("vehicles", "trip_id"): "vehicle_trip",
    ("vehicles", "vehicle_id"): "vehicle",
    ("vehicles", "record_id"): "vehicle_service",
    ("vehicles", "driver_id"): "driver",
    ("rooms", "booking_id"): "booking",
    ("rooms", "prep_item_id"): "prep_item",
    ("rooms", "action_id"): "action_item",
    ("rooms", "room_id"): "room",
    # Quality assessments
    ("quality", "assessment_id"): "assessment",
    ("quality", "period_id"): "assessment_period",
    ("quality", "award_id"): "award",
    ("quality", "entry_id"): "red_black_entry",
    ("repairs", "repair_id"): "repair",
    ("quality", "course_id"): "course",
    ("quality", "person_id"): "self",  # a person's own training record; on the seeded course's list
    ("quality", "material_id"): "course_material",
    ("quality", "plan_id"): "plan",
    ("quality", "measure_id"): "plan_measure",
    ("quality", "inspection_id"): "quality_inspection",
    ("quality", "finding_id"): "quality_finding",
    ("quality", "fine_id"): "quality_fine",
    ("quality", "rectification_id"): "quality_rectification",
    ("quality", "checklist_item_id"): "quality_checklist_item",
    ("quality", "proposal_id"): "quality_proposal",
    ("quality", "department_id"): "department",
    ("documents", "document_id"): "document",
    ("repairs", "photo_id"): "repair_photo",
}
#: Arguments that are not records.
VALUES = {"fmt": "csv", "action": "check", "month": "2026-02", "year": 2026}
#: Arguments whose value depends on the route.
ROUTE_VALUES = {("service_visits.ledger", "fmt"): "xlsx",
                # A token that fails its signature: the answer page's refusal, as a stranger would see it.
                ("answers.reply", "token"): "not-a-signed-token"}


def _photo():
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def seed_records(app, make_user, person):
    """One record of each kind, every one of them `person`'s to see: `person` is in 客服部,
    which requested the requisition and handles the complaint; hosts the visit; was promised
    the call's reply. {record name: id}."""
    people = {**staff(make_user, "head", "logistics", "leader", table=PROCUREMENT_STAFF), "requester": person}
    desk = make_user("desk", "front_desk", display_name="王芳")
    spec = make_user("spec", "specialist")
    own = department_id(app, "客服部")
    photo = _photo()
    with app.test_request_context():
        requisition = ordered(app, people)
        receive(app, people, requisition, 8, 2, reason="外包装破损", kind="return")
        draft = make_requisition(app, people, submit=False)
        attachment = requisitions.attach(person, requisition, "报价单.pdf", b"%PDF-1.4\n%%EOF\n")
        approver = chain.name_department_approver(None, own, ApprovalStep.select().first().id,
                                                        people["head"].id)
        visit = visitors.register_visit(desk, visitor_name="李明", phone="13800138000", organisation="华信",
                                        purpose="meeting", purpose_other="", host=person, companions=0, id_number="",
                                        car_plate="", note="", arrived_at=UTC_NOW)
        appointment = visitors.book(desk, visitor_name="陈静", phone="13700001111", organisation="远航物流",
                                    purpose="business", host=person, starts_at=UTC_NOW + dt.timedelta(minutes=30),
                                    ends_at=UTC_NOW + dt.timedelta(hours=1), note="")
        watch = visitors.add_to_watchlist(desk, "赵某", "13600000000", "", "曾在大堂滋事")
        call = calls.log_call(desk, caller_name="周先生", organisation="1205室租户", phone="021-62345678",
                              reason="空调不制冷", call_type="inquiry", outcome="promised", promiser=person,
                              reply_due=UTC_NOW + dt.timedelta(hours=2))
        day = duty.open_day(desk, *duty.current_shift())
        entry = duty.add_entry(desk, day, UTC_NOW, "other", "电梯异响")
        handover = duty.start_handover(desk, day)
        incident = duty.create_emergency(desk, UTC_NOW, "地下车库B区", "水管爆裂", [], "关闭总阀", "", "",
                                         [("现场.jpg", photo, "JPEG", 64, 48)])
        mail = desk_items.register_mail(desk, True, "顺丰", "SF1234567890", "张经理")
        lost = desk_items.register_lost(desk, "黑色雨伞", "保洁李阿姨", UTC_NOW, "大堂", "前台柜",
                                        photo=(photo, "JPEG"))
        token, _secret = board.create_token(None, "大厅屏幕")
        holiday = worktime.add_days(None, dt.date(2026, 5, 1), dt.date(2026, 5, 1), worktime.HOLIDAY, "劳动节")[0]
        goods_return = returns.receive(desk, name="王女士", phone="13800000001", order_number="HX-1001",
                                       sale_date=(UTC_NOW - dt.timedelta(days=3)).date(), goods="实木餐桌",
                                       vendor="林氏家居", category=returns.categories()[0], sale_amount=Decimal("3200"))
        compensation = compensations.propose(spec, case="洗衣机漏水泡坏地板，公司先行赔付", responsible_party="海尔专柜",
                                             amount=Decimal("800"), name="李先生", phone="13800138000")
        run, _new = reports.find_or_start(reports.Period.parse("month", "2026-02"), own, person)
    reports.run_build(run.id)
    complaint = make_complaint(app, spec)
    apply_action(app, complaint, "acknowledge", spec)
    apply_action(app, complaint, "assign", spec, department_id=own)
    apply_action(app, complaint, "handle", people["head"], note="更换了零件")
    apply_action(app, complaint, "report", people["head"], note="已修好")
    apply_action(app, complaint, "inform", spec)
    from tasks.callbacks import schedule_callbacks
    schedule_callbacks.call_local()
    complaint = complaints.Complaint.get_by_id(complaint.id)
    with app.test_request_context():
        home_visit = home_visits.plan(spec, phone=complaint.customer.phone, complaint_id=complaint.id,
                                      planned_for=(UTC_NOW + dt.timedelta(days=1)).date())
        service_visit = service_visits.create(spec, phone=complaint.customer.phone, kind="repair", product="洗衣机",
                                              problem="不脱水")
    assessment_records = _seed_assessments(app, make_user, person)
    with app.test_request_context():
        repair = repairs.report(person, place="大堂东侧", what="自动门不开",
                                photos=[("门.jpg", _photo(), "JPEG", 64, 48)])
    with app.test_request_context():
        from models.quality import plan as quality_plan, training as quality_training
        planner = make_user("qplanner", "service_manager")
        course = quality_training.create(planner, kind="induction", title="入职培训", starts_at=UTC_NOW,
                                         trainer="王老师", person_ids=[desk.id, person.id])
        material = quality_training.add_material(planner, course.id, b"%PDF-1.4\n%%EOF\n", "讲义.pdf")
        year_plan = quality_plan.create(planner, year=UTC_NOW.year)
        plan_measure = quality_plan.add_measure(planner, year_plan.id, title="增设取号机", owner_id=person.id,
                                                due_on=UTC_NOW.date())
        document = documents.draft(people["head"], doc_type="notice", title="关于值班安排的通知",
                                   classification="internal", body="各部门：值班安排如下。",
                                   reviewer_ids=[people["leader"].id], department_ids=[own],
                                   file=("值班表.pdf", b"%PDF-1.4\n%%EOF\n"))
        for action, actor in (("submit", people["head"]), ("approve", people["leader"]),
                              ("issue", people["logistics"])):
            documents.apply(document.id, action, actor, documents.Document.get_by_id(document.id).version)
    archive = weekly_archive.archive_week(weekly_archive.Week.containing(dt.date(2026, 2, 2)),
                                          lambda *_: b"%PDF-1.4\n%%EOF\n")
    from models import broadcast
    with app.test_request_context():
        script = broadcast.create_script(spec, kind="welcome", title="欢迎语", text_zh="欢迎光临！",
                                         text_ru="Добро пожаловать!")
        slot = broadcast.add_slot(None, variant="weekday", starts="09:42", ends="09:43", kind="welcome",
                                  title="", script_id=script.id)
    with app.test_request_context():
        from models import vehicles
        vehicle = vehicles.add_vehicle(None, plate="沪A12345", seats=7, model="别克GL8", odometer=1000)
        driver = vehicles.add_driver(None, desk.id)
        vehicle_service = vehicles.open_service(None, vehicle.id, kind="repair", opened_on=UTC_NOW.date(),
                                                garage="4S店", work="刹车异响")
        trip = vehicles.request_trip(person, destination="浦东机场", starts_at=UTC_NOW + dt.timedelta(days=1),
                                     ends_at=UTC_NOW + dt.timedelta(days=1, hours=2), passengers=2, purpose="接客户")
        from models import rooms
        room = rooms.add_room(None, name="一号会议室", capacity=10)
        booking = rooms.book(person, room_id=room.id, title="周例会", starts_at=UTC_NOW + dt.timedelta(hours=1),
                             ends_at=UTC_NOW + dt.timedelta(hours=2), prep=["drinks"],
                             guests=[{"name": "陈静", "phone": "13700001111"}])
        minutes = rooms.MeetingMinutes.create(booking=booking, attendees="张伟", decisions="更换投影仪")
        action_item = rooms.ActionItem.create(minutes=minutes, text="采购投影仪", owner=person, due_on=UTC_NOW.date())
    return {
        "user": desk.id, "department": own, "board_token": token.id, "calendar_day": holiday.id,
        "appointment": appointment.id, "callback": complaint.callbacks.get().id, "call": call.id,
        "complaint": complaint.id, "customer": complaint.customer_id, "duty_day": day.id, "duty_entry": entry.id,
        "handover": handover.id, "incident": incident.id, "incident_photo": incident.photos.get().id,
        "lost_item": lost.id, "mail_item": mail.id,
        "notification": Notification.select().where(Notification.user == person.id).get().id,
        "requisition": requisition.id, "draft": draft.id, "attachment": attachment.id, "approver": approver.id,
        "delivery": Delivery.get().id, "return_record": ReturnRecord.get().id, "report_run": run.id,
        "stock_item": StockItem.get().id, "supplier": Supplier.get().id, "visit": visit.id,
        "watchlist_entry": watch.id, "weekly_archive": archive.id, "goods_return": goods_return.id,
        "compensation": compensation.id, "home_visit": home_visit.id, "service_visit": service_visit.id,
        "broadcast_script": script.id, "script_version": broadcast.latest_version(script).id,
        "programme_slot": slot.id,
        "vehicle_trip": trip.id, "vehicle": vehicle.id, "vehicle_service": vehicle_service.id, "driver": driver.id,
        "booking": booking.id, "prep_item": rooms.PrepItem.get().id, "action_item": action_item.id, "room": room.id,
        **assessment_records,
        "repair": repair.id, "repair_photo": repair.photo_list()[0].id, "document": document.id,
        "course": course.id, "course_material": material.id, "plan": year_plan.id, "plan_measure": plan_measure.id,
        "self": person.id,
        **_seed_quality(app, make_user, person),
    }


def _seed_quality(app, make_user, person):
    """A completed self-check of 客服部 that found `person` at fault: a fine, a rectification."""
    from models.quality import checklists, inspections
    from models.quality.fines import Fine, StaffProposal
    from models.quality.rectifications import Rectification
    inspector = make_user("qmanager", "service_manager", department="客服部")
    with app.test_request_context():
        item = checklists.save_item(None, title="服务用语", points="2", department_id=person.department_id)
        inspection = inspections.create(inspector, kind="self", department_id=person.department_id)
        finding = inspections.add_finding(inspector, inspection.id, item_id=item.id, person_id=person.id,
                                          points_lost="0.5", seen="未使用礼貌用语", photo=(_photo(), "JPEG"))
        inspections.apply(inspection.id, "complete", inspector, inspection.version)
        proposal = StaffProposal.create(person=person, finding=finding)
    return {"quality_inspection": inspection.id, "quality_finding": finding.id, "quality_fine": Fine.get().id,
            "quality_rectification": Rectification.get().id, "quality_checklist_item": item.id,
            "quality_proposal": proposal.id}


def _seed_assessments(app, make_user, person):
    """An assessment period of 2026-02 with `person`'s own assessment (or, for a role not assessed, the
    first one: they read all), a choice of best staff and the month's published red/black list."""
    from models.quality import assessments, awards
    from models.quality.assessments import Assessment
    manager = make_user("assessmgr", "service_manager", display_name="考核经理")
    with app.test_request_context():
        period = assessments.open_period(manager, "2026-02")
        own = Assessment.get_or_none(Assessment.period == period.id, Assessment.person == person.id)
        assessment = own or period.assessments.order_by(Assessment.id).first()
        award = awards.choose(manager, "period", period.key, vendor="美家家具", reason="顾客表扬")
        entry = awards.add_entry(manager, "2026-02", colour="red", name="王芳", reason="顾客表扬")
        awards.publish_list(manager, "2026-02")
    return {"assessment": assessment.id, "assessment_period": period.id, "award": award.id,
            "red_black_entry": entry.id}


def record_url(app, rule, records):
    """The rule's URL with each id taken from `records`; a rule whose id has no seeded
    record fails here, naming the route."""
    args = {}
    segment = rule.rule.strip("/").split("/")[0]
    for name in rule.arguments:
        if (rule.endpoint, name) in ROUTE_VALUES or name in VALUES:
            args[name] = ROUTE_VALUES.get((rule.endpoint, name), VALUES.get(name))
            continue
        key = SEEDED.get((rule.rule, name)) or SEEDED.get((segment, name))
        assert key is not None, (f"{rule.rule} ({rule.endpoint}) takes {name}: add the record it names to SEEDED "
                                 f"and seed_records() in tests/test_access.py")
        args[name] = records[key]
    with app.test_request_context():
        return url_for(rule.endpoint, **args)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as clock:
        yield clock


@pytest.fixture
def printing_stub(monkeypatch):
    """The printed forms are rendered to HTML (template errors still fail) but not laid out:
    this test is about who gets the PDF, and WeasyPrint would be most of its time."""
    class Document:
        def __init__(self, **kwargs):
            pass

        def write_pdf(self, **kwargs):
            return b"%PDF-1.7\n%stub\n%%EOF\n"
    monkeypatch.setattr("printing.HTML", Document)


def endpoints(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        yield rule


@pytest.fixture
def person(make_user, request):
    """Someone holding only the role under test, in 客服部."""
    return make_user("person", request.param, department="客服部")


@pytest.fixture
def records(app, make_user, person, frozen):
    return seed_records(app, make_user, person)


def test_every_endpoint_declares_a_known_permission(app):
    with app.test_request_context():
        for rule in endpoints(app):
            permission = declared_permission(app, rule.endpoint)
            assert permission is not None, f"{rule.endpoint} declares no permission"
            assert permission == PUBLIC or permission in PERMISSIONS, f"{rule.endpoint}: {permission!r}"


def test_an_undeclared_endpoint_is_refused(app, client, make_user, auth):
    app.add_url_rule("/undeclared", "undeclared", lambda: "secret")
    make_user("boss", "admin")
    auth.login("boss")
    assert client.get("/undeclared").status_code == 403


@pytest.mark.parametrize("person", sorted(ROLES), indirect=True)
def test_each_role_meets_exactly_its_permissions(app, client, auth, person, records, printing_stub):
    auth.login("person")
    wrong = []
    for rule in endpoints(app):
        permission = declared_permission(app, rule.endpoint)
        if permission == PUBLIC or "GET" not in rule.methods:
            continue
        url = record_url(app, rule, records)
        status = client.get(url).status_code
        expected = 200 if has_permission(person.roles, permission) else 403
        if status != expected:
            wrong.append(f"{url} ({permission}): {status}, not {expected}")
    assert not wrong, f"{person.roles[0]} meets:\n" + "\n".join(wrong)


@pytest.mark.parametrize("person", sorted(ROLES), indirect=True)
def test_posts_are_refused_to_roles_without_the_permission(app, client, auth, person, records):
    auth.login("person")
    for rule in endpoints(app):
        permission = declared_permission(app, rule.endpoint)
        if permission == PUBLIC or "POST" not in rule.methods or has_permission(person.roles, permission):
            continue
        url = record_url(app, rule, records)
        assert client.post(url, data={}).status_code == 403, url


@pytest.mark.parametrize("person", ["front_desk"], indirect=True)
def test_anonymous_visitors_are_sent_to_log_in(app, client, records):
    for rule in endpoints(app):
        if declared_permission(app, rule.endpoint) == PUBLIC or "GET" not in rule.methods:
            continue
        url = record_url(app, rule, records)
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), url


def test_a_new_route_with_an_id_and_no_seeded_record_is_named(app):
    app.add_url_rule("/warranties/<int:warranty_id>", "warranty", lambda warranty_id: "")
    rule = next(rule for rule in app.url_map.iter_rules() if rule.endpoint == "warranty")
    with pytest.raises(AssertionError, match=r"/warranties/<int:warranty_id> \(warranty\) takes warranty_id"):
        record_url(app, rule, {})
