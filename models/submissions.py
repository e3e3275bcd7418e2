"""One-time submission keys: a double tap or a retry creates one record, not two."""
import uuid

from peewee import CharField, DateTimeField, ForeignKeyField, IntegrityError

from models.base import BaseModel, utcnow, write_transaction
from models.users import User


class SubmissionKey(BaseModel):
    key = CharField(max_length=64, unique=True)
    user = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)
    result_url = CharField(max_length=500, default="")


def new_key():
    return uuid.uuid4().hex


def result_of(key):
    """The URL a used key led to, or None for a key not used yet."""
    row = SubmissionKey.get_or_none(SubmissionKey.key == (key or "")[:64])
    return row.result_url if row else None


def submit_once(key, user, create):
    """Run `create()` (which returns the URL of what it made) once per key.

    The key is claimed in the same transaction as the record, so of two identical
    submissions racing, one creates and the other finds the first one's result.
    Returns (url, created)."""
    key = (key or "")[:64]
    if not key:
        raise ValueError("missing submission key")
    try:  # claimed first: a second submission of the key fails here, before it does any work
        with write_transaction():
            claim = SubmissionKey.create(key=key, user=user)
            url = create()
            claim.result_url = url
            claim.save()
        return url, True
    except IntegrityError:
        earlier = result_of(key)
        if earlier is None:
            raise  # the record's own constraint failed, not the key
        return earlier, False
