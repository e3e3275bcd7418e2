"""The front desk's visitor screen: the live desk, registration, the host's answer."""
import datetime as dt

from flask import Blueprint, abort, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from peewee import JOIN
from wtforms import DateTimeLocalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from models import settings
from models.base import DomainError
from models.submissions import submit_once
from models.timezone import day_start_utc, local_now, to_utc
from models.users import Department, User
from models.visitors import (
    HOST_ANSWERS, PASS_SIZE, PURPOSES, WAIT_HIGHLIGHT_MINUTES, Appointment, Visit, WatchlistEntry, add_to_watchlist,
    apply, book, check_in, register_visit, retire_from_watchlist, watchlist_matches,
)
from printing import qr_data_uri
from views.access import allow
from views.fields import ChosenIdField, day_arg, int_arg, phone, show_refusal, strip, whole_number
from views.exports import table_download
from views.printing import record_url, render_pdf
from views.templating import local_datetime
from views.ui import PortalForm, one_page, redirect_to, render, render_fragment, safe_next, toast, wants_fragment

bp = Blueprint("visitors", __name__)


def purpose_choices():
    return [SelectChoice(k, v) for k, v in PURPOSES.items()]


class VisitForm(PortalForm):
    phone = StringField(_l("Phone"), filters=[strip], validators=[DataRequired(), Length(max=30), phone],
                        render_kw={"inputmode": "tel", "autocomplete": "off"})
    visitor_name = StringField(_l("Visitor's name"), filters=[strip], validators=[DataRequired(), Length(max=80)],
                               render_kw={"autocomplete": "off"})
    organisation = StringField(_l("Organisation"), filters=[strip], validators=[Length(max=120)])
    purpose = SelectField(_l("Purpose"), choices=purpose_choices)
    purpose_other = StringField(_l("Other purpose"), filters=[strip], validators=[Length(max=120)])
    host = ChosenIdField(_l("Host"))
    companions = IntegerField(_l("Companions"), default=0,
                              validators=[Optional(), NumberRange(min=0, max=50, message=_l("0 to 50."))],
                              render_kw={"inputmode": "numeric"})
    id_number = StringField(_l("ID or badge number"), filters=[strip], validators=[Length(max=40)])
    car_plate = StringField(_l("Car plate"), filters=[strip], validators=[Length(max=20)])
    note = TextAreaField(_l("Note"), filters=[strip], validators=[Length(max=1000)])
    arrived_at = DateTimeLocalField(_l("Arrived at"), format="%Y-%m-%dT%H:%M",
                                    validators=[InputRequired(message=_l("Enter the arrival time."))])
    watchlist_reason = TextAreaField(_l("Reason to register anyway"), filters=[strip], validators=[Length(max=500)])

    def validate_host(self, field):
        # Kept for the registration: the host is read once per request, not checked then loaded.
        self.chosen_host = User.get_or_none(User.id == field.data) if field.data else None
        if self.chosen_host is None:
            raise ValidationError(_l("Choose the host."))

    def validate_purpose_other(self, field):
        if self.purpose.data == "other" and not field.data:
            raise ValidationError(_l("Say what the visit is for."))


def _now_local():
    return local_now().replace(tzinfo=None, second=0, microsecond=0)


#: Each list of the live desk shows this many (the longest waiting, the soonest expected) and counts
#: the rest: the roll call and the log list everyone.
DESK_SHOWN = 50


def _capped(query):
    rows = list(query.limit(DESK_SHOWN))
    return rows, (query.count() if len(rows) == DESK_SHOWN else len(rows))


def _desk_context():
    today = local_now().date()
    (waiting, waiting_total), (on_site, on_site_total) = _capped(Visit.waiting()), _capped(Visit.on_site_only())
    expected, expected_total = _capped(Appointment.expected_on(today))
    return dict(
        waiting=waiting, waiting_total=waiting_total, on_site=on_site, on_site_total=on_site_total,
        expected=expected, expected_total=expected_total,
        left_open=list(Visit.on_site().where(Visit.arrived_at < day_start_utc(today)).limit(DESK_SHOWN)),
        highlight_after=settings.get(WAIT_HIGHLIGHT_MINUTES),
    )


@bp.route("/visitors")
@allow("visitors.desk")
def desk():
    """Today's desk: who is waiting (and for how long), who is on site, who is expected."""
    return render("visitors/desk.html", "board", **_desk_context())


def _host_options(selected_id=None, q=""):
    query = (User.select(User, Department).join(Department, on=(User.department == Department.id),
                                                join_type=JOIN.LEFT_OUTER)
             .where(User.is_active == True).order_by(User.display_name))  # noqa: E712
    if q:
        query = query.where(User.name_matches(q) | User.username ** f"%{q}%")
    hosts = list(query.limit(8))
    if selected_id and selected_id not in [h.id for h in hosts]:
        selected = User.get_or_none(User.id == selected_id, User.is_active == True)  # noqa: E712
        if selected:
            hosts.insert(0, selected)
    return hosts


def _form_page(form, status=200, watchlist=None):
    return render("visitors/new.html", "form", status=status, form=form, selected=form.host.data,
                  hosts=_host_options(form.host.data), watchlist=watchlist or [])


@bp.route("/visitors/new", methods=["GET", "POST"])
@allow("visitors.desk")
def new():
    """Register a visitor; ?from=<visit> fills the form from an earlier visit."""
    form = VisitForm()
    if request.method == "GET":
        earlier_id = int_arg(request.args, "from")
        earlier = Visit.get_or_none(Visit.id == earlier_id) if earlier_id else None
        if earlier:
            for name in ("phone", "visitor_name", "organisation", "purpose", "purpose_other", "id_number",
                         "car_plate"):
                getattr(form, name).data = getattr(earlier, name)
            form.host.data = earlier.host_id if earlier.host.is_active else None
        form.arrived_at.data = _now_local()
        return _form_page(form)
    if earlier_url := form.earlier_result():
        return redirect_to(earlier_url)
    if not form.validate():
        return _form_page(form, status=422)

    def create():
        visit = register_visit(
            current_user, visitor_name=form.visitor_name.data, phone=form.phone.data,
            organisation=form.organisation.data, purpose=form.purpose.data, purpose_other=form.purpose_other.data,
            host=form.chosen_host, companions=form.companions.data or 0,
            id_number=form.id_number.data, car_plate=form.car_plate.data, note=form.note.data,
            arrived_at=to_utc(form.arrived_at.data), watchlist_reason=form.watchlist_reason.data)
        return url_for("visitors.show", visit_id=visit.id)
    try:
        url, _created = submit_once(form.submission_key.data, current_user, create)
    except DomainError as refused:
        if top := show_refusal(form, refused):
            form.host.errors.append(top)  # the page has no place above the form: beside whom they came for
        # The entries the desk is warned by, beside the reason it asks for.
        matches = watchlist_matches(form.visitor_name.data, form.phone.data, form.id_number.data)
        return _form_page(form, status=422, watchlist=matches if refused.field == "watchlist_reason" else None)
    toast(_("Registered; the host has been told."))
    return redirect_to(url)


@bp.route("/visitors/suggest")
@allow("visitors.desk")
def suggest():
    """Earlier visits matching the typed phone or name (returning visitors)."""
    phone_typed = request.args.get("phone", "").strip()[:30]
    q = phone_typed if len(phone_typed) >= 3 else request.args.get("visitor_name", "").strip()[:40]
    return render_fragment("visitors/new.html", "suggestions", suggestions=Visit.earlier_visitors(q))


@bp.route("/visitors/hosts")
@allow("visitors.desk")
def hosts():
    """Active staff matching the typed name (the host picker)."""
    q = request.args.get("host_q", "")[:40].strip()
    selected = int_arg(request.args, "host")
    return render_fragment("visitors/new.html", "host_options", hosts=_host_options(selected, q=q),
                           selected=selected)


def _visit_or_404(visit_id):
    return Visit.get_or_none(Visit.id == visit_id) or abort(404)


@bp.route("/visitors/<int:visit_id>")
@allow("visitors.desk")
def show(visit_id):
    """One visit, with check-out and the printed pass."""
    return render("visitors/show.html", visit=_visit_or_404(visit_id))


def _desk_action(visit_id, action, done_message):
    """A one-tap step from the desk's list: the list comes back in place for htmx."""
    visit = _visit_or_404(visit_id)
    try:
        apply(current_user, visit.id, action)
        toast(done_message % {"name": visit.visitor_name})
    except DomainError as refused:
        toast(str(refused), "error")
    if request.htmx.target == "desk-board":
        return render("visitors/desk.html", "board", **_desk_context())
    return redirect_to(url_for("visitors.desk"))


@bp.route("/visitors/<int:visit_id>/with-host", methods=["POST"])
@allow("visitors.desk")
def do_with_host(visit_id):
    """The visitor is with the host (the host came, or they were sent up): now on site."""
    return _desk_action(visit_id, "with_host", _("%(name)s is with the host."))


@bp.route("/visitors/<int:visit_id>/check-out", methods=["POST"])
@allow("visitors.desk")
def do_check_out(visit_id):
    """Check a visitor out in one tap."""
    return _desk_action(visit_id, "check_out", _("%(name)s checked out."))


@bp.route("/visitors/<int:visit_id>/answer", methods=["GET", "POST"])
@allow("home")
def host_answer(visit_id):
    """The host sees who is waiting and answers the desk (also straight from a notification)."""
    visit = _visit_or_404(visit_id)
    if visit.host_id != current_user.id:
        abort(403)
    if request.method == "POST":
        try:
            apply(current_user, visit.id, "answer", reply=request.form.get("reply", ""))
            toast(_("The front desk has your answer."))
        except DomainError as refused:
            toast(str(refused), "error")
        return redirect_to(safe_next(request.form.get("next"))
                           or url_for("visitors.host_answer", visit_id=visit.id))
    return render("visitors/answer.html", visit=visit, answers=HOST_ANSWERS)


class AppointmentForm(PortalForm):
    visitor_name = StringField(_l("Visitor's name"), filters=[strip], validators=[DataRequired(), Length(max=80)])
    phone = StringField(_l("Phone"), filters=[strip], validators=[DataRequired(), Length(max=30), phone],
                        render_kw={"inputmode": "tel"})
    organisation = StringField(_l("Organisation"), filters=[strip], validators=[Length(max=120)])
    purpose = SelectField(_l("Purpose"), choices=purpose_choices)
    host = SelectField(_l("Host"), coerce=int, validate_choice=False)
    starts_at = DateTimeLocalField(_l("Expected at"), format="%Y-%m-%dT%H:%M",
                                   validators=[InputRequired(message=_l("Enter when the visitor is expected."))])
    ends_at = DateTimeLocalField(_l("Until"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    note = TextAreaField(_l("Note"), filters=[strip], validators=[Length(max=1000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.host.choices = [SelectChoice(u.id, u.display_name) for u in
                             User.select().where(User.is_active == True).order_by(User.display_name)]  # noqa: E712

    def validate_host(self, field):
        if not User.select().where(User.id == field.data).exists():
            raise ValidationError(_l("Choose the host."))


@bp.route("/appointments", methods=["GET", "POST"])
@allow("visitors.book")
def appointments():
    """Visits booked ahead (预约): the list and the booking form."""
    form = AppointmentForm()
    if request.method == "GET":
        form.host.data = current_user.id
    elif earlier := form.earlier_result():
        return redirect_to(earlier)
    elif form.validate():
        def create():
            book(current_user, visitor_name=form.visitor_name.data, phone=form.phone.data,
                 organisation=form.organisation.data, purpose=form.purpose.data,
                 host=User.get_by_id(form.host.data), starts_at=to_utc(form.starts_at.data),
                 ends_at=to_utc(form.ends_at.data) if form.ends_at.data else None, note=form.note.data)
            return url_for("visitors.appointments")
        try:
            url, _created = submit_once(form.submission_key.data, current_user, create)
        except DomainError as refused:
            if top := show_refusal(form, refused):
                form.host.errors.append(top)
        else:
            toast(_("Appointment booked."))
            return redirect_to(url)
    upcoming = list(Appointment.select(Appointment, User).join(User, on=(Appointment.host == User.id))
                    .where(Appointment.starts_at >= day_start_utc(local_now().date()),
                           Appointment.visit.is_null(), Appointment.cancelled_at.is_null())
                    .order_by(Appointment.starts_at).limit(100))
    status = 422 if request.method == "POST" else 200
    return render("visitors/appointments.html", "form" if request.method == "POST" else None, status=status,
                  form=form, upcoming=upcoming)


@bp.route("/appointments/<int:appointment_id>/check-in", methods=["POST"])
@allow("visitors.desk")
def do_check_in(appointment_id):
    """The booked visitor has arrived: one tap makes the visit."""
    appointment = Appointment.get_or_none(Appointment.id == appointment_id) or abort(404)
    try:
        visit = check_in(current_user, appointment)
    except DomainError as refused:
        toast(str(refused), "error")
        return redirect_to(url_for("visitors.desk"))
    toast(_("Checked in; the host has been told."))
    return redirect_to(url_for("visitors.show", visit_id=visit.id))


def _passes_pdf(visits, filename, sheet):
    """Visitor passes at the configured pass size: one to a page, or several on A4 sheets."""
    passes = [(v, qr_data_uri(record_url("visitors.show", visit_id=v.id))) for v in visits]
    return render_pdf("print/visitor_pass.html", filename, passes=passes, sheet=sheet,
                      size=settings.get(PASS_SIZE).lower())


@bp.route("/visitors/<int:visit_id>/pass.pdf")
@allow("visitors.desk")
def visitor_pass(visit_id):
    """Print the visitor pass."""
    visit = _visit_or_404(visit_id)
    return _passes_pdf([visit], f"访客证-{visit.number}.pdf", sheet=False)


@bp.route("/visitors/passes.pdf")
@allow("visitors.desk")
def visitor_passes():
    """Print several passes on A4 sheets: the visits named by ?visit=…, else everyone
    who came in today and has not left."""
    ids = [int(v) for v in request.args.getlist("visit") if whole_number(v)][:200]
    if ids:
        query = Visit.with_host().where(Visit.id.in_(ids))
    else:
        query = Visit.on_site().where(Visit.arrived_at >= day_start_utc(local_now().date()))
    visits = list(query.order_by(Visit.arrived_at, Visit.id))  # in the order they came, also at the same minute
    return _passes_pdf(visits, f"访客证-{local_now():%Y%m%d-%H%M}.pdf", sheet=True)


@bp.route("/visitors/on-site.pdf")
@allow("visitors.desk")
def on_site_pdf():
    """Print everyone in the building now (the evacuation list)."""
    now = local_now()
    return render_pdf("print/on_site.html", f"在场人员-{now:%Y%m%d-%H%M}.pdf", visits=list(Visit.on_site()),
                      number=f"ZC-{now:%Y%m%d-%H%M}", printed_at=now)


@bp.route("/visitors/roll-call")
@allow("visitors.desk")
def roll_call():
    """The evacuation roll call on the tablet; it keeps working from its last copy offline."""
    return render("visitors/roll_call.html", visits=list(Visit.on_site()), now=local_now())


#: Rows per page of the visitor log; "show more" fetches the next ones.
LOG_PAGE = 50


@bp.route("/visitors/log")
@allow("visitors.desk")
def log():
    """The visitor log: search by date, host, organisation, purpose; export CSV or XLSX."""
    args, errors = request.args, {}
    day_from = day_arg(args, "from", errors)
    day_to = day_arg(args, "to", errors)
    query = Visit.search(date_from=to_utc(day_from) if day_from else None,
                         date_to=to_utc(day_to + dt.timedelta(days=1)) if day_to else None,
                         host_id=int_arg(args, "host"), organisation=args.get("organisation", "").strip()[:60],
                         purpose=args.get("purpose") if args.get("purpose") in PURPOSES else None)
    fmt = args.get("format")
    if fmt in ("csv", "xlsx") and not errors:
        headers = [_("Number"), _("Arrived at"), _("Left at"), _("Visitor's name"), _("Phone"), _("Organisation"),
                   _("Purpose"), _("Host"), _("Companions")]
        rows = [[v.number, local_datetime(v.arrived_at), local_datetime(v.left_at), v.visitor_name, v.phone,
                 v.organisation, str(v.purpose_label), v.host.display_name, v.companions] for v in query]
        return table_download(f"visitor-log-{local_now():%Y%m%d}", headers, rows, fmt)
    page = max(1, int_arg(args, "page") or 1)
    visits = list(query.offset((page - 1) * LOG_PAGE).limit(LOG_PAGE + 1))
    more_url = None
    if len(visits) > LOG_PAGE:
        visits = visits[:LOG_PAGE]
        more_url = url_for("visitors.log", **(args.to_dict() | {"page": page + 1}))
    context = {"visits": visits, "page": page, "more_url": more_url}
    if page > 1:  # "show more": the next rows only, in place of the button
        return render_fragment("visitors/log.html", "rows", **context)
    hosts_list = User.select(User.id, User.display_name).order_by(User.display_name)
    return render("visitors/log.html", "results", errors=errors, filters=args, hosts=hosts_list,
                  purposes=PURPOSES, **context)


class WatchlistForm(PortalForm):
    name = StringField(_l("Name"), filters=[strip], validators=[Length(max=80)])
    phone = StringField(_l("Phone"), filters=[strip], validators=[Length(max=30), phone])
    id_number = StringField(_l("ID or badge number"), filters=[strip], validators=[Length(max=40)])
    reason = TextAreaField(_l("Reason"), filters=[strip], validators=[DataRequired(), Length(max=500)])

    def validate_name(self, field):
        if not (field.data or self.phone.data or self.id_number.data):
            raise ValidationError(_l("Give at least a name, a phone number or an ID number."))


@bp.route("/visitors/watchlist", methods=["GET", "POST"])
@allow("visitors.watchlist")
def watchlist():
    """The watchlist the desk is warned by: add and retire entries."""
    form = WatchlistForm()
    if request.method == "POST":
        if earlier := form.earlier_result():
            return redirect_to(earlier)
        if form.validate():
            def create():
                add_to_watchlist(current_user, form.name.data, form.phone.data, form.id_number.data,
                                 form.reason.data)
                return url_for("visitors.watchlist")
            url, _created = submit_once(form.submission_key.data, current_user, create)
            toast(_("Added to the watchlist."))
            return redirect_to(url)
    q = request.args.get("q", "").strip()[:40]
    entries, more_url, page = one_page(WatchlistEntry.listing(q), "visitors.watchlist")
    if (page > 1 or wants_fragment()) and request.method == "GET":
        return render_fragment("visitors/watchlist.html", "more_entries", entries=entries, more_url=more_url)
    status = 422 if request.method == "POST" else 200
    return render("visitors/watchlist.html", "form" if request.method == "POST" else None, status=status,
                  form=form, entries=entries, more_url=more_url, q=q)


@bp.route("/visitors/watchlist/<int:entry_id>/retire", methods=["POST"])
@allow("visitors.watchlist")
def retire_watchlist(entry_id):
    """Take an entry off the watchlist (it stays in the audit trail)."""
    entry = WatchlistEntry.get_or_none(WatchlistEntry.id == entry_id) or abort(404)
    retire_from_watchlist(current_user, entry)
    toast(_("Taken off the watchlist."))
    return redirect_to(url_for("visitors.watchlist"))
