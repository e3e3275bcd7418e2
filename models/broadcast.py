"""The broadcast programme (播音, seeds 002 and 004): the daily programme as data (time slots in
local time, a weekday and a holiday variant), the scripts in Chinese and Russian with their
versions, and the log of each slot of each day (done, missed with the reason, or not recorded).

A script is broadcast only in a version a supervisor approved: editing makes a new version
that waits for approval while the approved one stays on air. The broadcaster's screen reads
`now_and_next`, which only ever hands out approved versions."""
import datetime as dt

from flask_babel import lazy_gettext as _l
from peewee import (
    JOIN, CharField, DateField, DateTimeField, ForeignKeyField, IntegerField, IntegrityError, TextField,
)

from models import audit, settings
from models.base import BaseModel, DomainError, Transition, VersionedModel, VoidableModel, db, utcnow, write_transaction
from models.notifications import N_, notify
from models.numbering import next_number
from models.timezone import day_start_utc, to_local, to_utc
from models.users import User

audit.name_record_type("broadcast_script", _l("Broadcast script"))
audit.name_record_type("script_version", _l("Broadcast script version"))
audit.name_record_type("programme_slot", _l("Broadcast programme slot"))
audit.name_record_type("broadcast_log", _l("Broadcast record"))
audit.ACTION_LABELS.update({"script_superseded": _l("Script version superseded"),
                            "broadcast_unrecorded": _l("Unrecorded broadcasts: supervisor told")})

BROADCAST = _l("Broadcasting")
SCREEN_REFRESH_SECONDS = settings.define(
    "broadcast_screen_refresh_seconds", int, 30, _l("The broadcaster's screen refreshes every (seconds)"), BROADCAST,
    minimum=5, maximum=300)

#: What plays in a slot. Music needs no script; a promotion slot takes the next approved
#: promotion in turn; the other kinds read their own script.
KINDS = {
    "music": _l("Music"),
    "welcome": _l("Welcome message"),
    "weather": _l("Weather and reminders"),
    "promotion": _l("Vendors' promotion"),
    "greeting": _l("Holiday greeting"),
    "reminder": _l("Reminder"),
    "farewell": _l("Farewell"),
}
SCRIPT_KINDS = {k: v for k, v in KINDS.items() if k != "music"}
ROTATING = "promotion"
#: Seed 002: the 送宾曲 moves later on weekends and event days; public holidays follow the weekend.
VARIANTS = {"weekday": _l("Weekdays"), "holiday": _l("Weekends and holidays")}
STATES = {"pending": _l("Waiting for approval"), "approved": _l("Approved, on air"),
          "returned": _l("Returned for changes"), "superseded": _l("Superseded")}
OUTCOMES = {"done": _l("Aired"), "missed": _l("Missed")}
#: What a slot of a day shows in the log and on the screen.
STATUS = {"done": _l("Aired"), "missed": _l("Missed"), "not_recorded": _l("Not recorded"), "due": _l("Due now"),
          "upcoming": _l("Upcoming")}
APPROVERS = frozenset({"service_manager"})
UNRECORDED_ALERT_MINUTES = settings.define(
    "broadcast_unrecorded_alert_minutes", int, 30,
    _l("Tell the supervisor of slots left unrecorded this many minutes after the day's last slot"), BROADCAST,
    minimum=0, maximum=600)
MONTH_ROWS = 2000  # a month's log: 31 days of a long programme, a cap all the same


class BroadcastError(DomainError):
    """A refused step; the message is for the user, `field` the form field it concerns."""


TRANSITIONS = {
    "approve": Transition(_l("Approve for broadcast"), ("pending",), "approved", APPROVERS),
    "return": Transition(_l("Return for changes"), ("pending",), "returned", APPROVERS, note_required=True,
                         note_label=_l("What to change")),
}


class Script(VoidableModel):
    number = CharField(max_length=20, unique=True)
    kind = CharField(max_length=12, index=True)
    title = CharField(max_length=80)
    title_ru = CharField(max_length=80, default="")
    vendor = CharField(max_length=80, default="")  # the vendor a promotion is for
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")

    @property
    def kind_label(self):
        return KINDS.get(self.kind, self.kind)


class ScriptVersion(VersionedModel):
    script = ForeignKeyField(Script, backref="versions", on_delete="RESTRICT")
    seq = IntegerField()
    text_zh = TextField()
    text_ru = TextField()
    state = CharField(max_length=10, default="pending", index=True)
    written_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    written_at = DateTimeField(default=utcnow)
    decided_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    decided_at = DateTimeField(null=True)
    note = TextField(default="")

    error = BroadcastError

    class Meta:
        indexes = ((("script", "seq"), True),)

    @property
    def state_label(self):
        return STATES.get(self.state, self.state)

    def actions_for(self, user):
        return [(name, t) for name, t in TRANSITIONS.items() if refusal(self, name, user) is None]


class ProgrammeSlot(VoidableModel):
    """One line of the programme: from `starts` to `ends` (local "HH:MM") on the days of its variant.
    Changing the programme voids a line and adds another, so a past day's log keeps the lines
    that were in force that day."""
    variant = CharField(max_length=10, index=True)
    starts = CharField(max_length=5)
    ends = CharField(max_length=5)
    kind = CharField(max_length=12)
    title = CharField(max_length=80)
    script = ForeignKeyField(Script, null=True, on_delete="RESTRICT", backref="slots")
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")

    @property
    def kind_label(self):
        return KINDS.get(self.kind, self.kind)

    @property
    def start_time(self):
        return _clock(self.starts)

    @property
    def end_time(self):
        return _clock(self.ends)


class BroadcastLog(BaseModel):
    """What happened to one slot on one day; once per slot and day (the unique index decides)."""
    day = DateField(index=True)
    slot = ForeignKeyField(ProgrammeSlot, on_delete="RESTRICT", backref="log")
    outcome = CharField(max_length=8)
    reason = TextField(default="")
    aired = ForeignKeyField(ScriptVersion, null=True, on_delete="RESTRICT", backref="+")
    recorded_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    recorded_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("day", "slot"), True),)

    @property
    def outcome_label(self):
        return OUTCOMES.get(self.outcome, self.outcome)


class BroadcastDayCheck(BaseModel):
    """The end-of-day check, once per day: the unique day is the sweep's mark."""
    day = DateField(unique=True)
    checked_at = DateTimeField(default=utcnow)
    unrecorded = IntegerField(default=0)


def _clock(text):
    hour, minute = (int(part) for part in text.split(":"))
    return dt.time(hour, minute)


def parse_clock(text, field):
    """"9:30" or "09:30" -> "09:30"; BroadcastError for the field otherwise."""
    text = (text or "").strip().replace("：", ":")
    try:
        hour, minute = (int(part) for part in text.split(":"))
        value = dt.time(hour, minute)
    except ValueError:
        raise BroadcastError(_l("Enter a time like 09:30."), field=field) from None
    return f"{value:%H:%M}"


# ---------------------------------------------------------------- the days

def variant_for(day):
    """Weekday or holiday programme: a public holiday of the working calendar, or a weekend day
    that is not a make-up working day (调休), plays the holiday variant."""
    return _variants([day])[day]


def _variants(days):
    """{day: variant} for the days, reading the working calendar once."""
    from models.worktime import HOLIDAY, WORKDAY, CalendarDay
    marked = {row.day: row.kind for row in CalendarDay.select().where(CalendarDay.day.in_(list(days)))}
    return {day: "holiday" if marked.get(day) == HOLIDAY else "weekday" if marked.get(day) == WORKDAY
            else _weekend(day) for day in days}


def _weekend(day):
    return "holiday" if day.weekday() >= 5 else "weekday"


def moment(day, clock):
    """A local clock time of a day, as naive UTC."""
    return to_utc(dt.datetime.combine(day, clock))


def slots_in_force(variant, day):
    """The programme lines of a variant that applied on `day`, ordered by start."""
    return [slot for slot in _slots_between(day, day) if slot.variant == variant and _in_force(slot, day)]


def _slots_between(first, last):
    """Every programme line that existed at some time between the two days (both included)."""
    start, end = day_start_utc(first), day_start_utc(last + dt.timedelta(days=1))
    return list(ProgrammeSlot.select(ProgrammeSlot, Script)
                .join(Script, JOIN.LEFT_OUTER, on=(ProgrammeSlot.script == Script.id))
                .where(ProgrammeSlot.created_at < end,
                       ProgrammeSlot.voided_at.is_null() | (ProgrammeSlot.voided_at >= start))
                .order_by(ProgrammeSlot.starts, ProgrammeSlot.id))


def _in_force(slot, day):
    """A line counts on a day when it was added before its end that day and not voided before it."""
    ends_at = moment(day, slot.end_time)
    return slot.created_at < ends_at and (slot.voided_at is None or slot.voided_at >= ends_at)


def current_slots(variant):
    """The programme as it stands (the page that edits it)."""
    return list(ProgrammeSlot.select(ProgrammeSlot, Script)
                .join(Script, JOIN.LEFT_OUTER, on=(ProgrammeSlot.script == Script.id))
                .where(ProgrammeSlot.variant == variant, ProgrammeSlot.voided_at.is_null())
                .order_by(ProgrammeSlot.starts, ProgrammeSlot.id))


def on_air_versions(script_ids=None):
    """{script id: its approved version} — the only texts that may be broadcast."""
    query = (ScriptVersion.select(ScriptVersion, Script)
             .join(Script, on=(ScriptVersion.script == Script.id))
             .where(ScriptVersion.state == "approved", Script.voided_at.is_null()))
    if script_ids is not None:
        query = query.where(ScriptVersion.script.in_(list(script_ids)))
    return {v.script_id: v for v in query}


def promotions_on_air():
    """The approved promotions, in a fixed order (the rotation's)."""
    versions = (ScriptVersion.select(ScriptVersion, Script)
                .join(Script, on=(ScriptVersion.script == Script.id))
                .where(ScriptVersion.state == "approved", Script.kind == ROTATING, Script.voided_at.is_null())
                .order_by(Script.id))
    return list(versions)


def rotation(day, count, promotions):
    """The promotions of a day's `count` promotion slots: round robin, continuing from the day
    before, so the same date always gives the same order and every vendor gets its turn."""
    if not promotions:
        return [None] * count
    first = day.toordinal() * count
    return [promotions[(first + k) % len(promotions)] for k in range(count)]


class Entry:
    """One slot on one day: its moments, the approved text it reads (None for music, or when no
    version is approved), what was recorded and its status at `now`."""

    def __init__(self, day, slot, version, log, now):
        self.day, self.slot, self.version, self.log = day, slot, version, log
        self.starts_at = moment(day, slot.start_time)
        self.ends_at = moment(day, slot.end_time)
        if log is not None:
            self.status = log.outcome
        elif now >= self.ends_at:
            self.status = "not_recorded"
        elif now >= self.starts_at:
            self.status = "due"
        else:
            self.status = "upcoming"

    @property
    def status_label(self):
        return STATUS[self.status]

    @property
    def needs_script(self):
        return self.slot.kind != "music"

    @property
    def recordable(self):
        return self.log is None and self.status in ("due", "not_recorded")


def day_programme(day, now=None):
    """Every slot of the day's programme with its approved text and its log: [Entry]."""
    return programmes([day], now)[day]


def programmes(days, now=None):
    """{day: [Entry]} for consecutive days, in a fixed number of queries however many days: the
    lines, the calendar, the texts on air, the records and what they aired, each read once."""
    now = now or utcnow()
    if not days:
        return {}
    first, last = min(days), max(days)
    lines = _slots_between(first, last)
    variants = _variants(days)
    versions = on_air_versions({s.script_id for s in lines if s.script_id})
    promotions = promotions_on_air()
    logs = {(row.day, row.slot_id): row for row in
            BroadcastLog.select(BroadcastLog, User)
            .join(User, JOIN.LEFT_OUTER, on=(BroadcastLog.recorded_by == User.id))
            .where(BroadcastLog.day.between(first, last))}
    # What was read is what the record says (the rotation and the texts may have moved on since).
    aired = {v.id: v for v in ScriptVersion.select(ScriptVersion, Script)
             .join(Script, on=(ScriptVersion.script == Script.id))
             .where(ScriptVersion.id.in_([row.aired_id for row in logs.values() if row.aired_id]))}
    result = {}
    for day in days:
        slots = [slot for slot in lines if slot.variant == variants[day] and _in_force(slot, day)]
        turn = iter(rotation(day, sum(1 for s in slots if s.kind == ROTATING), promotions))
        entries = []
        for slot in slots:
            if slot.kind == ROTATING:
                version = next(turn)
            elif slot.kind == "music" or not slot.script_id:
                version = None
            else:
                version = versions.get(slot.script_id)
            log = logs.get((day, slot.id))
            if log is not None and log.aired_id:
                version = aired.get(log.aired_id, version)
            entries.append(Entry(day, slot, version, log, now))
        result[day] = entries
    return result


def now_and_next(now=None):
    """What the broadcaster's screen shows: (the day's entries, the ones due now, the next one,
    the earlier ones of today left unrecorded)."""
    now = now or utcnow()
    day = to_local(now).date()
    entries = day_programme(day, now)
    due = [e for e in entries if e.starts_at <= now < e.ends_at]
    following = next((e for e in entries if e.starts_at > now), None)
    behind = [e for e in entries if e.status == "not_recorded"]
    return entries, due, following, behind


def screen_tag(now=None):
    """What the screen's ETag stands for: the day, the slots due and next, the texts on air, the
    records. When none of these changed, the screen has nothing new to show."""
    entries, due, following, behind = now_and_next(now)
    return "|".join([
        str(entries[0].day if entries else to_local(now or utcnow()).date()),
        ",".join(f"{e.slot.id}:{e.status}:{e.version.id if e.version else 0}:{e.version.version if e.version else 0}"
                 for e in entries),
        ",".join(str(e.slot.id) for e in due), str(following.slot.id if following else 0),
    ])


# ---------------------------------------------------------------- recording

def record(actor, slot_id, outcome, reason="", now=None):
    """Record today's slot as broadcast or missed (a missed one with the reason). Only a slot
    that has begun, once; a script with no approved version cannot be recorded as broadcast."""
    now = now or utcnow()
    reason = (reason or "").strip()
    if outcome not in OUTCOMES:
        raise BroadcastError(_l("Choose broadcast done or missed."))
    if outcome == "missed" and not reason:
        raise BroadcastError(_l("Say why it was missed."), field="reason")
    day = to_local(now).date()
    entry = next((e for e in day_programme(day, now) if e.slot.id == slot_id), None)
    if entry is None:
        raise BroadcastError(_l("This slot is not in today's programme."))
    if entry.log is not None:
        raise BroadcastError(_l("This slot was already recorded: %(outcome)s.", outcome=entry.log.outcome_label))
    if entry.status == "upcoming":
        raise BroadcastError(_l("This slot has not begun yet (%(time)s).", time=entry.slot.starts))
    if outcome == "done" and entry.needs_script and entry.version is None:
        raise BroadcastError(_l("No approved script for this slot: it may not be broadcast. "
                                "Record it as missed, with the reason."))
    with write_transaction():
        try:
            with db.atomic():
                row = BroadcastLog.create(day=day, slot=entry.slot, outcome=outcome,
                                          reason=reason if outcome == "missed" else "",
                                          aired=entry.version if outcome == "done" else None,
                                          recorded_by=actor, recorded_at=now)
        except IntegrityError:
            raise BroadcastError(_l("This slot was already recorded meanwhile.")) from None
        audit.record_create(actor, row)
    return row


def month_log(period, now=None):
    """Every slot of every day of a month up to today: [(day, [Entry])] (the supervisor's check and
    the printed log)."""
    now = now or utcnow()
    today = to_local(now).date()
    days = [period.start + dt.timedelta(days=n) for n in range((period.end - period.start).days)
            if period.start + dt.timedelta(days=n) <= today]
    by_day = programmes(days, now)
    return [(day, by_day[day]) for day in days]


def summary(entries):
    """{"done", "missed", "not_recorded", "total"} of a day's entries that have begun."""
    counts = {"done": 0, "missed": 0, "not_recorded": 0, "due": 0, "upcoming": 0}
    for entry in entries:
        counts[entry.status] += 1
    counts["total"] = len(entries)
    return counts


# ---------------------------------------------------------------- scripts

def _texts(text_zh, text_ru):
    text_zh, text_ru = (text_zh or "").strip(), (text_ru or "").strip()
    if not text_zh:
        raise BroadcastError(_l("Write the Chinese text."), field="text_zh")
    if not text_ru:
        raise BroadcastError(_l("Write the Russian text: the broadcast is in both languages."), field="text_ru")
    return text_zh, text_ru


def _ask_for_approval(version):
    for manager in User.active_with_role("service_manager"):
        notify(manager, N_("Broadcast script %(number)s (version %(seq)s) waits for your approval."),
               ("broadcast.script", {"script_id": version.script_id}), number=version.script.number, seq=version.seq)


def create_script(actor, *, kind, title, title_ru="", vendor="", text_zh="", text_ru=""):
    """A new script and its first version, waiting for the supervisor's approval."""
    if kind not in SCRIPT_KINDS:
        raise BroadcastError(_l("Choose what the script is for."), field="kind")
    title = (title or "").strip()
    if not title:
        raise BroadcastError(_l("Give the script a title."), field="title")
    text_zh, text_ru = _texts(text_zh, text_ru)
    with write_transaction():
        script = Script.create(number=next_number("GB"), kind=kind, title=title, title_ru=(title_ru or "").strip(),
                               vendor=(vendor or "").strip(), created_by=actor)
        audit.record_create(actor, script)
        version = ScriptVersion.create(script=script, seq=1, text_zh=text_zh, text_ru=text_ru, written_by=actor)
        audit.record_create(actor, version)
        _ask_for_approval(version)
    return script


def latest_version(script):
    return script.versions.order_by(ScriptVersion.seq.desc()).first()


def edit_script(actor, script_id, seen_seq, *, text_zh, text_ru):
    """A new version of the text, waiting for approval; the approved version stays on air until
    then. A version still waiting is superseded by the new one. `seen_seq` is the version the
    writer started from: of two editors at once, the second is told."""
    text_zh, text_ru = _texts(text_zh, text_ru)
    with write_transaction():
        script = Script.get_or_none(Script.id == script_id)
        if script is None or script.is_void:
            raise BroadcastError(_l("No such script."))
        latest = latest_version(script)
        if latest is not None and latest.seq != seen_seq:
            raise BroadcastError(_l("Someone else changed this script meanwhile; look at it again."))
        if latest is not None and (latest.text_zh, latest.text_ru) == (text_zh, text_ru):
            raise BroadcastError(_l("The text is the same as version %(seq)s.", seq=latest.seq), field="text_zh")
        for waiting in script.versions.where(ScriptVersion.state == "pending"):
            before = waiting.snapshot()
            waiting.update_versioned(waiting.version, {ScriptVersion.state: "superseded"})
            audit.record_event(actor, "script_superseded", waiting, changes={"state": [before["state"], "superseded"]})
        try:
            with db.atomic():
                version = ScriptVersion.create(script=script, seq=(latest.seq if latest else 0) + 1, text_zh=text_zh,
                                               text_ru=text_ru, written_by=actor)
        except IntegrityError:
            raise BroadcastError(_l("Someone else changed this script meanwhile; look at it again.")) from None
        audit.record_create(actor, version)
        _ask_for_approval(version)
    return version


def refusal(version, action, user):
    transition = TRANSITIONS.get(action)
    if transition is None:
        return _l("Unknown action.")
    if version.state not in transition.sources:
        return _l("This cannot be done to a script version that is “%(state)s”.", state=STATES[version.state])
    if not set(user.roles) & transition.roles:
        return _l("Only the supervisor approves broadcast scripts.")
    return None


def apply(version_id, action, actor, version, note=""):
    """Approve or return one version: checked, stamped, audited. Approving puts it on air and
    supersedes the version that was on air before."""
    note = (note or "").strip()
    with write_transaction():
        record_ = ScriptVersion.load(version_id, version)
        reason = refusal(record_, action, actor)
        if reason:
            raise BroadcastError(reason)
        transition = TRANSITIONS[action]
        if transition.note_required and not note:
            raise BroadcastError(_l("Say what to change."), field="note")
        now = utcnow()
        if action == "approve":
            for old in (ScriptVersion.select().where(ScriptVersion.script == record_.script_id,
                                                     ScriptVersion.state == "approved")):
                before = old.snapshot()
                old.update_versioned(old.version, {ScriptVersion.state: "superseded"})
                audit.record_event(actor, "script_superseded", old, changes={"state": [before["state"], "superseded"]})
        before = record_.snapshot()
        updated = record_.update_versioned(version, {ScriptVersion.state: transition.target,
                                                     ScriptVersion.decided_by: actor, ScriptVersion.decided_at: now,
                                                     ScriptVersion.note: note})
        audit.record_change(actor, updated, before)
        if action == "return" and updated.written_by_id and updated.written_by_id != actor.id:
            notify(updated.written_by, N_("Broadcast script %(number)s was returned: %(note)s"),
                   ("broadcast.script", {"script_id": updated.script_id}), number=updated.script.number, note=note)
    return updated


def script_list():
    """The scripts in use, by kind (a query: the page shows them fifty at a time)."""
    return Script.select().where(Script.voided_at.is_null()).order_by(Script.kind, Script.id)


def scripts(rows=None):
    """Each script with its version on air and its newest version: [(script, on air, newest)]."""
    rows = list(script_list() if rows is None else rows)
    ids = [s.id for s in rows]
    versions = {}
    for v in ScriptVersion.select().where(ScriptVersion.script.in_(ids)).order_by(ScriptVersion.seq):
        versions.setdefault(v.script_id, []).append(v)
    result = []
    for script in rows:
        own = versions.get(script.id, [])
        result.append((script, next((v for v in own if v.state == "approved"), None), own[-1] if own else None))
    return result


# ---------------------------------------------------------------- the programme

#: Lines of one variant's programme, at most: seed 002's day has fourteen.
MAX_SLOTS = 100


def add_slot(actor, *, variant, starts, ends, kind, title, script_id=None):
    """A new line of a variant's programme; lines of one variant never overlap (one voice on air)."""
    if variant not in VARIANTS:
        raise BroadcastError(_l("Choose the days this line plays."), field="variant")
    if len(current_slots(variant)) >= MAX_SLOTS:
        raise BroadcastError(_l("A programme has at most %(n)d lines: take one out first.", n=MAX_SLOTS),
                             field="starts")
    starts, ends = parse_clock(starts, "starts"), parse_clock(ends, "ends")
    if ends <= starts:
        raise BroadcastError(_l("The end is not after the start."), field="ends")
    if kind not in KINDS:
        raise BroadcastError(_l("Choose what plays."), field="kind")
    title = (title or "").strip()
    script = None
    if kind not in ("music", ROTATING):
        script = Script.get_or_none(Script.id == script_id, Script.voided_at.is_null()) if script_id else None
        if script is None:
            raise BroadcastError(_l("Choose the script this line reads."), field="script")
        title = title or script.title
    if not title:
        raise BroadcastError(_l("Say what plays, e.g. 迎宾曲."), field="title")
    with write_transaction():
        for other in current_slots(variant):
            if other.starts < ends and starts < other.ends:
                raise BroadcastError(_l("It overlaps %(start)s–%(end)s %(title)s.", start=other.starts,
                                        end=other.ends, title=other.title), field="starts")
        slot = ProgrammeSlot.create(variant=variant, starts=starts, ends=ends, kind=kind, title=title, script=script,
                                    created_by=actor)
        audit.record_create(actor, slot)
    return slot


def void_slot(actor, slot_id, reason):
    reason = (reason or "").strip()
    if not reason:
        raise BroadcastError(_l("Give the reason."), field="reason")
    with write_transaction():
        slot = ProgrammeSlot.get_or_none(ProgrammeSlot.id == slot_id)
        if slot is None or slot.is_void:
            raise BroadcastError(_l("This line is no longer in the programme."))
        audit.void(actor, slot, reason)
    return slot


# ---------------------------------------------------------------- the end-of-day check

UNRECORDED = N_("%(count)s broadcast slots of %(day)s were left unrecorded.")


def check_day(now=None):
    """After the day's last slot (and the setting's minutes), tell the supervisors once how many
    slots were left unrecorded: the day's mark and the messages commit together, so a rerun, or
    a run after the consumer was down, sends nothing twice and misses nothing of today."""
    now = now or utcnow()
    day = to_local(now).date()
    entries = day_programme(day, now)
    if not entries:
        return 0
    if now < max(e.ends_at for e in entries) + dt.timedelta(minutes=settings.get(UNRECORDED_ALERT_MINUTES)):
        return 0
    if BroadcastDayCheck.select().where(BroadcastDayCheck.day == day).exists():
        return 0
    missing = sum(1 for e in entries if e.status == "not_recorded")
    with write_transaction():
        try:
            with db.atomic():
                mark = BroadcastDayCheck.create(day=day, checked_at=now, unrecorded=missing)
        except IntegrityError:
            return 0  # another sweep marked it first
        if missing:
            for manager in User.active_with_role("service_manager"):
                notify(manager, UNRECORDED, ("broadcast.log", {"day": day.isoformat()}), count=missing,
                       day=day.isoformat())
            audit.record_event(None, "broadcast_unrecorded", mark, changes={"unrecorded": [None, missing]})
    return 1

