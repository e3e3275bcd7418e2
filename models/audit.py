"""The audit trail: who changed what, when, from what to what."""
import json

from flask_babel import lazy_gettext as _l

from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from models.base import BaseModel, utcnow
from models.users import User

ACTION_LABELS = {
    "create": _l("Created"),
    "update": _l("Changed"),
    "void": _l("Voided"),
    "password_set": _l("Password set"),
    "sessions_ended": _l("Logged out everywhere"),
    "signed": _l("Signed"),
    "signed_out": _l("Signed as outgoing"),
    "signed_in": _l("Signed as incoming"),
    "declared_unfit": _l("Declared unfit to take over"),
    "watchlist_override": _l("Registered despite the watchlist"),
}

#: record type (table name) -> what a person calls it; areas add theirs with name_record_type().
RECORD_TYPE_LABELS = {"user": _l("User"), "department": _l("Department"), "setting": _l("Setting")}


def name_record_type(record_type, label):
    RECORD_TYPE_LABELS[record_type] = label


def action_label(action):
    return ACTION_LABELS.get(action, action)


def record_type_label(record_type):
    return RECORD_TYPE_LABELS.get(record_type, record_type)


class AuditEntry(BaseModel):
    at = DateTimeField(default=utcnow, index=True)
    actor = ForeignKeyField(User, null=True, backref="audit_entries", on_delete="SET NULL")
    action = CharField(max_length=32)  # create, update, void, or an event name
    record_type = CharField(max_length=64, index=True)
    record_id = IntegerField(null=True)
    changes = TextField(default="{}")  # {"field": [old, new]}
    reason = TextField(null=True)

    class Meta:
        indexes = ((("record_type", "record_id"), False),)

    @property
    def change_items(self):
        return sorted(json.loads(self.changes or "{}").items())

    @classmethod
    def search(cls, actor_id=None, record_type=None, date_from=None, date_to=None):
        """Newest first; date bounds are UTC datetimes, the upper one exclusive."""
        query = cls.select().order_by(cls.at.desc(), cls.id.desc())
        if actor_id:
            query = query.where(cls.actor == actor_id)
        if record_type:
            query = query.where(cls.record_type == record_type)
        if date_from:
            query = query.where(cls.at >= date_from)
        if date_to:
            query = query.where(cls.at < date_to)
        return query

    @classmethod
    def record_types(cls):
        return [row.record_type for row in cls.select(cls.record_type).distinct().order_by(cls.record_type)]


def _write(actor, action, record_type, record_id, changes=None, reason=None):
    return AuditEntry.create(
        actor=actor, action=action, record_type=record_type, record_id=record_id,
        changes=json.dumps(changes or {}, ensure_ascii=False, default=str), reason=reason,
    )


def record_create(actor, obj):
    changes = {k: [None, v] for k, v in obj.snapshot().items() if v not in (None, "") and k != "created_at"}
    return _write(actor, "create", obj.record_type(), obj.id, changes)


def record_change(actor, obj, before):
    """Write the fields that differ from the `before` snapshot; nothing if none do."""
    after = obj.snapshot()
    changes = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
    if changes:
        return _write(actor, "update", obj.record_type(), obj.id, changes)
    return None


def record_event(actor, action, obj=None, record_type=None, changes=None, reason=None):
    """An action that is not a plain field change (login, ended sessions, transitions)."""
    return _write(
        actor, action, record_type or obj.record_type(), obj.id if obj else None, changes, reason,
    )


def void(actor, obj, reason):
    """Void a business record with a reason; voiding twice changes nothing."""
    if obj.voided_at is not None:
        return False
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("a reason is required to void a record")
    obj.voided_at = utcnow()
    obj.void_reason = reason
    obj.save(only=[type(obj).voided_at, type(obj).void_reason])
    _write(actor, "void", obj.record_type(), obj.id, reason=reason)
    return True
