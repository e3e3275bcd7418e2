"""Monthly, quarterly and annual statistics for the service manager and leadership
(seed 004: monthly statistics to the supervisor, quarterly and annual summaries).

A report is built by a Huey task into a ReportRun (the page shows its progress) and
kept as plain values, so the page, the PDF and the spreadsheet all show the same figures."""
import calendar
import datetime as dt
import json
from dataclasses import dataclass

from babel.dates import format_skeleton
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from peewee import SQL, CharField, IntegrityError, DateTimeField, ForeignKeyField, IntegerField, TextField, fn

from models import settings
from models.base import BaseModel, db, is_sqlite, utcnow, write_transaction
from models.calls import CALL_TYPES
from models.complaints import SEVERITIES, category_label
from models.timezone import day_start_utc, local_now
from models.users import Department, User
from models.visitors import PURPOSES

PERIOD_KINDS = {"month": _l("Month"), "quarter": _l("Quarter"), "year": _l("Year")}

REPORTS = _l("Reports")
RECIPIENTS = settings.define(
    "reports.monthly_recipients", str, "", _l("Monthly report recipients"), REPORTS,
    help=_l("E-mail addresses, separated by commas or spaces: last month's report is mailed to them "
            "on the first day of each month (when SMTP is configured)."))

#: A report finished this recently is shown again instead of being rebuilt.
REUSE_MINUTES = 10


@dataclass(frozen=True)
class Period:
    """A calendar month, quarter or year in the portal's time zone."""
    kind: str
    year: int
    number: int = 1  # the month or the quarter; 1 for a year

    @classmethod
    def parse(cls, kind, key):
        """"2026-11" (month), "2026-Q4" (quarter), "2026" (year); ValueError otherwise."""
        key = (key or "").strip().upper()
        try:
            if kind == "month":
                year, month = key.split("-")
                period = cls("month", int(year), int(month))
            elif kind == "quarter":
                year, quarter = key.split("-Q")
                period = cls("quarter", int(year), int(quarter))
            elif kind == "year":
                period = cls("year", int(key))
            else:
                raise ValueError(kind)
        except ValueError:
            raise ValueError(_("Choose a period such as 2026-11, 2026-Q4 or 2026.")) from None
        limit = {"month": 12, "quarter": 4, "year": 1}[kind]
        if not (2000 <= period.year <= 2100 and 1 <= period.number <= limit):
            raise ValueError(_("Choose a period such as 2026-11, 2026-Q4 or 2026."))
        return period

    @classmethod
    def containing(cls, kind, day):
        number = {"month": day.month, "quarter": (day.month - 1) // 3 + 1, "year": 1}[kind]
        return cls(kind, day.year, number)

    @property
    def key(self):
        return {"month": f"{self.year}-{self.number:02d}", "quarter": f"{self.year}-Q{self.number}",
                "year": f"{self.year}"}[self.kind]

    @property
    def label(self):
        if self.kind == "month":
            return format_skeleton("yMMMM", self.start, locale=get_locale())
        if self.kind == "quarter":
            return _("%(year)s Q%(quarter)s", year=self.year, quarter=self.number)
        return _("Year %(year)s", year=self.year)

    @property
    def start(self):
        month = {"month": self.number, "quarter": (self.number - 1) * 3 + 1, "year": 1}[self.kind]
        return dt.date(self.year, month, 1)

    @property
    def end(self):
        """The first day after the period."""
        months = {"month": 1, "quarter": 3, "year": 12}[self.kind]
        index = self.start.month - 1 + months
        return dt.date(self.year + index // 12, index % 12 + 1, 1)

    @property
    def last_day(self):
        return self.end - dt.timedelta(days=1)

    def following(self):
        return Period.containing(self.kind, self.end)

    def previous(self):
        return Period.containing(self.kind, self.start - dt.timedelta(days=1))

    def utc_range(self):
        return day_start_utc(self.start), day_start_utc(self.end)

    def buckets(self):
        """The chart's columns: the days of a month, the months of a quarter or year."""
        if self.kind == "month":
            days = calendar.monthrange(self.year, self.number)[1]
            return [(str(day), self.start.replace(day=day), self.start.replace(day=day) + dt.timedelta(days=1))
                    for day in range(1, days + 1)]
        result, first = [], self.start
        while first < self.end:
            following = Period.containing("month", first).end
            result.append((str(first.month), first, following))
            first = following
        return result


def counts_by_local_day(query, column, start_utc, end_utc):
    """{local date: count} for the rows of `query` whose `column` lies in the range,
    grouped by the database. The zone's current UTC offset shifts the stored UTC times
    (exact for China, which keeps no daylight saving; elsewhere a day's edge may be off
    by the DST hour)."""
    minutes = int(local_now().utcoffset().total_seconds() // 60)
    if is_sqlite():
        local_day = fn.date(column, f"{minutes:+d} minutes").coerce(False)
    else:
        local_day = fn.date(column + SQL(f"interval '{minutes} minutes'")).coerce(False)
    rows = (query.select(local_day.alias("day"), fn.COUNT(SQL("*")).alias("n"))
            .where(column >= start_utc, column < end_utc).group_by(local_day).tuples())
    return {dt.date.fromisoformat(str(day)[:10]): n for day, n in rows}


def _average_minutes(later, earlier):
    if is_sqlite():
        return fn.AVG((fn.julianday(later) - fn.julianday(earlier)) * 1440)
    return fn.AVG(fn.date_part("epoch", later - earlier) / 60)


def _rate(part, whole):
    return round(100.0 * part / whole, 1) if whole else None


def _department_staff(department_id):
    return User.select(User.id).where(User.department == department_id)


def visitors_section(start, end, department_id):
    from models.visitors import Visit
    visits = Visit.select().where(Visit.arrived_at >= start, Visit.arrived_at < end)
    if department_id:
        visits = _department_visits(visits, department_id)
    total, companions = visits.select(fn.COUNT(Visit.id), fn.COALESCE(fn.SUM(Visit.companions), 0)).scalar(
        as_tuple=True)
    by_purpose = visits.select(Visit.purpose, fn.COUNT(Visit.id)).group_by(Visit.purpose).tuples()
    waited = (visits.where(Visit.host_answered_at.is_null(False))
              .select(_average_minutes(Visit.host_answered_at, Visit.arrived_at)).scalar())
    return {
        "total": total,
        "people": total + int(companions or 0),
        "by_purpose": sorted(([purpose, n] for purpose, n in by_purpose), key=lambda row: -row[1]),
        "average_wait_minutes": round(waited, 1) if waited is not None else None,
        "not_checked_out": visits.where(Visit.left_at.is_null(), Visit.state != "left").count(),
    }


def _department_calls(query, department_id):
    """The calls that concern a department: taken, transferred to, a message for, or a
    reply promised by one of its people."""
    from models.calls import Call
    staff = _department_staff(department_id)
    return query.where(Call.taken_by.in_(staff) | Call.transferred_to.in_(staff)
                       | Call.message_for.in_(staff) | Call.promiser.in_(staff))


def _department_visits(query, department_id):
    from models.visitors import Visit
    return query.where(Visit.host.in_(_department_staff(department_id)))


def _department_complaints(query, department_id):
    from models.complaints import Complaint
    return query.where(Complaint.department == department_id)


def calls_section(start, end, department_id):
    from models.calls import Call
    calls = Call.select().where(Call.taken_at >= start, Call.taken_at < end)
    if department_id:
        calls = _department_calls(calls, department_id)
    total = calls.count()
    promises = calls.where(Call.outcome == "promised")
    kept = promises.where(Call.replied_at <= Call.reply_due).count()
    missed = promises.where((Call.replied_at > Call.reply_due)
                            | (Call.replied_at.is_null() & (Call.reply_due < utcnow()))).count()
    promised = promises.count()
    return {
        "total": total,
        "by_type": sorted(([kind, n] for kind, n in
                           calls.select(Call.call_type, fn.COUNT(Call.id)).group_by(Call.call_type).tuples()),
                          key=lambda row: -row[1]),
        "promises": promised,
        "promises_kept": kept,
        "promises_missed": missed,
        "promise_rate": _rate(kept, kept + missed),
    }


def as_percent(fraction):
    """A 0–1 rate as a percentage with one decimal; None stays None."""
    return None if fraction is None else round(100 * fraction, 1)


def complaints_section(start, end, department_id):
    from models.complaints import complaint_stats
    stats = complaint_stats(start, end, department_id)
    return {
        **{key: stats[key] for key in ("total", "handled", "on_time", "called_back", "satisfied")},
        "avg_handling_hours": stats["avg_handling_hours"],
        "handling_rate": as_percent(stats["handling_rate"]),
        "on_time_rate": as_percent(stats["on_time_rate"]),
        "satisfied_rate": as_percent(stats["satisfied_rate"]),
        "by_category": [[key, n] for key, n in stats["by_category"].items()],
        "by_department": [[name or "", n] for name, n in stats["by_department"].items()],
        "by_severity": [[key, n] for key, n in stats["by_severity"].items()],
    }


def callbacks_section(start, end, department_id):
    """Callbacks are customer service's work for the whole company: not split by department."""
    from models.callbacks import callback_stats
    return None if department_id else callback_stats(start, end)


def procurement_section(start, end, department_id):
    from models.procurement.requisitions import procurement_stats
    stats = procurement_stats(start, end, department_id)
    hours = stats["avg_hours_to_approve"]
    return {"count": stats["count"], "approved": stats["approved"], "total_confirmed": str(stats["total_confirmed"]),
            "avg_hours_to_approve": round(hours, 1) if hours is not None else None}


#: (section name, builder(start_utc, end_utc, department_id) -> plain values), in page order.
SECTIONS = [
    ("visitors", visitors_section),
    ("calls", calls_section),
    ("complaints", complaints_section),
    ("callbacks", callbacks_section),
    ("procurement", procurement_section),
]


def repairs_section(start, end, department_id):
    from models.repairs import report_section
    return report_section(start, end, department_id)


SECTIONS.append(("repairs", repairs_section))


def _chart(period, department_id):
    """Per bucket counts of what the department met each day: visits, calls, complaints."""
    from models.calls import Call
    from models.complaints import Complaint
    from models.visitors import Visit
    start, end = period.utc_range()
    series = {}
    sources = {
        "visitors": (Visit.select(), Visit.arrived_at, _department_visits),
        "calls": (Call.select(), Call.taken_at, _department_calls),
        "complaints": (Complaint.select().where(Complaint.voided_at.is_null()), Complaint.created_at,
                       _department_complaints),
    }
    buckets = period.buckets()
    for name, (query, column, of_department) in sources.items():
        if department_id:
            query = of_department(query, department_id)
        per_day = counts_by_local_day(query, column, start, end)
        series[name] = [sum(n for day, n in per_day.items() if first <= day < following)
                        for _label, first, following in buckets]
    return {"labels": [label for label, _first, _following in buckets], "series": series}


#: What turns the stored keys into words, on the page, in print and in the spreadsheets.
LABELS = {"PURPOSES": PURPOSES, "CALL_TYPES": CALL_TYPES, "SEVERITIES": SEVERITIES, "category_label": category_label}

CHART_WIDTH, CHART_HEIGHT = 720, 200


def bar_chart(chart):
    """Server-drawn grouped bars: one group per day or month, one bar per series."""
    labels, series = chart["labels"], chart["series"]
    peak = max([1] + [value for values in series.values() for value in values])
    group = CHART_WIDTH / max(1, len(labels))
    bar = group * 0.8 / max(1, len(series))
    bars = []
    for s_index, (name, values) in enumerate(series.items()):
        for index, value in enumerate(values):
            height = value / peak * (CHART_HEIGHT - 20)
            bars.append({"series": name, "x": round(index * group + group * 0.1 + s_index * bar, 1),
                         "y": round(CHART_HEIGHT - height, 1), "width": round(bar, 1), "height": round(height, 1),
                         "value": value, "label": labels[index]})
    step = max(1, len(labels) // 16)
    ticks = [{"x": round(index * group + group / 2, 1), "label": label}
             for index, label in enumerate(labels) if index % step == 0]
    return {"bars": bars, "ticks": ticks, "peak": peak, "width": CHART_WIDTH, "height": CHART_HEIGHT}


def build(period, department_id=None, progress=None):
    """The report's figures as plain values (JSON-safe)."""
    start, end = period.utc_range()
    sections = {}
    steps = len(SECTIONS) + 1
    for index, (name, builder) in enumerate(SECTIONS):
        sections[name] = builder(start, end, department_id)
        if progress:
            progress(int(100 * (index + 1) / steps))
    return {"kind": period.kind, "key": period.key, "department_id": department_id,
            "built_at": utcnow().isoformat(timespec="seconds"), "sections": sections,
            "chart": _chart(period, department_id)}


class ReportRun(BaseModel):
    """One build of a report; the page polls it while the consumer works."""
    kind = CharField(max_length=8)
    period_key = CharField(max_length=8)
    department = ForeignKeyField(Department, null=True, on_delete="CASCADE", backref="+")
    state = CharField(max_length=8, default="queued")  # queued, running, done, failed
    progress = IntegerField(default=0)
    result = TextField(default="")
    requested_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    created_at = DateTimeField(default=utcnow)
    finished_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("kind", "period_key", "department", "created_at"), False),)

    @property
    def period(self):
        return Period.parse(self.kind, self.period_key)

    @property
    def figures(self):
        return json.loads(self.result) if self.result else None

    @property
    def is_finished(self):
        return self.state in ("done", "failed")


def find_or_start(period, department_id, user, rebuild=False):
    """The run to show for these filters: one still being built or finished a moment
    ago, else a new one (returns (run, is_new); the caller queues a new run)."""
    runs = (ReportRun.select().where(ReportRun.kind == period.kind, ReportRun.period_key == period.key,
                                     ReportRun.department == department_id)
            .order_by(ReportRun.created_at.desc()))
    recent = runs.where(ReportRun.created_at >= utcnow() - dt.timedelta(minutes=REUSE_MINUTES)).first()
    if recent is not None and recent.state != "failed" and not (rebuild and recent.is_finished):
        return recent, False
    with write_transaction():
        run = ReportRun.create(kind=period.kind, period_key=period.key, department=department_id,
                               requested_by=user)
    return run, True


def run_build(run_id):
    """The task's work: build the figures into the run, reporting progress as it goes."""
    run = ReportRun.get_or_none(ReportRun.id == run_id)
    if run is None or run.is_finished:
        return
    ReportRun.update(state="running").where(ReportRun.id == run_id).execute()

    def progress(percent):
        ReportRun.update(progress=percent).where(ReportRun.id == run_id).execute()

    try:
        figures = build(run.period, run.department_id, progress)
    except Exception:
        ReportRun.update(state="failed", finished_at=utcnow()).where(ReportRun.id == run_id).execute()
        raise
    ReportRun.update(state="done", progress=100, result=json.dumps(figures),
                     finished_at=utcnow()).where(ReportRun.id == run_id).execute()


STALE_CLAIM = dt.timedelta(hours=1)


class ReportMailing(BaseModel):
    """Last month's report went out: the claim that makes the mailing happen once."""
    period_key = CharField(max_length=8, unique=True)
    claimed_at = DateTimeField(default=utcnow)
    sent_to = TextField(default="")


def recipients():
    return [address for address in settings.get(RECIPIENTS).replace(",", " ").split() if "@" in address]


def claim_monthly_mailing(today):
    """Last month's period if this process may mail it now, else None. The claim is an
    insert on a unique key, so two consumers, or one catching up after a morning it was
    down, mail the report once; a claim whose mail never went out (the process died)
    may be taken over after STALE_CLAIM."""
    period = Period.containing("month", today).previous()
    now = utcnow()
    try:
        with db.atomic():
            ReportMailing.create(period_key=period.key, claimed_at=now)
        return period
    except IntegrityError:
        pass
    taken_over = (ReportMailing.update(claimed_at=now)
                  .where(ReportMailing.period_key == period.key, ReportMailing.sent_to == "",
                         ReportMailing.claimed_at < now - STALE_CLAIM).execute())
    return period if taken_over else None


def release_monthly_mailing(period):
    """The mail could not go out: let the next run try again."""
    ReportMailing.delete().where(ReportMailing.period_key == period.key, ReportMailing.sent_to == "").execute()


def mark_mailed(period, addresses):
    ReportMailing.update(sent_to=", ".join(addresses)).where(ReportMailing.period_key == period.key).execute()
