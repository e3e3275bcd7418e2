"""Times are stored in UTC and shown in the configured zone (TIMEZONE)."""
import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

DEFAULT_ZONE = "Asia/Shanghai"


def zone():
    name = current_app.config.get("TIMEZONE", DEFAULT_ZONE) if has_app_context() else DEFAULT_ZONE
    return ZoneInfo(name)


def local_now():
    return dt.datetime.now(zone())


def to_local(value):
    """A naive UTC datetime from the database, in the configured zone."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.timezone.utc).astimezone(zone())


def to_utc(local_value):
    """A naive local datetime typed by a user, as naive UTC for storage."""
    return local_value.replace(tzinfo=zone()).astimezone(dt.timezone.utc).replace(tzinfo=None)


def day_start_utc(day):
    """The first moment of a local calendar day, as naive UTC for queries."""
    return to_utc(dt.datetime.combine(day, dt.time.min))
