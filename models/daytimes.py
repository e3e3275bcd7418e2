"""Times of day in the configured zone: the ranges a setting names ("12:00-14:00, 21:00-09:00")
for quiet hours, used by callbacks and by the notifications outbox."""
import datetime as dt
import re

from flask_babel import lazy_gettext as _l

from models.settings import InvalidSetting
from models.timezone import to_local, to_utc


DAY_MINUTES = 24 * 60


class TimeRanges(tuple):
    """Times of day as ranges of minutes, written "12:00-14:00, 21:00-09:00" (local
    time). A range that ends before it starts runs over midnight. Empty: no ranges."""

    PART = re.compile(r"^(\d{1,2})[:：](\d{2})\s*[-–—~～至到]\s*(\d{1,2})[:：](\d{2})$")
    SEPARATORS = re.compile(r"[,，;；、]")

    def __new__(cls, text=""):
        ranges = []
        for part in cls.SEPARATORS.split(str(text or "")):
            part = part.strip()
            if not part:
                continue
            match = cls.PART.match(part)
            if not match:
                raise InvalidSetting(_l("Write times like “09:00-11:30”; several separated by commas."))
            h1, m1, h2, m2 = (int(g) for g in match.groups())
            if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
                raise InvalidSetting(_l("Write times like “09:00-11:30”; several separated by commas."))
            start, end = h1 * 60 + m1, h2 * 60 + m2
            if start == end % 1440:
                raise InvalidSetting(_l("A time range must not start and end at the same time."))
            ranges.append((start, end))
        return super().__new__(cls, ranges)

    @classmethod
    def of(cls, ranges):
        """Ranges of minutes as the class holds them, (start, end) pairs, unparsed."""
        return super().__new__(cls, ranges)

    def complement(self):
        """The times of day in none of the ranges."""
        ranges, start = [], None
        for minute in range(DAY_MINUTES + 1):
            free = minute < DAY_MINUTES and self.containing(minute) is None
            if free and start is None:
                start = minute
            elif not free and start is not None:
                ranges.append((start, minute))
                start = None
        return TimeRanges.of(ranges)

    def __str__(self):
        return ", ".join(f"{_hhmm(start)}-{_hhmm(end)}" for start, end in self)

    def containing(self, minute):
        """The range the minute of the day falls in (start inclusive, end exclusive), or None."""
        for start, end in self:
            if (start <= minute < end) if start < end else (minute >= start or minute < end):
                return start, end
        return None

    def holds(self, moment_utc):
        """Whether the moment (naive UTC) falls in one of the ranges."""
        local = to_local(moment_utc)
        return self.containing(local.hour * 60 + local.minute) is not None

    def first_moment_outside(self, start_utc):
        """start_utc (naive UTC) itself when it is outside every range, else the end of the
        range it falls in (and of any range that one runs into)."""
        start = moment = to_local(start_utc).replace(tzinfo=None)
        for _ in range(len(self) + 1):
            minute = moment.hour * 60 + moment.minute
            inside = self.containing(minute)
            if inside is None:
                return start_utc if moment == start else to_utc(moment)
            moment = jump(moment, minute, inside[1])
        return start_utc  # the ranges cover the whole day: holding would hold for ever


def _hhmm(minutes):
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def jump(moment, minute, target):
    """The next local moment whose minute of the day is `target` (later today or tomorrow)."""
    day = moment.date() + dt.timedelta(days=1 if target <= minute else 0)
    return dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=target)
