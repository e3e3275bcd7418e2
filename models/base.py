"""The shared database handle, base model and the helpers every domain uses."""
import datetime as dt
import re
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from peewee import DatabaseProxy, DateTimeField, IntegerField, Model, PostgresqlDatabase, SqliteDatabase, TextField
from playhouse.db_url import connect

db = DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "busy_timeout": 10000,
    "foreign_keys": 1,
    "synchronous": "normal",
    "cache_size": -16000,
}


class DomainError(Exception):
    """A refused action; the message is for the user. `field` names the form field it concerns,
    so a view places the message beside that field without repeating the model's rule."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field

    @property
    def message(self):
        return self.args[0]


#: What a field anonymised under the PIPL (models.privacy) holds: stored in Chinese, as the
#: archive reads it; a customer's number, which is unique, carries the row's id ("已匿名-12").
ANONYMISED = "已匿名"
_MARKER = re.compile(re.escape(ANONYMISED) + r"(-\d+)?")


def readable(value):
    """The value with the marker in the reader's language: a field that was anonymised, and the
    marker inside a text that copied one (a notice, a duty-log line)."""
    if isinstance(value, str) and ANONYMISED in value:
        return _MARKER.sub(gettext("Anonymised"), value)
    return value


def utcnow():
    """Naive UTC: every stored time is UTC; the zone is applied only for display."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def open_database(url):
    """Create the database the URL names (sqlite:///… or postgresql://…)."""
    if url.startswith("sqlite"):
        database = connect(url, pragmas=SQLITE_PRAGMAS)
    else:
        database = connect(url)
    db.initialize(database)
    return database


def is_sqlite():
    return isinstance(db.obj, SqliteDatabase)


def is_postgres():
    return isinstance(db.obj, PostgresqlDatabase)


@contextmanager
def write_transaction():
    """A write transaction. On SQLite it is begun IMMEDIATE: a deferred one that
    upgrades to a write fails at once with "database is locked", whatever the
    busy timeout, when another process writes at the same moment."""
    if is_sqlite():
        if db.in_transaction():
            with db.atomic():
                yield
        else:
            with db.atomic(lock_type="IMMEDIATE"):
                yield
    else:
        with db.atomic():
            yield


def starts_with(field, text):
    """field LIKE 'text%', as a range the field's index answers on both databases (LIKE is a scan on
    SQLite unless the index is NOCASE, and on PostgreSQL unless it is text_pattern_ops)."""
    return (field >= text) & (field < text + "\U0010ffff")


def masked_address(url):
    """An address whose path or query holds a token (a robot's webhook), as it may be shown or
    logged: the host and the last 4 characters."""
    if not url:
        return url
    return f"{urlsplit(url).hostname or ''} …{url[-4:]}"


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False

    #: Fields that never appear in an audit entry (secrets, bookkeeping).
    audit_exclude = ()
    #: Addresses that carry a secret (a robot's webhook and its access token): audited masked.
    audit_masked = ()

    def snapshot(self):
        """The audited state of this record, as plain values."""
        values = {}
        for name, field in self._meta.fields.items():
            if name in self.audit_exclude or name == "id":
                continue
            value = self.__data__.get(name)
            if name in self.audit_masked:
                value = masked_address(value)
            if isinstance(value, (dt.datetime, dt.date)):
                value = value.isoformat()
            elif value is not None and not isinstance(value, (int, float, bool, str)):
                value = str(value)
            values[name] = value
        return values

    @classmethod
    def record_type(cls):
        return cls._meta.table_name

    @classmethod
    def fill_added_columns(cls, names):
        """Called by create_tables after it added these columns to an older table: a model
        whose new column must be derived from what the rows hold fills it here."""

    @classmethod
    def fill_created_table(cls):
        """Called by create_tables after it created this table in a database that already had others:
        a table derived from other tables' rows (an index) fills itself here."""


class VoidableModel(BaseModel):
    """Business records are never deleted: they are voided with a reason."""

    created_at = DateTimeField(default=utcnow, index=True)
    voided_at = DateTimeField(null=True)
    void_reason = TextField(null=True)

    @property
    def is_void(self):
        return self.voided_at is not None



@dataclass(frozen=True)
class Transition:
    """One row of a workflow's TRANSITIONS table: from which states, to which (None: the state
    stays), for whom (a set of roles, or a name the area's refusal() reads), and whether the
    step needs a note and what the note is called."""
    label: object
    sources: tuple
    target: str
    roles: object
    note_required: bool = False
    note_label: object = None


class VersionedModel(BaseModel):
    """Optimistic locking: every change names the version the user saw, and of two people
    acting at once the second is told rather than silently overwriting the first."""

    version = IntegerField(default=1)
    updated_at = DateTimeField(default=utcnow)

    #: What the loser of a race is told; a model may say it in its own words.
    stale_message = _l("Someone else changed this record meanwhile; look at it again.")
    missing_message = _l("No such record.")
    #: The error raised: an area's own DomainError subclass, so its callers catch one type.
    error = DomainError

    @classmethod
    def load(cls, record_id, version=None):
        """The record as the user saw it, or the model's error if it is gone or changed since.
        Without `version` (a one-tap step from a list) the state rules alone decide."""
        record = cls.get_or_none(cls.id == record_id)
        if record is None:
            raise cls.error(cls.missing_message)
        if version is not None and record.version != version:
            raise cls.error(cls.stale_message)
        return record

    def update_versioned(self, version, values, *conditions):
        """Write `values` only if the row is still at `version` (and `conditions` hold);
        returns the record as stored now."""
        cls = type(self)
        values = dict(values)
        values[cls.version] = version + 1
        values[cls.updated_at] = utcnow()
        changed = cls.update(values).where(cls.id == self.id, cls.version == version, *conditions).execute()
        if not changed:
            raise cls.error(cls.stale_message)
        return cls.get_by_id(self.id)
