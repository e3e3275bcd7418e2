"""What several test files need to set up the same story: the people of an area, a
complaint driven to a state, a requisition approved, ordered or received, a Shanghai
wall-clock time. Fixtures stay in conftest.py (`people` and `staff` use the tables here)."""
import datetime as dt
from decimal import Decimal

import time_machine

from models import complaints, procurement
from models.complaints import TRANSITIONS, Complaint
from models.procurement import requisitions, suppliers
from models.procurement.requisitions import Requisition
from models.users import Department

H = dt.timedelta(hours=1)

# ---------------------------------------------------------------- people

#: key -> (username, role, fields): the people of the complaint tests (customer service and
#: the departments). A file asks for the ones its story needs: staff("spec", "head", ...).
STAFF = {
    "spec": ("spec", "specialist", {}),
    "spec2": ("spec2", "specialist", {"display_name": "王专员"}),
    "manager": ("manager", "service_manager", {}),
    "head": ("head", "dept_head", {"department": "Repairs"}),
    "fitter": ("fitter", "front_desk", {"department": "Repairs", "display_name": "Fitter Li"}),
    "stranger": ("stranger", "dept_head", {"department": "Sales"}),
    "sales": ("sales", "dept_head", {"department": "Sales"}),
    "seller": ("seller", "logistics", {"department": "Sales"}),
    "desk": ("desk", "front_desk", {}),
}

#: The people of a requisition: a requester, the heads of their department and of another,
#: logistics, leadership and the front desk.
PROCUREMENT_STAFF = {
    "requester": ("req", "specialist", {"department": "客服部", "display_name": "张申请"}),
    "head": ("head", "dept_head", {"department": "客服部", "display_name": "陈主任"}),
    "head2": ("head2", "dept_head", {"department": "客服部", "display_name": "周副主任"}),
    "other_head": ("otherhead", "dept_head", {"department": "销售部", "display_name": "别部门"}),
    "logistics": ("log", "logistics", {"department": "行政后勤部", "display_name": "刘后勤"}),
    "leader": ("leader", "leadership", {"display_name": "赵领导"}),
    "desk": ("desk", "front_desk", {"department": "前台", "display_name": "王前台"}),
}


def staff(make_user, *keys, table=STAFF, **changes):
    """The people `keys` names, created in that order: {key: user}. `changes` alter one
    person for a file's story: staff(make_user, "spec", spec={"display_name": "张伟"})."""
    people = {}
    for key in keys:
        username, role, fields = table[key]
        people[key] = make_user(username, role, **{**fields, **changes.get(key, {})})
    return people


# ---------------------------------------------------------------- time

def local(y, m, d, hh=0, mm=0):
    """A Shanghai wall-clock time as the naive UTC the database stores."""
    return dt.datetime(y, m, d, hh, mm) - 8 * H


def at(y, m, d, hh=0, mm=0):
    """For time_machine: the same Shanghai wall-clock time, as an aware datetime."""
    return local(y, m, d, hh, mm).replace(tzinfo=dt.timezone.utc)


# ---------------------------------------------------------------- complaints

def make_complaint(app, user, **overrides):
    fields = dict(name="李四", phone="13900139000", content="态度不好", channel="visit",
                  category="service attitude", severity="general")
    fields.update(overrides)
    with app.test_request_context():
        return complaints.create(user, **fields)


def apply_action(app, complaint, action, user, **kwargs):
    """One step of a complaint (or of its id) at its current version."""
    with app.test_request_context():
        current = Complaint.get_by_id(getattr(complaint, "id", complaint))
        return complaints.apply(current.id, action, user, current.version, **kwargs)


def apply_at(app, complaint, action, user, when, **kwargs):
    """apply_action with the clock at `when`."""
    with time_machine.travel(when, tick=False):
        return apply_action(app, complaint, action, user, **kwargs)


def department_id(app, name):
    with app.app_context():
        return Department.get(Department.name == name).id


NOTES = {"handle": "更换了零件", "report": "已修好", "unsatisfied": "还是坏的", "void": "重复录入"}


def walk_to(app, people, complaint, state, department="Repairs"):
    """Drive a complaint along the normal path (spec, the head of `department`, the manager)
    until it reaches `state`."""
    path = [("acknowledge", "spec"), ("assign", "spec"), ("accept", "head"), ("handle", "head"), ("report", "head"),
            ("inform", "spec"), ("satisfied", "spec"), ("close", "manager")]
    for action, who in path:
        current = Complaint.get_by_id(complaint.id).state
        if current == state:
            return
        if current not in TRANSITIONS[action].sources:
            continue
        kwargs = {"note": NOTES.get(action, "")}
        if action == "assign":
            kwargs["department_id"] = department_id(app, department)
        if action == "close":
            kwargs.update(root_cause="人手不足", improvement="增加排班")
        apply_action(app, complaint, action, people[who], **kwargs)


# ---------------------------------------------------------------- requisitions (PROCUREMENT_STAFF's people)

VALID_TAX_ID = "91350100M000100Y43"


def requisition_line(**overrides):
    line = {"item_name": "A4打印纸", "spec": "70g 500张/包", "quantity": 10, "unit": "箱",
            "unit_price": Decimal("250.00"), "needed_on": dt.date(2026, 3, 10), "purpose": "日常办公"}
    line.update(overrides)
    return line


def make_requisition(app, people, lines=None, submit=True, who="requester"):
    with app.test_request_context():
        return requisitions.create(people[who], department_id=department_id(app, "客服部"),
                                   lines=lines or [requisition_line()], submit=submit)


def fresh(requisition):
    return Requisition.get_by_id(requisition.id)


def decide(app, requisition, who, decision="approve", **kwargs):
    with app.test_request_context():
        current = fresh(requisition)
        return procurement.apply(who, current.id, current.version, decision, **kwargs)


def review(app, requisition, people, amount):
    """Logistics' review step, confirming `amount`."""
    return decide(app, requisition, people["logistics"], purchase_method="quotation", budget_checked=True,
                  confirmed_amount=Decimal(amount))


def make_supplier(app, name="办公用品公司", tax_id=VALID_TAX_ID):
    with app.test_request_context():
        return suppliers.save_supplier(None, name=name, tax_id=tax_id, contact="李经理", phone="13800138000")


def approved(app, people, amount="6000.00", quantity=10, price="600.00"):
    """A requisition through every step its amount needs."""
    requisition = make_requisition(app, people, [requisition_line(quantity=quantity, unit_price=Decimal(price))])
    decide(app, requisition, people["head"])
    review(app, requisition, people, amount)
    if fresh(requisition).state == "pending":
        decide(app, requisition, people["leader"])
    return fresh(requisition)


def ordered(app, people, **kwargs):
    requisition = approved(app, people, **kwargs)
    supplier = make_supplier(app)
    with app.test_request_context():
        procurement.apply(people["logistics"], requisition.id, requisition.version, "order", supplier_id=supplier.id,
                          delivery_date=dt.date(2026, 3, 6), quality_standard="国标 GB/T 24988", lines={})
    return fresh(requisition)


def receive(app, people, requisition, accepted, rejected=0, reason="", kind="return", on=dt.date(2026, 3, 2)):
    """A delivery of the order's first line: `accepted` taken in, `rejected` sent back (`kind`)."""
    with app.test_request_context():
        current = fresh(requisition)
        line = current.order().lines_list()[0]
        return procurement.apply(people["logistics"], current.id, current.version, "receive", received_on=on,
                                 lines={line.id: (accepted, rejected, reason, kind)})


# --- cn-calendar: complaint deadlines count working time by default ----------------------

def on_the_clock(app):
    """Complaint deadlines counted around the clock (the setting off), for a test whose
    arithmetic is wall-clock hours: working time became the default with the official calendar."""
    from models import settings
    with app.app_context():
        settings.save(None, {complaints.WORKING_TIME: False})
