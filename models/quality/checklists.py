"""The checklist (顾客满意度考核评分表) an admin or the service manager keeps: the items an
inspection scores against, each with the points it may lose, for a department and post
(no department: every department)."""
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from peewee import BooleanField, CharField, DecimalField, ForeignKeyField, IntegerField, JOIN

from models import audit
from models.base import DomainError, VersionedModel, VoidableModel, write_transaction
from models.users import Department

audit.name_record_type("checklist_item", _l("Checklist item"))

MAX_POINTS = Decimal("100")


class ChecklistError(DomainError):
    """A refused change to the checklist."""


class ChecklistItem(VoidableModel, VersionedModel):
    department = ForeignKeyField(Department, null=True, backref="+", on_delete="RESTRICT")
    post = CharField(max_length=60, default="")
    title = CharField(max_length=200)
    points = DecimalField(max_digits=6, decimal_places=2, auto_round=True)
    active = BooleanField(default=True, index=True)
    position = IntegerField(default=0)

    error = ChecklistError

    def __str__(self):
        return self.title


def listing(include_inactive=True):
    query = (ChecklistItem.select(ChecklistItem, Department)
             .join(Department, JOIN.LEFT_OUTER, on=(ChecklistItem.department == Department.id))
             .where(ChecklistItem.voided_at.is_null())
             .order_by(Department.name.is_null(False), Department.name, ChecklistItem.post, ChecklistItem.position,
                       ChecklistItem.id))
    if not include_inactive:
        query = query.where(ChecklistItem.active == True)  # noqa: E712
    return query


def items_for(department_id):
    """The active items an inspection of this department scores against (no department: all)."""
    query = listing(include_inactive=False)
    if department_id:
        query = query.where(ChecklistItem.department.is_null() | (ChecklistItem.department == department_id))
    return query


def _clean(title, points, department_id):
    title = (title or "").strip()
    if not title:
        raise ChecklistError(_l("Name the item."), field="title")
    try:
        points = Decimal(str(points)) if points is not None else None
    except InvalidOperation:
        points = None
    if points is None or points <= 0 or points > MAX_POINTS:
        raise ChecklistError(_l("An item's points are more than 0 and at most %(n)s.", n=MAX_POINTS),
                             field="points")
    if department_id and not Department.select().where(Department.id == department_id).exists():
        raise ChecklistError(_l("Choose a department."), field="department")
    return title, points


def save_item(actor, *, title, points, department_id=None, post="", active=True, position=0, item_id=None,
              version=None):
    """Add an item, or change one (an inspection already scored keeps its points lost)."""
    title, points = _clean(title, points, department_id)
    values = {"title": title, "points": points, "department": department_id or None,
              "post": (post or "").strip(), "active": bool(active), "position": position or 0}
    with write_transaction():
        if item_id is None:
            item = ChecklistItem.create(**values)
            audit.record_create(actor, item)
            return item
        item = ChecklistItem.load(item_id, version)
        before = item.snapshot()
        updated = item.update_versioned(item.version, {getattr(ChecklistItem, k): v for k, v in values.items()})
        audit.record_change(actor, updated, before)
        return updated
