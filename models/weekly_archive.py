"""The weekly complaint archive (投诉信息每周汇总建立档案, seed 002): each week's complaints,
Monday to Sunday in the configured zone, summarised once on the first working day of the
next week and kept as a printed snapshot beside the monthly reports.

The archive row is the mark: one per week (a unique key), inserted in the same transaction
that takes its number and stores the PDF, so a sweep that runs twice, on two consumers at
once, or days late after an outage, archives each week exactly once. The PDF is stored, not
rebuilt: later changes to the complaints do not rewrite what was archived."""
import datetime as dt
import json
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from peewee import BlobField, CharField, DateField, DateTimeField, IntegerField, IntegrityError, TextField, fn

from models import audit, complaints, worktime
from models.base import BaseModel, utcnow, write_transaction
from models.complaints import OPEN_STATES, STATES, Complaint, ComplaintEvent, ComplaintPause
from models.numbering import next_number
from models.timezone import day_start_utc, to_local
from models.users import User

DOC_TYPE = "TSZ"
#: A week whose next week has no working day at all (every weekday empty, or a long
#: holiday) is archived on the first working day after it, looked for this far ahead.
SEARCH_DAYS = 60
#: A first run over years of complaints archives them a few weeks per sweep, oldest first,
#: so one run never holds the consumer for long.
WEEKS_PER_RUN = 8

audit.name_record_type("weekly_archive", _l("Weekly complaint archive"))

#: What an open complaint waits for, by state (the print words them in Chinese).
WAITING = {
    "received": "acknowledge", "acknowledged": "assign", "assigned": "sign", "accepted": "handle",
    "reopened": "assign", "handled": "report", "result_reported": "inform", "customer_informed": "callback",
    "callback": "close",
}
#: The steps whose note says what came of a complaint, the latest first.
OUTCOME_ACTIONS = ("report", "handle")


@dataclass(frozen=True)
class Week:
    """A calendar week, Monday to Sunday, in the configured zone."""
    start: dt.date  # a Monday

    @classmethod
    def containing(cls, day):
        return cls(day - dt.timedelta(days=day.weekday()))

    @property
    def end(self):
        """The first day after the week: the next Monday."""
        return self.start + dt.timedelta(days=7)

    @property
    def last_day(self):
        return self.start + dt.timedelta(days=6)

    @property
    def key(self):
        year, week, _weekday = self.start.isocalendar()
        return f"{year}-W{week:02d}"

    def following(self):
        return Week(self.end)

    def utc_range(self):
        return day_start_utc(self.start), day_start_utc(self.end)

    def due_on(self, calendar):
        """The first working day of the next week (a Monday holiday moves it on)."""
        day = self.end
        for _ in range(SEARCH_DAYS):
            if calendar.is_working_day(day):
                return day
            day += dt.timedelta(days=1)
        return self.end


class WeeklyArchive(BaseModel):
    """One week's archived summary: its figures as plain values and the PDF as printed then."""
    week_start = DateField(unique=True)
    number = CharField(max_length=20, unique=True)
    total = IntegerField(default=0)
    still_open = IntegerField(default=0)
    figures = TextField(default="")
    pdf = BlobField(null=True)
    created_at = DateTimeField(default=utcnow, index=True)

    audit_exclude = ("figures", "pdf")

    @property
    def week(self):
        return Week(self.week_start)

    @property
    def summary(self):
        return json.loads(self.figures) if self.figures else None


def listing():
    """The archives, newest week first, without their PDFs (a list never loads the files)."""
    return (WeeklyArchive.select(WeeklyArchive.id, WeeklyArchive.week_start, WeeklyArchive.number,
                                 WeeklyArchive.total, WeeklyArchive.still_open, WeeklyArchive.created_at)
            .order_by(WeeklyArchive.week_start.desc()))


def due_weeks(today, calendar=None):
    """The weeks whose archive is due by `today` (a local date) and not yet made, oldest first:
    from the week of the first complaint (or the last week, when there is none yet)."""
    calendar = calendar or worktime.calendar()
    last = Week.containing(today - dt.timedelta(days=7))
    while last.due_on(calendar) > today:
        last = Week(last.start - dt.timedelta(days=7))
    first_taken = Complaint.select(fn.MIN(Complaint.created_at)).scalar()
    first = Week.containing(to_local(first_taken).date()) if first_taken else last
    done = {row.week_start for row in WeeklyArchive.select(WeeklyArchive.week_start)
            .where(WeeklyArchive.week_start >= first.start)}
    weeks, week = [], first
    while week.start <= last.start:
        if week.start not in done:
            weeks.append(week)
        week = week.following()
    return weeks


def _local(moment, fmt="%Y-%m-%d %H:%M"):
    return to_local(moment).strftime(fmt) if moment else ""


def _notes(complaint_ids):
    """complaint id -> {action: the latest note of that step}, in one query."""
    notes = {}
    if not complaint_ids:
        return notes
    events = (ComplaintEvent.select(ComplaintEvent.complaint, ComplaintEvent.action, ComplaintEvent.note)
              .where(ComplaintEvent.complaint.in_(complaint_ids), ComplaintEvent.note != "")
              .order_by(ComplaintEvent.at, ComplaintEvent.id))
    for event in events:
        notes.setdefault(event.complaint_id, {})[event.action] = event.note
    return notes


def _handlers(complaints_):
    ids = {c.handler_id for c in complaints_ if c.handler_id}
    return {u.id: u.display_name for u in User.select(User.id, User.display_name).where(User.id.in_(ids))} if ids else {}


def _open_pauses(complaint_ids):
    if not complaint_ids:
        return {}
    return {p.complaint_id: p for p in ComplaintPause.select().where(ComplaintPause.complaint.in_(complaint_ids),
                                                                    ComplaintPause.ended_at.is_null())}


def snapshot(week, now=None):
    """The week's complaints as they stand now, as plain values (what the archive prints)."""
    now = now or utcnow()
    start, end = week.utc_range()
    rows = list(complaints.register(start, end))
    stats = complaints.complaint_stats(start, end)
    ids = [c.id for c in rows]
    outcomes = complaints.callback_outcomes(ids)
    notes, handlers = _notes(ids), _handlers(rows)
    open_rows = [c for c in rows if c.state in OPEN_STATES]
    pauses = _open_pauses([c.id for c in open_rows if c.is_paused])
    by_state = {}
    for c in rows:
        by_state[c.state] = by_state.get(c.state, 0) + 1
    listed, still_open = [], []
    for c in rows:
        said = notes.get(c.id, {})
        listed.append({
            "number": c.number, "received": _local(c.created_at, "%m-%d %H:%M"), "customer": c.customer.name,
            "vip": c.customer.is_vip, "category": c.category, "severity": c.severity,
            "department": c.department.name if c.department_id else "", "state": c.state,
            "outcome": next((said[action] for action in OUTCOME_ACTIONS if action in said), ""),
            "callback": outcomes.get(c.id, ""),
        })
    for c in open_rows:
        said = notes.get(c.id, {})
        pause = pauses.get(c.id)
        still_open.append({
            "number": c.number, "state": c.state, "waiting": WAITING.get(c.state, ""),
            "department": c.department.name if c.department_id else "",
            "handler": handlers.get(c.handler_id, ""),
            "paused_since": _local(c.paused_at) if c.paused_at else "",
            "paused_for": said.get("pause", "") if pause else "",
            "unsatisfied": said.get("unsatisfied", "") if c.state == "reopened" else "",
            "due": _local(c.due_at), "overdue": c.is_overdue(now),
        })
    earlier_open = (Complaint.select().where(Complaint.created_at < start, Complaint.voided_at.is_null(),
                                             Complaint.state.in_(OPEN_STATES)).count())
    return {
        "week": week.key, "start": week.start.isoformat(), "last_day": week.last_day.isoformat(),
        "archived_at": _local(now),
        "total": stats["total"], "handled": stats["handled"], "on_time": stats["on_time"],
        "called_back": stats["called_back"], "satisfied": stats["satisfied"],
        "avg_handling_hours": stats["avg_handling_hours"],
        "by_category": [[key, n] for key, n in stats["by_category"].items()],
        "by_department": [[name or "", n] for name, n in stats["by_department"].items()],
        "by_severity": [[key, n] for key, n in stats["by_severity"].items()],
        "by_state": [[state, by_state[state]] for state in STATES if state in by_state],
        "complaints": listed, "open": still_open, "earlier_open": earlier_open,
    }


def archive_week(week, render):
    """Archive one week: the row (the mark), its number, its figures and the PDF that
    `render(archive, figures)` prints, all in one transaction. None when the week was
    archived already (another run got there first)."""
    try:
        with write_transaction():
            now = utcnow()
            figures = snapshot(week, now)
            archive = WeeklyArchive.create(week_start=week.start, number=next_number(DOC_TYPE),
                                           total=figures["total"], still_open=len(figures["open"]),
                                           figures=json.dumps(figures, ensure_ascii=False), created_at=now)
            archive.pdf = render(archive, figures)
            archive.save(only=[WeeklyArchive.pdf])
            audit.record_create(None, archive)
    except IntegrityError:
        return None
    return archive


def sweep(today, render, limit=WEEKS_PER_RUN):
    """Archive what is due by `today` (a local date); returns the archives made."""
    made = []
    for week in due_weeks(today)[:limit]:
        archive = archive_week(week, render)
        if archive is not None:
            made.append(archive)
    return made
