"""Visitor reception (来访接待): visits, appointments (预约) and the watchlist."""
import datetime as dt
from dataclasses import dataclass

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from peewee import JOIN, BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, TextField, fn

from models import audit, settings
from models.base import BaseModel, DomainError, VersionedModel, starts_with, utcnow, write_transaction
from models.notifications import N_, Notification, notify
from models.numbering import next_number
from models.phones import SEPARATORS
from models.pinyin import PinyinNamed, typed_key
from models.roles import has_permission
from models.timezone import day_start_utc, local_now, to_local
from models.users import Department, User

VISITORS = _l("Visitors")
WAIT_HIGHLIGHT_MINUTES = settings.define(
    "visitor_wait_highlight_minutes", int, 5,
    _l("Minutes a visitor waits before the desk is reminded to offer a drink and call again"), VISITORS,
    minimum=1, maximum=120)
DESK_CLOSES_HOUR = settings.define(
    "desk_closes_hour", int, 18, _l("Hour the front desk closes: visits still open are then reported"), VISITORS,
    minimum=12, maximum=23)
HOST_ANSWER_MINUTES = settings.define(
    "host_answer_minutes", int, 3, _l("Minutes a host has to answer before being reminded"), VISITORS,
    minimum=1, maximum=60)

#: How far a typed time may run ahead of the server's clock (the tablet's clock, a minute typed
#: early), and how far back a booking may start (booked while the visitor walks in).
CLOCK_SLACK = dt.timedelta(minutes=2)
BOOKING_SLACK = dt.timedelta(minutes=5)

PURPOSES = {
    "meeting": _l("Meeting"),
    "business": _l("Business talks"),
    "delivery": _l("Delivery"),
    "interview": _l("Interview"),
    "maintenance": _l("Maintenance or repair"),
    "complaint": _l("Complaint or inquiry"),
    "other": _l("Other"),
}

# Host answers: the buttons the host taps.
HOST_ANSWERS = {
    "coming": _l("Coming to the front desk"),
    "send_up": _l("Send them up"),
    "wait": _l("Can't come now — ask them to wait"),
}
# The same answers as the desk reads them, with the time the host gave them.
DESK_ANSWER_LABELS = {
    "coming": N_("Host coming (%(time)s)"),
    "send_up": N_("Host says: send them up (%(time)s)"),
    "wait": N_("Host asks them to wait (%(time)s)"),
}


class PassSize(str):
    """The printed visitor pass: "A6" (105 × 148 mm, four to an A4 sheet) or "badge"
    (86 × 54 mm, a card holder's size, ten to a sheet)."""

    SIZES = ("A6", "badge")

    def __new__(cls, text="A6"):
        value = {size.lower(): size for size in cls.SIZES}.get(str(text or "").strip().lower())
        if value is None:
            raise settings.InvalidSetting(_l("Write “A6” or “badge”."))
        return super().__new__(cls, value)


PASS_SIZE = settings.define(
    "visitor_pass_size", PassSize, PassSize("A6"), _l("Size of the printed visitor pass"), VISITORS,
    help=_l("“A6” (105 × 148 mm, four to an A4 sheet) or “badge” (86 × 54 mm, ten to an A4 sheet)."))

audit.name_record_type("visit", _l("Visit"))
audit.name_record_type("appointment", _l("Appointment"))
audit.name_record_type("watchlist_entry", _l("Watchlist entry"))


class VisitError(DomainError):
    """A rule of the visitors' area refused the action."""


#: Visits a suggestion reads at most: a few names are offered, and more typing narrows them.
EARLIER_MATCHES = 2000


class Visit(VersionedModel, PinyinNamed):
    """A visitor at the desk; moved only by apply() (the host answers, the desk acts)."""
    error = VisitError
    stale_message = _l("This visit was changed meanwhile; look at it again.")
    missing_message = _l("No such visit.")
    pinyin_source = "visitor_name"

    number = CharField(max_length=24, unique=True)
    visitor_name = CharField(max_length=80, index=True)
    phone = CharField(max_length=30, index=True)
    organisation = CharField(max_length=120, default="")
    purpose = CharField(max_length=16)
    purpose_other = CharField(max_length=120, default="")
    host = ForeignKeyField(User, on_delete="RESTRICT", backref="+")
    companions = IntegerField(default=0)
    id_number = CharField(max_length=40, default="")
    car_plate = CharField(max_length=20, default="")
    note = TextField(default="")
    arrived_at = DateTimeField(index=True)
    # See TRANSITIONS: the host's answer is news for the desk; "on site" starts with_host_at.
    state = CharField(max_length=12, default="waiting", index=True)
    host_answer = CharField(max_length=12, default="")
    host_answered_at = DateTimeField(null=True)
    with_host_at = DateTimeField(null=True)
    host_reminded_at = DateTimeField(null=True)
    expected_end = DateTimeField(null=True)
    overstay_flagged_at = DateTimeField(null=True)
    closing_reported_at = DateTimeField(null=True)
    left_at = DateTimeField(null=True)
    watchlist_reason = TextField(default="")
    registered_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    created_at = DateTimeField(default=utcnow)
    anonymised_at = DateTimeField(null=True)  # see models.privacy

    class Meta:
        # The desk's "waiting" and "on site" lists filter on state and sort by arrival:
        # on its own the state index loses to the arrival index (a scan of every visit).
        # The retention sweep looks for the visits not yet anonymised, oldest first.
        indexes = ((("state", "arrived_at"), False), (("anonymised_at", "arrived_at"), False))

    @property
    def purpose_label(self):
        return self.purpose_other if self.purpose == "other" and self.purpose_other else PURPOSES.get(
            self.purpose, self.purpose)

    @property
    def host_answer_label(self):
        return HOST_ANSWERS.get(self.host_answer, "")

    @property
    def host_answer_time(self):
        return to_local(self.host_answered_at).strftime("%H:%M") if self.host_answered_at else ""

    @property
    def desk_answer_label(self):
        """What the desk reads: "Host coming (10:03)"; empty before the host answers."""
        label = DESK_ANSWER_LABELS.get(self.host_answer)
        return gettext(label, time=self.host_answer_time) if label else ""

    @property
    def on_site_since(self):
        # Visits put on site before with_host_at was recorded keep their arrival time.
        return self.with_host_at or self.arrived_at

    def actions_for(self, user):
        """The transitions this user may apply now, in table order."""
        return [name for name in TRANSITIONS if refusal(self, name, user) is None]

    def minutes_waited(self, now=None):
        return int(((now or utcnow()) - self.arrived_at).total_seconds() // 60)

    @classmethod
    def with_host(cls):
        """With the host and the host's department, which the desk and the passes show beside each visitor."""
        return (cls.select(cls, User, Department).join(User, on=(cls.host == User.id))
                .join(Department, JOIN.LEFT_OUTER, on=(User.department == Department.id)))

    @classmethod
    def waiting(cls):
        return cls.with_host().where(cls.state == "waiting").order_by(cls.arrived_at)

    @classmethod
    def on_site_only(cls):
        """With their host now (not those still waiting), the longest there first."""
        return cls.with_host().where(cls.state == "on_site").order_by(cls.arrived_at)

    @classmethod
    def on_site(cls):
        return cls.with_host().where(cls.state.in_(["waiting", "on_site"])).order_by(cls.arrived_at)

    @classmethod
    def earlier_visitors(cls, text, limit=6):
        """The latest visit of each returning visitor whose phone, name or the name's pinyin starts with
        what was typed. Every branch is an index range and the matches read are capped, so a keystroke
        costs the same at a million visits (matching anywhere in the text scanned them all: 0.5-3.8 s);
        a name index is read in order, so the name typed in full comes before its longer namesakes."""
        text = (text or "").strip()
        if len(text) < 2:
            return []
        matched = cls.earlier_matches(text)
        latest = (cls.select(fn.MAX(matched.c.id)).from_(matched)
                  .group_by(matched.c.phone, matched.c.visitor_name))
        typed_in_full = (cls.phone == SEPARATORS.sub("", text)) | (cls.visitor_name == text)
        # An anonymised visit has no number to fill in: it is nobody to offer again. (Filtered here, on
        # the few latest visits: in the matches' query it would lead the planner to the wrong index.)
        return list(cls.with_host().where(cls.id.in_(latest), cls.anonymised_at.is_null())
                    .order_by(typed_in_full.desc(), cls.arrived_at.desc()).limit(limit))

    @classmethod
    def earlier_matches(cls, text):
        """Visits whose phone, name or the name's pinyin starts with the text, at most EARLIER_MATCHES."""
        digits = SEPARATORS.sub("", text)
        if digits.lstrip("+").isdigit():
            condition = starts_with(cls.phone, digits)
        else:
            condition = starts_with(cls.visitor_name, text)
            if (pinyin := cls.pinyin_matches(text)) is not None:
                condition |= pinyin
        return cls.select(cls.id, cls.phone, cls.visitor_name).where(condition).limit(EARLIER_MATCHES)

    @classmethod
    def search(cls, date_from=None, date_to=None, host_id=None, organisation=None, purpose=None):
        """The visitor log: only the columns its rows and its export show, with the host's name; a
        log row built from every column of the visit and of the host's account cost a third of the
        page's time in building the rows."""
        query = (cls.select(cls.id, cls.number, cls.arrived_at, cls.left_at, cls.visitor_name, cls.phone,
                            cls.organisation, cls.purpose, cls.purpose_other, cls.companions, User.id,
                            User.display_name)
                 .join(User, on=(cls.host == User.id)).order_by(cls.arrived_at.desc(), cls.id.desc()))
        if date_from:
            query = query.where(cls.arrived_at >= date_from)
        if date_to:
            query = query.where(cls.arrived_at < date_to)
        if host_id:
            query = query.where(cls.host == host_id)
        if organisation:
            query = query.where(cls.organisation ** f"%{organisation}%")
        if purpose:
            query = query.where(cls.purpose == purpose)
        return query


class Appointment(BaseModel):
    visitor_name = CharField(max_length=80)
    phone = CharField(max_length=30)
    organisation = CharField(max_length=120, default="")
    purpose = CharField(max_length=16)
    host = ForeignKeyField(User, on_delete="RESTRICT", backref="+")
    starts_at = DateTimeField(index=True)
    ends_at = DateTimeField(null=True)
    note = TextField(default="")
    booked_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    visit = ForeignKeyField(Visit, null=True, on_delete="SET NULL")
    cancelled_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    anonymised_at = DateTimeField(null=True)  # see models.privacy

    class Meta:
        indexes = ((("anonymised_at", "starts_at"), False),)

    @property
    def purpose_label(self):
        return PURPOSES.get(self.purpose, self.purpose)

    @classmethod
    def expected_on(cls, day):
        start = day_start_utc(day)
        return (cls.select(cls, User).join(User, on=(cls.host == User.id))
                .where(cls.starts_at >= start, cls.starts_at < start + dt.timedelta(days=1),
                       cls.visit.is_null(), cls.cancelled_at.is_null())
                .order_by(cls.starts_at))


class WatchlistEntry(PinyinNamed):
    pinyin_source = "name"
    name = CharField(max_length=80, default="")
    phone = CharField(max_length=30, default="")
    id_number = CharField(max_length=40, default="")
    reason = TextField()
    active = BooleanField(default=True)
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    created_at = DateTimeField(default=utcnow)
    anonymised_at = DateTimeField(null=True)  # see models.privacy

    @classmethod
    def listing(cls, q=""):
        """The active entries, the newest first; `q` finds them by name (or its pinyin), phone or ID number."""
        query = cls.select().where(cls.active == True).order_by(cls.created_at.desc(), cls.id.desc())  # noqa: E712
        if q:
            query = query.where(cls.name_matches(q) | (cls.phone ** f"%{q}%") | (cls.id_number ** f"%{q.upper()}%"))
        return query


def add_to_watchlist(actor, name, phone, id_number, reason):
    with write_transaction():
        entry = WatchlistEntry.create(name=name.strip(), phone=phone, id_number=id_number.strip().upper(),
                                      reason=reason.strip(), created_by=actor)
        audit.record_create(actor, entry)
    return entry


def retire_from_watchlist(actor, entry):
    with write_transaction():
        before = entry.snapshot()
        entry.active = False
        entry.save()
        audit.record_change(actor, entry, before)


def watchlist_matches(name, phone, id_number):
    """Active entries matching the visitor by name (or the whole name typed in pinyin), phone or ID number."""
    conditions = []
    if name:
        conditions.append(WatchlistEntry.name == name.strip())
        if key := typed_key(name):
            conditions.append(WatchlistEntry.name_pinyin == key)
    if phone:
        conditions.append(WatchlistEntry.phone == phone)
    if id_number:
        conditions.append(WatchlistEntry.id_number == id_number.strip().upper())
    if not conditions:
        return []
    where = conditions[0]
    for condition in conditions[1:]:
        where = where | condition
    return list(WatchlistEntry.select().where(WatchlistEntry.active == True, where))  # noqa: E712


def register_visit(actor, *, visitor_name, phone, organisation, purpose, purpose_other, host, companions,
                   id_number, car_plate, note, arrived_at, expected_end=None, watchlist_reason="",
                   appointment=None):
    """Register a visitor and tell the host at once. A watchlist match needs a reason."""
    if not host.is_active:
        raise VisitError(_l("This host is deactivated; choose another."), field="host")
    if arrived_at > utcnow() + CLOCK_SLACK:
        raise VisitError(_l("An arrival in the future cannot be checked in."), field="arrived_at")
    matches = watchlist_matches(visitor_name, phone, id_number)
    if matches and not watchlist_reason.strip():
        raise VisitError(_l("This visitor is on the watchlist. Registering anyway needs a reason."),
                         field="watchlist_reason")
    with write_transaction():
        visit = Visit.create(
            number=next_number("VP"), visitor_name=visitor_name, phone=phone, organisation=organisation,
            purpose=purpose, purpose_other=purpose_other if purpose == "other" else "", host=host,
            companions=companions, id_number=id_number.strip().upper(), car_plate=car_plate.strip().upper(),
            note=note, arrived_at=arrived_at, expected_end=expected_end,
            watchlist_reason=watchlist_reason.strip() if matches else "", registered_by=actor)
        audit.record_create(actor, visit)
        if appointment is not None:
            appointment.visit = visit
            appointment.save()
        if matches:
            audit.record_event(actor, "watchlist_override", visit, reason=watchlist_reason.strip())
    notify(host, N_("%(name)s (%(organisation)s) is waiting for you at the front desk."),
           link=("visitors.host_answer", {"visit_id": visit.id}), urgent=True, about=visit, name=visitor_name,
           organisation=organisation or "—")
    if matches:
        for manager in User.active_with_role("service_manager"):
            notify(manager, N_("Watchlist: %(name)s was registered as a visitor. Reason: %(reason)s"),
                   link=("visitors.show", {"visit_id": visit.id}), urgent=True, about=visit, name=visitor_name,
                   reason=watchlist_reason.strip())
        from models.duty import log_system_event
        log_system_event("other", f"黑名单访客登记：{visitor_name}，原因：{watchlist_reason.strip()}", "visitors",
                         about=visit)
    return visit


STATE_LABELS = {"waiting": _l("Waiting"), "on_site": _l("On site"), "left": _l("Left")}

#: Who applies a transition: the visitor's host, or the front desk (the portal itself too: no actor).
HOST, DESK = "host", "desk"


@dataclass(frozen=True)
class Transition:
    label: object
    sources: tuple
    target: str  # None: the state stays
    who: str
    stamp: str  # the time field the step sets to now


# The visit's states and what moves them: one table, one function (apply). The host's
# answer is news for the desk, not a move: "coming" and "ask them to wait" keep the visitor
# waiting at the desk, and "on site" starts only when the desk has them with the host
# (met at the desk, or sent up).
TRANSITIONS = {
    "answer": Transition(_l("Answer"), ("waiting",), None, HOST, "host_answered_at"),
    "with_host": Transition(_l("With the host"), ("waiting",), "on_site", DESK, "with_host_at"),
    "check_out": Transition(_l("Check out"), ("waiting", "on_site"), "left", DESK, "left_at"),
}

DESK_MESSAGES = {
    "coming": N_("%(host)s is coming to the front desk for %(name)s."),
    "send_up": N_("%(host)s says: send %(name)s up."),
    "wait": N_("%(host)s can't come now: ask %(name)s to wait and offer a drink."),
}


def refusal(visit, action, actor):
    """Why this actor may not apply this action now, or None if they may."""
    transition = TRANSITIONS.get(action)
    if transition is None:
        return _l("Unknown action.")
    if transition.who == HOST and (actor is None or actor.id != visit.host_id):
        return _l("Only the host answers for this visitor.")
    if transition.who == DESK and actor is not None and not has_permission(actor.roles, "visitors.desk"):
        return _l("Only the front desk may do this.")
    if visit.state not in transition.sources:
        return _l("This visit has changed meanwhile (it is now: %(state)s).",
                  state=STATE_LABELS.get(visit.state, visit.state))
    return None


def apply(actor, visit_id, action, version=None, reply=""):
    """The one function that moves a visit: check the step against the visit as it is now
    (and as the user saw it, when `version` is given), stamp its time, audit it, and do
    what the step stands for, all in one transaction."""
    with write_transaction():
        visit = Visit.load(visit_id, version)
        reason = refusal(visit, action, actor)
        if reason:
            raise VisitError(reason)
        transition = TRANSITIONS[action]
        now = utcnow()
        values = {Visit.state: transition.target or visit.state, getattr(Visit, transition.stamp): now}
        if action == "answer":
            if reply not in HOST_ANSWERS:
                raise VisitError(_l("Choose one of the answers."), field="reply")
            values[Visit.host_answer] = reply
        before = visit.snapshot()
        visit = visit.update_versioned(visit.version, values)
        audit.record_change(actor, visit, before)
        if action == "answer":
            # Answered: the host's notifications about this visitor are settled, and the desk hears it.
            Notification.update(read_at=now).where(
                Notification.user == actor, Notification.linking_to("visitors.host_answer", visit_id=visit.id),
                Notification.read_at.is_null()).execute()
            for desk in User.active_with_role("front_desk"):
                notify(desk, DESK_MESSAGES[reply], link=("visitors.desk", {}), about=visit, host=actor.display_name,
                       name=visit.visitor_name)
    return visit


def book(actor, *, visitor_name, phone, organisation, purpose, host, starts_at, ends_at, note):
    """Book a visit ahead (预约); times are naive UTC."""
    if not host.is_active:
        raise VisitError(_l("This host is deactivated; choose another."), field="host")
    if starts_at < utcnow() - BOOKING_SLACK:
        raise VisitError(_l("An appointment cannot be booked in the past."), field="starts_at")
    if ends_at is not None and ends_at <= starts_at:
        raise VisitError(_l("The end must be after the start."), field="ends_at")
    with write_transaction():
        appointment = Appointment.create(visitor_name=visitor_name, phone=phone, organisation=organisation,
                                         purpose=purpose, host=host, starts_at=starts_at, ends_at=ends_at,
                                         note=note, booked_by=actor)
        audit.record_create(actor, appointment)
    return appointment


def check_in(actor, appointment):
    """The booked visitor arrives: the visit is created with everything filled in."""
    with write_transaction():
        # Claim the appointment first: of two taps at once, only one creates the visit.
        appointment = Appointment.get_by_id(appointment.id)
        if appointment.visit_id or appointment.cancelled_at:
            raise VisitError(_l("This appointment was checked in or cancelled already."))
        return register_visit(
            actor, visitor_name=appointment.visitor_name, phone=appointment.phone,
            organisation=appointment.organisation, purpose=appointment.purpose, purpose_other="",
            host=appointment.host, companions=0, id_number="", car_plate="", note=appointment.note,
            arrived_at=utcnow(), expected_end=appointment.ends_at, appointment=appointment)


def sweep_reminders(now=None):
    """Host not answering in time: remind once, and tell the desk to call. A visitor past
    the booked end and not checked out: flag to the host once. Marked, so repeats do nothing."""
    now = now or utcnow()
    done = 0
    cutoff = now - dt.timedelta(minutes=settings.get(HOST_ANSWER_MINUTES))
    for visit in Visit.waiting().where(Visit.host_answered_at.is_null(), Visit.host_reminded_at.is_null(),
                                       Visit.arrived_at <= cutoff):
        # The mark and the messages it stands for commit together: a sweep killed in
        # between leaves the visit unmarked, and the next run sends them all.
        with write_transaction():
            claimed = Visit.update(host_reminded_at=now).where(Visit.id == visit.id,
                                                                Visit.host_reminded_at.is_null()).execute()
            if claimed:
                notify(visit.host, N_("Reminder: %(name)s is still waiting for you at the front desk."),
                       link=("visitors.host_answer", {"visit_id": visit.id}), urgent=True, about=visit,
                       name=visit.visitor_name)
                for desk in User.active_with_role("front_desk"):
                    notify(desk, N_("%(host)s has not answered for %(name)s: please call them."), link=("visitors.desk", {}),
                           urgent=True, about=visit, host=visit.host.display_name, name=visit.visitor_name)
                done += 1
    overstaying = Visit.with_host().where(Visit.state.in_(["waiting", "on_site"]), Visit.expected_end < now,
                                          Visit.overstay_flagged_at.is_null())
    for visit in overstaying:
        with write_transaction():
            claimed = Visit.update(overstay_flagged_at=now).where(Visit.id == visit.id,
                                                                   Visit.overstay_flagged_at.is_null()).execute()
            if claimed:
                notify(visit.host, N_("%(name)s's booked visit has ended but they have not checked out."),
                       link=("visitors.show", {"visit_id": visit.id}), about=visit, name=visit.visitor_name)
                done += 1
    return done


def report_open_at_closing(now=None):
    """After the desk closes: the visits still open go into the duty log and to the
    managers, once each (never closed silently: someone must check them out)."""
    now = now or utcnow()
    local = to_local(now)
    if local.hour < settings.get(DESK_CLOSES_HOUR):
        return 0
    open_visits = [v for v in open_at_end_of_day(local.date()) if v.closing_reported_at is None]
    if not open_visits:
        return 0
    ids = [v.id for v in open_visits]
    from models.duty import log_system_event
    # The mark, the duty-log entry and the managers' messages commit together or not at all.
    with write_transaction():
        claimed = Visit.update(closing_reported_at=now).where(Visit.id.in_(ids),
                                                                Visit.closing_reported_at.is_null()).execute()
        if not claimed:
            return 0
        names = "、".join(f"{v.visitor_name}（找{v.host.display_name}）" for v in open_visits)
        log_system_event("other", f"下班时仍未签退的访客：{names}", "visitors", about=open_visits)
        for manager in User.active_with_role("service_manager"):
            notify(manager, N_("%(n)s visitors were still signed in when the desk closed."), link=("visitors.desk", {}),
                   n=len(open_visits))
    return len(open_visits)


def open_at_end_of_day(day=None):
    """Visits of the day still open: listed for the desk and the manager, never closed silently."""
    day = day or local_now().date()
    end = day_start_utc(day + dt.timedelta(days=1))
    return list(Visit.on_site().where(Visit.arrived_at < end))


