"""Every workflow's table, walked: for each state and each action in its TRANSITIONS, an
action the table allows from that state is refused to someone without the role and then
succeeds for someone with it; every other action is refused with a message (a DomainError
with text) and changes nothing — not the record, not the audit trail.

A workflow plugs in with one Workflow(...): how to make a record in a given state, who may
and who may not take each action, and how to apply it. Requisitions are walked the same way in
tests/test_requisition_transitions.py, reaching each state along the chain rather than by setting it."""
import datetime as dt
from decimal import Decimal
from dataclasses import dataclass
from typing import Callable

import pytest

from models import callbacks, complaints, documents, visitors
from models.audit import AuditEntry
from models.base import DomainError, utcnow
from models.callbacks import Callback
from models.complaints import Complaint, Customer
from models.users import Department
from models.visitors import Visit


@dataclass
class Workflow:
    transitions: dict
    states: tuple
    model: type
    #: (people, state) -> the id of a fresh record in that state
    make: Callable
    #: (people, record_id, action, actor) -> applies the action through the area's apply()
    apply: Callable
    #: (people, action) -> a user the table lets take the action / one it refuses
    allowed: Callable
    refused: Callable
    #: (people, record_id, action) -> what must hold before an allowed action (e.g. a pause to resume)
    prepare: Callable = lambda people, record_id, action: None


@pytest.fixture
def people(make_user):
    return {
        "desk": make_user("desk", "front_desk"),
        "host": make_user("host", "specialist"),
        "spec": make_user("spec", "specialist"),
        "manager": make_user("manager", "service_manager"),
        "repairer": make_user("repairer", "specialist", department="Repairs"),
    }


def _set_state(model, record_id, state, **fields):
    model.update(state=state, **fields).where(model.id == record_id).execute()
    return record_id


# Visits

def _make_visit(people, state):
    visit = visitors.register_visit(
        people["desk"], visitor_name="李明", phone="13800138000", organisation="", purpose="meeting",
        purpose_other="", host=people["host"], companions=0, id_number="", car_plate="", note="",
        arrived_at=utcnow())
    return _set_state(Visit, visit.id, state)


VISITS = Workflow(
    transitions=visitors.TRANSITIONS, states=tuple(visitors.STATE_LABELS), model=Visit, make=_make_visit,
    apply=lambda people, record_id, action, actor: visitors.apply(actor, record_id, action, reply="coming"),
    allowed=lambda people, action: people["host" if action == "answer" else "desk"],
    refused=lambda people, action: people["desk" if action == "answer" else "host"],
)


# Complaints

def _make_complaint(people, state):
    complaint = complaints.create(people["spec"], name="李四", phone="13900139000", content="洗衣机漏水",
                                  channel="phone", category="product quality", severity="general")
    return _set_state(Complaint, complaint.id, state, department=Department.get(name="Repairs"))


def _apply_complaint(people, record_id, action, actor):
    complaints.apply(record_id, action, actor, Complaint.get_by_id(record_id).version, note="说明",
                     department_id=Department.get(name="Repairs").id, root_cause="批次问题", improvement="换供应商",
                     handler_id=people["repairer"].id, is_vip=True, severity="major")


def _prepare_complaint(people, record_id, action):
    if action == "resume":
        _apply_complaint(people, record_id, "pause", people["manager"])


COMPLAINTS = Workflow(
    transitions=complaints.TRANSITIONS, states=tuple(complaints.STATES), model=Complaint, make=_make_complaint,
    apply=_apply_complaint, prepare=_prepare_complaint,
    # The service manager may act for customer service and for any department.
    allowed=lambda people, action: people["manager"],
    refused=lambda people, action: people["desk"],
)


# Callbacks

def _make_callback(people, state):
    customer = Customer.get_or_create(phone="13800138000", defaults={"name": "张三"})[0]
    due = utcnow()
    callback = Callback.create(number=f"HF-T-{Callback.select().count() + 1}", customer=customer,
                               reason="after_sale", due_at=due, next_at=due, deadline_at=due + dt.timedelta(days=3))
    return _set_state(Callback, callback.id, state)


CALLBACKS = Workflow(
    transitions=callbacks.TRANSITIONS, states=tuple(callbacks.STATES), model=Callback, make=_make_callback,
    apply=lambda people, record_id, action, actor: callbacks.apply(actor, record_id, action, note="客户说明"),
    allowed=lambda people, action: people["manager" if action == "void" else "spec"],
    refused=lambda people, action: people["desk"],
)

# Vehicle trips

def _fleet(people):
    """The logistics clerk, a vehicle and a driver, made once per test."""
    from models import vehicles
    from models.users import User, create_user
    if "logistics" not in people:
        people["logistics"] = User.by_username("logistics") or create_user(
            None, "logistics", "刘洋", ["logistics"], "correct-horse-battery")
        driver = create_user(None, "chauffeur", "孙师傅", ["front_desk"], "correct-horse-battery")
        people["vehicle"] = vehicles.add_vehicle(None, plate="沪A12345", seats=7, odometer=1000)
        people["driver"] = vehicles.add_driver(None, driver.id)
        people["driver2"] = vehicles.add_driver(None, create_user(None, "chauffeur2", "钱师傅", ["front_desk"],
                                                                  "correct-horse-battery").id)
    return people


def _make_trip(people, state):
    from models import vehicles
    from models.vehicles import Trip
    _fleet(people)
    # Each record at its own time: records made in a holding state share the vehicle and driver.
    start = utcnow() + dt.timedelta(days=1, hours=3 * Trip.select().count())
    trip = vehicles.request_trip(people["desk"], destination="浦东机场", starts_at=start,
                                 ends_at=start + dt.timedelta(hours=2), passengers=2, purpose="接客户")
    return _set_state(Trip, trip.id, state, vehicle=people["vehicle"].id, driver=people["driver"].id,
                      start_odometer=1000)


def _apply_trip(people, record_id, action, actor):
    from models import vehicles
    from models.vehicles import Trip, Vehicle
    trip = Trip.get_by_id(record_id)
    start = utcnow() + dt.timedelta(days=2)
    reading = (Vehicle.get_by_id(people["vehicle"].id).odometer if action == "start" else 1000) + 50
    vehicles.apply(record_id, action, actor, trip.version, note="说明", vehicle_id=people["vehicle"].id,
                   driver_id=people["driver2" if action == "redispatch" else "driver"].id, odometer=reading, fuel=Decimal("100"), tolls=Decimal("20"),
                   destination="虹桥站", starts_at=start, ends_at=start + dt.timedelta(hours=1), passengers=2,
                   purpose="接客户")


_TRIP_ALLOWED = {"approve": "manager", "send_back": "manager", "refuse": "manager", "resubmit": "desk",
                 "cancel": "desk"}
_TRIP_REFUSED = {"approve": "spec", "send_back": "spec", "refuse": "spec", "dispatch": "manager", "close": "manager",
                 "void": "manager"}


def _trip_workflow():
    from models import vehicles
    from models.vehicles import Trip
    return Workflow(
        transitions=vehicles.TRANSITIONS, states=tuple(vehicles.STATES), model=Trip, make=_make_trip,
        apply=_apply_trip,
        allowed=lambda people, action: _fleet(people)[_TRIP_ALLOWED.get(action, "logistics")],
        refused=lambda people, action: people[_TRIP_REFUSED.get(action, "host")],
    )


# Quality: inspections and rectifications

def _make_inspection(people, state):
    from models.quality import inspections
    repairs = Department.get_or_create(name="Repairs")[0]
    inspection = inspections.create(people["manager"], kind="self", department_id=repairs.id)
    return _set_state(inspections.Inspection, inspection.id, state)


def _apply_inspection(people, record_id, action, actor):
    from models.quality import inspections
    inspections.apply(record_id, action, actor, inspections.Inspection.get_by_id(record_id).version, note="录入错误")


def _make_rectification(people, state):
    from models.quality import checklists, inspections
    from models.quality.rectifications import Rectification
    repairs = Department.get(name="Repairs")
    item = checklists.save_item(None, title="维修后现场清洁", points="2", department_id=repairs.id)
    inspection = inspections.create(people["manager"], kind="self", department_id=repairs.id)
    finding = inspections.add_finding(people["manager"], inspection.id, item_id=item.id,
                                      person_id=people["repairer"].id, points_lost="1", seen="地面有污渍")
    inspections.apply(inspection.id, "complete", people["manager"], inspection.version)
    return _set_state(Rectification, Rectification.get(Rectification.finding == finding.id).id, state)


def _apply_rectification(people, record_id, action, actor):
    from models.quality import rectifications
    rectifications.apply(record_id, action, actor, rectifications.Rectification.get_by_id(record_id).version,
                         note="已清理并复训")


def _quality_workflows():
    from models.quality import inspections, rectifications
    return {
        "inspection": Workflow(
            transitions=inspections.TRANSITIONS, states=tuple(inspections.STATES), model=inspections.Inspection,
            make=_make_inspection, apply=_apply_inspection,
            allowed=lambda people, action: people["manager"], refused=lambda people, action: people["desk"]),
        "rectification": Workflow(
            transitions=rectifications.TRANSITIONS, states=tuple(rectifications.STATES),
            model=rectifications.Rectification, make=_make_rectification, apply=_apply_rectification,
            # the owner closes; the inspector (here the manager) verifies or reopens; the owner may not
            allowed=lambda people, action: people["repairer" if action == "close" else "manager"],
            refused=lambda people, action: people["desk" if action == "close" else "repairer"]),
    }


# Meeting rooms: a booking (cancelled by its organiser or logistics) and an action item of the
# minutes (closed by its owner).

def _make_booking(people, state):
    from models.rooms import Booking, Room
    room = Room.get_or_create(name="一号会议室")[0]
    start = utcnow().replace(minute=0, second=0, microsecond=0) + dt.timedelta(days=1 + Booking.select().count())
    booking = Booking.create(number=f"HY-T-{Booking.select().count() + 1}", room=room, organiser=people["host"],
                             title="周例会", starts_at=start, ends_at=start + dt.timedelta(hours=1))
    return _set_state(Booking, booking.id, state)


def _make_action_item(people, state):
    from models.rooms import ActionItem, Booking, MeetingMinutes
    booking = Booking.get_by_id(_make_booking(people, "booked"))
    minutes = MeetingMinutes.create(booking=booking, attendees="张三", decisions="更换投影仪")
    item = ActionItem.create(minutes=minutes, text="采购投影仪", owner=people["spec"], due_on=utcnow().date())
    return _set_state(ActionItem, item.id, state)


def _rooms_workflows():
    from models import rooms
    return {
        "booking": Workflow(
            transitions=rooms.TRANSITIONS, states=tuple(rooms.STATES), model=rooms.Booking, make=_make_booking,
            apply=lambda people, record_id, action, actor: rooms.apply(
                record_id, action, actor, rooms.Booking.get_by_id(record_id).version, note="改期"),
            allowed=lambda people, action: people["host"], refused=lambda people, action: people["spec"]),
        "action_item": Workflow(
            transitions=rooms.ACTION_TRANSITIONS, states=tuple(rooms.ACTION_STATES), model=rooms.ActionItem,
            make=_make_action_item,
            apply=lambda people, record_id, action, actor: rooms.apply_action(
                record_id, action, actor, rooms.ActionItem.get_by_id(record_id).version, note="已完成"),
            allowed=lambda people, action: people["spec"], refused=lambda people, action: people["host"]),
    }
# Assessments (考核)

def _assessment_people(people):
    from models.users import User, create_user
    found = {}
    for key, username, role, department in (("staffer", "qstaff", "front_desk", "Repairs"),
                                            ("qhead", "qhead", "dept_head", "Repairs"),
                                            ("qother", "qother", "dept_head", "Sales")):
        user = User.get_or_none(User.username == username)
        if user is None:
            user = create_user(None, username, username.title(), [role], "pw-Assess-2026",
                               department=Department.get_or_create(name=department)[0])
        found[key] = user
    return {**people, **found}


def _make_assessment(people, state):
    from models.quality import assessments
    from models.quality.assessments import Assessment, AssessmentPeriod
    people = _assessment_people(people)
    period = AssessmentPeriod.get_or_none(AssessmentPeriod.key == "2026-11") or assessments.open_period(
        people["manager"], "2026-11")
    base = Assessment.get(Assessment.period == period.id, Assessment.person == people["staffer"].id,
                          Assessment.corrects.is_null())
    assessment = Assessment.create(number=f"KH-T-{Assessment.select().count() + 1}", period=period,
                                   person=base.person_id, department=base.department_id)
    rated = {f"self_{d}": 80 for d in assessments.DIMENSIONS}
    if state != "open":
        rated.update(self_rated_at=utcnow(), self_score=80)
    return _set_state(Assessment, assessment.id, state, **rated)


def _apply_assessment(people, record_id, action, actor):
    from models.quality import assessments
    assessments.apply(record_id, action, actor, ratings={d: 70 for d in assessments.DIMENSIONS}, note="更正说明")


def _assessment_actor(people, action, allowed):
    people = _assessment_people(people)
    if action in ("self_rate", "confirm"):
        return people["staffer"] if allowed else people["qhead"]
    if action == "superior_rate":
        return people["qhead"] if allowed else people["qother"]
    return people["manager"] if allowed else people["staffer"]


def _assessment_workflow():
    from models.quality import assessments
    from models.quality.assessments import Assessment
    return Workflow(
        transitions=assessments.TRANSITIONS, states=tuple(assessments.STATES), model=Assessment,
        make=_make_assessment, apply=_apply_assessment,
        allowed=lambda people, action: _assessment_actor(people, action, True),
        refused=lambda people, action: _assessment_actor(people, action, False),
    )


ASSESSMENTS = _assessment_workflow()


# Repairs

def _repair_people(people):
    """The repair walk's own cast, made once per test: logistics and the fault's reporter."""
    from models.users import User, create_user
    if "repair_logistics" not in people:
        people["repair_logistics"] = (User.get_or_none(User.username == "replog")
                                      or create_user(None, "replog", "Rep Log", ["logistics"], "x" * 12))
    return people


def _make_repair(people, state):
    from models import repairs
    from models.repairs import Repair
    repair = repairs.report(people["desk"], place="大厅", what="灯不亮")
    done = utcnow() - dt.timedelta(hours=1)
    return _set_state(Repair, repair.id, state, assignee=people["repairer"], done_at=done)


def _apply_repair(people, record_id, action, actor):
    from models import repairs
    from models.repairs import Repair
    repairs.apply(record_id, action, actor, Repair.get_by_id(record_id).version, assignee_id=people["repairer"].id,
                  work_done="换灯泡", note="说明")


def _repair_allowed(people, action):
    _repair_people(people)
    return {"done": people["repairer"], "confirm": people["desk"], "reopen": people["desk"]}.get(
        action, people["repair_logistics"])


def _repair_refused(people, action):
    _repair_people(people)
    return {"confirm": people["repair_logistics"], "reopen": people["repair_logistics"]}.get(action, people["host"])


def _repair_workflow():
    from models import repairs
    from models.repairs import Repair
    return Workflow(transitions=repairs.TRANSITIONS, states=tuple(repairs.STATES), model=Repair, make=_make_repair,
                    apply=_apply_repair, allowed=_repair_allowed, refused=_repair_refused)


REPAIRS = _repair_workflow()

# Documents: the service manager drafts, leadership reviews first (and signs off), a specialist second.

def _document_people(people):
    from models.users import create_user
    for key, role in (("doc_leader", "leadership"), ("doc_logistics", "logistics")):
        if key not in people:
            people[key] = create_user(None, key, key, [role], "correct-horse-battery")
    return people


def _make_document(people, state):
    _document_people(people)
    Department.get_or_create(name="Repairs")
    document = documents.draft(people["manager"], doc_type="regulation", title="前台接待管理制度",
                               classification="internal", body="第一条", reviewer_ids=[people["doc_leader"].id,
                                                                                    people["spec"].id],
                               department_ids=[Department.get(name="Repairs").id])
    return _set_state(documents.Document, document.id, state, review_step=1 if state == "in_review" else 0)


def _document_actor(people, action):
    _document_people(people)
    return {"approve": people["doc_leader"], "return": people["doc_leader"], "sign_off": people["doc_leader"],
            "issue": people["doc_logistics"]}.get(action, people["manager"])


def _apply_document(people, record_id, action, actor):
    content = {"doc_type": "regulation", "title": "前台接待管理制度（修订）", "classification": "internal",
               "body": "第一条 修订", "reviewer_ids": [people["doc_leader"].id], "department_ids": [],
               "user_ids": [people["desk"].id]}
    documents.apply(record_id, action, actor, documents.Document.get_by_id(record_id).version, note="意见",
                    content=content if action == "edit" else None)


DOCUMENTS = Workflow(
    transitions=documents.TRANSITIONS, states=tuple(documents.STATES), model=documents.Document,
    make=_make_document, apply=_apply_document, allowed=_document_actor,
    refused=lambda people, action: people["desk"],
)

# One table of every workflow; an area adds its own entries.
WORKFLOWS = {"visit": VISITS, "complaint": COMPLAINTS, "callback": CALLBACKS, "repair": REPAIRS,
             "document": DOCUMENTS, "assessment": ASSESSMENTS, "vehicle_trip": _trip_workflow(),
             **_rooms_workflows(), **_quality_workflows()}
PAIRS = [(name, state) for name, workflow in WORKFLOWS.items() for state in workflow.states]


# Training courses and the plan's improvement measures

def _make_course(people, state):
    from models.quality import training
    course = training.create(people["manager"], kind="periodic", title="服务礼仪", starts_at=utcnow() - dt.timedelta(hours=1),
                             trainer="王老师", person_ids=[people["desk"].id])
    return _set_state(training.Course, course.id, state)


def _prepare_course(people, record_id, action):
    from models.quality.training import Attendee
    if action == "hold":
        Attendee.update(present=True).where(Attendee.course == record_id).execute()


def _apply_course(people, record_id, action, actor):
    from models.quality import training
    training.apply(record_id, action, actor, training.Course.get_by_id(record_id).version, note="原因")


def _make_measure(people, state):
    from models.quality import plan as plans
    plan = plans.plan_for(2026) or plans.create(people["manager"], year=2026)
    measure = plans.add_measure(people["manager"], plan.id, title="前台增设取号机", owner_id=people["spec"].id,
                                due_on=dt.date(2026, 12, 1))
    return _set_state(plans.Measure, measure.id, state)


def _apply_measure(people, record_id, action, actor):
    from models.quality import plan as plans
    plans.apply_measure(record_id, action, actor, plans.Measure.get_by_id(record_id).version, note="说明")


def _course_workflow():
    from models.quality import training
    return Workflow(transitions=training.TRANSITIONS, states=tuple(training.STATES), model=training.Course,
                    make=_make_course, apply=_apply_course, prepare=_prepare_course,
                    allowed=lambda people, action: people["manager"], refused=lambda people, action: people["desk"])


def _measure_workflow():
    from models.quality import plan as plans
    return Workflow(transitions=plans.MEASURE_TRANSITIONS, states=tuple(plans.MEASURE_STATES), model=plans.Measure,
                    make=_make_measure, apply=_apply_measure,
                    # done is the owner's (or a manager's); the rest the manager's
                    allowed=lambda people, action: people["spec" if action == "done" else "manager"],
                    refused=lambda people, action: people["desk" if action == "done" else "spec"])


WORKFLOWS.update({"course": _course_workflow(), "measure": _measure_workflow()})
PAIRS = [(name, state) for name, workflow in WORKFLOWS.items() for state in workflow.states]


def _unchanged(workflow, people, record_id, action, actor):
    """The action is refused with a message, and neither the record nor the audit trail moved."""
    before = dict(workflow.model.get_by_id(record_id).__data__)
    entries = AuditEntry.select().count()
    with pytest.raises(DomainError) as refused:
        workflow.apply(people, record_id, action, actor)
    assert str(refused.value).strip(), action
    assert dict(workflow.model.get_by_id(record_id).__data__) == before, action
    assert AuditEntry.select().count() == entries, action


@pytest.mark.parametrize("name, state", PAIRS)
def test_every_action_from_every_state_is_taken_or_refused_by_the_table(app, people, name, state):
    workflow = WORKFLOWS[name]
    with app.test_request_context():
        for action, transition in workflow.transitions.items():
            record_id = workflow.make(people, state)
            if state not in transition.sources:
                _unchanged(workflow, people, record_id, action, workflow.allowed(people, action))
                continue
            workflow.prepare(people, record_id, action)
            _unchanged(workflow, people, record_id, action, workflow.refused(people, action))
            workflow.apply(people, record_id, action, workflow.allowed(people, action))
            after = workflow.model.get_by_id(record_id)
            assert after.state == (transition.target or state), (action, after.state)
            assert after.version > 1, action


def test_the_walk_covers_every_state_each_table_names():
    for name, workflow in WORKFLOWS.items():
        named = {s for t in workflow.transitions.values() for s in t.sources} | {
            t.target for t in workflow.transitions.values() if t.target}
        assert named <= set(workflow.states), name
