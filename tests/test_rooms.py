"""Meeting rooms: overlaps refused by the slot table (back-to-back allowed, two threads at once:
one wins), weekly series with a clash and with exceptions, a series across a DST change, invited
visitors on the desk's expected list and checked in, the preparation and action-item reminders
(once), the minutes and their print."""
import contextlib
import datetime as dt
import threading

import pytest
import time_machine

from models import rooms, visitors
from models.base import db
from models.notifications import Notification
from models.rooms import ActionItem, Booking, RoomError, RoomSlot
from models.visitors import Appointment, Visit
from tests.pdf import assert_embedded_cjk_font, pdf_text

H = dt.timedelta(hours=1)
NOW = dt.datetime(2026, 3, 2, 1, 0)  # Monday 2 March 2026, 09:00 in Shanghai


def local(y, m, d, hh=0, mm=0):
    """A Shanghai wall-clock time as stored (naive UTC)."""
    return dt.datetime(y, m, d, hh, mm) - 8 * H


@pytest.fixture(autouse=True)
def frozen(app, request):
    context = contextlib.nullcontext() if "client" in request.fixturenames else app.test_request_context()
    with time_machine.travel(NOW, tick=False), context:
        yield


@pytest.fixture
def people(make_user):
    return {"org": make_user("org", "specialist", display_name="张伟"),
            "other": make_user("other", "specialist", display_name="李娜"),
            "log": make_user("log", "logistics", display_name="刘后勤"),
            "desk": make_user("desk", "front_desk", display_name="王芳")}


@pytest.fixture
def room(app):
    with app.app_context():
        return rooms.add_room(None, name="一号会议室", capacity=12, equipment="投影仪")


def _book(people, room, start, end, who="org", **kw):
    return rooms.book(people[who], room_id=room.id, title=kw.pop("title", "周例会"), starts_at=start, ends_at=end, **kw)


# ---------------------------------------------------------------- overlaps

def test_an_overlap_is_refused_naming_who_holds_the_room_and_back_to_back_is_allowed(people, room):
    _book(people, room, local(2026, 3, 3, 9), local(2026, 3, 3, 10, 30))
    with pytest.raises(RoomError) as refused:
        _book(people, room, local(2026, 3, 3, 10), local(2026, 3, 3, 11), who="other")
    assert refused.value.field == "start"
    assert "10:00" in str(refused.value) and "张伟" in str(refused.value)
    assert Booking.select().count() == 1
    after = _book(people, room, local(2026, 3, 3, 10, 30), local(2026, 3, 3, 11), who="other")
    before = _book(people, room, local(2026, 3, 3, 8), local(2026, 3, 3, 9), who="other")
    assert after.state == before.state == "booked"
    assert RoomSlot.select().count() == 3 + 1 + 2


def test_times_off_the_half_hour_and_in_the_past_are_refused_beside_their_field(people, room):
    with pytest.raises(RoomError) as refused:
        _book(people, room, local(2026, 3, 3, 9, 15), local(2026, 3, 3, 10))
    assert refused.value.field == "start"
    with pytest.raises(RoomError) as refused:
        _book(people, room, local(2026, 3, 3, 9), local(2026, 3, 3, 9))
    assert refused.value.field == "end"
    with pytest.raises(RoomError) as refused:
        _book(people, room, local(2026, 3, 1, 9), local(2026, 3, 1, 10))
    assert refused.value.field == "start"
    with pytest.raises(RoomError) as refused:
        _book(people, room, local(2026, 3, 3, 9), local(2026, 3, 3, 10), attendees=30)
    assert refused.value.field == "attendees"


def test_cancelling_frees_the_slots_and_keeps_the_booking(people, room):
    booking = _book(people, room, local(2026, 3, 3, 9), local(2026, 3, 3, 10))
    with pytest.raises(RoomError):
        rooms.apply(booking.id, "cancel", people["other"], booking.version, note="不开了")
    cancelled = rooms.apply(booking.id, "cancel", people["org"], booking.version, note="改期")
    assert cancelled.state == "cancelled" and cancelled.cancel_reason == "改期"
    assert RoomSlot.select().count() == 0
    again = _book(people, room, local(2026, 3, 3, 9), local(2026, 3, 3, 10), who="other")
    assert again.state == "booked" and Booking.select().count() == 2


def test_two_people_booking_one_slot_at_the_same_moment_one_wins(app, people, room):
    results = []
    barrier = threading.Barrier(2)

    def attempt(who):
        with app.test_request_context():
            barrier.wait()
            try:
                _book(people, room, local(2026, 3, 4, 14), local(2026, 3, 4, 15), who=who)
                results.append("ok")
            except RoomError as refused:
                results.append(str(refused))
            finally:
                db.close()

    threads = [threading.Thread(target=attempt, args=(who,)) for who in ("org", "other")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert results.count("ok") == 1 and len(results) == 2, results
    assert "14:00" in next(r for r in results if r != "ok")
    assert Booking.select().count() == 1 and RoomSlot.select().count() == 2


# ---------------------------------------------------------------- series

def test_a_series_with_a_clash_is_refused_naming_the_dates(people, room):
    _book(people, room, local(2026, 3, 17, 10), local(2026, 3, 17, 11), who="other")
    with pytest.raises(RoomError) as refused:
        rooms.book_series(people["org"], room_id=room.id, title="部门周会", starts_at=local(2026, 3, 3, 10),
                          ends_at=local(2026, 3, 3, 11), until=dt.date(2026, 3, 31))
    assert "2026-03-17" in str(refused.value) and "2026-03-10" not in str(refused.value)
    assert Booking.select().count() == 1 and rooms.BookingSeries.select().count() == 0


def test_a_series_skips_a_date_and_one_occurrence_is_moved(people, room):
    _book(people, room, local(2026, 3, 17, 10), local(2026, 3, 17, 11), who="other")
    series, made = rooms.book_series(people["org"], room_id=room.id, title="部门周会", starts_at=local(2026, 3, 3, 10),
                                     ends_at=local(2026, 3, 3, 11), until=dt.date(2026, 3, 31),
                                     skipped=[dt.date(2026, 3, 17)])
    assert [b.local_start.date().isoformat() for b in made] == ["2026-03-03", "2026-03-10", "2026-03-24",
                                                                "2026-03-31"]
    moved = rooms.move(made[1].id, people["org"], made[1].version, starts_at=local(2026, 3, 11, 14),
                       ends_at=local(2026, 3, 11, 15))
    assert moved.moved and moved.series_id == series.id and moved.local_start.hour == 14
    # The old time is free again, the new one taken.
    _book(people, room, local(2026, 3, 10, 10), local(2026, 3, 10, 11), who="other")
    with pytest.raises(RoomError):
        _book(people, room, local(2026, 3, 11, 14, 30), local(2026, 3, 11, 15), who="other")


def test_a_weekly_series_keeps_its_local_time_across_a_daylight_saving_change(app, people, room):
    app.config["TIMEZONE"] = "Europe/Berlin"
    # Berlin moves to summer time on 29 March 2026: 10:00 is 09:00 UTC before, 08:00 UTC after.
    _series, made = rooms.book_series(people["org"], room_id=room.id, title="Jour fixe",
                                      starts_at=dt.datetime(2026, 3, 24, 9, 0), ends_at=dt.datetime(2026, 3, 24, 10, 0),
                                      until=dt.date(2026, 4, 7))
    assert [b.starts_at.hour for b in made] == [9, 8, 8]
    assert {b.local_start.strftime("%H:%M") for b in made} == {"10:00"}


# ---------------------------------------------------------------- visitors

def test_invited_visitors_are_expected_at_the_desk_and_checked_in(people, room):
    booking = _book(people, room, local(2026, 3, 2, 14), local(2026, 3, 2, 15),
                    guests=[{"name": "陈静", "phone": "13700001111", "organisation": "远航物流"}, {"name": "", "phone": ""}])
    expected = list(Appointment.expected_on(dt.date(2026, 3, 2)))
    assert [(a.visitor_name, a.host_id, a.starts_at) for a in expected] == [("陈静", people["org"].id,
                                                                            booking.starts_at)]
    visit = visitors.check_in(people["desk"], expected[0])
    assert Visit.get_by_id(visit.id).host_id == people["org"].id
    assert not list(Appointment.expected_on(dt.date(2026, 3, 2)))


def test_cancelling_the_booking_cancels_its_visitors(people, room):
    booking = _book(people, room, local(2026, 3, 2, 14), local(2026, 3, 2, 15),
                    guests=[{"name": "陈静", "phone": "13700001111"}])
    rooms.apply(booking.id, "cancel", people["org"], booking.version, note="客户改期")
    assert not list(Appointment.expected_on(dt.date(2026, 3, 2)))
    assert Appointment.get().cancelled_at is not None


def test_a_meeting_invites_at_most_so_many_visitors(people, room, monkeypatch):
    monkeypatch.setattr(rooms, "MAX_GUESTS", 2)
    guests = [{"name": name, "phone": "13700001111"} for name in ("陈静", "王五", "赵六")]
    with pytest.raises(RoomError) as refused:
        _book(people, room, local(2026, 3, 2, 14), local(2026, 3, 2, 15), guests=guests)
    assert "at most 2 visitors" in str(refused.value) and Booking.select().count() == 0
    booking = _book(people, room, local(2026, 3, 2, 14), local(2026, 3, 2, 15), guests=guests[:2])
    with pytest.raises(RoomError) as refused:
        rooms.invite(people["org"], booking.id, guests[2])
    assert refused.value.field == "name" and Appointment.select().count() == 2


def test_a_visitor_without_a_phone_is_refused(people, room):
    with pytest.raises(RoomError) as refused:
        _book(people, room, local(2026, 3, 2, 14), local(2026, 3, 2, 15), guests=[{"name": "陈静", "phone": ""}])
    assert refused.value.field == "guests-0"
    assert Booking.select().count() == 0


# ---------------------------------------------------------------- preparation and reminders

def test_preparation_reminds_logistics_once_before_the_start_and_ticking_ends_it(people, room):
    booking = _book(people, room, local(2026, 3, 2, 14), local(2026, 3, 2, 15), prep=["projector", "drinks"],
                    prep_note="12瓶水")
    told = Notification.select().where(Notification.user == people["log"].id).count()
    assert told == 1  # asked for at booking
    assert [b.id for b in rooms.unfinished_prep()] == [booking.id]
    assert rooms.remind_prep(local(2026, 3, 2, 12, 59)) == 0  # 61 minutes ahead: not yet
    assert rooms.remind_prep(local(2026, 3, 2, 13, 0)) == 1
    assert rooms.remind_prep(local(2026, 3, 2, 13, 5)) == 0  # once
    assert Notification.select().where(Notification.user == people["log"].id).count() == 2
    for item in rooms.prep_items(booking):
        rooms.tick(people["log"], item.id)
    assert list(rooms.unfinished_prep()) == []
    with pytest.raises(RoomError):
        rooms.tick(people["org"], item.id)


def test_finished_preparation_is_not_reminded(people, room):
    booking = _book(people, room, local(2026, 3, 2, 14), local(2026, 3, 2, 15), prep=["layout"])
    rooms.tick(people["log"], rooms.prep_items(booking)[0].id)
    assert rooms.remind_prep(local(2026, 3, 2, 13, 30)) == 0


# ---------------------------------------------------------------- minutes

def _held(people, room):
    booking = _book(people, room, local(2026, 3, 2, 9, 30), local(2026, 3, 2, 10, 30))
    with time_machine.travel(local(2026, 3, 2, 10, 30), tick=False):
        minutes = rooms.save_minutes(people["org"], booking.id, attendees="张伟、李娜、刘后勤",
                                     decisions="一、三月起每周一例会。\n二、更换投影仪。")
    return booking, minutes


def test_minutes_before_the_start_are_refused(people, room):
    booking = _book(people, room, local(2026, 3, 3, 9), local(2026, 3, 3, 10))
    with pytest.raises(RoomError) as refused:
        rooms.save_minutes(people["org"], booking.id, attendees="张伟", decisions="无")
    assert refused.value.field == "decisions"


def test_action_items_remind_their_owner_once_and_only_the_owner_closes(people, room):
    _booking, minutes = _held(people, room)
    item = rooms.add_action(people["org"], minutes.id, text="采购新投影仪", owner_id=people["log"].id,
                            due_on=dt.date(2026, 3, 6))
    assert list(rooms.open_actions_organised(people["org"])) == [item] and list(rooms.open_actions(people["log"])) == [item]
    before = Notification.select().where(Notification.user == people["log"].id).count()
    assert rooms.remind_actions(local(2026, 3, 4, 9)) == 0  # due in two days, reminded one day ahead
    assert rooms.remind_actions(local(2026, 3, 5, 9)) == 1
    assert rooms.remind_actions(local(2026, 3, 5, 9, 1)) == 0
    assert Notification.select().where(Notification.user == people["log"].id).count() == before + 1
    with pytest.raises(RoomError):
        rooms.apply_action(item.id, "close", people["org"], item.version, note="已买")
    closed = rooms.apply_action(item.id, "close", people["log"], item.version, note="已采购到货")
    assert closed.state == "closed" and ActionItem.get().result == "已采购到货"
    assert not rooms.open_actions_organised(people["org"]).exists() and not rooms.open_actions(people["log"]).exists()


def test_the_minutes_hold_at_most_so_many_action_items(people, room, monkeypatch):
    monkeypatch.setattr(rooms, "MAX_ACTION_ITEMS", 2)
    _booking, minutes = _held(people, room)
    for text in ("采购投影仪", "通知各部门"):
        rooms.add_action(people["org"], minutes.id, text=text, owner_id=people["log"].id, due_on=dt.date(2026, 3, 6))
    with pytest.raises(RoomError) as refused:
        rooms.add_action(people["org"], minutes.id, text="再一项", owner_id=people["log"].id, due_on=dt.date(2026, 3, 6))
    assert refused.value.field == "text" and "at most 2 action items" in str(refused.value)
    assert ActionItem.select().count() == 2


def test_the_printed_minutes_show_the_meeting_in_chinese(client, auth, app, people, room):
    with app.test_request_context():
        booking, minutes = _held(people, room)
        rooms.add_action(people["org"], minutes.id, text="采购新投影仪", owner_id=people["log"].id,
                         due_on=dt.date(2026, 3, 6))
    auth.login("other")
    data = client.get(f"/rooms/bookings/{booking.id}/minutes.pdf").data
    text = pdf_text(data)
    assert "会议记录" in text and "一号会议室" in text and "更换投影仪" in text and "采购新投影仪" in text
    assert booking.number in text
    assert_embedded_cjk_font(data)


# ---------------------------------------------------------------- pages

def test_the_day_grid_shows_free_slots_and_the_booking(client, auth, app, people, room):
    with app.test_request_context():
        _book(people, room, local(2026, 3, 2, 14), local(2026, 3, 2, 15), title="供应商洽谈")
    auth.login("other")
    page = client.get("/rooms?day=2026-03-02").get_data(as_text=True)
    assert "供应商洽谈" in page and 'rowspan="2"' in page
    assert f"/rooms/book?room={room.id}&amp;day=2026-03-02&amp;start=15:00" in page
    assert f"/rooms/book?room={room.id}&amp;day=2026-03-02&amp;start=08:30" not in page  # past
    assert client.get(f"/rooms/week?room={room.id}&day=2026-03-04").status_code == 200
    assert client.get("/rooms?day=tomorrow").status_code == 422


def test_the_day_grid_of_a_site_with_no_room_yet_is_a_page(client, auth, people):
    auth.login("other")
    response = client.get("/rooms?day=2026-03-02")
    assert response.status_code == 200
    assert "<h1>Meeting rooms</h1>" in response.get_data(as_text=True)


def test_the_day_grid_shows_so_many_rooms_at_a_time_and_my_bookings_page_on(client, auth, app, people, room,
                                                                           monkeypatch):
    monkeypatch.setattr("views.rooms.GRID_ROOMS", 2)
    monkeypatch.setattr("views.ui.PAGE_ROWS", 2)
    with app.test_request_context():
        others = [rooms.add_room(None, name=name, capacity=8) for name in ("七号会议室", "三号会议室")]  # by name: 一 七 三
        _book(people, others[1], local(2026, 3, 2, 14), local(2026, 3, 2, 15), title="三号的会")
        for hour in (10, 11):
            _book(people, room, local(2026, 3, 3, hour), local(2026, 3, 3, hour + 1), title=f"{hour}点的会")
    auth.login("org")
    def grid(page):
        return page.split('id="day-grid"')[1].split("</table>")[0]
    page = client.get("/rooms?day=2026-03-02").get_data(as_text=True)
    assert "一号会议室" in grid(page) and "七号会议室" in grid(page) and "三号的会" not in grid(page)
    assert "/rooms?day=2026-03-02&amp;rooms=2" in page  # more rooms
    page = client.get("/rooms?day=2026-03-02&rooms=2").get_data(as_text=True)
    assert "三号的会" in grid(page) and "七号会议室" not in grid(page)
    assert "/rooms?day=2026-03-03&amp;rooms=2" in page  # the next day keeps the rooms
    assert "mine=2" in page and "11点的会" not in page  # my bookings: two, then "show more"
    more = client.get("/rooms?day=2026-03-02&rooms=2&mine=2", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "11点的会" in more and "<table" not in more


def test_booking_through_the_page_and_a_clash_keeps_what_was_typed(client, auth, app, people, room):
    auth.login("org")
    form = {"room": room.id, "title": "季度总结", "day": "2026-03-03", "start": "09:00", "end": "10:00",
            "prep": ["projector"], "guests-0-name": "陈静", "guests-0-phone": "13700001111",
            "guests-0-organisation": "远航物流"}
    response = client.post("/rooms/book", data=form)
    assert response.status_code == 303
    booking = Booking.get()
    assert booking.title == "季度总结" and Appointment.get().visitor_name == "陈静"
    auth.logout()
    auth.login("other")
    response = client.post("/rooms/book", data={**form, "title": "另一个会", "start": "09:30", "end": "10:30"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "09:30" in page and "张伟" in page and "另一个会" in page
    response = client.post("/rooms/book", data={**form, "title": "另一个会", "start": "10:15", "end": "11:00"})
    assert response.status_code == 422 and "另一个会" in response.get_data(as_text=True)
    assert Booking.select().count() == 1
    page = client.get(f"/rooms/bookings/{booking.id}").get_data(as_text=True)
    assert "季度总结" in page and "陈静" in page


def test_moving_onto_a_taken_time_is_refused_beside_the_time_and_cancel_needs_a_reason(client, auth, app, people,
                                                                                        room):
    with app.test_request_context():
        _book(people, room, local(2026, 3, 3, 11), local(2026, 3, 3, 12), who="other", title="别人的会")
        booking = _book(people, room, local(2026, 3, 3, 9), local(2026, 3, 3, 10))
    auth.login("org")
    url = f"/rooms/bookings/{booking.id}"
    response = client.post(f"{url}/move", data={"move-version": booking.version, "move-room": room.id,
                                                "move-day": "2026-03-03", "move-start": "11:30", "move-end": "12:30"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="move-start-error"' in page and "李娜" in page
    assert Booking.get_by_id(booking.id).starts_at == local(2026, 3, 3, 9)
    response = client.post(f"{url}/move", data={"move-version": booking.version, "move-room": room.id,
                                                "move-day": "2026-03-03", "move-start": "12:00", "move-end": "13:00"})
    assert response.status_code == 303 and Booking.get_by_id(booking.id).starts_at == local(2026, 3, 3, 12)
    version = Booking.get_by_id(booking.id).version
    response = client.post(url, data={"action": "cancel", "cancel-version": version, "cancel-note": ""})
    assert response.status_code == 422 and 'id="cancel-note-error"' in response.get_data(as_text=True)
    response = client.post(url, data={"action": "cancel", "cancel-version": version, "cancel-note": "改线上"})
    assert response.status_code == 303 and Booking.get_by_id(booking.id).state == "cancelled"


def test_logistics_ticks_preparation_and_the_owner_closes_an_action_item_on_the_pages(client, auth, app, people,
                                                                                        room):
    with app.test_request_context():
        booking = _book(people, room, local(2026, 3, 2, 14), local(2026, 3, 2, 15), prep=["projector"])
        _held_booking, minutes = _held(people, room)
        item = rooms.add_action(people["org"], minutes.id, text="采购新投影仪", owner_id=people["log"].id,
                                due_on=dt.date(2026, 3, 6))
    auth.login("log")
    assert booking.title in client.get("/rooms/prep").get_data(as_text=True)
    prep_id = rooms.PrepItem.get().id
    assert client.post(f"/rooms/prep/{prep_id}/tick").status_code == 303
    assert rooms.PrepItem.get().done_by_id == people["log"].id and not rooms.unfinished_prep().exists()
    assert "采购新投影仪" in client.get("/rooms/actions").get_data(as_text=True)
    response = client.post(f"/rooms/actions/{item.id}/close", data={f"close-{item.id}-version": item.version,
                                                                    f"close-{item.id}-note": "已到货"})
    assert response.status_code == 303 and ActionItem.get().state == "closed"
    auth.logout()
    auth.login("org")
    assert client.post(f"/rooms/prep/{prep_id}/tick").status_code == 403


def test_an_invalid_booking_form_keeps_what_was_typed(client, auth, people, room):
    auth.login("org")
    response = client.post("/rooms/book", data={"room": room.id, "title": "", "day": "2026-03-03", "start": "09:00",
                                                "end": "10:00", "guests-0-name": "陈静", "guests-0-phone": "abc"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="title-error"' in page and "陈静" in page
    assert 'id="guests-0-phone-error"' in page
    assert Booking.select().count() == 0


def test_the_minute_sweep_reminds_once_however_often_it_runs(people, room):
    from tasks.rooms import rooms_sweep
    _book(people, room, local(2026, 3, 2, 9, 30), local(2026, 3, 2, 10, 30), prep=["drinks"])
    assert rooms_sweep.call_local() == 1
    assert rooms_sweep.call_local() == 0


def test_a_room_beyond_any_id_or_a_negative_count_is_refused_beside_its_field(people, room):
    with pytest.raises(RoomError) as refused:
        _book(people, type("Gone", (), {"id": 10**20})(), local(2026, 3, 3, 9), local(2026, 3, 3, 10))
    assert refused.value.field == "room"
    with pytest.raises(RoomError) as refused:
        _book(people, room, local(2026, 3, 3, 9), local(2026, 3, 3, 10), attendees=-3)
    assert refused.value.field == "attendees"


def test_a_visitor_invited_later_is_expected_and_a_missing_phone_is_shown_beside_it(client, auth, app, people, room):
    with app.test_request_context():
        booking = _book(people, room, local(2026, 3, 2, 14), local(2026, 3, 2, 15))
    auth.login("org")
    url = f"/rooms/bookings/{booking.id}/invite"
    response = client.post(url, data={"invite-name": "陈静", "invite-phone": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="invite-phone-error"' in page and "陈静" in page
    assert client.post(url, data={"invite-name": "陈静", "invite-phone": "13700001111",
                                  "invite-organisation": "远航物流"}).status_code == 303
    assert [a.visitor_name for a in Appointment.expected_on(dt.date(2026, 3, 2))] == ["陈静"]
    auth.logout()
    auth.login("other")
    response = client.post(url, data={"invite-name": "王五", "invite-phone": "13700002222"})
    assert response.status_code == 422 and "Only the organiser or logistics" in response.get_data(as_text=True)
    assert Appointment.select().count() == 1
