"""Typed settings with defaults from the regulations, editable by an admin.

Every deadline, threshold and limit of the portal is defined here with `define()`
(by the module that needs it) and read with `get()`: never a literal in code."""
from dataclasses import dataclass
from decimal import InvalidOperation

from flask import g, has_app_context
from flask_babel import lazy_gettext as _l
from peewee import CharField, DateTimeField, ForeignKeyField, TextField

from models import audit
from models.base import BaseModel, DomainError, utcnow, write_transaction
from models.users import User


class InvalidSetting(DomainError, ValueError):
    """Raised by a setting kind of its own (e.g. time ranges) with a message for the user."""


@dataclass(frozen=True)
class SettingSpec:
    key: str
    kind: type  # int, Decimal, bool or str
    default: object
    label: object
    section: object
    help: object = None
    minimum: object = None
    maximum: object = None

    def parse(self, text):
        """Turn stored or typed text into a value; ValueError with a user message."""
        text = (text or "").strip()
        if self.kind is bool:
            return text.lower() in ("1", "true", "on", "yes", "y")
        if self.kind is str:
            return text
        try:
            value = self.kind(text)
        except InvalidSetting:
            raise
        except (ValueError, InvalidOperation):
            raise ValueError(_l("Enter a number.")) from None
        if self.minimum is not None and value < self.minimum:
            raise ValueError(_l("Must be at least %(n)s.", n=self.minimum))
        if self.maximum is not None and value > self.maximum:
            raise ValueError(_l("Must be at most %(n)s.", n=self.maximum))
        return value

    def format(self, value):
        if self.kind is bool:
            return "true" if value else "false"
        return str(value)


SPECS = {}


def define(key, kind, default, label, section, help=None, minimum=None, maximum=None):
    SPECS[key] = SettingSpec(key, kind, default, label, section, help, minimum, maximum)
    return key


class Setting(BaseModel):
    key = CharField(max_length=64, primary_key=True)
    value = TextField()
    updated_at = DateTimeField(default=utcnow)
    updated_by = ForeignKeyField(User, null=True, on_delete="SET NULL")


def _cache():
    if has_app_context():
        if "settings_cache" not in g:
            g.settings_cache = {}
        return g.settings_cache
    return {}


def _value(spec, stored):
    try:
        return spec.parse(stored) if stored is not None else spec.default
    except ValueError:
        return spec.default


def get(key):
    cache = _cache()
    if key not in cache:
        cache[key] = _value(SPECS[key], _stored(cache).get(key))
    return cache[key]


def _stored(cache):
    """Every value an admin has set, read once per request: the table holds only those, a few dozen
    rows at most, and a request that reads one setting usually reads several."""
    if _STORED not in cache:
        cache[_STORED] = dict(Setting.select(Setting.key, Setting.value).tuples())
    return cache[_STORED]


_STORED = object()  # the cache's entry for the stored rows, apart from any setting's key


def get_all():
    """{key: value} of every setting, read in one query (the settings page shows them all)."""
    cache = _cache()
    stored = _stored(cache)
    for key, spec in SPECS.items():
        if key not in cache:
            cache[key] = _value(spec, stored.get(key))
    return {key: cache[key] for key in SPECS}


def save(actor, values):
    """Store typed values; each change leaves an audit entry. Returns the changed keys."""
    changed = []
    with write_transaction():
        for key, value in values.items():
            spec = SPECS[key]
            old = get(key)
            if old == value:
                continue
            Setting.insert(key=key, value=spec.format(value), updated_at=utcnow(), updated_by=actor).on_conflict(
                conflict_target=[Setting.key],
                update={Setting.value: spec.format(value), Setting.updated_at: utcnow(), Setting.updated_by: actor},
            ).execute()
            audit.record_event(actor, "update", record_type="setting",
                               changes={key: [spec.format(old), spec.format(value)]})
            changed.append(key)
    _cache().clear()
    return changed


def sections():
    """Specs grouped by section, in the order they were defined."""
    grouped = {}
    for spec in SPECS.values():
        grouped.setdefault(str(spec.section), []).append(spec)
    return grouped


SECURITY = _l("Security")
SESSION_IDLE_MINUTES = define(
    "session_idle_minutes", int, 60, _l("Log out after this many idle minutes"), SECURITY, minimum=5, maximum=24 * 60)
SESSION_MAX_HOURS = define(
    "session_max_hours", int, 12, _l("Longest session, in hours"), SECURITY, minimum=1, maximum=72)
LOGIN_MAX_FAILURES = define(
    "login_max_failures", int, 5, _l("Failed logins before a username must wait"), SECURITY, minimum=1, maximum=100)
LOGIN_LOCK_MINUTES = define(
    "login_lock_minutes", int, 10, _l("Minutes a username waits after too many failures"), SECURITY,
    minimum=1, maximum=24 * 60)

