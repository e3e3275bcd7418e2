"""Vehicles (车辆管理): the fleet with its due dates (insurance, annual inspection, maintenance),
the drivers, trip requests (用车申请) from approval by the requester's head through dispatch by
logistics to the return with odometer, fuel and tolls, and the maintenance and repair records
that take a vehicle into the workshop and back.

The same vehicle or driver is never dispatched to overlapping trips: dispatch locks the vehicle's
and the driver's rows (SELECT … FOR UPDATE on PostgreSQL; SQLite's IMMEDIATE write transaction
serialises writers already) and only then looks for a clashing trip, so of two logistics staff
dispatching at the same second the second one sees the first one's trip."""
import datetime as dt
import re
import unicodedata

from flask_babel import lazy_gettext as _l
from peewee import (
    JOIN, BooleanField, CharField, DateField, DateTimeField, ForeignKeyField, IntegerField, IntegrityError, TextField,
    fn,
)

from models import audit, settings
from models.base import BaseModel, DomainError, Transition, VersionedModel, VoidableModel, db, is_postgres, utcnow, \
    write_transaction
from models.money import MoneyField, money
from models.notifications import N_, notify
from models.numbering import next_number
from models.timezone import local_now, to_local
from models.users import Department, User, UserRole

audit.name_record_type("vehicle", _l("Vehicle"))
audit.name_record_type("trip", _l("Trip request"))
audit.name_record_type("vehicle_service", _l("Vehicle maintenance or repair"))
audit.name_record_type("driver", _l("Driver"))
audit.ACTION_LABELS.update({"vehicle_due_reminder": _l("Vehicle due date: logistics reminded")})

VEHICLES = _l("Vehicles")
REMIND_DAYS = settings.define(
    "vehicle_due_remind_days", int, 30,
    _l("Remind logistics this many days before a vehicle's insurance, inspection or maintenance is due"),
    VEHICLES, minimum=1, maximum=365)

LOGISTICS = frozenset({"logistics"})
#: Who approves a department head's own request, or one from a department without a head.
ABOVE_HEADS = frozenset({"service_manager", "leadership"})
#: Who sees every trip (besides its requester, its approvers and its driver).
OVERSEERS = frozenset({"logistics", "admin", "service_manager", "leadership"})

VEHICLE_STATES = {"available": _l("Available for trips"), "workshop": _l("In the workshop"), "retired": _l("Retired")}
DUE_KINDS = {"insurance": _l("Insurance"), "inspection": _l("Annual inspection"), "maintenance": _l("Maintenance")}
SERVICE_KINDS = {"maintenance": _l("Maintenance"), "repair": _l("Repair")}
SERVICE_STATES = {"open": _l("In the workshop"), "closed": _l("Back in service"), "voided": _l("Voided")}

STATES = {
    "requested": _l("Waiting for approval"),
    "sent_back": _l("Sent back for changes"),
    "refused": _l("Not approved"),
    "approved": _l("Approved, to dispatch"),
    "dispatched": _l("Dispatched"),
    "out": _l("Out on the road"),
    "back": _l("Back, to close"),
    "closed": _l("Closed"),
    "cancelled": _l("Cancelled"),
    "voided": _l("Voided"),
}
OPEN_STATES = ("requested", "sent_back", "approved", "dispatched", "out", "back")
#: A trip in these states holds its vehicle and driver for its booked time.
HOLDING_STATES = ("dispatched", "out", "back", "closed")


class VehicleError(DomainError):
    """A refused step; the message is for the user, `field` the form field it concerns."""


# roles: a set of roles, or the name of a rule refusal() reads: "requester" (the person who asked),
# "approver" (the requester's head; for a head's own request the service manager or leadership),
# "crew" (logistics, or the trip's driver), "owner_or_logistics".
TRANSITIONS = {
    "approve": Transition(_l("Approve"), ("requested",), "approved", "approver"),
    "send_back": Transition(_l("Send back for changes"), ("requested",), "sent_back", "approver",
                            note_required=True, note_label=_l("What to change")),
    "refuse": Transition(_l("Refuse"), ("requested",), "refused", "approver", note_required=True,
                         note_label=_l("Reason")),
    "resubmit": Transition(_l("Change and submit again"), ("sent_back",), "requested", "requester"),
    "dispatch": Transition(_l("Dispatch a vehicle and driver"), ("approved",), "dispatched", LOGISTICS),
    "start": Transition(_l("Set out"), ("dispatched",), "out", "crew"),
    "finish": Transition(_l("Back: record odometer, fuel and tolls"), ("out",), "back", "crew"),
    "close": Transition(_l("Checked: close"), ("back",), "closed", LOGISTICS),
    "redispatch": Transition(_l("Change the vehicle or driver"), ("dispatched",), None, LOGISTICS),
    "cancel": Transition(_l("Cancel"), ("requested", "sent_back", "approved", "dispatched"), "cancelled",
                         "owner_or_logistics", note_required=True, note_label=_l("Reason")),
    "void": Transition(_l("Void"), ("requested", "sent_back", "refused", "approved", "dispatched", "out", "back",
                                    "closed"), "voided", LOGISTICS, note_required=True, note_label=_l("Reason")),
}

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_LETTER = "A-HJ-NP-Z"  # plates use no I and no O
PLATE_PATTERNS = (
    re.compile(rf"^[{PROVINCES}][{_LETTER}][{_LETTER}0-9]{{4}}[{_LETTER}0-9挂学警港澳]$"),  # ordinary, 7 characters
    re.compile(rf"^[{PROVINCES}][{_LETTER}][DF][{_LETTER}0-9][0-9]{{4}}$"),  # small new-energy, 8 characters
    re.compile(rf"^[{PROVINCES}][{_LETTER}][0-9]{{5}}[DF]$"),  # large new-energy, 8 characters
)


def normalise_plate(text):
    """"沪a·12345" → "沪A12345"; VehicleError (field "plate") when it is no Chinese plate."""
    plate = unicodedata.normalize("NFKC", text or "").upper()
    plate = re.sub(r"[\s·•.\-_]", "", plate)
    if not any(p.match(plate) for p in PLATE_PATTERNS):
        raise VehicleError(_l("Enter a Chinese plate like 沪A12345, or a new-energy plate like 沪AD12345."),
                           field="plate")
    return plate


class Vehicle(VoidableModel, VersionedModel):
    plate = CharField(max_length=10, unique=True)
    model = CharField(max_length=80, default="")
    seats = IntegerField()
    state = CharField(max_length=10, default="available", index=True)
    odometer = IntegerField(default=0)  # the last reading, km
    insurance_due = DateField(null=True)
    inspection_due = DateField(null=True)
    maintenance_due = DateField(null=True)
    note = TextField(default="")

    @property
    def state_label(self):
        return VEHICLE_STATES.get(self.state, self.state)

    def due(self, kind):
        return getattr(self, f"{kind}_due")

    def __str__(self):
        return f"{self.plate} {self.model}".strip()


class Driver(BaseModel):
    """A member of staff logistics sends out as a driver."""
    user = ForeignKeyField(User, unique=True, backref="+", on_delete="RESTRICT")
    licence = CharField(max_length=40, default="")
    active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)

    def __str__(self):
        return self.user.display_name


class Trip(VoidableModel, VersionedModel):
    number = CharField(max_length=20, unique=True)
    requester = ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    department = ForeignKeyField(Department, null=True, backref="+", on_delete="SET NULL")
    destination = CharField(max_length=200)
    starts_at = DateTimeField(index=True)
    ends_at = DateTimeField(index=True)
    passengers = IntegerField(default=1)
    purpose = TextField(default="")
    state = CharField(max_length=12, default="requested", index=True)
    decided_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    decided_at = DateTimeField(null=True)
    decision_note = TextField(default="")
    vehicle = ForeignKeyField(Vehicle, null=True, backref="trips", on_delete="RESTRICT")
    driver = ForeignKeyField(Driver, null=True, backref="trips", on_delete="RESTRICT")
    dispatched_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    dispatched_at = DateTimeField(null=True)
    start_odometer = IntegerField(null=True)
    out_at = DateTimeField(null=True)
    end_odometer = IntegerField(null=True)
    back_at = DateTimeField(null=True, index=True)
    fuel = MoneyField(null=True)
    tolls = MoneyField(null=True)
    closed_at = DateTimeField(null=True)
    cancel_reason = TextField(default="")

    @property
    def state_label(self):
        return STATES.get(self.state, self.state)

    @property
    def km(self):
        if self.start_odometer is None or self.end_odometer is None:
            return None
        return self.end_odometer - self.start_odometer

    def actions_for(self, user):
        return [(name, t) for name, t in TRANSITIONS.items() if refusal(self, name, user) is None]


class VehicleService(VoidableModel, VersionedModel):
    """A maintenance or repair visit to a garage: open while the vehicle is in the workshop."""
    vehicle = ForeignKeyField(Vehicle, backref="services", on_delete="RESTRICT")
    kind = CharField(max_length=12, default="maintenance")
    opened_on = DateField()
    garage = CharField(max_length=120)
    work = TextField()
    cost = MoneyField(null=True)
    state = CharField(max_length=8, default="open", index=True)
    closed_on = DateField(null=True)
    opened_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")

    @property
    def kind_label(self):
        return SERVICE_KINDS.get(self.kind, self.kind)

    @property
    def state_label(self):
        return SERVICE_STATES.get(self.state, self.state)


class VehicleReminder(BaseModel):
    """The sweep's mark: one reminder per vehicle, kind and due date; a new due date reminds again."""
    vehicle = ForeignKeyField(Vehicle, backref="+", on_delete="CASCADE")
    kind = CharField(max_length=12)
    due = DateField()
    sent_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("vehicle", "kind", "due"), True),)


def _locked(query):
    """Row lock on PostgreSQL; SQLite's IMMEDIATE write transaction already serialises writers."""
    return query.for_update() if is_postgres() else query


def _text(value):
    return (value or "").strip()


# ------------------------------------------------------------------ the fleet

def _vehicle_values(plate, model, seats, insurance_due, inspection_due, maintenance_due, note):
    if seats is None or not 1 <= seats <= 99:
        raise VehicleError(_l("Enter the seats, 1 to 99."), field="seats")
    return {"plate": normalise_plate(plate), "model": _text(model), "seats": seats, "insurance_due": insurance_due,
            "inspection_due": inspection_due, "maintenance_due": maintenance_due, "note": _text(note)}


def _plate_taken():
    return VehicleError(_l("A vehicle with this plate is already in the fleet."), field="plate")


def add_vehicle(actor, *, plate, seats, model="", odometer=0, insurance_due=None, inspection_due=None,
                maintenance_due=None, note=""):
    values = _vehicle_values(plate, model, seats, insurance_due, inspection_due, maintenance_due, note)
    if odometer is None or odometer < 0:
        raise VehicleError(_l("Enter the odometer reading in km."), field="odometer")
    with write_transaction():
        if Vehicle.select().where(Vehicle.plate == values["plate"]).exists():
            raise _plate_taken()
        try:
            with db.atomic():
                vehicle = Vehicle.create(odometer=odometer, **values)
        except IntegrityError:
            raise _plate_taken() from None
        audit.record_create(actor, vehicle)
    return vehicle


def update_vehicle(actor, vehicle_id, version, *, plate, seats, model="", insurance_due=None, inspection_due=None,
                   maintenance_due=None, note="", retired=False):
    values = _vehicle_values(plate, model, seats, insurance_due, inspection_due, maintenance_due, note)
    with write_transaction():
        vehicle = Vehicle.load(vehicle_id, version)
        if Vehicle.select().where(Vehicle.plate == values["plate"], Vehicle.id != vehicle.id).exists():
            raise _plate_taken()
        changes = {getattr(Vehicle, k): v for k, v in values.items()}
        if retired and vehicle.state != "retired":
            pending = Trip.select().where(Trip.vehicle == vehicle.id, Trip.state.in_(("dispatched", "out"))).first()
            if pending is not None:
                raise VehicleError(_l("%(plate)s is dispatched to trip %(number)s: give that trip another vehicle "
                                      "first.", plate=vehicle.plate, number=pending.number), field="retired")
            changes[Vehicle.state] = "retired"
        elif not retired and vehicle.state == "retired":
            changes[Vehicle.state] = "available"
        before = vehicle.snapshot()
        updated = vehicle.update_versioned(version, changes)
        audit.record_change(actor, updated, before)
    return updated


def fleet():
    """The vehicles in service first, then the retired ones, by plate: a query, paged by the page."""
    return Vehicle.select().where(Vehicle.voided_at.is_null()).order_by(Vehicle.state == "retired", Vehicle.plate,
                                                                        Vehicle.id)


def dispatchable_vehicles():
    return list(Vehicle.select().where(Vehicle.voided_at.is_null(), Vehicle.state == "available")
                .order_by(Vehicle.plate))


def add_driver(actor, user_id, licence=""):
    with write_transaction():
        user = User.get_or_none(User.id == user_id, User.is_active == True)  # noqa: E712
        if user is None:
            raise VehicleError(_l("Choose a member of staff."), field="user")
        driver = Driver.get_or_none(Driver.user == user.id)
        if driver is not None:
            if driver.active:
                raise VehicleError(_l("%(name)s is a driver already.", name=user.display_name), field="user")
            before = driver.snapshot()
            driver.active, driver.licence = True, _text(licence) or driver.licence
            driver.save()
            audit.record_change(actor, driver, before)
            return driver
        driver = Driver.create(user=user, licence=_text(licence))
        audit.record_create(actor, driver)
    return driver


def set_driver_active(actor, driver_id, active):
    with write_transaction():
        driver = Driver.get_or_none(Driver.id == driver_id)
        if driver is None:
            raise VehicleError(_l("No such driver."))
        before = driver.snapshot()
        driver.active = bool(active)
        driver.save()
        audit.record_change(actor, driver, before)
    return driver


DRIVERS_SHOWN = 50


def drivers(active_only=True, limit=500):
    query = Driver.select(Driver, User).join(User).order_by(Driver.active.desc(), User.display_name).limit(limit)
    if active_only:
        query = query.where(Driver.active == True, User.is_active == True)  # noqa: E712
    return list(query)


# ------------------------------------------------------------------ maintenance and repairs

def open_service(actor, vehicle_id, *, kind, opened_on, garage, work, cost=None):
    """The vehicle goes to the garage: the record opens and the vehicle is in the workshop."""
    if kind not in SERVICE_KINDS:
        raise VehicleError(_l("Choose maintenance or repair."), field="kind")
    if opened_on is None:
        raise VehicleError(_l("Enter the day it went to the garage."), field="opened_on")
    if not _text(garage):
        raise VehicleError(_l("Enter the garage."), field="garage")
    if not _text(work):
        raise VehicleError(_l("Write down what is to be done."), field="work")
    if cost is not None and cost < 0:
        raise VehicleError(_l("The cost cannot be negative."), field="cost")
    with write_transaction():
        vehicle = _locked(Vehicle.select().where(Vehicle.id == vehicle_id)).first()
        if vehicle is None or vehicle.is_void:
            raise VehicleError(_l("No such vehicle."))
        if vehicle.state == "retired":
            raise VehicleError(_l("This vehicle is retired."), field="kind")
        out = Trip.select().where(Trip.vehicle == vehicle.id, Trip.state == "out").first()
        if out is not None:
            raise VehicleError(_l("%(plate)s is out on trip %(number)s: record its return first.",
                                  plate=vehicle.plate, number=out.number), field="kind")
        record = VehicleService.create(vehicle=vehicle, kind=kind, opened_on=opened_on, garage=_text(garage),
                                       work=_text(work), cost=money(cost) if cost is not None else None,
                                       opened_by=actor)
        audit.record_create(actor, record)
        if vehicle.state != "workshop":
            before = vehicle.snapshot()
            updated = vehicle.update_versioned(vehicle.version, {Vehicle.state: "workshop"})
            audit.record_change(actor, updated, before)
    return record


def close_service(actor, record_id, *, closed_on, cost=None, work=None, next_maintenance_due=None):
    """Back from the garage: the record closes with its cost, and the vehicle is available again
    once nothing else of it is open. A maintenance may set the next maintenance due date."""
    if closed_on is None:
        raise VehicleError(_l("Enter the day it came back."), field="closed_on")
    if cost is not None and cost < 0:
        raise VehicleError(_l("The cost cannot be negative."), field="cost")
    with write_transaction():
        record = VehicleService.get_or_none(VehicleService.id == record_id)
        if record is None or record.state != "open":
            raise VehicleError(_l("This record is not open."))
        if closed_on < record.opened_on:
            raise VehicleError(_l("It came back before it went: check the day."), field="closed_on")
        before = record.snapshot()
        values = {VehicleService.state: "closed", VehicleService.closed_on: closed_on}
        if cost is not None:
            values[VehicleService.cost] = money(cost)
        if _text(work):
            values[VehicleService.work] = _text(work)
        updated = record.update_versioned(record.version, values)
        audit.record_change(actor, updated, before)
        _after_service(actor, record.vehicle_id, next_maintenance_due)
    return updated


def void_service(actor, record_id, reason):
    if not _text(reason):
        raise VehicleError(_l("Give the reason."), field="reason")
    with write_transaction():
        record = VehicleService.get_or_none(VehicleService.id == record_id)
        if record is None or record.state == "voided":
            raise VehicleError(_l("No such record."))
        before = record.snapshot()
        updated = record.update_versioned(record.version, {VehicleService.state: "voided",
                                                           VehicleService.voided_at: utcnow(),
                                                           VehicleService.void_reason: _text(reason)})
        audit.record_change(actor, updated, before)
        _after_service(actor, record.vehicle_id, None)
    return updated


def _after_service(actor, vehicle_id, next_maintenance_due):
    vehicle = _locked(Vehicle.select().where(Vehicle.id == vehicle_id)).get()
    values = {}
    still_open = VehicleService.select().where(VehicleService.vehicle == vehicle.id,
                                               VehicleService.state == "open").exists()
    if vehicle.state == "workshop" and not still_open:
        values[Vehicle.state] = "available"
    if next_maintenance_due is not None:
        values[Vehicle.maintenance_due] = next_maintenance_due
    if values:
        before = vehicle.snapshot()
        updated = vehicle.update_versioned(vehicle.version, values)
        audit.record_change(actor, updated, before)


def dispatched_ahead(vehicle):
    """The trips this vehicle is dispatched to and has not set out on: what a visit to the garage affects."""
    return list(listing().where(Trip.vehicle == vehicle.id, Trip.state == "dispatched")
                .order_by(Trip.starts_at, Trip.id).limit(100))


SERVICES_SHOWN = 20


def services_of(vehicle):
    """What is at the garage now and the latest records; the full history is in the monthly logs."""
    open_ones = list(VehicleService.select().where(VehicleService.vehicle == vehicle.id,
                                                   VehicleService.state == "open")
                     .order_by(VehicleService.opened_on.desc(), VehicleService.id.desc()).limit(SERVICES_SHOWN))
    latest = list(VehicleService.select().where(VehicleService.vehicle == vehicle.id,
                                                VehicleService.state != "open")
                  .order_by(VehicleService.opened_on.desc(), VehicleService.id.desc()).limit(SERVICES_SHOWN))
    return open_ones + latest


# ------------------------------------------------------------------ trip requests

def _trip_values(destination, starts_at, ends_at, passengers, purpose):
    if not _text(destination):
        raise VehicleError(_l("Enter where to."), field="destination")
    if starts_at is None:
        raise VehicleError(_l("Enter when the trip starts."), field="starts_at")
    if ends_at is None:
        raise VehicleError(_l("Enter when the trip ends."), field="ends_at")
    if ends_at <= starts_at:
        raise VehicleError(_l("The trip ends after it starts."), field="ends_at")
    if passengers is None or not 1 <= passengers <= 99:
        raise VehicleError(_l("Enter the passengers, 1 to 99."), field="passengers")
    return {Trip.destination: _text(destination), Trip.starts_at: starts_at, Trip.ends_at: ends_at,
            Trip.passengers: passengers, Trip.purpose: _text(purpose)}


def request_trip(actor, *, destination, starts_at, ends_at, passengers, purpose=""):
    """Ask for a vehicle (times are naive UTC); the approvers are told."""
    values = _trip_values(destination, starts_at, ends_at, passengers, purpose)
    if not _text(purpose):
        raise VehicleError(_l("Write down what the trip is for."), field="purpose")
    if starts_at < utcnow() - dt.timedelta(hours=1):
        raise VehicleError(_l("This time has passed: a trip is requested ahead."), field="starts_at")
    with write_transaction():
        trip = Trip.create(number=next_number("YC"), requester=actor, department=actor.department_id,
                           **{f.name: v for f, v in values.items()})
        audit.record_create(actor, trip)
        _tell_approvers(trip)
    return trip


def approvers(trip):
    """Who approves this trip: the head of the requester's department (not the requester); for a
    head's own request, or a department without a head, the service manager and leadership."""
    heads = []
    if trip.department_id and not _is_head(trip.requester_id):
        heads = list(User.select().join(UserRole).where(UserRole.role == "dept_head", User.is_active == True,  # noqa: E712
                                                        User.department == trip.department_id,
                                                        User.id != trip.requester_id).distinct())
    if heads:
        return heads
    return list(User.select().join(UserRole).where(UserRole.role.in_(ABOVE_HEADS), User.is_active == True,  # noqa: E712
                                                   User.id != trip.requester_id).distinct())


def _is_head(user_id):
    return UserRole.select().where(UserRole.user == user_id, UserRole.role == "dept_head").exists()


def may_approve(trip, user):
    return user.id != trip.requester_id and any(u.id == user.id for u in approvers(trip))


def _tell_approvers(trip):
    for person in approvers(trip):
        notify(person, N_("Trip request %(number)s to %(destination)s waits for your approval."),
               ("vehicles.trip", {"trip_id": trip.id}), number=trip.number, destination=trip.destination)


def is_crew(trip, user):
    return "logistics" in user.roles or (trip.driver_id is not None and trip.driver.user_id == user.id)


def refusal(trip, action, user):
    transition = TRANSITIONS.get(action)
    if transition is None:
        return _l("Unknown action.")
    if trip.state not in transition.sources:
        return _l("This cannot be done to a trip that is “%(state)s”.", state=STATES[trip.state])
    roles = transition.roles
    if roles == "approver":
        allowed = may_approve(trip, user)
    elif roles == "requester":
        allowed = user.id == trip.requester_id
    elif roles == "crew":
        allowed = is_crew(trip, user)
    elif roles == "owner_or_logistics":
        allowed = user.id == trip.requester_id or "logistics" in user.roles
    else:
        allowed = bool(set(user.roles) & roles)
    if not allowed:
        if roles == "approver":
            return _l("Only the requester's department head approves this trip (for a head's own request, the "
                      "service manager or leadership).")
        return _l("Your role may not do this.")
    return None


def clash(trip, vehicle_id=None, driver_id=None):
    """The first trip holding this vehicle (or driver) at a time that overlaps `trip`'s; back to
    back (one ends when the other starts) is no clash."""
    query = Trip.select().where(Trip.id != trip.id, Trip.state.in_(HOLDING_STATES), Trip.starts_at < trip.ends_at,
                                Trip.ends_at > trip.starts_at)
    if vehicle_id is not None:
        query = query.where(Trip.vehicle == vehicle_id)
    else:
        query = query.where(Trip.driver == driver_id)
    return query.order_by(Trip.starts_at).first()


def busy_during(trip):
    """({vehicle id: trip number}, {driver id: trip number}) of what other trips hold during `trip`'s
    time: the dispatch form marks them (dispatch itself decides, under the lock)."""
    rows = Trip.select(Trip.number, Trip.vehicle, Trip.driver).where(
        Trip.id != trip.id, Trip.state.in_(HOLDING_STATES), Trip.starts_at < trip.ends_at,
        Trip.ends_at > trip.starts_at).order_by(Trip.starts_at)
    vehicles_busy, drivers_busy = {}, {}
    for row in rows:
        vehicles_busy.setdefault(row.vehicle_id, row.number)
        drivers_busy.setdefault(row.driver_id, row.number)
    return vehicles_busy, drivers_busy


def _when(trip):
    return f"{to_local(trip.starts_at):%m-%d %H:%M}–{to_local(trip.ends_at):%m-%d %H:%M}"


def _dispatch(trip, vehicle_id, driver_id):
    vehicle = _locked(Vehicle.select().where(Vehicle.id == vehicle_id)).first() if vehicle_id else None
    if vehicle is None or vehicle.is_void:
        raise VehicleError(_l("Choose the vehicle."), field="vehicle")
    driver = _locked(Driver.select().where(Driver.id == driver_id)).first() if driver_id else None
    if driver is None or not driver.active:
        raise VehicleError(_l("Choose the driver."), field="driver")
    if vehicle.state != "available":
        raise VehicleError(_l("%(plate)s is “%(state)s”: it cannot be dispatched.", plate=vehicle.plate,
                              state=vehicle.state_label), field="vehicle")
    if trip.passengers > vehicle.seats:
        raise VehicleError(_l("%(plate)s seats %(seats)s; the trip has %(passengers)s passengers.",
                              plate=vehicle.plate, seats=vehicle.seats, passengers=trip.passengers), field="vehicle")
    other = clash(trip, vehicle_id=vehicle.id)
    if other:
        raise VehicleError(_l("%(plate)s is already dispatched to trip %(number)s (%(when)s).", plate=vehicle.plate,
                              number=other.number, when=_when(other)), field="vehicle")
    other = clash(trip, driver_id=driver.id)
    if other:
        raise VehicleError(_l("%(name)s already drives trip %(number)s (%(when)s).", name=driver.user.display_name,
                              number=other.number, when=_when(other)), field="driver")
    return vehicle, driver


def _odometer(value, field):
    if value is None:
        raise VehicleError(_l("Enter the odometer reading in km."), field=field)
    if value < 0 or value > 9_999_999:
        raise VehicleError(_l("Enter the odometer reading in km."), field=field)
    return value


def apply(trip_id, action, actor, version, *, note="", vehicle_id=None, driver_id=None, odometer=None, fuel=None,
          tolls=None, destination=None, starts_at=None, ends_at=None, passengers=None, purpose=None):
    """Take one step of a trip: checked, stamped, audited; the people concerned are told."""
    with write_transaction():
        trip = Trip.load(trip_id, version)
        reason = refusal(trip, action, actor)
        if reason:
            raise VehicleError(reason)
        transition = TRANSITIONS[action]
        note = _text(note)
        if transition.note_required and not note:
            raise VehicleError(_l("Say what to change.") if action == "send_back" else _l("Give the reason."),
                               field="note")
        now = utcnow()
        values = {Trip.state: transition.target or trip.state}
        told = []  # (user, message, params)
        if action in ("approve", "send_back", "refuse"):
            values.update({Trip.decided_by: actor, Trip.decided_at: now, Trip.decision_note: note})
            if action == "approve":
                for person in User.active_with_role("logistics"):
                    told.append((person, N_("Trip %(number)s to %(destination)s is approved: dispatch a vehicle."),
                                 {}))
            elif action == "send_back":
                told.append((trip.requester, N_("Your trip request %(number)s was sent back for changes: %(note)s"),
                             {"note": note}))
            else:
                told.append((trip.requester, N_("Your trip request %(number)s was refused: %(note)s"),
                             {"note": note}))
        elif action == "resubmit":
            values.update(_trip_values(destination, starts_at, ends_at, passengers, purpose))
            # The earlier decision stays in the audit trail; the request waits for a new one.
            values.update({Trip.decided_by: None, Trip.decided_at: None, Trip.decision_note: ""})
        elif action in ("dispatch", "redispatch"):
            vehicle, driver = _dispatch(trip, vehicle_id, driver_id)
            if action == "redispatch" and (vehicle.id, driver.id) == (trip.vehicle_id, trip.driver_id):
                raise VehicleError(_l("Choose another vehicle or driver."), field="vehicle")
            values.update({Trip.vehicle: vehicle.id, Trip.driver: driver.id, Trip.dispatched_by: actor,
                           Trip.dispatched_at: now})
            told.append((trip.requester, N_("Trip %(number)s: %(plate)s with %(driver)s."),
                         {"plate": vehicle.plate, "driver": driver.user.display_name}))
            if driver.user_id != trip.requester_id:
                told.append((driver.user, N_("You drive trip %(number)s to %(destination)s (%(plate)s)."),
                             {"plate": vehicle.plate}))
        elif action == "start":
            reading = _odometer(odometer, "odometer")
            vehicle = _locked(Vehicle.select().where(Vehicle.id == trip.vehicle_id)).get()
            if reading < vehicle.odometer:
                raise VehicleError(_l("The odometer cannot go back: %(plate)s's last reading is %(km)s km.",
                                      plate=vehicle.plate, km=vehicle.odometer), field="odometer")
            values.update({Trip.start_odometer: reading, Trip.out_at: now})
            _read_odometer(actor, vehicle, reading)
        elif action == "finish":
            reading = _odometer(odometer, "odometer")
            if reading <= trip.start_odometer:
                raise VehicleError(_l("The end reading must be above the start reading, %(km)s km.",
                                      km=trip.start_odometer), field="odometer")
            for name, amount in (("fuel", fuel), ("tolls", tolls)):
                if amount is not None and amount < 0:
                    raise VehicleError(_l("The amount cannot be negative."), field=name)
            vehicle = _locked(Vehicle.select().where(Vehicle.id == trip.vehicle_id)).get()
            values.update({Trip.end_odometer: reading, Trip.back_at: now, Trip.fuel: money(fuel),
                           Trip.tolls: money(tolls)})
            if reading > vehicle.odometer:
                _read_odometer(actor, vehicle, reading)
        elif action == "close":
            values[Trip.closed_at] = now
        elif action == "cancel":
            values[Trip.cancel_reason] = note
            if trip.requester_id != actor.id:
                told.append((trip.requester, N_("Your trip request %(number)s was cancelled: %(note)s"),
                             {"note": note}))
        elif action == "void":
            values.update({Trip.voided_at: now, Trip.void_reason: note})
        before = trip.snapshot()
        updated = trip.update_versioned(version, values)
        audit.record_change(actor, updated, before)
        if action == "resubmit":
            _tell_approvers(updated)
        for person, message, params in told:
            notify(person, message, ("vehicles.trip", {"trip_id": trip.id}), number=trip.number,
                   destination=trip.destination, **params)
    return updated


def _read_odometer(actor, vehicle, reading):
    before = vehicle.snapshot()
    updated = vehicle.update_versioned(vehicle.version, {Vehicle.odometer: reading})
    audit.record_change(actor, updated, before)


def listing():
    return (Trip.select(Trip, User, Vehicle, Driver)
            .join(User, on=(Trip.requester == User.id))
            .switch(Trip).join(Vehicle, JOIN.LEFT_OUTER, on=(Trip.vehicle == Vehicle.id))
            .switch(Trip).join(Driver, JOIN.LEFT_OUTER, on=(Trip.driver == Driver.id)))


def load_trip(trip_id):
    trip = listing().where(Trip.id == trip_id).first()
    if trip is not None and trip.driver_id:
        trip.driver.user = User.get_by_id(trip.driver.user_id)
    return trip


def visible_to(trip, user):
    """The requester, the approvers, the driver, logistics and the managers see a trip."""
    if user.id == trip.requester_id or set(user.roles) & OVERSEERS:
        return True
    if trip.driver_id and trip.driver.user_id == user.id:
        return True
    return "dept_head" in user.roles and user.department_id == trip.department_id and trip.department_id is not None


def my_trips(user):
    return listing().where(Trip.requester == user.id).order_by(Trip.starts_at.desc(), Trip.id.desc())


def _approvable_by(user):
    """The condition on requested trips that `user` approves: the same rule as approvers(), in SQL,
    so the list and the navigation count cost one query however many requests wait."""
    heads = UserRole.select(UserRole.user).where(UserRole.role == "dept_head")
    requester_is_head = Trip.requester.in_(heads)
    conditions = []
    if "dept_head" in user.roles and user.department_id:
        conditions.append((Trip.department == user.department_id) & ~requester_is_head)
    if set(user.roles) & ABOVE_HEADS:
        headed = (User.select(User.department).join(UserRole)
                  .where(UserRole.role == "dept_head", User.is_active == True,  # noqa: E712
                         User.department.is_null(False)))
        conditions.append(requester_is_head | Trip.department.is_null() | Trip.department.not_in(headed))
    if not conditions:
        return None
    condition = conditions[0]
    for other in conditions[1:]:
        condition = condition | other
    return (Trip.state == "requested") & (Trip.requester != user.id) & condition


def awaiting_approval(user):
    """The requests this person may approve now, soonest first."""
    condition = _approvable_by(user)
    if condition is None:
        return []
    return list(listing().where(condition).order_by(Trip.starts_at, Trip.id).limit(200))


def awaiting_count(user):
    """The navigation's count: requests waiting for this person's approval."""
    condition = _approvable_by(user)
    return Trip.select().where(condition).count() if condition is not None else 0


def register(state="open", q=""):
    """Every trip, newest first: open ones, all, or one state; q finds a number, destination,
    requester or plate."""
    query = listing().order_by(Trip.starts_at.desc(), Trip.id.desc())
    if state == "open":
        query = query.where(Trip.state.in_(OPEN_STATES))
    elif state in STATES:
        query = query.where(Trip.state == state)
    q = _text(q)
    if q:
        like = f"%{q}%"
        query = query.where(Trip.number ** like | Trip.destination ** like | User.display_name ** like
                            | Vehicle.plate ** like.upper())
    return query


def in_state(*states):
    return listing().where(Trip.state.in_(states)).order_by(Trip.starts_at, Trip.id)


def driving(user):
    """The trips this person drives that are not over yet."""
    driver = Driver.get_or_none(Driver.user == user.id)
    if driver is None:
        return []
    return list(listing().where(Trip.driver == driver.id, Trip.state.in_(("dispatched", "out")))
                .order_by(Trip.starts_at).limit(50))


# ------------------------------------------------------------------ the monthly log

def month_trips(vehicle, period):
    """The vehicle's trips that start in the month (a Period), in order: a query, paged by the page."""
    start, end = period.utc_range()
    return (listing().where(Trip.vehicle == vehicle.id, Trip.state.in_(HOLDING_STATES), Trip.starts_at >= start,
                            Trip.starts_at < end).order_by(Trip.starts_at, Trip.id))


def with_drivers(trips):
    """The trips with their drivers' names, in one query."""
    trips = list(trips)
    drivers_by_id = {d.id: d for d in Driver.select(Driver, User).join(User)
                     .where(Driver.id.in_([t.driver_id for t in trips if t.driver_id]))}
    for trip in trips:
        if trip.driver_id:
            trip.driver = drivers_by_id[trip.driver_id]
    return trips


def month_services(vehicle, period):
    return (VehicleService.select().where(VehicleService.vehicle == vehicle.id, VehicleService.state != "voided",
                                          VehicleService.opened_on < period.end,
                                          (VehicleService.closed_on.is_null())
                                          | (VehicleService.closed_on >= period.start))
            .order_by(VehicleService.opened_on, VehicleService.id))


def month_totals(vehicle, period):
    """{"trips", "km", "fuel", "tolls", "service"} of the month, added up by the database."""
    row = (month_trips(vehicle, period).select(
        fn.COUNT(Trip.id).alias("trips"), fn.SUM(Trip.end_odometer - Trip.start_odometer).alias("km"),
        fn.SUM(Trip.fuel).alias("fuel"), fn.SUM(Trip.tolls).alias("tolls")).order_by().dicts().get())
    cost = (month_services(vehicle, period).select(fn.SUM(VehicleService.cost).alias("cost")).order_by()
            .scalar())
    return {"trips": row["trips"] or 0, "km": row["km"] or 0, "fuel": money(row["fuel"]),
            "tolls": money(row["tolls"]), "service": money(cost)}


#: A month's log holds far fewer; the cap keeps a print bounded all the same.
LOG_ROWS = 1000


def month_log(vehicle, period):
    """The vehicle's month for the printed log: its trips, their km, fuel and tolls, and its maintenance."""
    trips = with_drivers(month_trips(vehicle, period).limit(LOG_ROWS))
    services = list(month_services(vehicle, period).limit(LOG_ROWS))
    return trips, services, month_totals(vehicle, period)


# ------------------------------------------------------------------ due-date reminders

DUE_REMINDERS = {
    "insurance": N_("%(plate)s: the insurance is due on %(due)s."),
    "inspection": N_("%(plate)s: the annual inspection is due on %(due)s."),
    "maintenance": N_("%(plate)s: the maintenance is due on %(due)s."),
}


def remind_due_dates(now=None):
    """Tell logistics about each insurance, inspection and maintenance due within the setting's days,
    once per vehicle, kind and due date: the mark and the messages commit together."""
    now = now or utcnow()
    today = to_local(now).date()
    horizon = today + dt.timedelta(days=settings.get(REMIND_DAYS))
    vehicles = list(Vehicle.select().where(Vehicle.voided_at.is_null(), Vehicle.state != "retired",
                                           (Vehicle.insurance_due <= horizon) | (Vehicle.inspection_due <= horizon)
                                           | (Vehicle.maintenance_due <= horizon)))
    if not vehicles:
        return 0
    marked = {(r.vehicle_id, r.kind, r.due) for r in VehicleReminder.select().where(
        VehicleReminder.vehicle.in_([v.id for v in vehicles]))}
    sent = 0
    for vehicle in vehicles:
        for kind in DUE_KINDS:
            due = vehicle.due(kind)
            if due is None or due > horizon or (vehicle.id, kind, due) in marked:
                continue
            with write_transaction():
                try:
                    with db.atomic():
                        mark = VehicleReminder.create(vehicle=vehicle, kind=kind, due=due, sent_at=now)
                except IntegrityError:
                    continue  # another sweep marked it first
                for person in User.active_with_role("logistics"):
                    notify(person, DUE_REMINDERS[kind], ("vehicles.vehicle", {"vehicle_id": vehicle.id}),
                           plate=vehicle.plate, due=due.isoformat())
                audit.record_event(None, "vehicle_due_reminder", vehicle, changes={kind: [None, due.isoformat()]})
                sent += 1
    return sent


def due_soon(today=None):
    """[(vehicle, kind, due date)] within the reminder window (or past), soonest first."""
    today = today or local_now().date()
    horizon = today + dt.timedelta(days=settings.get(REMIND_DAYS))
    due = (Vehicle.select().where(Vehicle.voided_at.is_null(), Vehicle.state != "retired",
                                  (Vehicle.insurance_due <= horizon) | (Vehicle.inspection_due <= horizon)
                                  | (Vehicle.maintenance_due <= horizon))
           .order_by(Vehicle.plate).limit(DUE_SHOWN))
    rows = [(v, kind, v.due(kind)) for v in due for kind in DUE_KINDS
            if v.due(kind) is not None and v.due(kind) <= horizon]
    return sorted(rows, key=lambda r: r[2])


DUE_SHOWN = 50

