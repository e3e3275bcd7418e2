"""Vehicles: plates, the trip workflow (approval by the right person, dispatch without overlaps for a
vehicle or a driver, also from two threads at once), the odometer rules, the workshop block, the
due-date reminders (once per due date), the pages and the two printed forms."""
import contextlib
import datetime as dt
import threading
from decimal import Decimal

import pytest
import time_machine

from models import vehicles
from models.notifications import Notification
from models.vehicles import Trip, Vehicle, VehicleError, VehicleReminder
from tests.pdf import assert_embedded_cjk_font, pdf_text

NOW = dt.datetime(2026, 11, 10, 1, 0)  # 09:00 in Shanghai, UTC as stored
HOUR = dt.timedelta(hours=1)


@pytest.fixture(autouse=True)
def frozen(app, request):
    """Model tests read their messages in a request's language; page tests make their own requests."""
    context = contextlib.nullcontext() if "client" in request.fixturenames else app.test_request_context()
    with time_machine.travel(NOW, tick=False), context:
        yield


@pytest.fixture
def people(make_user):
    return {
        "staff": make_user("staff", "specialist", department="客服部", display_name="张伟"),
        "head": make_user("head", "dept_head", department="客服部", display_name="陈静"),
        "other_head": make_user("other_head", "dept_head", department="销售部", display_name="周婷"),
        "manager": make_user("manager", "service_manager", display_name="杨磊"),
        "logistics": make_user("logistics", "logistics", department="行政后勤部", display_name="刘洋"),
        "driver": make_user("driver", "front_desk", display_name="孙师傅"),
        "driver2": make_user("driver2", "front_desk", display_name="钱师傅"),
    }


@pytest.fixture
def fleet(people):
    car = vehicles.add_vehicle(people["logistics"], plate="沪a·12345", model="别克GL8", seats=7, odometer=52000)
    van = vehicles.add_vehicle(people["logistics"], plate="沪AD12345", model="比亚迪", seats=5, odometer=8000)
    return {"car": car, "van": van, "sun": vehicles.add_driver(people["logistics"], people["driver"].id),
            "qian": vehicles.add_driver(people["logistics"], people["driver2"].id)}


def _trip(people, who="staff", start=NOW + 24 * HOUR, hours=2, passengers=3):
    return vehicles.request_trip(people[who], destination="浦东机场", starts_at=start, ends_at=start + hours * HOUR,
                                 passengers=passengers, purpose="接客户")


def _step(trip_id, action, actor, **kwargs):
    return vehicles.apply(trip_id, action, actor, Trip.get_by_id(trip_id).version, **kwargs)


def _approved(people, **kwargs):
    trip = _trip(people, **kwargs)
    return _step(trip.id, "approve", people["head"])


def _dispatched(people, fleet, vehicle="car", driver="sun", **kwargs):
    trip = _approved(people, **kwargs)
    return _step(trip.id, "dispatch", people["logistics"], vehicle_id=fleet[vehicle].id, driver_id=fleet[driver].id)


# ------------------------------------------------------------------ plates

@pytest.mark.parametrize("typed, plate", [("沪a·12345", "沪A12345"), (" 京B 1234学", "京B1234学"),
                                          ("粤BD12345", "粤BD12345"), ("浙A12345F", "浙A12345F"),
                                          ("ｓｕ", None), ("沪A1234", None), ("沪I12345", None), ("AB12345", None),
                                          ("沪AX12345", None)])
def test_plates_are_read_as_chinese_plates_including_new_energy_ones(typed, plate):
    if plate is None:
        with pytest.raises(VehicleError) as refused:
            vehicles.normalise_plate(typed)
        assert refused.value.field == "plate"
    else:
        assert vehicles.normalise_plate(typed) == plate


def test_a_plate_is_in_the_fleet_once(people, fleet):
    assert fleet["car"].plate == "沪A12345"
    with pytest.raises(VehicleError, match="already in the fleet"):
        vehicles.add_vehicle(people["logistics"], plate="沪A 12345", seats=5)


# ------------------------------------------------------------------ approval

def test_the_requesters_head_approves_and_logistics_is_told(people):
    trip = _trip(people)
    assert trip.number == "YC-2026-000001" and trip.state == "requested"
    assert [n.user_id for n in Notification.select()] == [people["head"].id]
    for wrong in ("other_head", "manager", "logistics", "staff"):
        with pytest.raises(VehicleError, match="department head"):
            _step(trip.id, "approve", people[wrong])
    trip = _step(trip.id, "approve", people["head"])
    assert trip.state == "approved" and trip.decided_by_id == people["head"].id
    assert Notification.select().where(Notification.user == people["logistics"].id).count() == 1


def test_a_heads_own_request_goes_to_the_service_manager(people):
    trip = _trip(people, who="head")
    assert vehicles.approvers(trip) == [people["manager"]]
    with pytest.raises(VehicleError):
        _step(trip.id, "approve", people["head"])
    assert _step(trip.id, "approve", people["manager"]).state == "approved"


def test_sent_back_the_requester_changes_and_submits_again(people):
    trip = _trip(people)
    with pytest.raises(VehicleError) as refused:
        _step(trip.id, "send_back", people["head"])
    assert refused.value.field == "note"
    _step(trip.id, "send_back", people["head"], note="人数写错了")
    start = NOW + 48 * HOUR
    trip = _step(trip.id, "resubmit", people["staff"], destination="虹桥站", starts_at=start, ends_at=start + HOUR,
                 passengers=2, purpose="接客户")
    assert (trip.state, trip.destination, trip.passengers, trip.decided_by_id) == ("requested", "虹桥站", 2, None)
    refused = _step(_trip(people).id, "refuse", people["head"], note="改乘地铁")
    assert refused.state == "refused" and refused.decision_note == "改乘地铁"


# ------------------------------------------------------------------ dispatch

def test_dispatch_refuses_more_passengers_than_seats_and_a_vehicle_in_the_workshop(people, fleet):
    trip = _approved(people, passengers=6)
    with pytest.raises(VehicleError, match="seats 5") as refused:
        _step(trip.id, "dispatch", people["logistics"], vehicle_id=fleet["van"].id, driver_id=fleet["sun"].id)
    assert refused.value.field == "vehicle"
    vehicles.open_service(people["logistics"], fleet["car"].id, kind="repair", opened_on=NOW.date(),
                          garage="上汽大众4S店", work="刹车异响")
    assert Vehicle.get_by_id(fleet["car"].id).state == "workshop"
    with pytest.raises(VehicleError, match="In the workshop"):
        _step(trip.id, "dispatch", people["logistics"], vehicle_id=fleet["car"].id, driver_id=fleet["sun"].id)
    record = vehicles.services_of(fleet["car"])[0]
    vehicles.close_service(people["logistics"], record.id, closed_on=NOW.date(), cost=Decimal("860.50"))
    assert Vehicle.get_by_id(fleet["car"].id).state == "available"
    assert _step(trip.id, "dispatch", people["logistics"], vehicle_id=fleet["car"].id,
                 driver_id=fleet["sun"].id).state == "dispatched"


def test_a_vehicle_is_never_dispatched_to_overlapping_trips_back_to_back_is_fine(people, fleet):
    first = _dispatched(people, fleet)  # tomorrow 09:00–11:00
    overlapping = _approved(people, start=first.starts_at + HOUR)
    with pytest.raises(VehicleError) as refused:
        _step(overlapping.id, "dispatch", people["logistics"], vehicle_id=fleet["car"].id, driver_id=fleet["qian"].id)
    assert refused.value.field == "vehicle" and first.number in str(refused.value)
    after = _approved(people, start=first.ends_at)
    assert _step(after.id, "dispatch", people["logistics"], vehicle_id=fleet["car"].id,
                 driver_id=fleet["qian"].id).state == "dispatched"
    # Another vehicle for the overlapping trip, but the same driver as the first: refused too.
    with pytest.raises(VehicleError) as refused:
        _step(overlapping.id, "dispatch", people["logistics"], vehicle_id=fleet["van"].id, driver_id=fleet["sun"].id)
    assert refused.value.field == "driver" and first.number in str(refused.value)
    # A cancelled trip frees its driver.
    _step(first.id, "cancel", people["staff"], note="客户改期")
    assert _step(overlapping.id, "dispatch", people["logistics"], vehicle_id=fleet["van"].id,
                 driver_id=fleet["sun"].id).driver_id == fleet["sun"].id


def test_two_threads_dispatching_one_vehicle_to_overlapping_trips_one_wins(app, people, fleet):
    one, two = _approved(people), _approved(people, start=NOW + 25 * HOUR)
    barrier, results = threading.Barrier(2), []

    def dispatch(trip, driver):
        with app.test_request_context():
            barrier.wait()
            try:
                vehicles.apply(trip.id, "dispatch", people["logistics"], trip.version, vehicle_id=fleet["car"].id,
                               driver_id=fleet[driver].id)
                results.append("ok")
            except VehicleError:
                results.append("refused")
            finally:
                from models.base import db
                db.close()

    threads = [threading.Thread(target=dispatch, args=args) for args in ((one, "sun"), (two, "qian"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == ["ok", "refused"]
    assert Trip.select().where(Trip.vehicle == fleet["car"].id).count() == 1


# ------------------------------------------------------------------ out and back

def test_odometer_must_not_go_back_and_must_increase_over_the_trip(people, fleet):
    trip = _dispatched(people, fleet)
    with pytest.raises(VehicleError, match="52000 km") as refused:
        _step(trip.id, "start", people["driver"], odometer=51999)
    assert refused.value.field == "odometer"
    with pytest.raises(VehicleError, match="Your role"):
        _step(trip.id, "start", people["driver2"], odometer=52010)  # not this trip's driver
    trip = _step(trip.id, "start", people["driver"], odometer=52010)
    assert trip.state == "out" and Vehicle.get_by_id(fleet["car"].id).odometer == 52010
    with pytest.raises(VehicleError, match="above the start reading") as refused:
        _step(trip.id, "finish", people["driver"], odometer=52010)
    assert refused.value.field == "odometer"
    with pytest.raises(VehicleError, match="is out on trip"):
        vehicles.open_service(people["logistics"], fleet["car"].id, kind="repair", opened_on=NOW.date(),
                              garage="4S店", work="刹车异响")
    trip = _step(trip.id, "finish", people["driver"], odometer=52096, fuel=Decimal("120.5"), tolls=Decimal("35"))
    assert (trip.state, trip.km, trip.fuel, trip.tolls) == ("back", 86, Decimal("120.50"), Decimal("35.00"))
    assert Vehicle.get_by_id(fleet["car"].id).odometer == 52096
    assert _step(trip.id, "close", people["logistics"]).state == "closed"


def test_a_low_reading_on_the_page_is_refused_beside_the_field_with_the_last_reading(app, client, auth, people,
                                                                                     fleet):
    with app.test_request_context():
        trip = _dispatched(people, fleet)
    auth.login("driver")
    response = client.post(f"/vehicles/trips/{trip.id}", data={
        "action": "start", "start-version": trip.version, "start-odometer": "51000"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="start-odometer-error"' in body and "52000 km" in body and 'value="51000"' in body
    assert Trip.get_by_id(trip.id).state == "dispatched"


# ------------------------------------------------------------------ reminders

def test_due_dates_remind_logistics_once_each_and_a_new_due_date_again(people, fleet):
    car = fleet["car"]
    vehicles.update_vehicle(people["logistics"], car.id, Vehicle.get_by_id(car.id).version, plate=car.plate,
                            seats=7, model=car.model, insurance_due=dt.date(2026, 12, 20),
                            inspection_due=dt.date(2026, 12, 1), maintenance_due=dt.date(2027, 3, 1))
    assert vehicles.remind_due_dates() == 1  # the inspection, 21 days ahead; insurance is 40 days off
    assert vehicles.remind_due_dates() == 0
    messages = [n.text for n in Notification.select().where(Notification.user == people["logistics"].id)]
    assert messages == ["沪A12345: the annual inspection is due on 2026-12-01."]
    with time_machine.travel(NOW + dt.timedelta(days=11), tick=False):
        assert vehicles.remind_due_dates() == 1  # now the insurance is within 30 days
        assert vehicles.remind_due_dates() == 0
    car = Vehicle.get_by_id(car.id)
    vehicles.update_vehicle(people["logistics"], car.id, car.version, plate=car.plate, seats=7, model=car.model,
                            insurance_due=dt.date(2027, 12, 20), inspection_due=dt.date(2026, 12, 5),
                            maintenance_due=dt.date(2027, 3, 1))
    assert vehicles.remind_due_dates() == 1  # the new inspection date reminds again
    assert VehicleReminder.select().count() == 3


def test_the_sweep_task_runs_the_reminders(people, fleet):
    from tasks.vehicles import vehicles_sweep
    car = Vehicle.get_by_id(fleet["car"].id)
    vehicles.update_vehicle(people["logistics"], car.id, car.version, plate=car.plate, seats=7,
                            insurance_due=dt.date(2026, 11, 15))
    assert vehicles_sweep.call_local() == 1 and vehicles_sweep.call_local() == 0


# ------------------------------------------------------------------ pages and prints

def test_a_trip_is_requested_on_the_page_and_a_mistake_keeps_what_was_typed(client, auth, people):
    auth.login("staff")
    data = {"destination": "浦东机场", "starts_at": "2026-11-11T10:00", "ends_at": "2026-11-11T09:00",
            "passengers": "3", "purpose": "接客户"}
    response = client.post("/vehicles/trips/new", data=data)
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "ends after it starts" in body and "浦东机场" in body
    response = client.post("/vehicles/trips/new", data={**data, "ends_at": "2026-11-11T12:00"})
    assert response.status_code == 303
    trip = Trip.get()
    assert trip.starts_at == dt.datetime(2026, 11, 11, 2, 0)  # stored UTC
    assert "浦东机场" in client.get("/vehicles/").get_data(as_text=True)
    auth.logout()
    auth.login("other_head")
    assert client.get(f"/vehicles/trips/{trip.id}").status_code == 404


def test_the_trip_request_form_prints_in_chinese(app, client, auth, people, fleet):
    with app.test_request_context():
        trip = _dispatched(people, fleet)
    auth.login("staff")
    response = client.get(f"/vehicles/trips/{trip.id}/form.pdf")
    assert response.status_code == 200
    text = pdf_text(response.data)
    for words in ("用车申请单", "YC-2026-000001", "浦东机场", "沪A12345", "孙师傅", "陈静", "部门负责人审批"):
        assert words in text, words
    assert_embedded_cjk_font(response.data)


def test_the_monthly_log_prints_trips_km_fuel_tolls_and_maintenance(app, client, auth, people, fleet):
    with app.test_request_context():
        trip = _dispatched(people, fleet)
        _step(trip.id, "start", people["driver"], odometer=52000)
        _step(trip.id, "finish", people["driver"], odometer=52120, fuel=Decimal("200"), tolls=Decimal("45.5"))
        record = vehicles.open_service(people["logistics"], fleet["car"].id, kind="maintenance",
                                       opened_on=dt.date(2026, 11, 12), garage="别克4S店", work="更换机油",
                                       cost=Decimal("680"))
        vehicles.close_service(people["logistics"], record.id, closed_on=dt.date(2026, 11, 12),
                               next_maintenance_due=dt.date(2027, 5, 12))
    assert Vehicle.get_by_id(fleet["car"].id).maintenance_due == dt.date(2027, 5, 12)
    auth.login("logistics")
    assert "更换机油" in client.get(f"/vehicles/fleet/{fleet['car'].id}?month=2026-11").get_data(as_text=True)
    response = client.get(f"/vehicles/fleet/{fleet['car'].id}/log.pdf?month=2026-11")
    text = pdf_text(response.data)
    for words in ("车辆月度运行记录", "沪A12345", "2026-11", "120", "200.00", "45.50", "更换机油", "680.00"):
        assert words in text, words
    assert_embedded_cjk_font(response.data)


def test_the_approval_list_and_count_follow_the_same_rule_as_approvers(people, make_user):
    lone = make_user("lone", "specialist", department="行政后勤部", display_name="吴磊")  # a department without a head
    own, heads, lonely = _trip(people), _trip(people, who="head"), _trip({"x": lone}, who="x")
    other = _trip(people, who="other_head")
    for who, expected in (("head", [own]), ("manager", [heads, lonely, other]), ("other_head", []),
                          ("staff", []), ("logistics", [])):
        rows = vehicles.awaiting_approval(people[who])
        assert [t.id for t in rows] == [t.id for t in sorted(expected, key=lambda t: (t.starts_at, t.id))], who
        assert vehicles.awaiting_count(people[who]) == len(expected), who
        assert all(vehicles.may_approve(t, people[who]) for t in rows), who
    _step(own.id, "approve", people["head"])
    assert vehicles.awaiting_count(people["head"]) == 0


def test_the_trip_lists_cost_the_same_queries_for_one_trip_as_for_many(client, auth, people, fleet, app):
    from playhouse.test_utils import count_queries
    auth.login("logistics")

    def queries():
        with count_queries() as counter:
            assert client.get("/vehicles/", headers={"HX-Request": "true"}).status_code == 200
        return counter.count

    def add(n):
        with app.test_request_context():
            for i in range(n):
                trip = _approved(people, start=NOW + (24 + 3 * i) * HOUR)
                vehicles.request_trip(people["logistics"], destination="松江", starts_at=trip.starts_at,
                                      ends_at=trip.ends_at, passengers=1, purpose="取货")
    add(1)
    few = queries()
    add(8)
    assert queries() == few


def test_a_vehicle_with_a_wrong_plate_comes_back_with_what_was_typed(client, auth, people):
    auth.login("logistics")
    data = {"plate": "沪A1234", "model": "别克GL8", "seats": "7", "odometer": "1200", "insurance_due": "2027-01-05"}
    response = client.post("/vehicles/fleet/new", data=data)
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="plate-error"' in body
    assert 'value="沪A1234"' in body and 'value="别克GL8"' in body and 'value="2027-01-05"' in body
    assert client.post("/vehicles/fleet/new", data={**data, "plate": "沪a 12345"}).status_code == 303
    assert Vehicle.get().plate == "沪A12345" and Vehicle.get().odometer == 1200


def test_the_dispatch_form_marks_what_is_taken_at_that_time(app, client, auth, people, fleet):
    with app.test_request_context():
        first = _dispatched(people, fleet)
        second = _approved(people, start=first.starts_at + HOUR)
    auth.login("logistics")
    body = client.get(f"/vehicles/trips/{second.id}").get_data(as_text=True)
    assert f"沪A12345 别克GL8, 7 seats (on trip {first.number})" in body
    assert f"孙师傅 (on trip {first.number})" in body
    assert "沪AD12345 比亚迪, 5 seats</option>" in body and "钱师傅</option>" in body


def test_a_dispatched_trip_gets_another_vehicle_when_its_own_goes_to_the_garage(client, auth, people, fleet, app):
    with app.test_request_context():
        trip = _dispatched(people, fleet)
        vehicles.open_service(people["logistics"], fleet["car"].id, kind="repair", opened_on=NOW.date(),
                              garage="4S店", work="刹车异响")
    auth.login("logistics")
    body = client.get(f"/vehicles/fleet/{fleet['car'].id}").get_data(as_text=True)
    assert trip.number in body and "dispatch these trips again" in body
    form = {"action": "redispatch", "redispatch-version": trip.version, "redispatch-vehicle": fleet["car"].id,
            "redispatch-driver": fleet["sun"].id}
    response = client.post(f"/vehicles/trips/{trip.id}", data=form)
    assert response.status_code == 422 and "In the workshop" in response.get_data(as_text=True)
    response = client.post(f"/vehicles/trips/{trip.id}", data={**form, "redispatch-vehicle": fleet["van"].id})
    assert response.status_code == 303
    trip = Trip.get_by_id(trip.id)
    assert (trip.state, trip.vehicle_id, trip.driver_id) == ("dispatched", fleet["van"].id, fleet["sun"].id)


def test_all_trips_are_listed_for_logistics_by_state_and_search(app, client, auth, people, fleet):
    with app.test_request_context():
        dispatched = _dispatched(people, fleet)
        waiting = vehicles.request_trip(people["head"], destination="虹桥站", starts_at=NOW + 30 * HOUR,
                                        ends_at=NOW + 31 * HOUR, passengers=1, purpose="出差")
        refused = _step(_trip(people, start=NOW + 40 * HOUR).id, "refuse", people["head"], note="不需要")
    auth.login("logistics")

    def numbers(**args):
        body = client.get("/vehicles/trips", query_string=args).get_data(as_text=True)
        return {t.number for t in (dispatched, waiting, refused) if t.number in body}
    assert numbers() == {dispatched.number, waiting.number}
    assert numbers(state="all") == {dispatched.number, waiting.number, refused.number}
    assert numbers(state="refused") == {refused.number}
    assert numbers(state="all", q="沪a1234") == {dispatched.number}
    assert numbers(state="all", q="虹桥") == {waiting.number}
    auth.logout()
    auth.login("staff")
    assert client.get("/vehicles/trips").status_code == 403


def test_a_vehicle_with_a_trip_ahead_is_not_retired(people, fleet):
    trip = _dispatched(people, fleet)
    car = Vehicle.get_by_id(fleet["car"].id)
    with pytest.raises(VehicleError, match=trip.number) as refused:
        vehicles.update_vehicle(people["logistics"], car.id, car.version, plate=car.plate, seats=7, retired=True)
    assert refused.value.field == "retired"
    _step(trip.id, "cancel", people["logistics"], note="改派")
    assert vehicles.update_vehicle(people["logistics"], car.id, car.version, plate=car.plate, seats=7,
                                   retired=True).state == "retired"


def test_a_mistaken_repair_record_is_voided_with_its_reason_and_the_vehicle_is_free(client, auth, people, fleet, app):
    with app.test_request_context():
        record = vehicles.open_service(people["logistics"], fleet["car"].id, kind="repair", opened_on=NOW.date(),
                                       garage="4S店", work="录错了车")
    auth.login("logistics")
    response = client.post(f"/vehicles/service/{record.id}/void", data={})
    assert response.status_code == 422 and f'id="void{record.id}-reason-error"' in response.get_data(as_text=True)
    assert client.post(f"/vehicles/service/{record.id}/void",
                       data={f"void{record.id}-reason": "车牌选错"}).status_code == 303
    from models.vehicles import VehicleService
    record = VehicleService.get_by_id(record.id)
    assert (record.state, record.void_reason) == ("voided", "车牌选错") and record.voided_at is not None
    assert Vehicle.get_by_id(fleet["car"].id).state == "available"
