"""The department's working-hours calendar, and time arithmetic in working time.

A week of working hours (per weekday, e.g. "09:00-12:00, 13:30-18:00"), and dated
exceptions an admin enters with a label: public holidays (no working time) and
make-up working days (调休: a weekend day that is worked). Deadlines that "count in
working time" add N working hours with `Calendar.add`; the paused clock measures a
wait with `Calendar.between`. All arithmetic happens in the configured zone; stored
times stay naive UTC."""
import datetime as dt
import re

from flask import g, has_app_context
from flask_babel import lazy_gettext as _l
from peewee import CharField, DateField, DateTimeField, ForeignKeyField, IntegerField

from models import audit
from models.base import BaseModel, DomainError, utcnow, write_transaction
from models.timezone import to_local, to_utc
from models.users import User

WEEKDAYS = [_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"), _l("Saturday"),
            _l("Sunday")]
#: Office hours with a lunch break, Monday to Friday: the common schedule of a Chinese
#: office department (午休 12:00–13:30), 7.5 working hours a day.
DEFAULT_PERIODS = "09:00-12:00, 13:30-18:00"
DEFAULT_WEEK = {0: DEFAULT_PERIODS, 1: DEFAULT_PERIODS, 2: DEFAULT_PERIODS, 3: DEFAULT_PERIODS,
                4: DEFAULT_PERIODS, 5: "", 6: ""}

HOLIDAY, WORKDAY = "holiday", "workday"
DAY_KINDS = {HOLIDAY: _l("Public holiday (no work)"), WORKDAY: _l("Make-up working day (调休)")}
#: The longest range entered at once (a holiday week and its neighbours fit easily).
MAX_RANGE_DAYS = 31
#: How far ahead the arithmetic looks for working time before it gives up.
SEARCH_DAYS = 3 * 366

PERIOD = re.compile(r"^([01]?\d|2[0-3])[:：]([0-5]\d)\s*[-–—~～－至到]\s*([01]?\d|2[0-3])[:：]([0-5]\d)$")

#: Periods may also be separated by spaces alone: "09:00-12:00 13:30-18:00".
SPACE_BETWEEN = re.compile(r"\s+(?=\d{1,2}[:：]\d{2}\s*[-–—~～－至到])")

audit.ACTION_LABELS.setdefault("removed", _l("Removed"))
audit.name_record_type("work_weekday", _l("Weekly working hours"))
audit.name_record_type("calendar_day", _l("Holiday or make-up working day"))


class NoWorkingTime(Exception):
    """The calendar has no working time ahead (every weekday empty)."""


class WorkWeekday(BaseModel):
    weekday = IntegerField(primary_key=True)  # 0 = Monday, as date.weekday()
    periods = CharField(max_length=200, default="")
    updated_at = DateTimeField(default=utcnow)
    updated_by = ForeignKeyField(User, null=True, on_delete="SET NULL")


class CalendarDay(BaseModel):
    day = DateField(unique=True)
    kind = CharField(max_length=10)  # HOLIDAY or WORKDAY
    label = CharField(max_length=60)
    # A make-up day's own hours; blank: the hours of an ordinary working day.
    periods = CharField(max_length=200, default="")
    created_at = DateTimeField(default=utcnow)
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")

    @property
    def kind_label(self):
        return DAY_KINDS.get(self.kind, self.kind)

    @property
    def weekday_label(self):
        return WEEKDAYS[self.day.weekday()]


def parse_periods(text):
    """"09:00-12:00, 13:30-18:00" -> [(time, time), ...] sorted; ValueError with a user message.
    Blank means no working time that day."""
    text = (text or "").strip()
    if not text:
        return []
    periods = []
    parts = [p.strip() for chunk in re.split(r"[,，;；、]+", text) for p in SPACE_BETWEEN.split(chunk.strip())]
    for part in filter(None, parts):
        match = PERIOD.match(part)
        if not match:
            raise ValueError(_l("“%(part)s” is not a period like 09:00-12:00.", part=part))
        h1, m1, h2, m2 = (int(x) for x in match.groups())
        start, end = dt.time(h1, m1), dt.time(h2, m2)
        if end <= start:
            raise ValueError(_l("In “%(part)s” the end is not after the start.", part=part))
        periods.append((start, end))
    periods.sort()
    for (_s1, e1), (s2, _e2) in zip(periods, periods[1:]):
        if s2 < e1:
            raise ValueError(_l("The periods overlap; list each hour once."))
    return periods


def format_periods(periods):
    return ", ".join(f"{s:%H:%M}-{e:%H:%M}" for s, e in periods)


def _seconds(periods):
    return sum((dt.datetime.combine(dt.date.min, e) - dt.datetime.combine(dt.date.min, s)).total_seconds()
               for s, e in periods)


class Calendar:
    """A snapshot of the calendar: the weekly hours and the dated exceptions."""

    def __init__(self, week, days=None):
        self.week = {d: parse_periods(week.get(d, "")) for d in range(7)}
        self.days = {}
        for day, (kind, periods) in (days or {}).items():
            self.days[day] = (kind, parse_periods(periods) if isinstance(periods, str) else periods)

    @classmethod
    def load(cls):
        week = dict(DEFAULT_WEEK)
        week.update({row.weekday: row.periods for row in WorkWeekday.select()})
        days = {row.day: (row.kind, row.periods) for row in CalendarDay.select()}
        return cls(week, days)

    def standard_periods(self):
        """The hours of an ordinary working day: the first weekday that has any."""
        for weekday in range(7):
            if self.week[weekday]:
                return self.week[weekday]
        return []

    def periods_on(self, day):
        exception = self.days.get(day)
        if exception:
            kind, periods = exception
            if kind == HOLIDAY:
                return []
            return periods or self.standard_periods()
        return self.week[day.weekday()]

    def is_working_day(self, day):
        return bool(self.periods_on(day))

    def add(self, start_utc, delta):
        """The moment `delta` of working time after `start_utc` (naive UTC in and out).
        A deadline that uses up a period exactly ends at that period's end, not the next morning."""
        if delta <= dt.timedelta(0):
            return start_utc
        local = to_local(start_utc).replace(tzinfo=None)
        remaining = delta
        day = local.date()
        for _ in range(SEARCH_DAYS):
            for start, end in self.periods_on(day):
                period_start, period_end = dt.datetime.combine(day, start), dt.datetime.combine(day, end)
                if period_end <= local:
                    continue
                begin = max(period_start, local)
                available = period_end - begin
                if remaining <= available:
                    return to_utc(begin + remaining)
                remaining -= available
            day += dt.timedelta(days=1)
        raise NoWorkingTime()

    def between(self, start_utc, end_utc):
        """The working time between two moments (naive UTC), as a timedelta."""
        if end_utc <= start_utc:
            return dt.timedelta(0)
        a = to_local(start_utc).replace(tzinfo=None)
        b = to_local(end_utc).replace(tzinfo=None)
        total = dt.timedelta(0)
        day = a.date()
        while day <= b.date():
            for start, end in self.periods_on(day):
                lo = max(dt.datetime.combine(day, start), a)
                hi = min(dt.datetime.combine(day, end), b)
                if hi > lo:
                    total += hi - lo
            day += dt.timedelta(days=1)
        return total


def calendar():
    """The calendar as stored, loaded once per request or task run."""
    if not has_app_context():
        return Calendar.load()
    if "worktime_calendar" not in g:
        g.worktime_calendar = Calendar.load()
    return g.worktime_calendar


def _forget():
    if has_app_context():
        g.pop("worktime_calendar", None)


def week_texts():
    """weekday -> the stored periods text (defaults where nothing was saved)."""
    week = dict(DEFAULT_WEEK)
    week.update({row.weekday: row.periods for row in WorkWeekday.select()})
    return week


def save_week(actor, texts):
    """Store the weekly hours (weekday -> periods text, already validated). Audited per day."""
    current = week_texts()
    with write_transaction():
        for weekday, text in texts.items():
            text = format_periods(parse_periods(text))
            if text == format_periods(parse_periods(current.get(weekday, ""))):
                continue
            WorkWeekday.insert(weekday=weekday, periods=text, updated_at=utcnow(), updated_by=actor).on_conflict(
                conflict_target=[WorkWeekday.weekday],
                update={WorkWeekday.periods: text, WorkWeekday.updated_at: utcnow(), WorkWeekday.updated_by: actor},
            ).execute()
            audit.record_event(actor, "update", record_type="work_weekday",
                               changes={str(WEEKDAYS[weekday]): [current.get(weekday, ""), text]})
    _forget()


def days(year=None):
    query = CalendarDay.select().order_by(CalendarDay.day)
    if year:
        query = query.where(CalendarDay.day.between(dt.date(year, 1, 1), dt.date(year, 12, 31)))
    return query


def add_days(actor, first, last, kind, label, periods=""):
    """Enter a holiday or make-up working day (or a run of them) with a label."""
    periods = format_periods(parse_periods(periods)) if kind == WORKDAY else ""
    created = []
    with write_transaction():
        day = first
        while day <= last:
            row = CalendarDay.create(day=day, kind=kind, label=label, periods=periods, created_by=actor)
            audit.record_create(actor, row)
            created.append(row)
            day += dt.timedelta(days=1)
    _forget()
    return created


def remove_day(actor, row):
    """Take a date out of the calendar (a mistaken entry); the audit keeps what it was."""
    with write_transaction():
        audit.record_event(actor, "removed", row, changes={k: [v, None] for k, v in row.snapshot().items()
                                                          if k not in ("created_at", "created_by")})
        row.delete_instance()
    _forget()


# --- The State Council's calendar, from the chinese-calendar package ---------------------
# The package ships the announced holidays and make-up working days (调休) per year; its
# data is updated with the package (pyproject.toml pins the version). An import only adds
# the dates the calendar does not have yet: an admin's own entry for a date wins.

audit.ACTION_LABELS.setdefault("imported", _l("Imported"))


class UnknownYear(DomainError):
    """The package has no holiday arrangement for that year (not announced yet, or too old)."""


def official_years():
    """The years the installed chinese-calendar package knows, as a sorted list."""
    from chinese_calendar import constants
    return sorted({day.year for day in constants.holidays} | {day.year for day in constants.workdays})


def _festival(english):
    from chinese_calendar import Holiday
    try:
        return Holiday(english).chinese
    except ValueError:
        return english


def official_days(year):
    """[(date, kind, label)] of `year` as the package has them, in date order; UnknownYear if it has none."""
    from chinese_calendar import constants
    if year not in official_years():
        years = official_years()
        raise UnknownYear(_l("The holiday arrangement for %(year)s is not known (the installed calendar package "
                             "knows %(first)s–%(last)s); enter its days by hand, or update the package once the "
                             "State Council has announced it.", year=year, first=years[0], last=years[-1]))
    found = [(day, HOLIDAY, _festival(name)) for day, name in constants.holidays.items() if day.year == year]
    found += [(day, WORKDAY, f"{_festival(name)}调休") for day, name in constants.workdays.items()
              if day.year == year]
    return sorted(found)


def import_official(actor, year):
    """Enter `year`'s public holidays and make-up working days from the package, skipping the
    dates already in the calendar. -> (added, kept). One audit entry names what was added."""
    found = official_days(year)
    with write_transaction():
        taken = {row.day for row in CalendarDay.select(CalendarDay.day).where(
            CalendarDay.day.in_([day for day, _kind, _label in found]))}
        added = [(day, kind, label) for day, kind, label in found if day not in taken]
        if added:
            CalendarDay.insert_many([{"day": day, "kind": kind, "label": label, "periods": "",
                                      "created_at": utcnow(), "created_by": actor} for day, kind, label in added]
                                    ).on_conflict_ignore().execute()
        audit.record_event(actor, "imported", record_type="calendar_day", changes={
            "year": [None, year], "added": [None, [f"{day.isoformat()} {label}" for day, _k, label in added]],
            "kept": [None, sorted(day.isoformat() for day in taken)]})
    _forget()
    return len(added), len(taken)


def import_missing_years(years, actor=None):
    """On a first run: each of `years` the package knows and the calendar has nothing for is imported."""
    known = set(official_years())
    imported = []
    for year in years:
        if year in known and not days(year).exists():
            import_official(actor, year)
            imported.append(year)
    return imported


def import_this_and_next_year():
    """`flask init-db` and the demo: this year's and next year's official calendar, where the
    calendar has nothing for them yet and the package knows them (a quick, idempotent step)."""
    from models.timezone import local_now
    year = local_now().year
    return import_missing_years([year, year + 1])
