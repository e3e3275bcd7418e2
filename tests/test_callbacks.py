"""Callbacks (回访): scheduling after a complaint and from an imported sales list, quiet
hours and the customer's agreed time, the outcomes and what they do to the complaint,
the monthly figures, and the printed record. Time is always frozen."""
import csv
import datetime as dt
import io

import pytest
import time_machine
from openpyxl import Workbook

from models import callbacks, complaints, settings
from models.callbacks import Callback, CallbackAttempt, Sale, TimeRanges
from models.complaints import Complaint, Customer
from models.notifications import Notification
from models.reports import Period
from models.users import Department, User
from tests.helpers import apply_action as _apply
from tests.helpers import make_complaint, staff
from tests.pdf import assert_embedded_cjk_font, pdf_text

UTC = dt.timezone.utc
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def local(*args):
    """A Shanghai wall-clock time as the naive UTC the database stores."""
    return dt.datetime(*args, tzinfo=SHANGHAI).astimezone(UTC).replace(tzinfo=None)


def at(*args):
    """Freeze the clock at a Shanghai wall-clock time."""
    return time_machine.travel(dt.datetime(*args, tzinfo=SHANGHAI), tick=False)


@pytest.fixture
def people(make_user):
    return staff(make_user, "spec", "spec2", "manager", "head", "desk",
                 spec={"display_name": "李专员"}, manager={"display_name": "周经理"})


def _make(app, user, **overrides):
    return make_complaint(app, user, **{"content": "洗衣机漏水", "channel": "phone", "category": "product quality",
                                        **overrides})


def _resolve(app, people, complaint, sweep=True):
    """Drive a complaint to "customer informed", the step at which its callback falls due,
    and let the minute sweep make that callback (unless told it did not run)."""
    with app.test_request_context():
        repairs = Department.get(Department.name == "Repairs").id
    steps = [("acknowledge", "spec", {}), ("assign", "spec", {"department_id": repairs}),
             ("handle", "head", {"note": "换了进水管"}), ("report", "head", {"note": "已修好"}),
             ("inform", "spec", {})]
    for action, who, kwargs in steps:
        if Complaint.get_by_id(complaint.id).state in complaints.TRANSITIONS[action].sources:
            _apply(app, complaint.id, action, people[who], **kwargs)
    if sweep:
        from tasks.callbacks import schedule_callbacks
        schedule_callbacks.call_local()


def _callback_of(app, complaint):
    with app.test_request_context():
        return Callback.get(Callback.complaint == complaint.id, Callback.state == "due")


def _record(client, callback, outcome, note="", key=None):
    with client.application.test_request_context():
        version = Callback.get_by_id(callback.id).version
    return client.post(f"/callbacks/{callback.id}", data={
        "outcome": outcome, "note": note, "version": str(version),
        "submission_key": key or f"k-{callback.id}-{version}-{outcome}"})


def _messages(app, username):
    with app.app_context():
        user = User.by_username(username)
        return [n.message for n in Notification.select().where(Notification.user == user)]


# Scheduling after a complaint is resolved

def test_a_resolved_complaint_gets_a_callback_due_now_and_within_3_days(app, people):
    with at(2026, 11, 2, 10, 0):
        complaint = _make(app, people["spec"])
        _resolve(app, people, complaint)
        callback = _callback_of(app, complaint)
    assert callback.reason == "complaint" and callback.number.startswith("HF-2026-")
    assert callback.due_at == local(2026, 11, 2, 10, 0) == callback.next_at
    assert callback.deadline_at == local(2026, 11, 5, 10, 0)
    assert callback.customer_id == complaint.customer_id


def test_a_complaint_resolved_in_the_evening_is_called_back_next_morning(app, people):
    with at(2026, 11, 2, 21, 30):
        complaint = _make(app, people["spec"])
        _resolve(app, people, complaint)
        callback = _callback_of(app, complaint)
    assert callback.due_at == local(2026, 11, 3, 9, 0)
    assert callback.deadline_at == local(2026, 11, 5, 21, 30)


def test_the_sweep_makes_each_callback_once_also_when_it_catches_up(app, people):
    from tasks.callbacks import schedule_callbacks
    with at(2026, 11, 2, 10, 0):
        complaint = _make(app, people["spec"])
        _resolve(app, people, complaint, sweep=False)  # the consumer was down
        with app.app_context():
            assert Callback.select().count() == 0
    with at(2026, 11, 2, 10, 5):
        schedule_callbacks.call_local()
        schedule_callbacks.call_local()
        with app.app_context():
            assert Callback.select().count() == 1
            # Due when the customer was informed, not when the sweep ran.
            assert Callback.get().deadline_at == local(2026, 11, 5, 10, 0)


# Quiet hours and the agreed time

@pytest.mark.parametrize("wall, expected", [
    ((11, 59), (2, 11, 59)), ((12, 0), (2, 14, 0)), ((13, 59), (2, 14, 0)), ((14, 0), (2, 14, 0)),
    ((20, 59), (2, 20, 59)), ((21, 0), (3, 9, 0)), ((23, 30), (3, 9, 0)), ((0, 0), (2, 9, 0)),
    ((8, 59), (2, 9, 0)), ((9, 0), (2, 9, 0)),
])
def test_never_in_quiet_hours_just_inside_and_outside_each_boundary(app, wall, expected):
    with app.app_context():
        slot = callbacks.next_allowed(local(2026, 11, 2, *wall))
    assert slot == local(2026, 11, expected[0], expected[1], expected[2])


@pytest.mark.parametrize("window, wall, expected", [
    ("19:00-20:30", (10, 0), (2, 19, 0)),
    ("19:00-20:30", (20, 29), (2, 20, 29)),
    ("19:00-20:30", (20, 30), (3, 19, 0)),
    ("09:30-10:00, 16:00-17:00", (10, 0), (2, 16, 0)),
    ("09:30-10:00, 16:00-17:00", (9, 0), (2, 9, 30)),
    # The window wholly inside quiet hours: the customer's own word wins.
    ("12:30-13:00", (10, 0), (2, 12, 30)),
])
def test_never_outside_the_customers_agreed_time(app, window, wall, expected):
    with app.app_context():
        slot = callbacks.next_allowed(local(2026, 11, 2, *wall), TimeRanges(window))
    assert slot == local(2026, 11, expected[0], expected[1], expected[2])


def test_the_slot_is_found_by_the_one_function_that_skips_ranges_of_the_day(app, monkeypatch):
    """next_allowed asks TimeRanges.first_moment_outside (as the notifications' quiet hours do),
    over quiet hours and the time outside the agreed window: one way of skipping ranges."""
    from models.daytimes import TimeRanges as Ranges
    asked = []
    skip = Ranges.first_moment_outside

    def spied(ranges, start_utc):
        asked.append(str(ranges))
        return skip(ranges, start_utc)
    monkeypatch.setattr(Ranges, "first_moment_outside", spied)
    with app.app_context():
        quiet = settings.get(callbacks.QUIET_HOURS)
        for minute in range(0, 24 * 60, 7):
            start = local(2026, 11, 2) + dt.timedelta(minutes=minute)
            assert callbacks.next_allowed(start) == skip(quiet, start)
        assert callbacks.next_allowed(local(2026, 11, 2, 10, 0), TimeRanges("19:00-20:30")) == local(2026, 11, 2, 19, 0)
    assert "12:00-14:00, 21:00-09:00, 00:00-19:00, 20:30-24:00" in asked


def test_the_time_outside_ranges_of_the_day():
    assert TimeRanges("19:00-20:30").complement() == ((0, 1140), (1230, 1440))
    assert TimeRanges("21:00-09:00, 12:00-14:00").complement() == ((540, 720), (840, 1260))
    assert TimeRanges("").complement() == ((0, 1440),) and TimeRanges("00:00-12:00, 12:00-24:00").complement() == ()


def test_a_complaint_callback_falls_in_the_customers_agreed_time(app, people):
    with at(2026, 11, 2, 10, 0):
        complaint = _make(app, people["spec"])
        with app.app_context():
            Customer.update(callback_window="19:00-20:30").execute()
        _resolve(app, people, complaint)
        assert _callback_of(app, complaint).due_at == local(2026, 11, 2, 19, 0)


def test_quiet_hours_are_a_setting_checked_when_typed(app, client, admin):
    response = client.post("/settings", data={"callback_quiet_hours": "午休"})
    assert response.status_code == 422 and "Write times like" in response.get_data(as_text=True)
    with app.test_request_context():
        settings.save(admin, {callbacks.QUIET_HOURS: TimeRanges("12:30-13:30")})
        assert callbacks.next_allowed(local(2026, 11, 2, 12, 0)) == local(2026, 11, 2, 12, 0)
        assert callbacks.next_allowed(local(2026, 11, 2, 12, 30)) == local(2026, 11, 2, 13, 30)
        assert callbacks.next_allowed(local(2026, 11, 2, 22, 0)) == local(2026, 11, 2, 22, 0)


def test_the_specialist_notes_an_agreed_time_and_the_callback_moves_into_it(app, client, auth, people):
    with at(2026, 11, 2, 10, 0):
        complaint = _make(app, people["spec"])
        _resolve(app, people, complaint)
        callback = _callback_of(app, complaint)
        auth.login("spec")
        bad = client.post(f"/callbacks/{callback.id}/window", data={"w-window": "晚上"})
        assert bad.status_code == 422 and "Write times like" in bad.get_data(as_text=True)
        assert client.post(f"/callbacks/{callback.id}/window", data={"w-window": "19:00-20:00"}).status_code == 303
        with app.app_context():
            assert Customer.get().callback_window == "19:00-20:00"
            assert Callback.get_by_id(callback.id).next_at == local(2026, 11, 2, 19, 0)


# Outcomes

def test_unreachable_is_retried_at_the_next_allowed_slot_and_flagged_after_3_tries(app, client, auth, people):
    with at(2026, 11, 2, 10, 0):
        complaint = _make(app, people["spec"])
        _resolve(app, people, complaint)
        callback = _callback_of(app, complaint)
    # Each step logs in afresh: hours pass between them, longer than the idle timeout.
    with at(2026, 11, 2, 11, 0):  # +2 h is 13:00, in the midday rest: 14:00
        auth.login("spec")
        assert _record(client, callback, "unreachable").status_code == 303
        assert Callback.get_by_id(callback.id).next_at == local(2026, 11, 2, 14, 0)
    with at(2026, 11, 2, 20, 0):  # +2 h is 22:00, at night: next morning 09:00
        auth.login("spec")
        _record(client, callback, "unreachable")
        assert Callback.get_by_id(callback.id).next_at == local(2026, 11, 3, 9, 0)
        assert _messages(app, "manager") == []
    with at(2026, 11, 3, 9, 5):
        auth.login("spec")
        _record(client, callback, "unreachable")
        row = Callback.get_by_id(callback.id)
        assert row.attempts == 3 and row.flagged_at is not None and row.outcome == ""
        flag = "Callback %(number)s: %(customer)s could not be reached after %(tries)s tries"
        assert _messages(app, "manager") == [flag]
        assert row.next_at == local(2026, 11, 3, 11, 5)
    with at(2026, 11, 3, 11, 10):
        auth.login("spec")
        page = client.get("/callbacks").get_data(as_text=True)
        queue = page[page.index('id="callback-queue"'):page.index('id="callback-done"')]
        assert "李四" in queue and "Flagged to the manager" in queue
        _record(client, callback, "unreachable")
        assert _messages(app, "manager") == [flag]  # flagged once
    with app.app_context():
        assert [a.result for a in CallbackAttempt.select()] == ["unreachable"] * 4
        assert Complaint.get_by_id(complaint.id).state == "customer_informed"


def test_unsatisfied_reopens_the_complaint_with_what_was_wrong_in_its_timeline(app, client, auth, people):
    with at(2026, 11, 2, 10, 0):
        complaint = _make(app, people["spec"])
        _resolve(app, people, complaint)
        callback = _callback_of(app, complaint)
    with at(2026, 11, 2, 15, 0):
        auth.login("spec")
        missing = _record(client, callback, "unsatisfied", note="")
        page = missing.get_data(as_text=True)
        assert missing.status_code == 422 and 'id="note-error"' in page and "not satisfied with" in page
        assert Complaint.get_by_id(complaint.id).state == "customer_informed"
        assert _record(client, callback, "unsatisfied", note="第二天又漏水").status_code == 303
    with app.app_context():
        complaint = Complaint.get_by_id(complaint.id)
        assert complaint.state == "reopened"
        last = complaint.events()[-1]
        assert (last.action, last.to_state, last.note, last.actor.username) == (
            "unsatisfied", "reopened", "第二天又漏水", "spec")
        row = Callback.get_by_id(callback.id)
        assert row.outcome == "unsatisfied" and row.done_at == local(2026, 11, 2, 15, 0)


def test_satisfied_moves_the_complaint_on_and_the_manager_closes_it(app, client, auth, people):
    with at(2026, 11, 2, 10, 0):
        complaint = _make(app, people["spec"], severity="major")
        _resolve(app, people, complaint)
        callback = _callback_of(app, complaint)
        auth.login("spec")
        assert _record(client, callback, "satisfied", note="希望以后送货更快").status_code == 303
        assert Complaint.get_by_id(complaint.id).state == "callback"
        _apply(app, complaint.id, "close", people["manager"], root_cause="进水管批次问题", improvement="更换供应商")
        assert Complaint.get_by_id(complaint.id).state == "closed"


def test_a_round_after_reopening_gets_its_own_callback(app, client, auth, people):
    with at(2026, 11, 2, 10, 0):
        complaint = _make(app, people["spec"])
        _resolve(app, people, complaint)
        auth.login("spec")
        _record(client, _callback_of(app, complaint), "unsatisfied", note="还是漏")
        _resolve(app, people, complaint)
        second = _callback_of(app, complaint)
        _record(client, second, "satisfied")
    with app.app_context():
        assert [c.outcome for c in Callback.select().order_by(Callback.id)] == ["unsatisfied", "satisfied"]
        assert Complaint.get_by_id(complaint.id).state == "callback"


def test_of_two_specialists_recording_at_once_the_second_is_told(app, people):
    first, second = app.test_client(), app.test_client()
    with at(2026, 11, 2, 10, 0):
        complaint = _make(app, people["spec"])
        _resolve(app, people, complaint)
        callback = _callback_of(app, complaint)
        first.post("/login", data={"username": "spec", "password": "correct-horse-battery"})
        second.post("/login", data={"username": "spec2", "password": "correct-horse-battery"})
        seen = {"version": str(callback.version)}
        one = first.post(f"/callbacks/{callback.id}", data=dict(seen, outcome="satisfied", submission_key="a"))
        two = second.post(f"/callbacks/{callback.id}",
                          data=dict(seen, outcome="unsatisfied", note="不满意", submission_key="b"))
    assert one.status_code == 303
    assert two.status_code == 422 and "recorded this callback meanwhile" in two.get_data(as_text=True)
    with app.app_context():
        assert Callback.get_by_id(callback.id).outcome == "satisfied"
        assert Complaint.get_by_id(complaint.id).state == "callback"
        assert CallbackAttempt.select().count() == 1


def test_a_double_tap_records_once(app, client, auth, people):
    with at(2026, 11, 2, 10, 0):
        complaint = _make(app, people["spec"])
        _resolve(app, people, complaint)
        callback = _callback_of(app, complaint)
        auth.login("spec")
        data = {"outcome": "unreachable", "version": str(callback.version), "submission_key": "same"}
        assert client.post(f"/callbacks/{callback.id}", data=data).status_code == 303
        assert client.post(f"/callbacks/{callback.id}", data=data).status_code == 303
    with app.app_context():
        assert Callback.get_by_id(callback.id).attempts == 1


def test_a_callback_recorded_on_the_complaint_page_is_not_left_open(app, people):
    with at(2026, 11, 2, 10, 0):
        complaint = _make(app, people["spec"])
        _resolve(app, people, complaint)
        _apply(app, complaint.id, "satisfied", people["spec"], note="满意")
        other = _make(app, people["spec"], phone="13700137000")
        _resolve(app, people, other)
        _apply(app, other.id, "void", people["manager"], note="重复录入")
    with app.app_context():
        done, voided = Callback.select().order_by(Callback.id)
        assert (done.outcome, done.note, done.done_by.username) == ("satisfied", "满意", "spec")
        assert voided.is_void and voided.void_reason == "重复录入"
        assert list(callbacks.queue(local(2026, 11, 2, 12, 0))) == []


# The queue

def test_the_queue_shows_today_vip_first_and_overdue_highlighted(app, client, auth, people):
    with at(2026, 11, 2, 10, 0):
        late = _make(app, people["spec"], name="老客户", phone="13100131000")
        _resolve(app, people, late)
    with at(2026, 11, 6, 9, 30):
        plain = _make(app, people["spec"], name="普通客户", phone="13200132000")
        _resolve(app, people, plain)
        vip = _make(app, people["spec"], name="贵宾客户", phone="13300133000", is_vip=True)
        _resolve(app, people, vip)
        auth.login("spec")
        page = client.get("/callbacks").get_data(as_text=True)
    queue = page[page.index('id="callback-queue"'):page.index('id="callback-done"')]
    assert queue.index("贵宾客户") < queue.index("老客户") < queue.index("普通客户")
    late_row = queue[queue.index("老客户") - 400:queue.index("老客户")]
    assert 'class="overdue"' in late_row and queue.count('class="overdue"') == 1


def test_tomorrows_callbacks_are_not_in_todays_queue(app, client, auth, people):
    with at(2026, 11, 2, 20, 55):
        complaint = _make(app, people["spec"])
        with app.app_context():
            Customer.update(callback_window="09:00-10:00").execute()
        _resolve(app, people, complaint)
        auth.login("spec")
        page = client.get("/callbacks").get_data(as_text=True)
    queue = page[page.index('id="callback-queue"'):page.index('id="callback-done"')]
    upcoming = page[page.index('id="callback-upcoming"'):]
    assert "李四" not in queue and "李四" in upcoming


def test_the_script_is_shown_beside_the_outcome_form(app, client, auth, people):
    with at(2026, 11, 2, 10, 0):
        complaint = _make(app, people["spec"])
        _resolve(app, people, complaint)
        callback = _callback_of(app, complaint)
    auth.login("spec")
    page = client.get(f"/callbacks/{callback.id}?lang=zh").get_data(as_text=True)
    for text in ('id="callback-script"', 'id="callback-outcome-form"', "李专员", "李四", "已修好",
                 "满意", "建议", "不满意", "再见"):
        assert text in page, text


def test_only_customer_service_works_callbacks(app, client, auth, people):
    auth.login("desk")
    assert client.get("/callbacks").status_code == 403
    assert client.get("/callbacks/stats").status_code == 403
    auth.logout()
    auth.login("head")
    assert client.get("/callbacks").status_code == 403


# Import of a sales/warranty list

HEADER = ["客户姓名", "电话", "产品", "销售日期", "保修截止", "约定回访时间"]


def _csv(rows, header=HEADER):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _xlsx(rows, header=HEADER):
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _import(client, name, data):
    return client.post("/callbacks/import", data={"file": (io.BytesIO(data), name), "submission_key": "imp"},
                       content_type="multipart/form-data")


GOOD_AND_BAD = [
    ["张三", "138 0013 8000", "滚筒洗衣机", "2026-11-01", "2028-12-31", ""],   # row 2: good
    ["李四", "13900139000", "冰箱", "2026/11/20", "", "19:00-20:30"],          # row 3: good, agreed time
    ["王五", "12345", "电视", "2026-11-02", "", ""],                          # row 4: bad phone
    ["赵六", "13700137000", "空调", "2026-13-01", "", ""],                    # row 5: bad date
    ["张三", "13800138000", "滚筒洗衣机", "2026-11-01", "", ""],               # row 6: duplicate of row 2
    ["钱七", "13600136000", "热水器", "2026-11-03", "2026-10-01", "晚上"],     # row 7: warranty and window bad
]


def _check_good_and_bad(app, page):
    assert "2 rows imported, 4 rows with errors" in page
    errors = page[page.index('id="import-errors"'):]
    for row, text in [(4, "Phone"), (5, "is not a date"), (6, "as row 2"), (7, "warranty ends before"),
                      (7, "Agreed callback time")]:
        assert f"Row {row}" in errors and text in errors, (row, text)
    with app.app_context():
        assert Sale.select().count() == 2
        sale = Sale.get(Sale.product == "滚筒洗衣机")
        after, warranty = sorted(sale.callbacks, key=lambda c: c.due_at)
        # 30 days after 2026-11-01 at the first allowed slot; one month before 2028-12-31.
        assert (after.reason, after.due_at) == ("after_sale", local(2026, 12, 1, 9, 0))
        assert after.deadline_at == local(2026, 12, 4, 0, 0)
        assert (warranty.reason, warranty.due_at) == ("warranty", local(2028, 11, 30, 9, 0))
        fridge = Sale.get(Sale.product == "冰箱")
        assert [c.due_at for c in fridge.callbacks] == [local(2026, 12, 20, 19, 0)]
        assert fridge.customer.callback_window == "19:00-20:30"


def test_a_csv_import_keeps_the_good_rows_and_lists_the_bad_ones(app, client, auth, people):
    with at(2026, 11, 23, 10, 0):
        auth.login("spec")
        response = _import(client, "sales.csv", _csv(GOOD_AND_BAD))
    assert response.status_code == 200
    _check_good_and_bad(app, response.get_data(as_text=True))


def test_an_xlsx_import_with_date_cells_does_the_same(app, client, auth, people):
    rows = [list(r) for r in GOOD_AND_BAD]
    rows[0][3], rows[0][4] = dt.datetime(2026, 11, 1), dt.date(2028, 12, 31)  # real date cells
    rows[1][1] = 13900139000  # a phone typed into a number cell
    with at(2026, 11, 23, 10, 0):
        auth.login("spec")
        response = _import(client, "sales.xlsx", _xlsx(rows))
    assert response.status_code == 200
    _check_good_and_bad(app, response.get_data(as_text=True))


def test_importing_the_same_list_again_adds_nothing(app, client, auth, people):
    with at(2026, 11, 23, 10, 0):
        auth.login("spec")
        _import(client, "sales.csv", _csv(GOOD_AND_BAD[:2]))
        page = _import(client, "sales.csv", _csv(GOOD_AND_BAD[:2])).get_data(as_text=True)
    assert "0 rows imported, 0 rows with errors, 2 imported before" in page
    with app.app_context():
        assert Sale.select().count() == 2 and Callback.select().count() == 3


@pytest.mark.parametrize("header, text", [
    (["客户姓名", "电话", "产品"], "missing columns: Sale date"),
    (["name", "phone", "product", "sale date", "金额"], "columns not known: 金额"),
    (["客户姓名", "电话", "产品", "销售日期", "姓名"], "columns given twice: 姓名"),
])
@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_file_with_wrong_columns_is_refused_whole(app, client, auth, people, header, text, kind):
    rows = [["张三", "13800138000", "滚筒洗衣机", "2026-11-01", "x"][:len(header)]]
    data = _csv(rows, header) if kind == "csv" else _xlsx(rows, header)
    with at(2026, 11, 23, 10, 0):
        auth.login("spec")
        response = _import(client, f"list.{kind}", data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and text in page and "Nothing was imported" in page
    with app.app_context():
        assert Sale.select().count() == 0 and Customer.select().count() == 0


def test_a_file_that_is_not_a_spreadsheet_is_refused(app, client, auth, people):
    auth.login("spec")
    response = _import(client, "photo.xlsx", b"PK\x03\x04 not really a zip")
    assert response.status_code == 422 and "could not be read" in response.get_data(as_text=True)


def test_a_gbk_csv_from_chinese_excel_is_read(app, client, auth, people):
    data = "客户姓名,电话,产品,销售日期\n张三,13800138000,电视,2026-11-10\n".encode("gbk")
    with at(2026, 11, 23, 10, 0):
        auth.login("spec")
        page = _import(client, "sales.csv", data).get_data(as_text=True)
    assert "1 rows imported" in page


def test_a_sale_whose_callback_date_has_passed_is_kept_without_that_callback(app, client, auth, people):
    with at(2026, 11, 23, 10, 0):
        auth.login("spec")
        page = _import(client, "old.csv", _csv([["张三", "13800138000", "电视", "2026-01-05", "2027-01-05", ""]]))
    assert "has passed; no callback" in page.get_data(as_text=True)
    with app.app_context():
        assert [c.reason for c in Callback.select()] == ["warranty"]


def test_the_import_template_downloads(client, auth, people):
    auth.login("spec")
    response = client.get("/callbacks/import/template.xlsx")
    assert response.status_code == 200 and "spreadsheetml" in response.headers["Content-Type"]
    assert "销售日期" in client.get("/callbacks/import/template.csv").get_data(as_text=True)


# Figures

def _callback_row(number, due, deadline_days=3, outcome="", done=None, voided=False):
    customer, _ = Customer.get_or_create(phone="13800138000", defaults={"name": "张三"})
    return Callback.create(number=number, customer=customer, reason="after_sale", due_at=due, next_at=due,
                           deadline_at=due + dt.timedelta(days=deadline_days), outcome=outcome, done_at=done,
                           voided_at=due if voided else None,
                           state="voided" if voided else "done" if outcome else "due")


def test_monthly_figures_by_hand(app, client, auth, people):
    with app.app_context():
        # November 2026 (Shanghai): six due, one voided, one in October, one in December.
        _callback_row("HF-1", local(2026, 11, 1, 0, 0), outcome="satisfied", done=local(2026, 11, 2, 9, 0))
        _callback_row("HF-2", local(2026, 11, 10, 9, 0), outcome="satisfied", done=local(2026, 11, 13, 9, 0))
        _callback_row("HF-3", local(2026, 11, 10, 9, 0), outcome="satisfied", done=local(2026, 11, 13, 9, 1))
        _callback_row("HF-4", local(2026, 11, 20, 9, 0), outcome="unsatisfied", done=local(2026, 11, 20, 10, 0))
        _callback_row("HF-5", local(2026, 11, 30, 23, 59))  # not done
        _callback_row("HF-6", local(2026, 11, 15, 9, 0), voided=True)
        _callback_row("HF-7", local(2026, 10, 31, 23, 59), outcome="satisfied", done=local(2026, 11, 1, 9, 0))
        _callback_row("HF-8", local(2026, 12, 1, 0, 0), outcome="satisfied", done=local(2026, 12, 1, 9, 0))
        start, end = Period.parse("month", "2026-11").utc_range()
        assert (start, end) == (local(2026, 11, 1, 0, 0), local(2026, 12, 1, 0, 0))
        figures = callbacks.callback_stats(start, end)
    # done 4; on time: HF-1, HF-2 (exactly at the deadline), HF-4 → 3; satisfied 3; 3/4 = 75.0 %.
    assert figures == {"due": 5, "done": 4, "on_time": 3, "satisfied": 3, "pass_rate": 75.0}
    auth.login("manager")
    page = client.get("/callbacks/stats?month=2026-11").get_data(as_text=True)
    total = page[page.index('id="stats-total"'):]
    assert "75.0 %" in total and "below the target of 98 %" in page
    bad = client.get("/callbacks/stats?month=2026-13")
    assert bad.status_code == 422 and "Enter a month like 2026-11." in bad.get_data(as_text=True)


def test_the_pass_rate_of_an_empty_month_is_none(app):
    with app.app_context():
        figures = callbacks.callback_stats(*Period.parse("month", "2026-02").utc_range())
    assert figures == {"due": 0, "done": 0, "on_time": 0, "satisfied": 0, "pass_rate": None}


def test_todays_figures_for_the_wall_board(app, people):
    with app.app_context():
        _callback_row("HF-1", local(2026, 11, 23, 9, 0), outcome="satisfied", done=local(2026, 11, 23, 9, 30))
        _callback_row("HF-2", local(2026, 11, 23, 15, 0))
        _callback_row("HF-3", local(2026, 11, 20, 15, 0))  # carried over, still open
        _callback_row("HF-4", local(2026, 11, 24, 9, 0))   # tomorrow
        _callback_row("HF-5", local(2026, 11, 22, 9, 0), outcome="satisfied", done=local(2026, 11, 22, 9, 30))
        assert callbacks.today_figures(local(2026, 11, 23, 8, 0)) == {"due": 3, "done": 1}


# The printed record

def test_the_callback_record_prints_in_chinese_with_an_embedded_font(app, client, auth, people):
    with at(2026, 11, 2, 10, 0):
        complaint = _make(app, people["spec"])
        _resolve(app, people, complaint)
        callback = _callback_of(app, complaint)
    with at(2026, 11, 2, 11, 0):
        auth.login("spec")
        _record(client, callback, "unreachable")
    with at(2026, 11, 2, 15, 0):
        auth.login("spec")
        _record(client, callback, "satisfied", note="师傅很专业，希望以后送货更快")
        response = client.get(f"/callbacks/{callback.id}.pdf")
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/pdf"
    text = pdf_text(response.data).replace(" ", "")
    for expected in ("回访记录表", "测试服务有限公司", callback.number, complaint.number, "李四", "13900139000",
                     "投诉回访", "满意", "无法接通", "希望以后送货更快", "李专员", "回访人签字", "第1页/共1页"):
        assert expected in text, expected
    assert_embedded_cjk_font(response.data)


def test_a_file_over_the_size_limit_is_refused(app, client, auth, people):
    with app.test_request_context():
        settings.save(None, {callbacks.IMPORT_MAX_MB: 1})
    auth.login("spec")
    response = _import(client, "huge.csv", _csv([]) + b"x" * (1024 * 1024 + 10))
    assert response.status_code == 422 and "larger than 1 MB" in response.get_data(as_text=True)
    with app.app_context():
        assert Sale.select().count() == 0


def test_a_database_from_before_the_state_column_gets_each_callbacks_state(app):
    from playhouse.migrate import PostgresqlMigrator, SqliteMigrator, migrate

    from models import create_tables
    from models.base import db, is_sqlite
    with app.app_context():
        _callback_row("HF-1", local(2026, 11, 2, 9, 0))
        _callback_row("HF-2", local(2026, 11, 2, 9, 0), outcome="unsatisfied", done=local(2026, 11, 2, 10, 0))
        _callback_row("HF-3", local(2026, 11, 2, 9, 0), voided=True)
        migrator = SqliteMigrator(db.obj) if is_sqlite() else PostgresqlMigrator(db.obj)
        migrate(migrator.drop_index("callback", "callback_state"), migrator.drop_column("callback", "state"))
        create_tables()  # what `make run` / init-db does with an older database
        assert [(c.number, c.state) for c in Callback.select().order_by(Callback.number)] == [
            ("HF-1", "due"), ("HF-2", "done"), ("HF-3", "voided")]
        assert [c.number for c in callbacks.queue(local(2026, 11, 2, 12, 0))] == ["HF-1"]
