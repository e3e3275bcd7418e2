"""The shared database handle, base model and the helpers every domain uses."""
import datetime as dt
from contextlib import contextmanager

from peewee import DatabaseProxy, DateTimeField, Model, PostgresqlDatabase, SqliteDatabase, TextField
from playhouse.db_url import connect

db = DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "busy_timeout": 10000,
    "foreign_keys": 1,
    "synchronous": "normal",
    "cache_size": -16000,
}


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


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False

    #: Fields that never appear in an audit entry (secrets, bookkeeping).
    audit_exclude = ()

    def snapshot(self):
        """The audited state of this record, as plain values."""
        values = {}
        for name, field in self._meta.fields.items():
            if name in self.audit_exclude or name == "id":
                continue
            value = self.__data__.get(name)
            if isinstance(value, (dt.datetime, dt.date)):
                value = value.isoformat()
            elif value is not None and not isinstance(value, (int, float, bool, str)):
                value = str(value)
            values[name] = value
        return values

    @classmethod
    def record_type(cls):
        return cls._meta.table_name


class VoidableModel(BaseModel):
    """Business records are never deleted: they are voided with a reason."""

    created_at = DateTimeField(default=utcnow, index=True)
    voided_at = DateTimeField(null=True)
    void_reason = TextField(null=True)

    @property
    def is_void(self):
        return self.voided_at is not None

