"""Vehicles (车辆管理): trip requests for everyone, approval by the heads, dispatch and returns by
logistics; the fleet with its due dates, maintenance and repairs; the drivers; the printed trip
request form (用车申请单) and a vehicle's monthly log."""
from flask import Blueprint, abort, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import BooleanField, DateTimeLocalField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from models import vehicles
from models.base import DomainError
from models.submissions import submit_once
from models.timezone import to_local, to_utc
from models.users import User
from models.vehicles import (
    DUE_KINDS, SERVICE_KINDS, STATES, TRANSITIONS, VEHICLE_STATES, Driver, Vehicle, VehicleService,
)
from printing import qr_data_uri
from views.access import allow
from views.fields import AmountField, DayField, WholeNumberField, month_period, show_refusal, strip
from views.printing import record_url, render_pdf
from views.templating import NAV_COUNTS
from views.ui import PortalForm, one_page, redirect_to, render, render_fragment, toast

bp = Blueprint("vehicles", __name__, url_prefix="/vehicles")
NAV_COUNTS["vehicles.index"] = vehicles.awaiting_count

WHEN = "%Y-%m-%dT%H:%M"


class TripForm(PortalForm):
    destination = StringField(_l("Where to"), filters=[strip], validators=[DataRequired(), Length(max=200)])
    starts_at = DateTimeLocalField(_l("Leaves at"), format=WHEN, validators=[DataRequired(message=_l(
        "Enter when the trip starts."))])
    ends_at = DateTimeLocalField(_l("Back by"), format=WHEN, validators=[DataRequired(message=_l(
        "Enter when the trip ends."))])
    passengers = WholeNumberField(_l("Passengers"), validators=[DataRequired(message=_l("Enter the passengers."))],
                                  render_kw={"inputmode": "numeric"})
    purpose = TextAreaField(_l("Purpose of the trip"), filters=[strip], validators=[DataRequired(), Length(max=2000)])


class StepForm(PortalForm):
    """One per next step, prefixed with the step's name: the page holds several at once."""
    version = HiddenField()
    vehicle = SelectField(_l("Vehicle"), coerce=int, validate_choice=False, validators=[Optional()])
    driver = SelectField(_l("Driver"), coerce=int, validate_choice=False, validators=[Optional()])
    odometer = WholeNumberField(_l("Odometer (km)"), validators=[Optional()], render_kw={"inputmode": "numeric"})
    fuel = AmountField(_l("Fuel (yuan)"), validators=[Optional()], render_kw={"inputmode": "decimal"})
    tolls = AmountField(_l("Tolls and parking (yuan)"), validators=[Optional()], render_kw={"inputmode": "decimal"})
    destination = StringField(_l("Where to"), filters=[strip], validators=[Length(max=200)])
    starts_at = DateTimeLocalField(_l("Leaves at"), format=WHEN, validators=[Optional()])
    ends_at = DateTimeLocalField(_l("Back by"), format=WHEN, validators=[Optional()])
    passengers = WholeNumberField(_l("Passengers"), validators=[Optional()], render_kw={"inputmode": "numeric"})
    purpose = TextAreaField(_l("Purpose of the trip"), filters=[strip], validators=[Length(max=2000)])
    note = TextAreaField(_l("Note"), filters=[strip], validators=[Length(max=2000)])


class VehicleForm(PortalForm):
    version = HiddenField()
    plate = StringField(_l("Plate"), filters=[strip], validators=[DataRequired(), Length(max=12)],
                        description=_l("Like 沪A12345; new-energy plates have 8 characters, like 沪AD12345."))
    model = StringField(_l("Make and model"), filters=[strip], validators=[Length(max=80)])
    seats = WholeNumberField(_l("Seats"), validators=[DataRequired(message=_l("Enter the seats, 1 to 99."))],
                             render_kw={"inputmode": "numeric"})
    odometer = WholeNumberField(_l("Odometer (km)"), validators=[Optional()], render_kw={"inputmode": "numeric"})
    insurance_due = DayField(_l("Insurance due"), validators=[Optional()])
    inspection_due = DayField(_l("Annual inspection due"), validators=[Optional()])
    maintenance_due = DayField(_l("Maintenance due"), validators=[Optional()])
    note = TextAreaField(_l("Note"), filters=[strip], validators=[Length(max=2000)])
    retired = BooleanField(_l("Retired from the fleet"))


class ServiceForm(PortalForm):
    kind = SelectField(_l("Kind"), choices=[SelectChoice(k, v) for k, v in SERVICE_KINDS.items()],
                       validate_choice=False)
    opened_on = DayField(_l("To the garage on"), validators=[DataRequired(message=_l(
        "Enter the day it went to the garage."))])
    garage = StringField(_l("Garage"), filters=[strip], validators=[DataRequired(), Length(max=120)])
    work = TextAreaField(_l("Work to do"), filters=[strip], validators=[DataRequired(), Length(max=2000)])
    cost = AmountField(_l("Cost (yuan)"), validators=[Optional()], render_kw={"inputmode": "decimal"})


class CloseServiceForm(PortalForm):
    closed_on = DayField(_l("Back on"), validators=[DataRequired(message=_l("Enter the day it came back."))])
    cost = AmountField(_l("Cost (yuan)"), validators=[Optional()], render_kw={"inputmode": "decimal"})
    work = TextAreaField(_l("Work done"), filters=[strip], validators=[Length(max=2000)])
    next_maintenance_due = DayField(_l("Next maintenance due"), validators=[Optional()])


class VoidServiceForm(PortalForm):
    reason = TextAreaField(_l("Reason"), filters=[strip], validators=[DataRequired(message=_l("Give the reason.")),
                                                                       Length(max=2000)])


class DriverForm(PortalForm):
    user = SelectField(_l("Member of staff"), coerce=int, validate_choice=False)
    licence = StringField(_l("Driving licence"), filters=[strip], validators=[Length(max=40)])


@bp.context_processor
def labels():
    return {"STATES": STATES, "VEHICLE_STATES": VEHICLE_STATES, "DUE_KINDS": DUE_KINDS,
            "SERVICE_KINDS": SERVICE_KINDS, "to_local": to_local}


def _local(value):
    return to_local(value).replace(tzinfo=None) if value else None


def _utc(value):
    return to_utc(value) if value else None


# ------------------------------------------------------------------ trips

@bp.route("/")
@allow("admin_services.use")
def index():
    """My trip requests, those waiting for my approval, and for logistics the trips to dispatch and out."""
    rows, more_url, page = one_page(vehicles.my_trips(current_user), "vehicles.index")
    logistics = "logistics" in current_user.roles
    return render("vehicles/index.html", rows=rows, more_url=more_url, page=page,
                  waiting=vehicles.awaiting_approval(current_user), driving=vehicles.driving(current_user),
                  to_dispatch=list(vehicles.in_state("approved").limit(200)) if logistics else [],
                  under_way=list(vehicles.in_state("dispatched", "out", "back").limit(200)) if logistics else [],
                  due=vehicles.due_soon() if logistics else [], logistics=logistics)


@bp.route("/trips")
@allow("vehicles.manage")
def trips():
    """Every trip request, filterable by state and searchable; 50 at a time."""
    state = request.args.get("state", "open")
    q = request.args.get("q", "").strip()[:40]
    rows, more_url, page = one_page(vehicles.register(state=state, q=q), "vehicles.trips")
    if page > 1:
        return render_fragment("vehicles/trips.html", "more_rows", rows=rows, more_url=more_url)
    return render("vehicles/trips.html", "rows", rows=rows, more_url=more_url, state=state, q=q)


@bp.route("/trips/new", methods=["GET", "POST"])
@allow("admin_services.use")
def new_trip():
    """Request a vehicle."""
    form = TripForm()
    if earlier := form.earlier_result():
        return redirect_to(earlier)
    if form.validate_on_submit():
        def create():
            trip = vehicles.request_trip(current_user, destination=form.destination.data,
                                         starts_at=_utc(form.starts_at.data), ends_at=_utc(form.ends_at.data),
                                         passengers=form.passengers.data, purpose=form.purpose.data)
            return url_for("vehicles.trip", trip_id=trip.id)
        try:
            url, created = submit_once(form.submission_key.data, current_user, create)
        except DomainError as refused:
            show_refusal(form, refused, fallback="destination")
        else:
            if created:
                toast(_("Trip requested: your head is asked to approve it."))
            return redirect_to(url)
    return render("vehicles/new_trip.html", "form", status=422 if form.errors else 200, form=form)


def _trip(trip_id):
    trip = vehicles.load_trip(trip_id)
    if trip is None or not vehicles.visible_to(trip, current_user):
        abort(404)
    return trip


def _step_forms(trip, actions, posted=None):
    forms = {}
    for name, _t in actions:
        data = {"version": trip.version}
        if name == "resubmit":
            data.update(destination=trip.destination, starts_at=_local(trip.starts_at), ends_at=_local(trip.ends_at),
                        passengers=trip.passengers, purpose=trip.purpose)
        if name == "redispatch":
            data.update(vehicle=trip.vehicle_id, driver=trip.driver_id)
        forms[name] = StepForm(prefix=name, formdata=None, data=data)
    if posted is not None:
        posted.version.data = trip.version
        forms[posted._prefix.rstrip("-")] = posted
    for name in ("dispatch", "redispatch"):
        if name not in forms:
            continue
        busy_vehicles, busy_drivers = vehicles.busy_during(trip)

        def busy(label, number):
            return _("%(label)s (on trip %(number)s)", label=label, number=number) if number else label
        choices = [(v.id in busy_vehicles or v.seats < trip.passengers, SelectChoice(v.id, busy(
            _("%(plate)s %(model)s, %(seats)s seats", plate=v.plate, model=v.model, seats=v.seats),
            busy_vehicles.get(v.id)))) for v in vehicles.dispatchable_vehicles()]
        # Free first: what fits is what logistics looks for.
        forms[name].vehicle.choices = [SelectChoice(0, "—")] + [c for _taken, c in sorted(
            choices, key=lambda pair: pair[0])]
        forms[name].driver.choices = [SelectChoice(0, "—")] + [c for _taken, c in sorted(
            ((d.id in busy_drivers, SelectChoice(d.id, busy(d.user.display_name, busy_drivers.get(d.id))))
             for d in vehicles.drivers()), key=lambda pair: pair[0])]
    return forms


def _show(trip, posted=None, status=200, error=None):
    actions = trip.actions_for(current_user)
    return render("vehicles/trip.html", status=status, trip=trip, actions=actions,
                  forms=_step_forms(trip, actions, posted), error=error,
                  opened=posted._prefix.rstrip("-") if posted else None,
                  approvers=vehicles.approvers(trip) if trip.state == "requested" else [])


@bp.route("/trips/<int:trip_id>", methods=["GET", "POST"])
@allow("admin_services.use")
def trip(trip_id):
    """One trip request and the next steps I may take."""
    record = _trip(trip_id)
    if request.method == "GET":
        return _show(record)
    action = request.form.get("action", "")
    if action not in TRANSITIONS:
        abort(400)
    form = StepForm(prefix=action)
    if not form.validate_on_submit():
        return _show(record, form, 422)
    try:
        version = int(form.version.data or "")
    except ValueError:
        return _show(record, form, 422, _("Reload the page and try again."))
    try:
        vehicles.apply(record.id, action, current_user, version, note=form.note.data,
                       vehicle_id=form.vehicle.data or None, driver_id=form.driver.data or None,
                       odometer=form.odometer.data, fuel=form.fuel.data, tolls=form.tolls.data,
                       destination=form.destination.data, starts_at=_utc(form.starts_at.data),
                       ends_at=_utc(form.ends_at.data), passengers=form.passengers.data, purpose=form.purpose.data)
    except DomainError as refused:
        return _show(_trip(trip_id), form, 422, show_refusal(form, refused))
    toast(_("%(action)s: done.", action=TRANSITIONS[action].label))
    return redirect_to(url_for("vehicles.trip", trip_id=record.id))


@bp.route("/trips/<int:trip_id>/form.pdf")
@allow("admin_services.use")
def trip_form(trip_id):
    """The trip request form (用车申请单)."""
    record = _trip(trip_id)
    return render_pdf("print/vehicle_trip.html", f"用车申请单-{record.number}.pdf", trip=record,
                      number=record.number, qr=qr_data_uri(record_url("vehicles.trip", trip_id=record.id)))


# ------------------------------------------------------------------ the fleet

@bp.route("/fleet")
@allow("vehicles.manage")
def fleet():
    """The vehicles with their due dates (50 at a time), and the drivers."""
    rows, more_url, _page = one_page(vehicles.fleet(), "vehicles.fleet")
    return render("vehicles/fleet.html", vehicles=rows, more_url=more_url,
                  drivers=vehicles.drivers(limit=vehicles.DRIVERS_SHOWN),
                  due={(v.id, k) for v, k, _d in vehicles.due_soon()})


@bp.route("/fleet/new", methods=["GET", "POST"])
@allow("vehicles.manage")
def new_vehicle():
    """Add a vehicle to the fleet."""
    form = VehicleForm()
    if earlier := form.earlier_result():
        return redirect_to(earlier)
    if form.validate_on_submit():
        def create():
            vehicle = vehicles.add_vehicle(current_user, plate=form.plate.data, model=form.model.data,
                                           seats=form.seats.data, odometer=form.odometer.data or 0,
                                           insurance_due=form.insurance_due.data,
                                           inspection_due=form.inspection_due.data,
                                           maintenance_due=form.maintenance_due.data, note=form.note.data)
            return url_for("vehicles.vehicle", vehicle_id=vehicle.id)
        try:
            url, created = submit_once(form.submission_key.data, current_user, create)
        except DomainError as refused:
            show_refusal(form, refused, fallback="plate")
        else:
            if created:
                toast(_("Vehicle added."))
            return redirect_to(url)
    return render("vehicles/new_vehicle.html", "form", status=422 if form.errors else 200, form=form)


def _vehicle(vehicle_id):
    return Vehicle.get_or_none(Vehicle.id == vehicle_id, Vehicle.voided_at.is_null()) or abort(404)


def _vehicle_page(vehicle, form=None, service_form=None, close_forms=None, void_forms=None, status=200, error=None):
    period, _error = month_period(request.args.get("month", "").strip())
    trips, more_url, _page = one_page(vehicles.month_trips(vehicle, period), "vehicles.vehicle",
                                      vehicle_id=vehicle.id, month=period.key)
    trips, totals = vehicles.with_drivers(trips), vehicles.month_totals(vehicle, period)
    if form is None:
        form = VehicleForm(formdata=None, obj=vehicle, data={"version": vehicle.version,
                                                               "retired": vehicle.state == "retired"})
    service_form = service_form or ServiceForm(formdata=None)
    history = vehicles.services_of(vehicle)
    close_forms = close_forms or {}
    void_forms = void_forms or {}
    for record in history:
        if record.state == "open" and record.id not in close_forms:
            close_forms[record.id] = CloseServiceForm(formdata=None, prefix=f"close{record.id}",
                                                      data={"cost": record.cost})
        if record.state != "voided" and record.id not in void_forms:
            void_forms[record.id] = VoidServiceForm(formdata=None, prefix=f"void{record.id}")
    return render("vehicles/vehicle.html", status=status, vehicle=vehicle, form=form, service_form=service_form,
                  close_forms=close_forms, void_forms=void_forms, history=history, trips=trips, more_url=more_url,
                  ahead=vehicles.dispatched_ahead(vehicle), totals=totals, month=period.key,
                  previous=period.previous().key, following=period.following().key, error=error)


@bp.route("/fleet/<int:vehicle_id>", methods=["GET", "POST"])
@allow("vehicles.manage")
def vehicle(vehicle_id):
    """A vehicle: its details and due dates, its maintenance and repairs, its month."""
    record = _vehicle(vehicle_id)
    if request.method == "GET":
        return _vehicle_page(record)
    form = VehicleForm()
    if not form.validate_on_submit():
        return _vehicle_page(record, form=form, status=422)
    try:
        vehicles.update_vehicle(current_user, record.id, int(form.version.data or 0), plate=form.plate.data,
                                model=form.model.data, seats=form.seats.data, insurance_due=form.insurance_due.data,
                                inspection_due=form.inspection_due.data, maintenance_due=form.maintenance_due.data,
                                note=form.note.data, retired=form.retired.data)
    except (DomainError, ValueError) as refused:
        message = show_refusal(form, refused) if isinstance(refused, DomainError) else _(
            "Reload the page and try again.")
        return _vehicle_page(_vehicle(vehicle_id), form=form, status=422, error=message)
    toast(_("Vehicle saved."))
    return redirect_to(url_for("vehicles.vehicle", vehicle_id=record.id))


@bp.route("/fleet/<int:vehicle_id>/service", methods=["POST"])
@allow("vehicles.manage")
def open_service(vehicle_id):
    """Send the vehicle to the garage for maintenance or a repair: it is in the workshop until back."""
    record = _vehicle(vehicle_id)
    form = ServiceForm()
    if form.validate_on_submit():
        try:
            vehicles.open_service(current_user, record.id, kind=form.kind.data, opened_on=form.opened_on.data,
                                  garage=form.garage.data, work=form.work.data, cost=form.cost.data)
        except DomainError as refused:
            error = show_refusal(form, refused)
            return _vehicle_page(_vehicle(vehicle_id), service_form=form, status=422, error=error)
        toast(_("%(plate)s is in the workshop.", plate=record.plate))
        return redirect_to(url_for("vehicles.vehicle", vehicle_id=record.id))
    return _vehicle_page(record, service_form=form, status=422)


@bp.route("/service/<int:record_id>/close", methods=["POST"])
@allow("vehicles.manage")
def close_service(record_id):
    """The vehicle is back from the garage."""
    service = VehicleService.get_or_none(VehicleService.id == record_id) or abort(404)
    form = CloseServiceForm(prefix=f"close{record_id}")
    if form.validate_on_submit():
        try:
            vehicles.close_service(current_user, record_id, closed_on=form.closed_on.data, cost=form.cost.data,
                                   work=form.work.data, next_maintenance_due=form.next_maintenance_due.data)
        except DomainError as refused:
            error = show_refusal(form, refused)
            return _vehicle_page(_vehicle(service.vehicle_id), close_forms={record_id: form}, status=422,
                                 error=error)
        toast(_("Back from the garage."))
        return redirect_to(url_for("vehicles.vehicle", vehicle_id=service.vehicle_id))
    return _vehicle_page(_vehicle(service.vehicle_id), close_forms={record_id: form}, status=422)


@bp.route("/service/<int:record_id>/void", methods=["POST"])
@allow("vehicles.manage")
def void_service(record_id):
    """A maintenance or repair record entered by mistake: voided with the reason, never deleted."""
    service = VehicleService.get_or_none(VehicleService.id == record_id) or abort(404)
    form = VoidServiceForm(prefix=f"void{record_id}")
    if form.validate_on_submit():
        try:
            vehicles.void_service(current_user, record_id, form.reason.data)
        except DomainError as refused:
            error = show_refusal(form, refused)
            return _vehicle_page(_vehicle(service.vehicle_id), void_forms={record_id: form}, status=422,
                                 error=error)
        toast(_("Record voided."))
        return redirect_to(url_for("vehicles.vehicle", vehicle_id=service.vehicle_id))
    return _vehicle_page(_vehicle(service.vehicle_id), void_forms={record_id: form}, status=422)


@bp.route("/fleet/<int:vehicle_id>/log.pdf")
@allow("vehicles.manage")
def month_log(vehicle_id):
    """The vehicle's monthly log: trips, km, fuel, tolls and maintenance."""
    record = _vehicle(vehicle_id)
    period, _error = month_period(request.args.get("month", "").strip())
    trips, services, totals = vehicles.month_log(record, period)
    return render_pdf("print/vehicle_log.html", f"车辆月度运行记录-{record.plate}-{period.key}.pdf", vehicle=record,
                      month=period.key, trips=trips, services=services, totals=totals,
                      number=f"CL-{record.plate}-{period.key}",
                      qr=qr_data_uri(record_url("vehicles.vehicle", vehicle_id=record.id, month=period.key)))


# ------------------------------------------------------------------ drivers

def _driver_page(form=None, status=200):
    form = form or DriverForm(formdata=None)
    taken = {d.user_id for d in vehicles.drivers(active_only=False) if d.active}
    form.user.choices = [SelectChoice(0, "—")] + [
        SelectChoice(u.id, u.display_name) for u in User.select().where(User.is_active == True)  # noqa: E712
        .order_by(User.display_name).limit(500) if u.id not in taken]
    return render("vehicles/drivers.html", "form", status=status, form=form,
                  drivers=vehicles.drivers(active_only=False))


@bp.route("/drivers", methods=["GET", "POST"])
@allow("vehicles.manage")
def drivers():
    """The drivers logistics sends out, and adding one."""
    if request.method == "GET":
        return _driver_page()
    form = DriverForm()
    if form.validate_on_submit():
        try:
            vehicles.add_driver(current_user, form.user.data, form.licence.data)
        except DomainError as refused:
            show_refusal(form, refused, fallback="user")
            return _driver_page(form, 422)
        toast(_("Driver added."))
        return redirect_to(url_for("vehicles.drivers"))
    return _driver_page(form, 422)


@bp.route("/drivers/<int:driver_id>/active", methods=["POST"])
@allow("vehicles.manage")
def driver_active(driver_id):
    """A driver stops driving for us, or starts again."""
    driver = Driver.get_or_none(Driver.id == driver_id) or abort(404)
    vehicles.set_driver_active(current_user, driver.id, request.form.get("active") == "1")
    return redirect_to(url_for("vehicles.drivers"))

