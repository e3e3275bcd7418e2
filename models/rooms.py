"""Meeting rooms (会议组织): rooms, bookings (one-off and weekly series with exceptions), the
preparation logistics ticks off, invited visitors (appointments at the front desk), and the
minutes with their action items.

Two bookings of one room never overlap, and the database decides: every booking holds one
RoomSlot row per SLOT_MINUTES of its time, and (room, slot_start) is UNIQUE. Of two people
booking the same half-hour at the same second, one insert wins and the other meets the
constraint (IntegrityError), whatever the number of web processes. A slot table rather than
a PostgreSQL exclusion constraint: it works the same on SQLite (the embedded default) and
PostgreSQL, and the taken slot names who holds it for the message."""
import datetime as dt

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from peewee import (
    JOIN, BooleanField, CharField, DateField, DateTimeField, ForeignKeyField, IntegerField, IntegrityError, TextField,
    TimeField,
)

from models import audit, settings, visitors
from models.base import BaseModel, DomainError, Transition, VersionedModel, VoidableModel, db, utcnow, write_transaction
from models.notifications import N_, notify
from models.numbering import next_number
from models.roles import has_permission
from models.timezone import day_start_utc, local_now, to_local, to_utc
from models.users import User

#: Bookings start and end on these boundaries; one RoomSlot row per unit holds the room.
SLOT_MINUTES = 30
SLOT = dt.timedelta(minutes=SLOT_MINUTES)
#: The day grid: from DAY_START to DAY_END o'clock, local time.
DAY_START, DAY_END = 8, 20
LONGEST = dt.timedelta(hours=12)
SERIES_WEEKS_MAX = 52
#: The most half-hours one room has in a day: no more bookings than this fit in one day of one room.
SLOTS_A_DAY = 24 * 60 // SLOT_MINUTES
#: Visitors one meeting invites, and action items one meeting's minutes hold: a meeting that needs more
#: is a conference (its guest list goes to the front desk as a list), and the booking page lists them all.
MAX_GUESTS = 100
MAX_ACTION_ITEMS = 50

ROOMS = _l("Meeting rooms")
PREP_REMIND_MINUTES = settings.define(
    "rooms_prep_remind_minutes", int, 60,
    _l("Remind logistics this many minutes before a meeting whose preparation is unfinished"), ROOMS,
    minimum=5, maximum=24 * 60)
ACTION_REMIND_DAYS = settings.define(
    "rooms_action_remind_days", int, 1, _l("Remind an action item's owner this many days before it is due"), ROOMS,
    minimum=0, maximum=30)

PREPARATION = {
    "layout": _l("Room layout"),
    "materials": _l("Materials"),
    "drinks": _l("Drinks"),
    "projector": _l("Projector"),
}

STATES = {"booked": _l("Booked"), "cancelled": _l("Cancelled")}
ACTION_STATES = {"open": _l("Open"), "closed": _l("Closed")}
#: Who may take a step: the booking's organiser, or logistics and admin (rooms.manage).
ORGANISER = "organiser"
OWNER = "owner"

audit.name_record_type("room", _l("Meeting room"))
audit.name_record_type("booking", _l("Room booking"))
audit.name_record_type("booking_series", _l("Weekly booking series"))
audit.name_record_type("meeting_minutes", _l("Meeting minutes"))
audit.name_record_type("action_item", _l("Action item"))
audit.ACTION_LABELS.update({
    "prep_done": _l("Preparation ticked off"),
    "prep_reminder": _l("Unfinished preparation: logistics reminded"),
    "action_reminder": _l("Action item owner reminded"),
})


class RoomError(DomainError):
    """A refused step of the meeting rooms; the message is for the user, `field` the form field."""


TRANSITIONS = {
    "cancel": Transition(_l("Cancel the booking"), ("booked",), "cancelled", ORGANISER, note_required=True,
                         note_label=_l("Reason")),
}
ACTION_TRANSITIONS = {
    "close": Transition(_l("Done: close"), ("open",), "closed", OWNER),
}


class Room(VoidableModel, VersionedModel):
    error = RoomError
    name = CharField(max_length=60, unique=True)
    location = CharField(max_length=120, default="")
    capacity = IntegerField(default=10)
    equipment = CharField(max_length=300, default="")


class BookingSeries(BaseModel):
    """A weekly series: the local wall time is kept, each occurrence is its own Booking."""
    room = ForeignKeyField(Room, on_delete="RESTRICT", backref="+")
    organiser = ForeignKeyField(User, on_delete="RESTRICT", backref="+")
    title = CharField(max_length=120)
    first_day = DateField()
    until = DateField()
    local_start = TimeField()
    minutes = IntegerField()
    skipped = TextField(default="")  # the dates left out, "2026-03-09,2026-03-16"
    created_at = DateTimeField(default=utcnow)


class Booking(VersionedModel):
    error = RoomError
    stale_message = _l("This booking was changed meanwhile; look at it again.")
    missing_message = _l("No such booking.")

    number = CharField(max_length=20, unique=True)
    room = ForeignKeyField(Room, on_delete="RESTRICT", backref="bookings")
    organiser = ForeignKeyField(User, on_delete="RESTRICT", backref="+")
    title = CharField(max_length=120)
    attendees_expected = IntegerField(default=0)
    starts_at = DateTimeField(index=True)
    ends_at = DateTimeField()
    series = ForeignKeyField(BookingSeries, null=True, on_delete="RESTRICT", backref="bookings")
    moved = BooleanField(default=False)  # an occurrence moved away from the series' time
    state = CharField(max_length=10, default="booked", index=True)
    prep_note = TextField(default="")
    prep_reminded_at = DateTimeField(null=True)
    cancelled_at = DateTimeField(null=True)
    cancelled_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    cancel_reason = TextField(default="")
    created_at = DateTimeField(default=utcnow)

    @property
    def local_start(self):
        return to_local(self.starts_at)

    @property
    def local_end(self):
        return to_local(self.ends_at)

    def actions_for(self, user):
        return [(name, t) for name, t in TRANSITIONS.items() if refusal(self, name, user) is None]


class RoomSlot(BaseModel):
    """The lock: one row per SLOT_MINUTES a booking holds; UNIQUE (room, slot_start)."""
    room = ForeignKeyField(Room, on_delete="RESTRICT", backref="+")
    slot_start = DateTimeField()
    booking = ForeignKeyField(Booking, on_delete="CASCADE", backref="slots")

    class Meta:
        indexes = ((("room", "slot_start"), True),)


class PrepItem(BaseModel):
    booking = ForeignKeyField(Booking, on_delete="CASCADE", backref="prep_items")
    kind = CharField(max_length=12)
    done_at = DateTimeField(null=True)
    done_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")

    class Meta:
        indexes = ((("booking", "kind"), True),)

    @property
    def label(self):
        return PREPARATION.get(self.kind, self.kind)


class BookingGuest(BaseModel):
    """An invited visitor: the appointment the front desk expects and checks in."""
    booking = ForeignKeyField(Booking, on_delete="CASCADE", backref="guests")
    appointment = ForeignKeyField(visitors.Appointment, on_delete="CASCADE", backref="+")


class MeetingMinutes(VersionedModel):
    error = RoomError
    booking = ForeignKeyField(Booking, unique=True, on_delete="RESTRICT", backref="+")
    attendees = TextField(default="")
    decisions = TextField(default="")
    recorded_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    created_at = DateTimeField(default=utcnow)


class ActionItem(VersionedModel):
    error = RoomError
    stale_message = _l("This action item was changed meanwhile; look at it again.")
    missing_message = _l("No such action item.")
    minutes = ForeignKeyField(MeetingMinutes, on_delete="RESTRICT", backref="action_items")
    text = TextField()
    owner = ForeignKeyField(User, on_delete="RESTRICT", backref="+")
    due_on = DateField()
    state = CharField(max_length=8, default="open", index=True)
    reminded_at = DateTimeField(null=True)
    closed_at = DateTimeField(null=True)
    result = TextField(default="")
    created_at = DateTimeField(default=utcnow)


# ----------------------------------------------------------------------------- rooms

def rooms():
    return list(Room.select().where(Room.voided_at.is_null()).order_by(Room.name))


def add_room(actor, *, name, location="", capacity=10, equipment=""):
    name = (name or "").strip()
    if not name:
        raise RoomError(_l("Enter the room's name."), field="name")
    if not capacity or capacity < 1:
        raise RoomError(_l("A room seats at least one person."), field="capacity")
    with write_transaction():
        if Room.select().where(Room.name == name).exists():
            raise RoomError(_l("A room of this name exists already."), field="name")
        room = Room.create(name=name, location=(location or "").strip(), capacity=capacity,
                           equipment=(equipment or "").strip())
        audit.record_create(actor, room)
    return room


def void_room(actor, room_id, reason):
    reason = (reason or "").strip()
    if not reason:
        raise RoomError(_l("Give the reason."), field="reason")
    with write_transaction():
        room = Room.load(room_id)
        if Booking.select().where(Booking.room == room.id, Booking.state == "booked",
                                  Booking.ends_at > utcnow()).exists():
            raise RoomError(_l("This room still has bookings ahead: cancel or move them first."), field="reason")
        audit.void(actor, room, reason)
    return room


# ----------------------------------------------------------------------------- booking

def _check_times(starts_at, ends_at):
    """Times are naive UTC; the rules read the local wall time."""
    if starts_at is None:
        raise RoomError(_l("Enter when the meeting starts."), field="start")
    if ends_at is None or ends_at <= starts_at:
        raise RoomError(_l("The end must be after the start."), field="end")
    for value, name in ((starts_at, "start"), (ends_at, "end")):
        local = to_local(value)
        if local.minute % SLOT_MINUTES or local.second:
            raise RoomError(_l("Bookings start and end on the hour or the half hour (like 09:00 or 09:30)."),
                            field=name)
    if ends_at - starts_at > LONGEST:
        raise RoomError(_l("A booking lasts at most 12 hours."), field="end")
    if ends_at <= utcnow():
        raise RoomError(_l("This time is over: a room is booked ahead."), field="start")


def _slots(starts_at, ends_at):
    value = starts_at
    while value < ends_at:
        yield value
        value += SLOT


def _taken_message(room_id, starts_at, ends_at):
    """The first clashing booking, in the user's words: "taken from 09:30 by 王芳"."""
    slot = (RoomSlot.select(RoomSlot, Booking, User)
            .join(Booking, on=(RoomSlot.booking == Booking.id)).join(User, on=(Booking.organiser == User.id))
            .where(RoomSlot.room == room_id, RoomSlot.slot_start >= starts_at, RoomSlot.slot_start < ends_at)
            .order_by(RoomSlot.slot_start).first())
    if slot is None:  # the other booking was cancelled in between: the user may simply try again
        return gettext("The room was being booked for this time at the same moment; try again.")
    return gettext("The room is taken from %(time)s by %(who)s (%(title)s).",
                   time=to_local(slot.slot_start).strftime("%H:%M"), who=slot.booking.organiser.display_name,
                   title=slot.booking.title)


def _hold(booking):
    """Insert the booking's slots; False when any is held already (the constraint decides).
    A savepoint: on PostgreSQL a failed insert would otherwise end the whole transaction."""
    rows = [{"room": booking.room_id, "slot_start": s, "booking": booking.id}
            for s in _slots(booking.starts_at, booking.ends_at)]
    try:
        with db.atomic():
            RoomSlot.insert_many(rows).execute()
    except IntegrityError:
        return False
    return True


def _invite(actor, booking, guests):
    if guests and BookingGuest.select().where(BookingGuest.booking == booking.id).count() + len(guests) > MAX_GUESTS:
        raise RoomError(_l("A meeting invites at most %(n)s visitors.", n=MAX_GUESTS), field="name")
    for guest in guests:
        appointment = visitors.book(
            actor, visitor_name=guest["name"], phone=guest["phone"], organisation=guest.get("organisation", ""),
            purpose="meeting", host=booking.organiser, starts_at=booking.starts_at, ends_at=booking.ends_at,
            note=f"会议：{booking.title}（{booking.room.name}）")
        BookingGuest.create(booking=booking, appointment=appointment)


def _clean_guests(guests):
    cleaned = []
    if len(guests or ()) > MAX_GUESTS:
        raise RoomError(_l("A meeting invites at most %(n)s visitors.", n=MAX_GUESTS), field="guests-0")
    for index, guest in enumerate(guests or []):
        name, phone = (guest.get("name") or "").strip(), (guest.get("phone") or "").strip()
        if not name and not phone:
            continue
        if not name or not phone:
            raise RoomError(_l("An invited visitor needs a name and a phone number."), field=f"guests-{index}")
        cleaned.append({"name": name, "phone": phone, "organisation": (guest.get("organisation") or "").strip()})
    return cleaned


def _create(actor, room, *, title, starts_at, ends_at, attendees, prep, prep_note, series=None):
    booking = Booking.create(number=next_number("HY"), room=room, organiser=actor, title=title,
                             attendees_expected=attendees or 0, starts_at=starts_at, ends_at=ends_at, series=series,
                             prep_note=(prep_note or "").strip())
    for kind in prep:
        PrepItem.create(booking=booking, kind=kind)
    return booking


#: Ids beyond this are no record (and would overflow PostgreSQL's integer column: a 500, not a message).
ID_MAX = 2**31 - 1


def _live_room(room_id):
    if not isinstance(room_id, int) or not 0 < room_id <= ID_MAX:
        return None
    return Room.get_or_none(Room.id == room_id, Room.voided_at.is_null())


def _prepare(room_id, title, attendees, prep):
    room = _live_room(room_id)
    if room is None:
        raise RoomError(_l("Choose a room."), field="room")
    title = (title or "").strip()
    if not title:
        raise RoomError(_l("Enter what the meeting is about."), field="title")
    if attendees and attendees < 0:
        raise RoomError(_l("Enter how many people are expected, or leave it empty."), field="attendees")
    if attendees and attendees > room.capacity:
        raise RoomError(_l("%(room)s seats %(n)s people.", room=room.name, n=room.capacity), field="attendees")
    unknown = set(prep or ()) - set(PREPARATION)
    if unknown:
        raise RoomError(_l("Unknown preparation."), field="prep")
    return room, title


def book(actor, *, room_id, title, starts_at, ends_at, attendees=0, prep=(), prep_note="", guests=()):
    """Book a room once (times naive UTC). The slots' UNIQUE index refuses an overlap,
    also one booked by someone else at the same moment."""
    _check_times(starts_at, ends_at)
    guests = _clean_guests(guests)
    with write_transaction():
        room, title = _prepare(room_id, title, attendees, prep)
        booking = _create(actor, room, title=title, starts_at=starts_at, ends_at=ends_at, attendees=attendees,
                          prep=prep, prep_note=prep_note)
        if not _hold(booking):
            raise RoomError(_taken_message(room.id, starts_at, ends_at), field="start")
        _invite(actor, booking, guests)
        audit.record_create(actor, booking)
    _tell_logistics_of_prep(booking)
    return booking


def occurrences(first_day, until, local_start, minutes, skipped=()):
    """The series' (local day, UTC start, UTC end): each from the local wall time, so a weekly
    10:00 stays 10:00 across a daylight-saving change."""
    day = first_day
    while day <= until:
        if day not in skipped:
            start = to_utc(dt.datetime.combine(day, local_start))
            yield day, start, start + dt.timedelta(minutes=minutes)
        day += dt.timedelta(days=7)


def book_series(actor, *, room_id, title, starts_at, ends_at, until, skipped=(), attendees=0, prep=(), prep_note="",
                guests=()):
    """A weekly series from the first meeting (starts_at, ends_at) until a date, leaving out
    `skipped` dates. A clash on any occurrence refuses the whole series, naming each date."""
    _check_times(starts_at, ends_at)
    first = to_local(starts_at)
    if until is None or until <= first.date():
        raise RoomError(_l("A weekly series runs until a day after the first meeting."), field="until")
    if (until - first.date()).days > SERIES_WEEKS_MAX * 7:
        raise RoomError(_l("A series runs for at most a year."), field="until")
    skipped = set(skipped or ())
    minutes = int((ends_at - starts_at).total_seconds() // 60)
    guests = _clean_guests(guests)
    with write_transaction():
        room, title = _prepare(room_id, title, attendees, prep)
        series = BookingSeries.create(room=room, organiser=actor, title=title, first_day=first.date(), until=until,
                                      local_start=first.time().replace(second=0, microsecond=0), minutes=minutes,
                                      skipped=",".join(sorted(d.isoformat() for d in skipped)))
        clashes, made = [], []
        for day, start, end in occurrences(first.date(), until, series.local_start, minutes, skipped):
            booking = _create(actor, room, title=title, starts_at=start, ends_at=end, attendees=attendees, prep=prep,
                              prep_note=prep_note, series=series)
            if not _hold(booking):
                clashes.append(day)
                continue
            made.append(booking)
        if clashes:
            raise RoomError(gettext("The room is taken on %(dates)s: the series was not booked.",
                                    dates="、".join(d.isoformat() for d in clashes)), field="start")
        if not made:
            raise RoomError(_l("Every date of this series is skipped."), field="skip")
        for booking in made:
            _invite(actor, booking, guests)
        audit.record_create(actor, series)
    for booking in made[:1]:
        _tell_logistics_of_prep(booking)
    return series, made


def _tell_logistics_of_prep(booking):
    if not PrepItem.select().where(PrepItem.booking == booking.id).exists():
        return
    for person in User.active_with_role("logistics"):
        notify(person, N_("Preparation asked for %(title)s in %(room)s on %(time)s."),
               link=("rooms.show", {"booking_id": booking.id}), title=booking.title, room=booking.room.name,
               time=booking.local_start.strftime("%Y-%m-%d %H:%M"))


def may_manage(user):
    return has_permission(user.roles, "rooms.manage")


def refusal(booking, action, user):
    transition = TRANSITIONS.get(action)
    if transition is None:
        return _l("Unknown action.")
    if booking.state not in transition.sources:
        return _l("This cannot be done to a booking that is “%(state)s”.", state=STATES[booking.state])
    if user is None or (user.id != booking.organiser_id and not may_manage(user)):
        return _l("Only the organiser or logistics may do this.")
    return None


def _release(booking, now):
    RoomSlot.delete().where(RoomSlot.booking == booking.id).execute()
    guests = BookingGuest.select(BookingGuest.appointment).where(BookingGuest.booking == booking.id)
    visitors.Appointment.update(cancelled_at=now).where(
        visitors.Appointment.id.in_(guests), visitors.Appointment.visit.is_null(),
        visitors.Appointment.cancelled_at.is_null()).execute()


def apply(booking_id, action, actor, version, *, note=""):
    """Take one step of a booking: checked, stamped, audited. Cancelling frees the slots and
    cancels the invited visitors' appointments; the booking itself stays, cancelled."""
    with write_transaction():
        booking = Booking.load(booking_id, version)
        reason = refusal(booking, action, actor)
        if reason:
            raise RoomError(reason)
        note = (note or "").strip()
        now = utcnow()
        if action == "cancel":
            if not note:
                raise RoomError(_l("Give the reason."), field="note")
            values = {Booking.state: "cancelled", Booking.cancelled_at: now, Booking.cancelled_by: actor,
                      Booking.cancel_reason: note}
        before = booking.snapshot()
        updated = booking.update_versioned(version, values)
        if action == "cancel":
            _release(updated, now)
        audit.record_change(actor, updated, before)
    return updated


def invite(actor, booking_id, guest):
    """Invite one more visitor to a booking ahead: the desk expects them at its start."""
    for name in ("name", "phone"):
        if not (guest.get(name) or "").strip():
            raise RoomError(_l("An invited visitor needs a name and a phone number."), field=name)
    guests = _clean_guests([guest])
    with write_transaction():
        booking = Booking.load(booking_id)
        if booking.state != "booked":
            raise RoomError(_l("This cannot be done to a booking that is “%(state)s”.", state=STATES[booking.state]))
        if actor.id != booking.organiser_id and not may_manage(actor):
            raise RoomError(_l("Only the organiser or logistics may do this."))
        if booking.ends_at <= utcnow():
            raise RoomError(_l("This meeting is over."), field="name")
        _invite(actor, booking, guests)
    return booking


def move(booking_id, actor, version, *, starts_at, ends_at, room_id=None):
    """Move one booking (an occurrence of a series too: it becomes an exception) to another
    time or room: its slots are given back and taken anew in one transaction."""
    _check_times(starts_at, ends_at)
    with write_transaction():
        booking = Booking.load(booking_id, version)
        if booking.state != "booked":
            raise RoomError(_l("This cannot be done to a booking that is “%(state)s”.", state=STATES[booking.state]))
        if actor.id != booking.organiser_id and not may_manage(actor):
            raise RoomError(_l("Only the organiser or logistics may do this."))
        room = _live_room(room_id or booking.room_id)
        if room is None:
            raise RoomError(_l("Choose a room."), field="room")
        before = booking.snapshot()
        RoomSlot.delete().where(RoomSlot.booking == booking.id).execute()
        updated = booking.update_versioned(version, {Booking.starts_at: starts_at, Booking.ends_at: ends_at,
                                                     Booking.room: room, Booking.moved: booking.series_id is not None,
                                                     Booking.prep_reminded_at: None})
        if not _hold(updated):
            raise RoomError(_taken_message(room.id, starts_at, ends_at), field="start")
        guests = BookingGuest.select(BookingGuest.appointment).where(BookingGuest.booking == booking.id)
        visitors.Appointment.update(starts_at=starts_at, ends_at=ends_at).where(
            visitors.Appointment.id.in_(guests), visitors.Appointment.visit.is_null()).execute()
        audit.record_change(actor, updated, before)
    return updated


def listing():
    return (Booking.select(Booking, Room, User)
            .join(Room, on=(Booking.room == Room.id))
            .switch(Booking).join(User, on=(Booking.organiser == User.id)))


def get(booking_id):
    return listing().where(Booking.id == booking_id).first()


def day_bookings(day, room_ids):
    """The day's live bookings (a local date) of the rooms the grid shows; the slots' UNIQUE
    index bounds them at SLOTS_A_DAY a room."""
    start = day_start_utc(day)
    end = day_start_utc(day + dt.timedelta(days=1))
    return list(listing().where(Booking.state == "booked", Booking.room.in_(room_ids), Booking.starts_at < end,
                                Booking.ends_at > start)
                .order_by(Booking.starts_at).limit(max(1, len(room_ids)) * (SLOTS_A_DAY + 1)))


def grid_times(day):
    """The day's half-hours on the grid, as (local label, UTC start)."""
    times = []
    for minutes in range(DAY_START * 60, DAY_END * 60, SLOT_MINUTES):
        local = dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60))
        times.append((local.strftime("%H:%M"), to_utc(local)))
    return times


def occupancy(bookings):
    """{(room id, UTC slot start): booking} for the grid."""
    taken = {}
    for booking in bookings:
        for slot in _slots(booking.starts_at, booking.ends_at):
            taken[(booking.room_id, slot)] = booking
    return taken


def week_bookings(room_id, monday):
    start = day_start_utc(monday)
    end = day_start_utc(monday + dt.timedelta(days=7))
    return list(listing().where(Booking.room == room_id, Booking.state == "booked", Booking.starts_at < end,
                                Booking.ends_at > start).order_by(Booking.starts_at).limit(7 * (SLOTS_A_DAY + 1)))


def mine(user):
    """My bookings ahead (and today's), soonest first: a query, paged by the page."""
    since = day_start_utc(local_now().date())
    return (listing().where(Booking.organiser == user.id, Booking.state == "booked", Booking.ends_at > since)
            .order_by(Booking.starts_at, Booking.id))


def guests_of(booking):
    return list(visitors.Appointment.select().join(BookingGuest, on=(BookingGuest.appointment ==
                                                                        visitors.Appointment.id))
                .where(BookingGuest.booking == booking.id).order_by(visitors.Appointment.id))


# ----------------------------------------------------------------------------- preparation

def prep_items(booking):
    return list(PrepItem.select(PrepItem, User).join(User, JOIN.LEFT_OUTER, on=(PrepItem.done_by == User.id))
                .where(PrepItem.booking == booking.id).order_by(PrepItem.id))


def tick(actor, item_id):
    """Logistics ticks one preparation off; ticking twice changes nothing."""
    with write_transaction():
        item = PrepItem.get_or_none(PrepItem.id == item_id)
        if item is None:
            raise RoomError(_l("No such preparation."))
        if not has_permission(actor.roles, "admin_services.run"):
            raise RoomError(_l("Only logistics ticks the preparation off."))
        changed = PrepItem.update(done_at=utcnow(), done_by=actor).where(
            PrepItem.id == item.id, PrepItem.done_at.is_null()).execute()
        if changed:
            audit.record_event(actor, "prep_done", record_type="booking", obj=Booking.get_by_id(item.booking_id),
                               changes={"kind": item.kind})
    return item


def unfinished_prep(now=None):
    """Bookings ahead (or under way) with preparation not yet ticked off, soonest first: a query, paged by the page."""
    now = now or utcnow()
    open_items = PrepItem.select(PrepItem.booking).where(PrepItem.done_at.is_null())
    return (listing().where(Booking.state == "booked", Booking.ends_at > now, Booking.id.in_(open_items))
            .order_by(Booking.starts_at, Booking.id))


def prep_items_of(bookings):
    """{booking id: its preparation items}, for a page of bookings in one query."""
    items = {}
    for item in PrepItem.select().where(PrepItem.booking.in_([b.id for b in bookings])).order_by(PrepItem.id):
        items.setdefault(item.booking_id, []).append(item)
    return items


def remind_prep(now=None):
    """N minutes before the start, preparation still unfinished: logistics is told once; the
    mark and the messages commit together, so a repeated sweep sends nothing."""
    now = now or utcnow()
    horizon = now + dt.timedelta(minutes=settings.get(PREP_REMIND_MINUTES))
    open_items = PrepItem.select(PrepItem.booking).where(PrepItem.done_at.is_null())
    due = list(listing().where(Booking.state == "booked", Booking.prep_reminded_at.is_null(),
                               Booking.starts_at <= horizon, Booking.starts_at > now, Booking.id.in_(open_items)))
    done = 0
    for booking in due:
        with write_transaction():
            claimed = Booking.update(prep_reminded_at=now).where(Booking.id == booking.id,
                                                                 Booking.prep_reminded_at.is_null()).execute()
            if not claimed:
                continue
            for person in User.active_with_role("logistics"):
                notify(person, N_("%(title)s in %(room)s starts at %(time)s and its preparation is not finished."),
                       link=("rooms.show", {"booking_id": booking.id}), title=booking.title, room=booking.room.name,
                       time=booking.local_start.strftime("%H:%M"))
            audit.record_event(None, "prep_reminder", booking)
            done += 1
    return done


# ----------------------------------------------------------------------------- minutes

def may_write_minutes(booking, user):
    return user.id == booking.organiser_id or may_manage(user)


def minutes_of(booking):
    return MeetingMinutes.get_or_none(MeetingMinutes.booking == booking.id)


def save_minutes(actor, booking_id, *, attendees, decisions, version=None):
    """Write (or correct) the minutes of a meeting that has started."""
    with write_transaction():
        booking = Booking.load(booking_id)
        if not may_write_minutes(booking, actor):
            raise RoomError(_l("Only the organiser or logistics may write the minutes."))
        if booking.state != "booked":
            raise RoomError(_l("A cancelled meeting has no minutes."))
        if booking.starts_at > utcnow():
            raise RoomError(_l("The minutes are written once the meeting has started."), field="decisions")
        if not (attendees or "").strip():
            raise RoomError(_l("Write down who attended."), field="attendees")
        if not (decisions or "").strip():
            raise RoomError(_l("Write down what was decided."), field="decisions")
        minutes = minutes_of(booking)
        if minutes is None:
            minutes = MeetingMinutes.create(booking=booking, attendees=attendees.strip(), decisions=decisions.strip(),
                                            recorded_by=actor)
            audit.record_create(actor, minutes)
            return minutes
        before = minutes.snapshot()
        updated = minutes.update_versioned(minutes.version if version is None else version,
                                           {MeetingMinutes.attendees: attendees.strip(),
                                            MeetingMinutes.decisions: decisions.strip()})
        audit.record_change(actor, updated, before)
    return updated


def add_action(actor, minutes_id, *, text, owner_id, due_on):
    with write_transaction():
        minutes = MeetingMinutes.load(minutes_id)
        booking = Booking.get_by_id(minutes.booking_id)
        if not may_write_minutes(booking, actor):
            raise RoomError(_l("Only the organiser or logistics may write the minutes."))
        if not (text or "").strip():
            raise RoomError(_l("Write down what is to be done."), field="text")
        owner = (User.get_or_none(User.id == owner_id, User.is_active == True)  # noqa: E712
                 if isinstance(owner_id, int) and 0 < owner_id <= ID_MAX else None)
        if owner is None:
            raise RoomError(_l("Choose who does it."), field="owner")
        if due_on is None:
            raise RoomError(_l("Enter the day it is due."), field="due_on")
        if due_on < to_local(booking.starts_at).date():
            raise RoomError(_l("The due day cannot be before the meeting."), field="due_on")
        if ActionItem.select().where(ActionItem.minutes == minutes.id).count() >= MAX_ACTION_ITEMS:
            raise RoomError(_l("One meeting's minutes hold at most %(n)s action items.", n=MAX_ACTION_ITEMS),
                            field="text")
        item = ActionItem.create(minutes=minutes, text=text.strip(), owner=owner, due_on=due_on)
        audit.record_create(actor, item)
    if owner.id != actor.id:
        notify(owner, N_("An action item of %(title)s is yours, due %(due)s: %(text)s"),
               link=("rooms.actions", {}), title=booking.title, due=due_on.isoformat(), text=item.text)
    return item


def action_items(minutes):
    return list(ActionItem.select(ActionItem, User).join(User, on=(ActionItem.owner == User.id))
                .where(ActionItem.minutes == minutes.id).order_by(ActionItem.due_on, ActionItem.id))


def action_refusal(item, action, user):
    transition = ACTION_TRANSITIONS.get(action)
    if transition is None:
        return _l("Unknown action.")
    if item.state not in transition.sources:
        return _l("This action item is “%(state)s” already.", state=ACTION_STATES[item.state])
    if user is None or user.id != item.owner_id:
        return _l("Only the owner closes an action item.")
    return None


def apply_action(item_id, action, actor, version, *, note=""):
    """The owner closes an action item, saying what was done."""
    with write_transaction():
        item = ActionItem.load(item_id, version)
        reason = action_refusal(item, action, actor)
        if reason:
            raise RoomError(reason)
        note = (note or "").strip()
        if not note:
            raise RoomError(_l("Write down what was done."), field="note")
        before = item.snapshot()
        updated = item.update_versioned(version, {ActionItem.state: "closed", ActionItem.closed_at: utcnow(),
                                                  ActionItem.result: note})
        audit.record_change(actor, updated, before)
    return updated


def _actions_query():
    return (ActionItem.select(ActionItem, User, MeetingMinutes, Booking)
            .join(User, on=(ActionItem.owner == User.id))
            .switch(ActionItem).join(MeetingMinutes, on=(ActionItem.minutes == MeetingMinutes.id))
            .join(Booking, on=(MeetingMinutes.booking == Booking.id)))


def open_actions(user):
    """The open action items that are mine to do, soonest due first: a query, paged by the page."""
    return (_actions_query().where(ActionItem.state == "open", ActionItem.owner == user.id)
            .order_by(ActionItem.due_on, ActionItem.id))


def open_actions_organised(user):
    """The open action items of meetings I organised, soonest due first."""
    return (_actions_query().where(ActionItem.state == "open", Booking.organiser == user.id)
            .order_by(ActionItem.due_on, ActionItem.id))


def remind_actions(now=None):
    """Open action items due within ACTION_REMIND_DAYS (or overdue): their owner is reminded
    once; the mark and the message commit together."""
    now = now or utcnow()
    today = to_local(now).date()
    horizon = today + dt.timedelta(days=settings.get(ACTION_REMIND_DAYS))
    due = list(_actions_query().where(ActionItem.state == "open", ActionItem.reminded_at.is_null(),
                                      ActionItem.due_on <= horizon))
    done = 0
    for item in due:
        with write_transaction():
            claimed = ActionItem.update(reminded_at=now).where(ActionItem.id == item.id,
                                                               ActionItem.reminded_at.is_null()).execute()
            if not claimed:
                continue
            notify(item.owner, N_("Action item due %(due)s (%(title)s): %(text)s"), link=("rooms.actions", {}),
                   due=item.due_on.isoformat(), title=item.minutes.booking.title, text=item.text)
            audit.record_event(None, "action_reminder", item)
            done += 1
    return done
