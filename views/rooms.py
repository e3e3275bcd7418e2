"""Meeting rooms (会议组织): the day grid and the week of one room (tap a free half-hour to
book it), booking (once or weekly, with preparation and invited visitors), one booking's page,
logistics' preparation list, the minutes with their action items and their print, and the
rooms themselves."""
import datetime as dt

from flask import Blueprint, abort, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import BooleanField, FieldList, FormField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from models import rooms
from models.base import DomainError, utcnow
from models.rooms import ACTION_STATES, PREPARATION, SLOT, STATES, TRANSITIONS, Room
from models.submissions import submit_once
from models.timezone import local_now, to_utc
from models.users import User
from printing import qr_data_uri
from views.access import allow
from views.fields import CheckboxesField, DayField, WholeNumberField, int_arg, phone, show_refusal, strip
from views.printing import record_url, render_pdf
from views.ui import PortalForm, SubForm, one_page, redirect_to, render, render_fragment, toast

bp = Blueprint("rooms", __name__)

#: Rooms side by side on the day grid: what a 768 px tablet shows with the times; more rooms are the next page.
GRID_ROOMS = 8

TIME_CHOICES = [f"{m // 60:02d}:{m % 60:02d}" for m in range(rooms.DAY_START * 60, rooms.DAY_END * 60 + 1,
                                                              rooms.SLOT_MINUTES)]


def _time_choices(skip_first=False, skip_last=False):
    times = TIME_CHOICES[1:] if skip_first else TIME_CHOICES[:-1] if skip_last else TIME_CHOICES
    return [SelectChoice(t, t) for t in times]


def _room_choices():
    return [SelectChoice(0, "—")] + [SelectChoice(r.id, r.name + "（" + _("Seats: %(n)s", n=r.capacity) + "）")
                                      for r in rooms.rooms()]


def _staff_choices():
    return [SelectChoice(0, "—")] + [SelectChoice(u.id, u.display_name) for u in
                                      User.select().where(User.is_active == True).order_by(User.display_name)  # noqa: E712
                                      .limit(500)]


class GuestForm(SubForm):
    name = StringField(_l("Visitor's name"), filters=[strip], validators=[Length(max=80)])
    phone = StringField(_l("Phone"), filters=[strip], validators=[Optional(), Length(max=30), phone],
                        render_kw={"inputmode": "tel"})
    organisation = StringField(_l("Organisation"), filters=[strip], validators=[Length(max=120)])


class BookForm(PortalForm):
    room = SelectField(_l("Room"), coerce=int, validate_choice=False)
    title = StringField(_l("Meeting title"), filters=[strip], validators=[DataRequired(message=_l(
        "Enter what the meeting is about.")), Length(max=120)])
    day = DayField(_l("Meeting day"), validators=[DataRequired(message=_l("Enter the day of the meeting."))])
    # The model refuses a time off the half-hour beside the field: a posted 09:15 is not a choice error.
    start = SelectField(_l("Start time"), validate_choice=False)
    end = SelectField(_l("End time"), validate_choice=False)
    attendees = WholeNumberField(_l("People expected"), validators=[Optional()])
    weekly = BooleanField(_l("Repeat every week"))
    until = DayField(_l("Last week on"), validators=[Optional()])
    skip = StringField(_l("Leave out the dates"), filters=[strip], validators=[Length(max=400)],
                       description=_l("Dates the series skips, like 2026-03-09, 2026-03-16."))
    prep = CheckboxesField(_l("Preparation by logistics"), choices=[SelectChoice(k, v) for k, v in PREPARATION.items()])
    prep_note = TextAreaField(_l("What to prepare"), filters=[strip], validators=[Length(max=2000)],
                              description=_l("Layout, how many drinks, which materials…"))
    guests = FieldList(FormField(GuestForm), min_entries=3, max_entries=10)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.room.choices = _room_choices()
        self.start.choices = _time_choices(skip_last=True)
        self.end.choices = _time_choices(skip_first=True)


class InviteForm(PortalForm):
    """One more visitor for a booking ahead."""
    name = GuestForm.name
    phone = GuestForm.phone
    organisation = GuestForm.organisation


class StepForm(PortalForm):
    version = HiddenField()
    note = TextAreaField(_l("Reason"), filters=[strip], validators=[Length(max=2000)])


class MoveForm(PortalForm):
    version = HiddenField()
    room = SelectField(_l("Room"), coerce=int, validate_choice=False)
    day = DayField(_l("Meeting day"), validators=[DataRequired(message=_l("Enter the day of the meeting."))])
    start = SelectField(_l("Start time"), validate_choice=False)
    end = SelectField(_l("End time"), validate_choice=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.room.choices = _room_choices()
        self.start.choices = _time_choices(skip_last=True)
        self.end.choices = _time_choices(skip_first=True)


class MinutesForm(PortalForm):
    version = HiddenField()
    attendees = TextAreaField(_l("Attendees"), filters=[strip], validators=[Length(max=2000)])
    decisions = TextAreaField(_l("Decisions"), filters=[strip], validators=[Length(max=10000)])


class ActionForm(PortalForm):
    text = TextAreaField(_l("Action to take"), filters=[strip], validators=[Length(max=2000)])
    owner = SelectField(_l("Who does it"), coerce=int, validate_choice=False)
    due_on = DayField(_l("Due on"), validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.owner.choices = _staff_choices()


class CloseForm(PortalForm):
    version = HiddenField()
    note = TextAreaField(_l("What was done about it"), filters=[strip], validators=[Length(max=2000)])


class RoomForm(PortalForm):
    name = StringField(_l("Name"), filters=[strip], validators=[DataRequired(message=_l("Enter the room's name.")),
                                                                Length(max=60)])
    location = StringField(_l("Where"), filters=[strip], validators=[Length(max=120)])
    capacity = WholeNumberField(_l("Seats"), validators=[DataRequired(message=_l("Enter how many people it seats."))])
    equipment = StringField(_l("Equipment"), filters=[strip], validators=[Length(max=300)],
                            description=_l("Projector, screen, whiteboard, video call…"))


@bp.context_processor
def labels():
    return {"STATES": STATES, "ACTION_STATES": ACTION_STATES, "PREPARATION": PREPARATION}


# ----------------------------------------------------------------------------- grid

def _day_arg(name="day"):
    text = request.args.get(name, "").strip()
    try:
        return dt.date.fromisoformat(text), None
    except ValueError:
        return local_now().date(), (_("Enter a date like 2026-11-23.") if text else None)


def _grid(columns, bookings):
    """Rows of half-hours × the columns [(room, day)]: each cell free (a link that books it),
    past, or a booking spanning its rows (None where a booking above covers it)."""
    if not columns:
        return []  # no room set up yet (a new site): no half-hours to draw
    taken = rooms.occupancy(bookings)
    times = [rooms.grid_times(day) for _room, day in columns]
    now = utcnow()
    covered, rows = set(), []
    for i, (label, _utc) in enumerate(times[0]):
        cells = []
        for c, (room, day) in enumerate(columns):
            if (c, i) in covered:
                cells.append(None)
                continue
            utc = times[c][i][1]
            booking = taken.get((room.id, utc))
            if booking is not None:
                span = 1
                while i + span < len(times[c]) and taken.get((room.id, times[c][i + span][1])) is booking:
                    covered.add((c, i + span))
                    span += 1
                cells.append({"kind": "booked", "booking": booking, "span": span})
            elif utc + SLOT <= now:
                cells.append({"kind": "past"})
            else:
                cells.append({"kind": "free", "url": url_for("rooms.new", room=room.id, day=day.isoformat(),
                                                             start=label), "label": label, "room": room})
        rows.append((label, cells))
    return rows


def _grid_rooms():
    """The rooms of this page of the day grid (?rooms=), GRID_ROOMS at a time, and the page's figures."""
    query = Room.select().where(Room.voided_at.is_null()).order_by(Room.name, Room.id)
    total = query.count()
    pages = max(1, -(-total // GRID_ROOMS))
    page = min(max(1, int_arg(request.args, "rooms") or 1), pages)
    shown = list(query.offset((page - 1) * GRID_ROOMS).limit(GRID_ROOMS))
    return shown, {"page": page, "pages": pages, "total": total, "first": (page - 1) * GRID_ROOMS + 1,
                   "last": (page - 1) * GRID_ROOMS + len(shown)}


@bp.route("/rooms")
@allow("admin_services.use")
def index():
    """The day: rooms × half-hours, free ones at a glance (eight rooms at a time); my bookings and open action items."""
    mine, more_mine, mine_page = one_page(rooms.mine(current_user), "rooms.index", param="mine")
    if mine_page > 1:
        return render_fragment("rooms/index.html", "more_mine", mine=mine, more_mine=more_mine)
    day, error = _day_arg()
    shown, pager = _grid_rooms()
    grid = _grid([(room, day) for room in shown], rooms.day_bookings(day, [r.id for r in shown]))
    return render("rooms/index.html", "grid", status=422 if error else 200, day=day, error=error, rooms=shown,
                  pager=pager, grid=grid, mine=mine, more_mine=more_mine,
                  open_actions=rooms.open_actions(current_user).count(),
                  previous=day - dt.timedelta(days=1), following=day + dt.timedelta(days=1),
                  today=local_now().date())


@bp.route("/rooms/week")
@allow("admin_services.use")
def week():
    """One room's week: days × half-hours."""
    day, error = _day_arg()
    monday = day - dt.timedelta(days=day.weekday())
    all_rooms = rooms.rooms()
    room = next((r for r in all_rooms if str(r.id) == request.args.get("room", "")), all_rooms[0] if all_rooms else None)
    days = [monday + dt.timedelta(days=n) for n in range(7)]
    grid = _grid([(room, d) for d in days], rooms.week_bookings(room.id, monday)) if room else []
    return render("rooms/week.html", status=422 if error else 200, room=room, rooms=all_rooms, days=days, grid=grid,
                  error=error, previous=monday - dt.timedelta(days=7), following=monday + dt.timedelta(days=7),
                  today=local_now().date())


# ----------------------------------------------------------------------------- booking

def _local_times(day, start, end):
    """The day and two "HH:MM" as naive UTC (None where unreadable)."""
    def one(text):
        try:
            return to_utc(dt.datetime.combine(day, dt.time.fromisoformat(text)))
        except (TypeError, ValueError):
            return None
    return one(start), one(end)


def _skipped(form):
    days = []
    for part in form.skip.data.replace("，", ",").replace("、", ",").replace(" ", ",").split(","):
        if not part:
            continue
        try:
            days.append(dt.date.fromisoformat(part))
        except ValueError:
            form.skip.errors = [*form.skip.errors, _("Enter dates like 2026-03-09, 2026-03-16.")]
            return None
    return days


@bp.route("/rooms/book", methods=["GET", "POST"])
@allow("admin_services.use")
def new():
    """Book a room, prefilled from the free slot tapped on the grid."""
    form = BookForm()
    if request.method == "GET":
        form.room.data = int_arg(request.args, "room", 0)
        day, _error = _day_arg()
        form.day.data = day
        start = request.args.get("start", "")
        if start in TIME_CHOICES[:-1]:
            form.start.data = start
            form.end.data = TIME_CHOICES[TIME_CHOICES.index(start) + 2] if TIME_CHOICES.index(start) + 2 < len(
                TIME_CHOICES) else TIME_CHOICES[-1]
    elif earlier := form.earlier_result():
        return redirect_to(earlier)
    elif form.validate():
        starts_at, ends_at = _local_times(form.day.data, form.start.data, form.end.data)
        skipped = _skipped(form) if form.weekly.data else []
        if skipped is not None:
            guests = [g.data for g in form.guests]
            common = dict(room_id=form.room.data, title=form.title.data, starts_at=starts_at, ends_at=ends_at,
                          attendees=form.attendees.data or 0, prep=form.prep.data or [], prep_note=form.prep_note.data,
                          guests=guests)

            def create():
                if form.weekly.data:
                    _series, made = rooms.book_series(current_user, until=form.until.data, skipped=skipped, **common)
                    return url_for("rooms.show", booking_id=made[0].id)
                return url_for("rooms.show", booking_id=rooms.book(current_user, **common).id)
            try:
                url, created = submit_once(form.submission_key.data, current_user, create)
            except DomainError as refused:
                field = refused.field
                if field and field.startswith("guests-"):
                    form.guests[int(field.split("-")[1])].form.phone.errors.append(str(refused))
                elif top := show_refusal(form, refused, fallback="start"):
                    form.start.errors.append(top)
            else:
                if created:
                    toast(_("Room booked."))
                return redirect_to(url)
    status = 422 if request.method == "POST" else 200
    return render("rooms/new.html", "form" if request.method == "POST" else None, status=status, form=form)


def _booking(booking_id):
    return rooms.get(booking_id) or abort(404)


def _show(booking, status=200, step=None, move_form=None, error=None, invite_form=None):
    actions = booking.actions_for(current_user)
    forms = {name: StepForm(prefix=name, formdata=None, data={"version": booking.version}) for name, _t in actions}
    if step is not None:
        step.version.data = booking.version
        forms[step._prefix.rstrip("-")] = step
    can_move = booking.state == "booked" and (booking.organiser_id == current_user.id or rooms.may_manage(current_user))
    if move_form is None and can_move:
        local = booking.local_start
        move_form = MoveForm(prefix="move", formdata=None, data={
            "version": booking.version, "room": booking.room_id, "day": local.date(),
            "start": local.strftime("%H:%M"), "end": booking.local_end.strftime("%H:%M")})
    elif move_form is not None:
        move_form.version.data = booking.version
    if invite_form is None and can_move and booking.ends_at > utcnow():
        invite_form = InviteForm(prefix="invite", formdata=None)
    return render("rooms/show.html", status=status, booking=booking, actions=actions, forms=forms,
                  invite_form=invite_form if can_move else None,
                  move_form=move_form if can_move else None, error=error, prep=rooms.prep_items(booking),
                  guests=rooms.guests_of(booking), minutes=rooms.minutes_of(booking),
                  may_tick=current_user.can("admin_services.run"),
                  opened=step._prefix.rstrip("-") if step else ("move" if move_form and move_form.errors else None))


def _version(form):
    text = form.version.data or ""
    return int(text) if text.isdigit() else None


@bp.route("/rooms/bookings/<int:booking_id>", methods=["GET", "POST"])
@allow("admin_services.use")
def show(booking_id):
    """One booking: when and where, its preparation, its visitors, and what I may do with it."""
    booking = _booking(booking_id)
    if request.method == "GET":
        return _show(booking)
    action = request.form.get("action", "")
    if action not in TRANSITIONS:
        abort(400)
    form = StepForm(prefix=action)
    version = _version(form)
    if not form.validate_on_submit() or version is None:
        return _show(booking, 422, form, error=None if form.errors else _("Reload the page and try again."))
    try:
        rooms.apply(booking.id, action, current_user, version, note=form.note.data)
    except DomainError as refused:
        return _show(_booking(booking_id), 422, form, error=show_refusal(form, refused))
    toast(_("%(action)s: done.", action=TRANSITIONS[action].label))
    return redirect_to(url_for("rooms.show", booking_id=booking.id))


@bp.route("/rooms/bookings/<int:booking_id>/move", methods=["POST"])
@allow("admin_services.use")
def move(booking_id):
    """Move this booking (one occurrence of a series becomes an exception)."""
    booking = _booking(booking_id)
    form = MoveForm(prefix="move")
    version = _version(form)
    if not form.validate_on_submit() or version is None:
        return _show(booking, 422, move_form=form, error=None if form.errors else _("Reload the page and try again."))
    starts_at, ends_at = _local_times(form.day.data, form.start.data, form.end.data)
    try:
        rooms.move(booking.id, current_user, version, starts_at=starts_at, ends_at=ends_at, room_id=form.room.data)
    except DomainError as refused:
        if top := show_refusal(form, refused, fallback="start"):
            form.start.errors.append(top)
        return _show(_booking(booking_id), 422, move_form=form)
    toast(_("Booking moved."))
    return redirect_to(url_for("rooms.show", booking_id=booking.id))


@bp.route("/rooms/bookings/<int:booking_id>/invite", methods=["POST"])
@allow("admin_services.use")
def invite(booking_id):
    """Invite one more visitor: the front desk expects them at the start."""
    booking = _booking(booking_id)
    form = InviteForm(prefix="invite")
    if not form.validate_on_submit():
        return _show(booking, 422, invite_form=form)
    try:
        rooms.invite(current_user, booking.id, {"name": form.name.data, "phone": form.phone.data,
                                                "organisation": form.organisation.data})
    except DomainError as refused:
        return _show(booking, 422, invite_form=form, error=show_refusal(form, refused))
    toast(_("Visitor invited: the front desk expects them."))
    return redirect_to(url_for("rooms.show", booking_id=booking.id))


@bp.route("/rooms/prep/<int:prep_item_id>/tick", methods=["POST"])
@allow("admin_services.run")
def tick(prep_item_id):
    """Logistics ticks one preparation off."""
    try:
        item = rooms.tick(current_user, prep_item_id)
    except DomainError as refused:
        toast(str(refused), "error")
        return redirect_to(url_for("rooms.prep"))
    toast(_("Ticked off: %(item)s.", item=item.label))
    return redirect_to(request.form.get("next") == "prep" and url_for("rooms.prep")
                       or url_for("rooms.show", booking_id=item.booking_id))


@bp.route("/rooms/prep")
@allow("admin_services.run")
def prep():
    """Logistics: the meetings ahead whose preparation is not finished, soonest first, fifty at a time."""
    bookings, more_url, page = one_page(rooms.unfinished_prep(), "rooms.prep")
    context = dict(bookings=bookings, items=rooms.prep_items_of(bookings), more_url=more_url)
    if page > 1:
        return render_fragment("rooms/prep.html", "more_prep", **context)
    return render("rooms/prep.html", **context)


# ----------------------------------------------------------------------------- minutes

def _minutes_page(booking, status=200, form=None, action_form=None, error=None):
    minutes = rooms.minutes_of(booking)
    may_write = rooms.may_write_minutes(booking, current_user) and booking.state == "booked"
    if form is None:
        form = MinutesForm(formdata=None, obj=minutes, data={"version": minutes.version if minutes else ""})
    if action_form is None:
        action_form = ActionForm(formdata=None)
    items = rooms.action_items(minutes) if minutes else []
    close_forms = {i.id: CloseForm(prefix=f"close-{i.id}", formdata=None, data={"version": i.version})
                   for i in items if rooms.action_refusal(i, "close", current_user) is None}
    return render("rooms/minutes.html", status=status, booking=booking, minutes=minutes, form=form,
                  action_form=action_form, items=items, may_write=may_write, error=error, close_forms=close_forms,
                  started=booking.starts_at <= utcnow())


@bp.route("/rooms/bookings/<int:booking_id>/minutes", methods=["GET", "POST"])
@allow("admin_services.use")
def minutes(booking_id):
    """The minutes (会议记录): attendees, decisions, and the action items."""
    booking = _booking(booking_id)
    if request.method == "GET":
        return _minutes_page(booking)
    form = MinutesForm()
    if not form.validate_on_submit():
        return _minutes_page(booking, 422, form=form)
    try:
        rooms.save_minutes(current_user, booking.id, attendees=form.attendees.data, decisions=form.decisions.data,
                           version=_version(form))
    except DomainError as refused:
        return _minutes_page(booking, 422, form=form, error=show_refusal(form, refused))
    toast(_("Minutes saved."))
    return redirect_to(url_for("rooms.minutes", booking_id=booking.id))


@bp.route("/rooms/bookings/<int:booking_id>/actions", methods=["POST"])
@allow("admin_services.use")
def add_action(booking_id):
    """Add an action item to the minutes."""
    booking = _booking(booking_id)
    form = ActionForm()
    minutes = rooms.minutes_of(booking)
    if not form.validate_on_submit():
        return _minutes_page(booking, 422, action_form=form)
    if minutes is None:
        return _minutes_page(booking, 422, action_form=form, error=_("Write the minutes first."))
    try:
        rooms.add_action(current_user, minutes.id, text=form.text.data, owner_id=form.owner.data or None,
                         due_on=form.due_on.data)
    except DomainError as refused:
        return _minutes_page(booking, 422, action_form=form, error=show_refusal(form, refused))
    toast(_("Action item added."))
    return redirect_to(url_for("rooms.minutes", booking_id=booking.id))


@bp.route("/rooms/bookings/<int:booking_id>/minutes.pdf")
@allow("admin_services.use")
def minutes_pdf(booking_id):
    """The meeting minutes (会议记录), printed; blank lines to write on before they are typed in."""
    booking = _booking(booking_id)
    minutes = rooms.minutes_of(booking)
    return render_pdf("print/meeting_minutes.html", f"会议记录-{booking.number}.pdf", booking=booking,
                      minutes=minutes, items=rooms.action_items(minutes) if minutes else [],
                      number=booking.number, qr=qr_data_uri(record_url("rooms.minutes", booking_id=booking.id)))


@bp.route("/rooms/actions")
@allow("admin_services.use")
def actions():
    """Open action items: mine to do, and those of the meetings I organised, fifty at a time each."""
    mine_to_do, more_mine, mine_page = one_page(rooms.open_actions(current_user), "rooms.actions")
    close_forms = {i.id: CloseForm(prefix=f"close-{i.id}", formdata=None, data={"version": i.version})
                   for i in mine_to_do}
    if mine_page > 1:
        return render_fragment("rooms/actions.html", "more_mine", mine=mine_to_do, more_mine=more_mine,
                               close_forms=close_forms)
    organised, more_organised, organised_page = one_page(rooms.open_actions_organised(current_user),
                                                         "rooms.actions", param="organised")
    if organised_page > 1:
        return render_fragment("rooms/actions.html", "more_organised", organised=organised,
                               more_organised=more_organised)
    return render("rooms/actions.html", mine=mine_to_do, more_mine=more_mine, organised=organised,
                  more_organised=more_organised, close_forms=close_forms)


@bp.route("/rooms/actions/<int:action_id>/close", methods=["POST"])
@allow("admin_services.use")
def close_action(action_id):
    """The owner closes an action item."""
    form = CloseForm(prefix=f"close-{action_id}")
    version = _version(form)
    back = request.form.get("next") == "minutes"
    try:
        if not form.validate_on_submit() or version is None:
            raise DomainError(_("Reload the page and try again."))
        item = rooms.apply_action(action_id, "close", current_user, version, note=form.note.data)
    except DomainError as refused:
        toast(str(refused), "error")
        return redirect_to(url_for("rooms.actions"))
    toast(_("Action item closed."))
    if back:
        return redirect_to(url_for("rooms.minutes", booking_id=rooms.MeetingMinutes.get_by_id(item.minutes_id)
                                   .booking_id))
    return redirect_to(url_for("rooms.actions"))


# ----------------------------------------------------------------------------- rooms

@bp.route("/rooms/manage", methods=["GET", "POST"])
@allow("rooms.manage")
def manage():
    """The rooms: their seats and equipment; a new room."""
    form = RoomForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            rooms.add_room(current_user, name=form.name.data, location=form.location.data,
                           capacity=form.capacity.data, equipment=form.equipment.data)
        except DomainError as refused:
            show_refusal(form, refused, fallback="name")
        else:
            toast(_("Room added."))
            return redirect_to(url_for("rooms.manage"))
    shown, more_url, page = one_page(Room.select().order_by(Room.voided_at.is_null(False), Room.name, Room.id),
                                     "rooms.manage")
    if page > 1:
        return render_fragment("rooms/manage.html", "more_rooms", rooms=shown, more_url=more_url)
    return render("rooms/manage.html", status=422 if form.errors else 200, form=form, rooms=shown, more_url=more_url)


@bp.route("/rooms/manage/<int:room_id>/void", methods=["POST"])
@allow("rooms.manage")
def void_room(room_id):
    """Take a room out of use (voided with a reason, never deleted)."""
    try:
        rooms.void_room(current_user, room_id, request.form.get("reason", ""))
    except DomainError as refused:
        toast(str(refused), "error")
    else:
        toast(_("Room taken out of use."))
    return redirect_to(url_for("rooms.manage"))

