"""The broadcast programme (播音): scripts approved version by version, the broadcaster's screen
(due now and next, only approved texts), the holiday variant, the promotions' rotation, recording
done and missed, the log's "not recorded", the screen's 304 and the printed forms."""
import datetime as dt

import pytest
import time_machine

from models import broadcast, worktime
from models.base import DomainError
from models.broadcast import BroadcastLog, ScriptVersion
from models.reports import Period
from tests.pdf import assert_embedded_cjk_font, pdf_text

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
#: The programme is set up well before the days the tests look at.
SET_UP = dt.datetime(2026, 2, 1, 9, 0, tzinfo=SHANGHAI)
MONDAY = dt.date(2026, 3, 2)


def at(day, hhmm, second=0):
    hour, minute = (int(p) for p in hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(hour, minute, second), tzinfo=SHANGHAI)


@pytest.fixture
def cast(make_user):
    return {"caster": make_user("caster", "broadcaster", display_name="孙丽"),
            "boss": make_user("boss", "service_manager", display_name="杨磊"),
            "desk": make_user("desk", "front_desk")}


def _script(app, cast, kind, title, zh, ru, approve=True, **extra):
    with app.test_request_context():
        script = broadcast.create_script(cast["caster"], kind=kind, title=title, text_zh=zh, text_ru=ru, **extra)
        version = broadcast.latest_version(script)
        if approve:
            broadcast.apply(version.id, "approve", cast["boss"], version.version)
    return script


@pytest.fixture
def programme(app, cast):
    """Seed 002's morning and its farewell, two promotion slots, and a holiday greeting."""
    with time_machine.travel(SET_UP, tick=False):
        scripts = {
            "welcome": _script(app, cast, "welcome", "欢迎语", "欢迎光临红星国际家居！", "Добро пожаловать в наш центр!",
                               title_ru="Приветствие"),
            "farewell": _script(app, cast, "farewell", "送宾语", "本商场营业时间已到，欢迎再次光临。",
                                "Наш центр закрывается. Ждём вас снова!"),
            "greeting": _script(app, cast, "greeting", "节日祝福语", "祝您节日快乐！", "С праздником!"),
            "p1": _script(app, cast, "promotion", "林氏家居促销", "林氏家居全场八折。", "Скидка 20% в Linshi.",
                          vendor="林氏家居"),
            "p2": _script(app, cast, "promotion", "海尔促销", "海尔冰箱买一送一。", "Холодильники Haier: акция.",
                          vendor="海尔"),
            "p3": _script(app, cast, "promotion", "顾家促销", "顾家沙发限时特惠。", "Диваны Kuka со скидкой.",
                          vendor="顾家"),
        }
        with app.test_request_context():
            add = lambda variant, start, end, kind, title="", script=None: broadcast.add_slot(  # noqa: E731
                cast["boss"], variant=variant, starts=start, ends=end, kind=kind, title=title,
                script_id=scripts[script].id if script else None)
            for variant in broadcast.VARIANTS:
                add(variant, "09:30", "09:40", "music", "迎宾曲")
                add(variant, "09:42", "09:43", "welcome", script="welcome")
                add(variant, "10:05", "10:30", "promotion", "厂商促销信息")
                add(variant, "10:30", "11:00", "promotion", "厂商促销信息")
            add("weekday", "17:25", "17:30", "farewell", script="farewell")
            add("holiday", "11:00", "11:05", "greeting", script="greeting")
            add("holiday", "17:55", "18:00", "farewell", script="farewell")
    return scripts


def _titles(entries):
    return [e.slot.title for e in entries]


# ---------------------------------------------------------------- approval

def test_a_script_goes_on_air_only_in_the_version_the_supervisor_approved(app, client, auth, cast, programme):
    with time_machine.travel(at(MONDAY, "09:42", 20), tick=False):
        welcome = programme["welcome"]
        version = broadcast.latest_version(welcome)
        with app.test_request_context():
            broadcast.edit_script(cast["caster"], welcome.id, version.seq, text_zh="欢迎光临！新版欢迎语。",
                                  text_ru="Новый текст приветствия.")
        auth.login("caster")
        page = client.get("/broadcast").get_data(as_text=True)
        # The approved text stays on air; the new one waits and is nowhere on the screen.
        assert "欢迎光临红星国际家居！" in page and "Добро пожаловать в наш центр!" in page
        assert "新版欢迎语" not in page and "Новый текст" not in page
        pending = broadcast.latest_version(welcome)
        assert pending.state == "pending" and pending.seq == 2
        with app.test_request_context():
            broadcast.apply(pending.id, "approve", cast["boss"], pending.version)
        page = client.get("/broadcast").get_data(as_text=True)
        assert "新版欢迎语" in page and "Новый текст приветствия." in page and "欢迎光临红星国际家居！" not in page
        assert ScriptVersion.get_by_id(version.id).state == "superseded"


def test_a_new_script_never_shows_on_the_screen_before_approval(app, client, auth, cast, programme):
    with time_machine.travel(at(MONDAY, "10:06"), tick=False):
        _script(app, cast, "promotion", "未审批促销", "未经审批的促销稿。", "Не одобрено.", approve=False)
        auth.login("caster")
        for hhmm in ("10:06", "10:31"):
            with time_machine.travel(at(MONDAY, hhmm), tick=False):
                page = client.get("/broadcast").get_data(as_text=True)
                assert "未经审批的促销稿" not in page and "Не одобрено" not in page
        entries = broadcast.day_programme(MONDAY)
        assert all(e.version is None or e.version.state == "approved" for e in entries)


def test_the_broadcaster_may_not_approve_and_a_return_needs_what_to_change(app, cast, programme):
    with app.test_request_context():
        script = broadcast.create_script(cast["caster"], kind="reminder", title="友情提醒", text_zh="请看管好随身物品。",
                                         text_ru="Берегите свои вещи.")
        version = broadcast.latest_version(script)
        with pytest.raises(DomainError, match="supervisor"):
            broadcast.apply(version.id, "approve", cast["caster"], version.version)
        with pytest.raises(DomainError) as refused:
            broadcast.apply(version.id, "return", cast["boss"], version.version, note=" ")
        assert refused.value.field == "note"
        returned = broadcast.apply(version.id, "return", cast["boss"], version.version, note="俄语再短一些")
        assert returned.state == "returned"
        with pytest.raises(DomainError):
            broadcast.apply(version.id, "approve", cast["boss"], returned.version)
        with pytest.raises(DomainError, match="Russian"):
            broadcast.edit_script(cast["caster"], script.id, 1, text_zh="请看管好随身物品。", text_ru="")


def test_the_supervisor_approves_on_the_script_page(app, client, auth, cast):
    with app.test_request_context():
        script = broadcast.create_script(cast["caster"], kind="weather", title="天气预报", text_zh="今天晴。",
                                         text_ru="Сегодня солнечно.")
    version = broadcast.latest_version(script)
    auth.login("caster")
    assert client.post(f"/broadcast/versions/{version.id}", data={"action": "approve"}).status_code == 403
    auth.logout()
    auth.login("boss")
    page = client.get(f"/broadcast/scripts/{script.id}").get_data(as_text=True)
    assert "今天晴。" in page and "decide-approve" in page
    response = client.post(f"/broadcast/versions/{version.id}", data={"action": "return", "return-version": 1,
                                                                      "return-note": ""})
    assert response.status_code == 422 and "Say what to change." in response.get_data(as_text=True)
    response = client.post(f"/broadcast/versions/{version.id}", data={"action": "approve", "approve-version": 1})
    assert response.status_code == 303
    assert ScriptVersion.get_by_id(version.id).state == "approved"


# ---------------------------------------------------------------- the screen

def test_due_now_and_next_follow_the_clock(app, cast, programme):
    with time_machine.travel(at(MONDAY, "09:35"), tick=False):
        _entries, due, following, behind = broadcast.now_and_next()
        assert _titles(due) == ["迎宾曲"] and following.slot.title == "欢迎语" and not behind
    with time_machine.travel(at(MONDAY, "09:42", 30), tick=False):
        _entries, due, following, behind = broadcast.now_and_next()
        assert _titles(due) == ["欢迎语"] and due[0].version.text_ru == "Добро пожаловать в наш центр!"
        assert following.slot.kind == "promotion"
        assert _titles(behind) == ["迎宾曲"]  # passed without a record
    with time_machine.travel(at(MONDAY, "12:00"), tick=False):
        _entries, due, following, _behind = broadcast.now_and_next()
        assert due == [] and following.slot.title == "送宾语"


def test_the_screen_shows_both_languages_and_answers_304_while_nothing_changed(app, client, auth, cast, programme):
    with time_machine.travel(at(MONDAY, "09:42", 10), tick=False):
        auth.login("caster")
        page = client.get("/broadcast")
        text = page.get_data(as_text=True)
        assert "欢迎光临红星国际家居！" in text and "Добро пожаловать" in text and 'id="on-air"' in text
        etag = page.headers["ETag"]
        poll = client.get("/broadcast", headers={"HX-Request": "true", "If-None-Match": etag})
        assert poll.status_code == 304
        welcome = next(e for e in broadcast.day_programme(MONDAY) if e.slot.title == "欢迎语")
        client.post("/broadcast/record", data={"slot": welcome.slot.id, "outcome": "done"})
        poll = client.get("/broadcast", headers={"HX-Request": "true", "If-None-Match": etag})
        assert poll.status_code == 200 and poll.headers["ETag"] != etag
        assert "<html" not in poll.get_data(as_text=True)  # the on-air part alone


# ---------------------------------------------------------------- variants and rotation

def test_weekends_and_calendar_holidays_play_the_holiday_programme(app, cast, programme):
    saturday = dt.date(2026, 3, 7)
    with time_machine.travel(at(MONDAY, "08:00"), tick=False):
        assert broadcast.variant_for(MONDAY) == "weekday"
        assert broadcast.variant_for(saturday) == "holiday"
        assert "节日祝福语" in _titles(broadcast.day_programme(saturday))
        assert "节日祝福语" not in _titles(broadcast.day_programme(MONDAY))
        with app.test_request_context():
            worktime.add_days(None, MONDAY, MONDAY, worktime.HOLIDAY, "清明节")
            worktime.add_days(None, saturday, saturday, worktime.WORKDAY, "调休")
        assert broadcast.variant_for(MONDAY) == "holiday" and broadcast.variant_for(saturday) == "weekday"
        farewell = next(e for e in broadcast.day_programme(MONDAY) if e.slot.kind == "farewell")
        assert farewell.slot.starts == "17:55"


def test_promotions_rotate_round_robin_by_date(app, cast, programme):
    order = [programme[k].id for k in ("p1", "p2", "p3")]

    def promoted(day):
        return [e.version.script_id for e in broadcast.day_programme(day) if e.slot.kind == "promotion"]
    with time_machine.travel(at(MONDAY, "08:00"), tick=False):
        days = [MONDAY + dt.timedelta(days=n) for n in range(3)]
        seen = [promoted(day) for day in days]
        assert seen == [promoted(day) for day in days]  # the same date, the same order
        flat = [script for day in seen for script in day]
        start = order.index(flat[0])
        assert flat == [order[(start + k) % 3] for k in range(6)]  # each vendor in turn, day after day
        assert (MONDAY.toordinal() * 2) % 3 == start


# ---------------------------------------------------------------- recording

def _entry(title, day=MONDAY):
    return next(e for e in broadcast.day_programme(day) if e.slot.title == title)


def test_done_and_missed_are_recorded_and_missed_needs_the_reason(app, client, auth, cast, programme):
    with time_machine.travel(at(MONDAY, "09:42", 30), tick=False):
        auth.login("caster")
        music, welcome = _entry("迎宾曲"), _entry("欢迎语")
        response = client.post("/broadcast/record", data={"slot": music.slot.id, "outcome": "missed",
                                                          "reason": "  "}, htmx=True)
        assert response.status_code == 422
        assert "Say why it was missed." in response.get_data(as_text=True)
        assert BroadcastLog.select().count() == 0
        response = client.post("/broadcast/record", data={"slot": music.slot.id, "outcome": "missed",
                                                          "reason": "音响故障"})
        assert response.status_code == 303
        response = client.post("/broadcast/record", data={"slot": welcome.slot.id, "outcome": "done"})
        assert response.status_code == 303
        rows = {row.slot_id: row for row in BroadcastLog.select()}
        assert rows[music.slot.id].outcome == "missed" and rows[music.slot.id].reason == "音响故障"
        assert rows[welcome.slot.id].outcome == "done"
        assert rows[welcome.slot.id].aired_id == welcome.version.id
        assert rows[welcome.slot.id].recorded_by_id == cast["caster"].id
        again = client.post("/broadcast/record", data={"slot": welcome.slot.id, "outcome": "done"})
        assert again.status_code == 422 and "already recorded" in again.get_data(as_text=True)
        later = _entry("送宾语")
        early = client.post("/broadcast/record", data={"slot": later.slot.id, "outcome": "done"})
        assert early.status_code == 422 and "has not begun" in early.get_data(as_text=True)
        assert BroadcastLog.select().count() == 2


def test_a_slot_without_an_approved_script_cannot_be_recorded_as_broadcast(app, cast, programme):
    with time_machine.travel(at(MONDAY, "09:42", 30), tick=False):
        welcome = _entry("欢迎语")
        with app.test_request_context():
            broadcast.Script.update(voided_at=broadcast.utcnow(), void_reason="停用").where(
                broadcast.Script.id == programme["welcome"].id).execute()
            with pytest.raises(DomainError, match="No approved script"):
                broadcast.record(cast["caster"], welcome.slot.id, "done")
            assert broadcast.record(cast["caster"], welcome.slot.id, "missed", "稿件停用").outcome == "missed"


def test_the_log_shows_slots_passed_without_a_record_as_not_recorded(app, client, auth, cast, programme):
    with time_machine.travel(at(MONDAY, "09:42", 30), tick=False):
        with app.test_request_context():
            broadcast.record(cast["caster"], _entry("欢迎语").slot.id, "done")
    with time_machine.travel(at(MONDAY + dt.timedelta(days=1), "09:00"), tick=False):
        statuses = {e.slot.title: e.status for e in broadcast.day_programme(MONDAY)}
        assert statuses["欢迎语"] == "done" and statuses["迎宾曲"] == "not_recorded"
        assert statuses["送宾语"] == "not_recorded"
        auth.login("boss")
        page = client.get("/broadcast/log?month=2026-03&day=2026-03-02")
        assert page.status_code == 200
        assert "Not recorded" in page.get_data(as_text=True)


# ---------------------------------------------------------------- prints

def test_the_month_log_prints_in_chinese_and_russian_with_embedded_fonts(app, client, auth, cast, programme):
    with time_machine.travel(at(MONDAY, "10:10"), tick=False):
        with app.test_request_context():
            broadcast.record(cast["caster"], _entry("欢迎语").slot.id, "done")
            broadcast.record(cast["caster"], _entry("迎宾曲").slot.id, "missed", "音响故障")
        # Only the days up to today: one day of the month's programme.
        assert len(broadcast.month_log(Period.parse("month", "2026-03"))) == 2
        auth.login("boss")
        response = client.get("/broadcast/log.pdf?month=2026-03")
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        text = pdf_text(response.data)
        assert "播音记录" in text and "音响故障" in text and "未记录" in text
        assert "Добро пожаловать" not in text  # the log names scripts, it does not read them
        assert "欢迎语" in text and "Приветствие" in text
        assert_embedded_cjk_font(response.data)
        day = client.get("/broadcast/programme.pdf?day=2026-03-02")
        text = pdf_text(day.data)
        assert "播音程序表" in text and "欢迎光临红星国际家居" in text
        assert "Добро пожаловать в наш центр!" in text
        assert_embedded_cjk_font(day.data)


def test_a_month_of_the_log_costs_the_queries_of_a_day(app, cast, programme):
    from playhouse.test_utils import count_queries
    with time_machine.travel(at(dt.date(2026, 3, 31), "18:00"), tick=False):
        with count_queries() as one_day:
            broadcast.day_programme(MONDAY)
        with count_queries() as month:
            days = broadcast.month_log(Period.parse("month", "2026-03"))
        assert len(days) == 31 and sum(len(entries) for _d, entries in days) > 31
        assert month.count == one_day.count


def test_the_supervisor_adds_a_line_and_an_overlapping_one_is_refused_with_what_was_typed(app, client, auth, cast,
                                                                                         programme):
    auth.login("boss")
    response = client.post("/broadcast/programme/lines?variant=weekday", data={
        "variant": "weekday", "starts": "9:35", "ends": "09:50", "kind": "music", "title": "轻音乐", "script": "0"})
    text = response.get_data(as_text=True)
    assert response.status_code == 422 and "It overlaps 09:30–09:40 迎宾曲." in text and 'value="轻音乐"' in text
    response = client.post("/broadcast/programme/lines?variant=weekday", data={
        "variant": "weekday", "starts": "12:00", "ends": "12:05", "kind": "reminder", "title": "", "script": "0"})
    assert response.status_code == 422 and "Choose the script this line reads." in response.get_data(as_text=True)
    response = client.post("/broadcast/programme/lines?variant=weekday", data={
        "variant": "weekday", "starts": "12:00", "ends": "12:05", "kind": "music", "title": "午间轻音乐", "script": "0"})
    assert response.status_code == 303
    assert "午间轻音乐" in [s.title for s in broadcast.current_slots("weekday")]
    auth.logout()
    auth.login("caster")
    assert client.post("/broadcast/programme/lines", data={"variant": "weekday"}).status_code == 403


def test_an_administrator_can_give_the_broadcaster_role(client, admin):
    page = client.get("/admin/users/new").get_data(as_text=True)
    assert 'value="broadcaster"' in page and "Broadcaster" in page


def test_the_supervisor_hears_of_unrecorded_slots_once_after_the_last_slot(app, cast, programme):
    from models.notifications import Notification
    from tasks.broadcast import broadcast_check_day
    with time_machine.travel(at(MONDAY, "09:42", 30), tick=False):
        with app.test_request_context():
            broadcast.record(cast["caster"], _entry("欢迎语").slot.id, "done")
    told = Notification.select().where(Notification.user == cast["boss"].id, Notification.message == broadcast.UNRECORDED)
    with time_machine.travel(at(MONDAY, "17:45"), tick=False):  # the farewell ended 17:30; 30 minutes not yet
        broadcast_check_day.call_local()
        assert told.count() == 0
    with time_machine.travel(at(MONDAY, "18:00"), tick=False):
        broadcast_check_day.call_local()
        broadcast_check_day.call_local()
        assert told.count() == 1
        assert '"count": 4' in told.get().params  # 迎宾曲, two promotions, the farewell
        assert broadcast.BroadcastDayCheck.get().unrecorded == 4
