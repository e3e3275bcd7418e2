"""The duty desk (值班): the day log, emergency reports and the shift handover (seed 004)."""
import datetime as dt

from flask_babel import lazy_gettext as _l
from peewee import JOIN, BooleanField, CharField, DateField, DateTimeField, ForeignKeyField, IntegerField, TextField

from models import audit, fulltext, settings
from models.base import BaseModel, DomainError, utcnow, write_transaction
from models.notifications import N_, notify
from models.numbering import next_number
from models.personal_copies import remember
from models.timezone import local_now, to_local
from models.users import User

SHIFTS = {"day": _l("Day shift"), "night": _l("Night shift")}

# The kinds of event seed 004 says must always be logged.
ENTRY_KINDS = {
    "complaint_call": _l("Complaint call"),
    "theft": _l("Theft"),
    "accident": _l("Wind, fire, water or electricity accident"),
    "fight": _l("Fight"),
    "staff_violation": _l("Staff violation"),
    "tenant_move": _l("Tenant moving in or out"),
    "construction": _l("Construction work"),
    "other": _l("Other"),
}

audit.name_record_type("duty_day", _l("Duty log day"))
audit.name_record_type("duty_entry", _l("Duty log entry"))
audit.name_record_type("emergency_report", _l("Emergency report"))
audit.name_record_type("handover", _l("Shift handover"))

DUTY = _l("Duty desk")
NIGHT_SHIFT_STARTS = settings.define(
    "night_shift_starts_hour", int, 20, _l("Hour the night shift starts (0–23)"), DUTY, minimum=0, maximum=23)
DAY_SHIFT_STARTS = settings.define(
    "day_shift_starts_hour", int, 8, _l("Hour the day shift starts (0–23)"), DUTY, minimum=0, maximum=23)


class DutyError(DomainError):
    """A rule of the duty desk refused the action."""


def current_shift(now_local=None):
    """(date, shift) of the shift under way; the night shift belongs to the day it began."""
    now_local = now_local or local_now()
    day_start = settings.get(DAY_SHIFT_STARTS)
    night_start = settings.get(NIGHT_SHIFT_STARTS)
    if day_start <= now_local.hour < night_start:
        return now_local.date(), "day"
    if now_local.hour >= night_start:
        return now_local.date(), "night"
    return now_local.date() - dt.timedelta(days=1), "night"


class DutyDay(BaseModel):
    """One page of the log: a date and a shift."""
    date = DateField()
    shift = CharField(max_length=8)
    on_duty = CharField(max_length=200, default="")
    opened_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    opened_at = DateTimeField(default=utcnow)
    signed_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    signed_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("date", "shift"), True),)

    @property
    def is_signed(self):
        return self.signed_at is not None

    @property
    def shift_label(self):
        return SHIFTS.get(self.shift, self.shift)

    def entries(self):
        return (DutyEntry.select(DutyEntry, User).join(User, JOIN.LEFT_OUTER, on=(DutyEntry.created_by == User.id))
                .where(DutyEntry.day == self).order_by(DutyEntry.occurred_at, DutyEntry.id))

    def handovers_with_people(self):
        """The day's handovers with who handed over and who took over, for the day sheet."""
        outgoing, incoming = User.alias(), User.alias()
        return (Handover.select(Handover, outgoing, incoming)
                .join(outgoing, on=(Handover.outgoing == outgoing.id), attr="outgoing")
                .switch(Handover).join(incoming, JOIN.LEFT_OUTER, on=(Handover.incoming == incoming.id), attr="incoming")
                .where(Handover.day == self).order_by(Handover.id))

    def unresolved_major(self):
        return DutyEntry.select().where(DutyEntry.day == self, DutyEntry.major == True,  # noqa: E712
                                        DutyEntry.resolved == False)  # noqa: E712

    @classmethod
    def unsigned(cls):
        return cls.select().where(cls.signed_at.is_null()).order_by(cls.date.desc(), cls.shift)


class DutyEntry(BaseModel):
    day = ForeignKeyField(DutyDay, backref="entry_rows", on_delete="CASCADE")
    occurred_at = DateTimeField()
    kind = CharField(max_length=24)
    what = TextField()
    handling = TextField(default="")
    outcome = TextField(default="")
    major = BooleanField(default=False)
    resolved = BooleanField(default=False)
    # Entries the portal writes by itself say where they came from (e.g. "visitors").
    source = CharField(max_length=32, default="")
    corrects = ForeignKeyField("self", null=True, backref="corrections", on_delete="SET NULL")
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)

    @property
    def kind_label(self):
        return ENTRY_KINDS.get(self.kind, self.kind)


def matching_entries(q):
    """Entries of any day whose text holds the words typed, with their day; the newest first."""
    return (DutyEntry.select(DutyEntry, DutyDay).join(DutyDay)
            .where(fulltext.matches("duty", q))
            .order_by(DutyEntry.occurred_at.desc(), DutyEntry.id.desc()))


fulltext.register("duty", 3, DutyEntry, DutyEntry.what, DutyEntry.handling, DutyEntry.outcome)


def open_day(actor, date, shift, on_duty=""):
    """The page for a date and shift, created on first use."""
    day = DutyDay.get_or_none(DutyDay.date == date, DutyDay.shift == shift)
    if day is not None:
        return day
    with write_transaction():
        # Two tablets may open the shift at the same moment: the unique (date, shift)
        # decides, and the second one reads the page the first one made.
        created = (DutyDay.insert(date=date, shift=shift, on_duty=on_duty or (actor.display_name if actor else ""),
                                  opened_by=actor, opened_at=utcnow())
                   .on_conflict_ignore().execute())
        day = DutyDay.get(DutyDay.date == date, DutyDay.shift == shift)
        if created and day.opened_by_id == (actor.id if actor else None):
            audit.record_create(actor, day)
    return day


def _check_open(day):
    if day.is_signed:
        raise DutyError(_l("This day's log is signed and can no longer be changed. "
                           "Write a correction in today's log that refers to the entry."))


#: How far a typed time may run ahead of the server's clock (the tablet's clock, a minute typed early).
CLOCK_SLACK = dt.timedelta(minutes=5)


def occurred_refusal(occurred_at):
    """Why an event cannot be logged at that moment (naive UTC), or None. The entry form asks
    it too, so the desk sees it together with the form's other errors."""
    if occurred_at > utcnow() + CLOCK_SLACK:
        return _l("The event cannot be in the future.")
    target_date, target_shift = current_shift(to_local(occurred_at))
    target = DutyDay.get_or_none(DutyDay.date == target_date, DutyDay.shift == target_shift)
    if target is not None and target.is_signed:
        return _l("That time belongs to a signed day: entries cannot be back-dated into it.")
    return None


def add_entry(actor, day, occurred_at, kind, what, handling="", outcome="", major=False, source="",
              corrects=None):
    """Log an event. occurred_at is naive UTC; an entry cannot go into a signed day."""
    if kind not in ENTRY_KINDS:
        raise DutyError(_l("Choose the kind of event from the list."), field="kind")
    if refused := occurred_refusal(occurred_at):
        raise DutyError(refused, field="occurred_at")
    with write_transaction():
        day = DutyDay.get_by_id(day.id)
        _check_open(day)
        entry = DutyEntry.create(day=day, occurred_at=occurred_at, kind=kind, what=what, handling=handling,
                                 outcome=outcome, major=major, resolved=bool(outcome.strip()) if major else True,
                                 source=source, corrects=corrects, created_by=actor)
        fulltext.index(entry)
        audit.record_create(actor, entry)
    if major:
        for manager in User.active_with_role("service_manager"):
            notify(manager, N_("Major event in the duty log: %(what)s"), link=("duty.day_page", {"day_id": day.id}),
                   urgent=True, what=what[:80])
    return entry


def record_outcome(actor, entry, outcome, resolved=True):
    """Fill in the final outcome later, possibly by the next shift."""
    with write_transaction():
        entry = DutyEntry.get_by_id(entry.id)
        _check_open(entry.day)
        before = entry.snapshot()
        text_before = fulltext.text_of(entry)
        entry.outcome = outcome
        entry.resolved = resolved
        entry.save()
        fulltext.index(entry, text_before)
        audit.record_change(actor, entry, before)
    return entry


def sign_day(actor, day):
    """The service manager signs a day's log; from then on it is locked."""
    if "service_manager" not in actor.roles:
        raise DutyError(_l("Only the service manager signs the duty log."))
    with write_transaction():
        day = DutyDay.get_by_id(day.id)
        if day.is_signed:
            raise DutyError(_l("This day is signed already."))
        day.signed_by = actor
        day.signed_at = utcnow()
        day.save()
        audit.record_event(actor, "signed", day)
    return day


def log_system_event(kind, what, source, major=False, about=()):
    """For the rest of the portal: an event lands in the log of the shift under way. `about` names
    the record(s) whose personal data `what` copies (models.personal_copies)."""
    date, shift = current_shift()
    day = open_day(None, date, shift)
    if day.is_signed:  # a signed page takes nothing; the next shift's page does
        return None
    with write_transaction():
        entry = add_entry(None, day, utcnow(), kind, what, major=major, source=source)
        remember(entry, about)
    return entry



INCIDENT_PHOTO_MAX_MB = settings.define(
    "incident_photo_max_mb", int, 8, _l("Largest photo in an emergency report (MB)"), DUTY, minimum=1, maximum=50)
INCIDENT_REPORT_MAX_MB = settings.define(
    "incident_report_max_mb", int, 30, _l("All photos of one emergency report together (MB)"), DUTY,
    minimum=1, maximum=60)

NOTIFIED_PARTIES = {
    "duty_leader": _l("Duty leader"),
    "security": _l("Security control room"),
    "fire_brigade": _l("Fire brigade (119)"),
    "police": _l("Police (110)"),
    "ambulance": _l("Ambulance (120)"),
}


class EmergencyReport(BaseModel):
    """紧急情况处理登记表: a major event, written while it happens."""
    number = CharField(max_length=24, unique=True)
    day = ForeignKeyField(DutyDay, backref="emergencies", on_delete="CASCADE")
    entry = ForeignKeyField(DutyEntry, null=True, on_delete="SET NULL")
    occurred_at = DateTimeField()
    place = CharField(max_length=200)
    what = TextField()
    notified = CharField(max_length=200, default="")  # comma-separated keys of NOTIFIED_PARTIES
    actions = TextField(default="")
    casualties = TextField(default="")
    outcome = TextField(default="")
    resolved = BooleanField(default=False)
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)

    @property
    def notified_labels(self):
        return [NOTIFIED_PARTIES.get(key, key) for key in self.notified.split(",") if key]

    def photo_list(self):
        return list(self.photos.order_by(IncidentPhoto.id))


class IncidentPhoto(BaseModel):
    report = ForeignKeyField(EmergencyReport, backref="photos", on_delete="CASCADE")
    stored_name = CharField(max_length=80)
    original_name = CharField(max_length=200, default="")
    size = IntegerField()
    width = IntegerField()
    height = IntegerField()
    uploaded_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    uploaded_at = DateTimeField(default=utcnow)


def create_emergency(actor, occurred_at, place, what, notified, actions, casualties, outcome, photos):
    """Write the report, its photos and its major entry in the log; tell the managers.
    `photos` are (original_name, bytes, format, width, height) already checked."""
    from models.uploads import store_image
    date, shift = current_shift()
    day = open_day(actor, date, shift)
    _check_open(day)
    stored = [(name, store_image("incidents", data, fmt), width, height)
              for name, data, fmt, width, height in photos]
    with write_transaction():
        entry = DutyEntry.create(day=day, occurred_at=occurred_at, kind="other", what=f"{place}：{what}",
                                 handling=actions, outcome=outcome, major=True, resolved=bool(outcome.strip()),
                                 source="emergency", created_by=actor)
        fulltext.index(entry)
        report = EmergencyReport.create(
            number=next_number("JJ"), day=day, entry=entry, occurred_at=occurred_at, place=place, what=what,
            notified=",".join(k for k in notified if k in NOTIFIED_PARTIES), actions=actions,
            casualties=casualties, outcome=outcome, resolved=bool(outcome.strip()), created_by=actor)
        for original, image, width, height in stored:
            IncidentPhoto.create(report=report, stored_name=image.name, original_name=original[:200], size=image.size,
                                 width=width, height=height, uploaded_by=actor)
        audit.record_create(actor, report)
    for manager in User.active_with_role("service_manager"):
        notify(manager, N_("Emergency report %(number)s: %(place)s"), link=("incidents.show", {"report_id": report.id}),
               urgent=True, number=report.number, place=place)
    return report


def resolve_emergency(actor, report, outcome):
    if not outcome.strip():
        raise DutyError(_l("Write the outcome before marking the event resolved."))
    with write_transaction():
        report = EmergencyReport.get_by_id(report.id)
        _check_open(report.day)
        before = report.snapshot()
        report.outcome = outcome
        report.resolved = True
        report.save()
        audit.record_change(actor, report, before)
        if report.entry_id:
            entry = DutyEntry.get_by_id(report.entry_id)
            text_before = fulltext.text_of(entry)
            DutyEntry.update(outcome=outcome, resolved=True).where(DutyEntry.id == report.entry_id).execute()
            entry.outcome = outcome
            fulltext.index(entry, text_before)
    return report


DEFAULT_CUSTODY_ITEMS = ["办公用品", "对讲机", "钥匙", "文件资料", "代管他人物品"]


class Handover(BaseModel):
    """交接班: prepared by the outgoing person, checked face to face, signed by both."""
    day = ForeignKeyField(DutyDay, backref="handovers", on_delete="CASCADE")
    outgoing = ForeignKeyField(User, on_delete="CASCADE", backref="+")
    open_items = TextField(default="")  # causes, progress, outcome so far of what stays open
    instructions = TextField(default="")  # from above, to pass on
    prepared_at = DateTimeField(null=True)
    outgoing_signed_at = DateTimeField(null=True)
    unfit_declared_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    replacement = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    incoming = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    incoming_signed_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)

    @property
    def completed(self):
        return self.incoming_signed_at is not None

    def items(self):
        return list(HandoverItem.select().where(HandoverItem.handover == self).order_by(HandoverItem.id))


class HandoverItem(BaseModel):
    handover = ForeignKeyField(Handover, backref="item_rows", on_delete="CASCADE")
    name = CharField(max_length=80)
    count = IntegerField(null=True)
    note = CharField(max_length=200, default="")


def start_handover(actor, day):
    with write_transaction():
        existing = Handover.get_or_none(Handover.day == day, Handover.incoming_signed_at.is_null())
        if existing:
            return existing
        open_entries = DutyEntry.select().where(DutyEntry.day == day, DutyEntry.resolved == False)  # noqa: E712
        handover = Handover.create(day=day, outgoing=actor, open_items="\n".join(
            f"{to_local_text(e.occurred_at)} {e.what}" for e in open_entries))
        for name in DEFAULT_CUSTODY_ITEMS:
            HandoverItem.create(handover=handover, name=name)
        audit.record_create(actor, handover)
    return handover


def to_local_text(value):
    from models.timezone import to_local
    return to_local(value).strftime("%H:%M")


def prepare_handover(actor, handover, open_items, instructions, counts):
    """Save the preparation; `counts` maps item id -> (count or None, note)."""
    if actor.id != handover.outgoing_id:
        raise DutyError(_l("Only the outgoing person prepares the handover."))
    if handover.outgoing_signed_at:
        raise DutyError(_l("The outgoing person has signed: the preparation can no longer change."))
    with write_transaction():
        before = handover.snapshot()
        handover.open_items = open_items
        handover.instructions = instructions
        for item in handover.items():
            if item.id in counts:
                item.count, item.note = counts[item.id]
                item.save()
        complete = bool(instructions.strip()) and all(item.count is not None for item in handover.items())
        handover.prepared_at = utcnow() if complete else None
        handover.save()
        audit.record_change(actor, handover, before)
    return handover


def handover_blockers(handover):
    """Why the handover cannot be signed yet, as messages for the user."""
    reasons = []
    day = handover.day
    if day.unresolved_major().exists() or EmergencyReport.select().where(
            EmergencyReport.day == day, EmergencyReport.resolved == False).exists():  # noqa: E712
        reasons.append(_l("A major or emergency event of this shift is unresolved: no handover until it is."))
    if handover.prepared_at is None:
        reasons.append(_l("The preparation is incomplete: write the instructions to pass on (or “无”) "
                          "and count every item in custody."))
    return reasons


def sign_outgoing(actor, handover):
    if actor.id != handover.outgoing_id:
        raise DutyError(_l("Only the outgoing person signs here first."))
    blockers = handover_blockers(handover)
    if blockers:
        raise DutyError(blockers[0])
    with write_transaction():
        handover.outgoing_signed_at = utcnow()
        handover.save()
        audit.record_event(actor, "signed_out", handover)
    return handover


def sign_incoming(actor, handover, fit, replacement=None):
    """The incoming person, with their own login, checks and signs; an unfit person
    must name a replacement, who then signs instead."""
    if handover.outgoing_signed_at is None:
        raise DutyError(_l("The outgoing person has not signed yet."))
    if handover.completed:
        raise DutyError(_l("This handover is complete already."))
    if actor.id == handover.outgoing_id:
        raise DutyError(_l("The same person cannot sign as both outgoing and incoming. "
                           "The incoming person logs in with their own account."))
    if handover.replacement_id and actor.id != handover.replacement_id:
        raise DutyError(_l("%(name)s was named as the replacement and must sign.",
                           name=handover.replacement.display_name))
    blockers = handover_blockers(handover)
    if blockers:
        raise DutyError(blockers[0])
    with write_transaction():
        if not fit:
            if replacement is None:
                raise DutyError(_l("You declared you are not fit to take over: name a replacement "
                                   "before the handover can go on."))
            if replacement.id in (actor.id, handover.outgoing_id):
                raise DutyError(_l("The replacement must be someone else."))
            handover.unfit_declared_by = actor
            handover.replacement = replacement
            handover.save()
            audit.record_event(actor, "declared_unfit", handover,
                               changes={"replacement": [None, replacement.display_name]})
            return handover
        handover.incoming = actor
        handover.incoming_signed_at = utcnow()
        handover.save()
        audit.record_event(actor, "signed_in", handover)
    return handover
