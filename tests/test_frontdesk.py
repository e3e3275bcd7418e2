"""The front desk: visitors, hosts' answers, reminders, watchlist, calls and promises,
and that no private number ever reaches the desk."""
import datetime as dt
import re

import pytest
import time_machine

from models.audit import AuditEntry
from models.calls import Call, sweep_promises
from models.notifications import Notification
from models.visitors import Appointment, Visit, WatchlistEntry, book, open_at_end_of_day, sweep_reminders
from tasks.frontdesk import frontdesk_sweep

from .conftest import PASSWORD
from .pdf import assert_embedded_cjk_font, pdf_page_sizes, pdf_pages_text, pdf_text

NOW = dt.datetime(2026, 11, 23, 2, 0)  # 10:00 in Shanghai


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def people(make_user, auth):
    desk = make_user("desk", "front_desk", display_name="王芳")
    host = make_user("zhang", "specialist", display_name="张伟", department="客户服务部", extension="8101",
                     mobile="13912345678")
    manager = make_user("manager", "service_manager", display_name="杨磊", mobile="13800001111")
    auth.login("desk")
    return desk, host, manager


def visit_form(host_user, **overrides):
    data = {"phone": "138 0013 8000", "visitor_name": "李明", "organisation": "华信科技", "purpose": "meeting",
            "purpose_other": "", "host": str(host_user.id), "companions": "1", "id_number": "", "car_plate": "沪A12345",
            "note": "", "arrived_at": "2026-11-23T10:00", "watchlist_reason": "", "submission_key": "v1"}
    data.update(overrides)
    return data


def test_registering_a_visitor_tells_the_host(client, people):
    desk, host, _manager = people
    response = client.post("/visitors/new", data=visit_form(host))
    visit = Visit.get()
    assert response.headers["Location"] == f"/visitors/{visit.id}"
    assert (visit.number, visit.phone, visit.state, visit.car_plate) == ("VP-2026-000001", "13800138000", "waiting",
                                                                         "沪A12345")
    note = Notification.get(Notification.user == host)
    with client.application.app_context():
        assert note.url == f"/visitors/{visit.id}/answer" and "李明" in note.params
    assert AuditEntry.select().where(AuditEntry.record_type == "visit", AuditEntry.action == "create").count() == 1


def test_a_double_tap_registers_one_visit(client, people):
    _desk, host, _manager = people
    first = client.post("/visitors/new", data=visit_form(host), htmx=True)
    second = client.post("/visitors/new", data=visit_form(host), htmx=True)
    assert first.headers["HX-Redirect"] == second.headers["HX-Redirect"]
    assert Visit.select().count() == 1


@pytest.mark.parametrize("field, value, message", [
    ("phone", "12345", "请填写11位手机号"),
    ("visitor_name", "   ", "该字段是必填字段"),
    ("visitor_name", "名" * 81, "字段长度不能超过 80 个字符"),
    ("arrived_at", "2026-11-23T11:00", "到达时间不能晚于现在"),
    ("purpose", "other", "请填写来访事由"),
    ("host", "", "请选择被访人"),
])
def test_bad_input_is_refused_beside_its_field_and_kept(client, people, field, value, message):
    _desk, host, _manager = people
    response = client.post("/visitors/new?lang=zh", data=visit_form(host, **{field: value}, organisation="华信科技有限公司"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert "华信科技有限公司" in page
    assert Visit.select().count() == 0


def test_a_deactivated_host_cannot_be_chosen(client, people):
    from models.users import update_user
    _desk, host, _manager = people
    update_user(None, host, ["specialist"], is_active=False)
    response = client.post("/visitors/new?lang=zh", data=visit_form(host))
    assert response.status_code == 422 and "该被访人账号已停用" in response.get_data(as_text=True)
    hosts = client.get("/visitors/hosts?host_q=张").get_data(as_text=True)
    assert "张伟" not in hosts


def test_returning_visitor_is_offered_and_fills_the_form(client, people):
    _desk, host, _manager = people
    client.post("/visitors/new", data=visit_form(host))
    suggestions = client.get("/visitors/suggest?phone=1380013", headers={"HX-Request": "true"}).get_data(as_text=True)
    earlier = Visit.get()
    assert f"/visitors/new?from={earlier.id}" in suggestions and "李明" in suggestions
    form = client.get(f"/visitors/new?from={earlier.id}").get_data(as_text=True)
    assert 'value="李明"' in form and 'value="13800138000"' in form and 'value="华信科技"' in form
    assert re.search(rf'id="host-{host.id}" name="host" value="{host.id}" checked', form)


def test_the_desk_sees_minutes_waited_and_the_reminder_to_offer_a_drink(client, people, frozen):
    _desk, host, _manager = people
    client.post("/visitors/new", data=visit_form(host))
    page = client.get("/visitors?lang=zh", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "0 分钟" in page and "long-wait" not in page
    frozen.move_to(NOW + dt.timedelta(minutes=6))
    client.post("/login", data={"username": "desk", "password": PASSWORD})
    page = client.get("/visitors?lang=zh", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "6 分钟" in page and "long-wait" in page and "请为访客送水" in page


def test_the_host_answers_and_the_desk_is_told(client, auth, people, frozen):
    desk, host, _manager = people
    client.post("/visitors/new", data=visit_form(host))
    visit = Visit.get()
    assert client.post(f"/visitors/{visit.id}/answer", data={"reply": "coming"}).status_code == 403
    auth.logout()
    auth.login("zhang")
    page = client.get(f"/visitors/{visit.id}/answer?lang=zh").get_data(as_text=True)
    assert "李明 在前台等您" in page
    frozen.move_to(NOW + dt.timedelta(minutes=3))
    client.post(f"/visitors/{visit.id}/answer", data={"reply": "coming"})
    visit = Visit.get()
    assert visit.host_answer == "coming" and visit.host_answered_at == NOW + dt.timedelta(minutes=3)
    desk_note = Notification.get(Notification.user == desk)
    assert "is coming to the front desk" in desk_note.message
    # Answered: the host's bell no longer counts this visitor.
    assert Notification.select().where(Notification.user == host, Notification.read_at.is_null()).count() == 0


def test_coming_keeps_the_visitor_waiting_until_the_desk_has_them_with_the_host(client, auth, people, frozen):
    from models.board import figures
    _desk, host, _manager = people
    client.post("/visitors/new", data=visit_form(host))
    visit = Visit.get()
    auth.logout()
    auth.login("zhang")
    frozen.move_to(NOW + dt.timedelta(minutes=3))  # 10:03 in Shanghai
    client.post(f"/visitors/{visit.id}/answer", data={"reply": "coming"})
    assert Visit.get().state == "waiting" and Visit.get().with_host_at is None
    waiting = figures()["visitors_waiting"]
    assert waiting == [{"host": "张伟", "minutes": 3, "answer": "coming", "answered_at": "10:03"}]

    auth.logout()
    auth.login("desk")
    desk = client.get("/visitors?lang=zh", headers={"HX-Request": "true"}).get_data(as_text=True)
    waiting_card = desk.split("今日预约")[0].split("<h2>在场")[0]
    assert "被访人马上来（10:03）" in waiting_card and "李明" in waiting_card
    assert f"/visitors/{visit.id}/with-host" in waiting_card

    frozen.move_to(NOW + dt.timedelta(minutes=5))
    board = client.post(f"/visitors/{visit.id}/with-host?lang=zh", htmx=True, headers={"HX-Target": "desk-board"})
    visit = Visit.get()
    assert visit.state == "on_site" and visit.with_host_at == NOW + dt.timedelta(minutes=5)
    on_site_card = board.get_data(as_text=True).split("<h2>在场")[1].split("今日预约")[0]
    assert "李明" in on_site_card and "10:05" in on_site_card
    change = (AuditEntry.select().where(AuditEntry.record_type == "visit", AuditEntry.action == "update")
              .order_by(AuditEntry.id.desc()).get())
    assert '"on_site"' in change.changes and "with_host_at" in change.changes
    assert figures()["visitors_waiting"] == []


def test_send_up_is_shown_and_the_desk_taps_sent_up(client, auth, people, frozen):
    _desk, host, _manager = people
    client.post("/visitors/new", data=visit_form(host))
    visit = Visit.get()
    auth.logout()
    auth.login("zhang")
    frozen.move_to(NOW + dt.timedelta(minutes=1))
    client.post(f"/visitors/{visit.id}/answer", data={"reply": "send_up"})
    auth.logout()
    auth.login("desk")
    page = client.get(f"/visitors/{visit.id}?lang=zh").get_data(as_text=True)
    assert "被访人请访客上楼（10:01）" in page and "已请上楼" in page
    assert Visit.get().state == "waiting"
    client.post(f"/visitors/{visit.id}/with-host")
    assert Visit.get().state == "on_site"
    # Once the visitor is with the host, a late answer is refused and changes nothing.
    from models.visitors import VisitError, apply
    with pytest.raises(VisitError):
        apply(host, Visit.get().id, "answer", reply="wait")
    assert Visit.get().host_answer == "send_up"


def test_wait_answer_keeps_the_visitor_waiting(app, people):
    _desk, host, _manager = people
    from models.visitors import apply, register_visit
    visit = register_visit(None, visitor_name="李明", phone="13800138000", organisation="", purpose="meeting",
                           purpose_other="", host=host, companions=0, id_number="", car_plate="", note="",
                           arrived_at=NOW)
    apply(host, visit.id, "answer", reply="wait")
    assert Visit.get().state == "waiting" and Visit.get().host_answer == "wait"


def test_check_out_in_one_tap_and_not_twice(client, people):
    _desk, host, _manager = people
    client.post("/visitors/new", data=visit_form(host))
    visit = Visit.get()
    board = client.post(f"/visitors/{visit.id}/check-out", htmx=True, headers={"HX-Target": "desk-board"})
    assert 'id="desk-board"' in board.get_data(as_text=True)
    assert Visit.get().state == "left" and Visit.get().left_at == NOW
    client.post(f"/visitors/{visit.id}/check-out")
    assert AuditEntry.select().where(AuditEntry.record_type == "visit", AuditEntry.action == "update").count() == 1


def test_a_host_who_does_not_answer_is_reminded_once_and_the_desk_told(client, people, frozen):
    desk, host, _manager = people
    client.post("/visitors/new", data=visit_form(host))
    frozen.move_to(NOW + dt.timedelta(minutes=2))
    assert sweep_reminders() == 0
    frozen.move_to(NOW + dt.timedelta(minutes=3, seconds=1))
    assert frontdesk_sweep.call_local() == 1
    assert frontdesk_sweep.call_local() == 0
    assert Notification.select().where(Notification.user == host, Notification.message.contains("Reminder")).count() == 1
    assert Notification.select().where(Notification.user == desk, Notification.message.contains("not answered")).count() == 1


def test_an_appointment_checks_in_filled_and_an_overstay_is_flagged_once(client, people, frozen):
    desk, host, _manager = people
    appointment = book(desk, visitor_name="陈静", phone="13700001111", organisation="远航物流", purpose="business",
                       host=host, starts_at=NOW + dt.timedelta(minutes=30), ends_at=NOW + dt.timedelta(hours=1),
                       note="")
    page = client.get("/visitors?lang=zh").get_data(as_text=True)
    assert "陈静" in page and "今日预约" in page
    client.post(f"/appointments/{appointment.id}/check-in")
    visit = Visit.get()
    assert (visit.visitor_name, visit.organisation, visit.host_id) == ("陈静", "远航物流", host.id)
    assert Appointment.get().visit_id == visit.id
    frozen.move_to(NOW + dt.timedelta(hours=1, minutes=1))
    sweep_reminders()
    sweep_reminders()
    flags = Notification.select().where(Notification.user == host, Notification.message.contains("booked visit"))
    assert flags.count() == 1


def test_booking_an_appointment_in_the_past_is_refused(client, people):
    _desk, host, _manager = people
    response = client.post("/appointments?lang=zh", data={"visitor_name": "陈静", "phone": "13700001111",
                                                           "purpose": "business", "host": str(host.id),
                                                           "starts_at": "2026-11-22T10:00"})
    assert response.status_code == 422 and "不能预约过去的时间" in response.get_data(as_text=True)


def test_watchlist_needs_a_reason_is_audited_and_tells_the_manager(client, people):
    _desk, host, manager = people
    WatchlistEntry.create(phone="13800138000", reason="曾在大堂滋事")
    refused = client.post("/visitors/new?lang=zh", data=visit_form(host))
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "曾在大堂滋事" in page and "如仍要登记，请填写原因" in page
    assert Visit.select().count() == 0
    client.post("/visitors/new", data=visit_form(host, watchlist_reason="经理同意，已安排保安陪同"))
    visit = Visit.get()
    assert visit.watchlist_reason == "经理同意，已安排保安陪同"
    entry = AuditEntry.get(AuditEntry.action == "watchlist_override")
    assert entry.reason == "经理同意，已安排保安陪同"
    assert Notification.select().where(Notification.user == manager, Notification.message.contains("Watchlist")).exists()


def test_visits_open_at_the_end_of_the_day_are_listed_not_closed(client, people, frozen):
    _desk, host, _manager = people
    client.post("/visitors/new", data=visit_form(host))
    frozen.move_to(NOW + dt.timedelta(days=1))
    client.post("/login", data={"username": "desk", "password": PASSWORD})
    assert [v.visitor_name for v in open_at_end_of_day(dt.date(2026, 11, 23))] == ["李明"]
    page = client.get("/visitors?lang=zh").get_data(as_text=True)
    assert "以前日期尚未签退" in page and "李明" in page
    assert Visit.get().state == "waiting"


def test_printed_pass_and_on_site_list(client, people):
    _desk, host, _manager = people
    client.post("/visitors/new", data=visit_form(host))
    visit = Visit.get()
    pdf = client.get(f"/visitors/{visit.id}/pass.pdf")
    assert pdf.mimetype == "application/pdf"
    text = pdf_text(pdf.data)
    assert "访客证" in text and "李明" in text and "华信科技" in text and "张伟" in text and "VP-2026-000001" in text
    assert_embedded_cjk_font(pdf.data)
    assert "打印访客证" in client.get(f"/visitors/{visit.id}?lang=zh").get_data(as_text=True)
    listing = pdf_text(client.get("/visitors/on-site.pdf").data)
    assert "在场人员名单" in listing and "李明" in listing


def test_the_pass_prints_at_pass_size_and_several_share_an_a4_sheet(client, people):
    from models import settings
    from models.visitors import PASS_SIZE, register_visit
    _desk, host, _manager = people
    visits = [register_visit(None, visitor_name=name, phone="13800138000", organisation="华信科技", purpose="meeting",
                             purpose_other="", host=host, companions=0, id_number="", car_plate="", note="",
                             arrived_at=NOW) for name in ("李明", "赵敏", "孙强", "周杰", "吴芳")]
    single = client.get(f"/visitors/{visits[0].id}/pass.pdf")
    assert pdf_page_sizes(single.data) == [(105, 148)]  # A6, the default
    text = pdf_text(single.data)
    assert "访客证" in text and "李明" in text and "张伟" in text and text.count("VP-2026-000001") == 1
    assert_embedded_cjk_font(single.data)

    sheet = client.get("/visitors/passes.pdf?" + "&".join(f"visit={v.id}" for v in visits))
    assert pdf_page_sizes(sheet.data) == [(210, 297), (210, 297)]  # four A6 passes to an A4 sheet
    pages = pdf_pages_text(sheet.data)
    assert [n for n in ("李明", "赵敏", "孙强", "周杰") if n in pages[0]] == ["李明", "赵敏", "孙强", "周杰"]
    assert "吴芳" in pages[1]
    # Without a choice: everyone who came in today and has not left.
    assert all(v.visitor_name in pdf_text(client.get("/visitors/passes.pdf").data) for v in visits)

    with pytest.raises(ValueError, match="badge"):
        settings.SPECS[PASS_SIZE].parse("A5")
    settings.save(None, {PASS_SIZE: settings.SPECS[PASS_SIZE].parse(" Badge ")})
    assert pdf_page_sizes(client.get(f"/visitors/{visits[0].id}/pass.pdf").data) == [(86, 54)]
    badges = client.get("/visitors/passes.pdf?" + "&".join(f"visit={v.id}" for v in visits))
    assert pdf_page_sizes(badges.data) == [(210, 297)]  # ten badges to a sheet
    assert all(v.visitor_name in pdf_text(badges.data) for v in visits)


def test_the_desk_prints_todays_passes(client, people):
    _desk, host, _manager = people
    client.post("/visitors/new", data=visit_form(host))
    page = client.get("/visitors?lang=zh").get_data(as_text=True)
    assert 'href="/visitors/passes.pdf"' in page and "打印今日访客证" in page


def call_form(**overrides):
    data = {"caller_name": "周先生", "organisation": "1205室租户", "phone": "021-62345678", "reason": "空调不制冷，要求维修",
            "call_type": "inquiry", "outcome": "promised", "answer_text": "", "transferred_to": "",
            "message_for": "", "message_text": "", "promiser": "", "reply_due": "2026-11-23T15:00",
            "submission_key": "c1"}
    data.update(overrides)
    return data


def test_a_promised_reply_is_due_reminded_then_reported_once_missed(client, auth, people, frozen):
    _desk, host, manager = people
    assert client.post("/calls/new", data=call_form(promiser=str(host.id))).status_code == 303
    call = Call.get()
    assert call.phone == "02162345678" and call.reply_due == dt.datetime(2026, 11, 23, 7, 0)
    auth.logout()
    auth.login("zhang")
    assert "周先生" in client.get("/calls/due").get_data(as_text=True)
    frozen.move_to(dt.datetime(2026, 11, 23, 6, 31))
    assert sweep_promises() == 1 and sweep_promises() == 0
    assert Notification.select().where(Notification.user == host, Notification.message.contains("Reply due")).count() == 1
    frozen.move_to(dt.datetime(2026, 11, 23, 7, 1))
    assert sweep_promises() == 1 and sweep_promises() == 0
    assert Notification.select().where(Notification.user == manager, Notification.message.contains("Missed")).count() == 1
    client.post("/login", data={"username": "zhang", "password": PASSWORD})
    client.post(f"/calls/{call.id}/close", data={"reply_note": " "})
    assert Call.get().replied_at is None
    client.post(f"/calls/{call.id}/close", data={"reply_note": "已安排工程部明早九点上门"})
    assert Call.get().reply_note == "已安排工程部明早九点上门"


def test_call_rules_beside_their_fields(client, people):
    _desk, host, _manager = people
    response = client.post("/calls/new?lang=zh", data=call_form(reply_due="2026-11-23T09:00"))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="promiser-error">请选择人员。' in page and "承诺答复期限必须晚于现在" in page
    assert "空调不制冷，要求维修" in page
    transfer = client.post("/calls/new?lang=zh", data=call_form(outcome="transferred", transferred_to=str(host.id)))
    assert "转接前请先确认对方可以接听" in transfer.get_data(as_text=True)
    assert Call.select().count() == 0


def test_a_message_lands_in_the_staff_members_inbox_and_prints(client, people):
    _desk, host, _manager = people
    client.post("/calls/new", data=call_form(outcome="message", message_for=str(host.id),
                                             message_text="请回电确认维修时间"))
    note = Notification.get(Notification.user == host)
    assert "请回电确认维修时间" in note.params
    call = Call.get()
    text = pdf_text(client.get(f"/calls/{call.id}/slip.pdf").data)
    assert "电话留言单" in text and "周先生" in text and "请回电确认维修时间" in text


def test_the_slip_is_numbered_and_dated_in_the_local_zone_and_shows_its_number_once(client, people, frozen):
    frozen.move_to(dt.datetime(2026, 12, 1, 23, 25))  # 07:25 on 2 December in Shanghai
    client.post("/login", data={"username": "desk", "password": PASSWORD})
    client.post("/calls/new", data=call_form(outcome="answered", answer_text="已告知营业时间"))
    call = Call.get()
    pages = pdf_pages_text(client.get(f"/calls/{call.id}/slip.pdf").data)
    assert f"DH-20261202-{call.id:04d}" in pages[0] and "2026-12-02 07:25" in pages[0]
    assert pages[0].count("编号") == 1


def test_a_form_of_several_pages_shows_its_number_once_on_each(client, people):
    from models.visitors import register_visit
    _desk, host, _manager = people
    for n in range(60):
        register_visit(None, visitor_name=f"访客{n}", phone="13800138000", organisation="华信科技", purpose="meeting",
                       purpose_other="", host=host, companions=0, id_number="", car_plate="", note="",
                       arrived_at=NOW)
    pages = pdf_pages_text(client.get("/visitors/on-site.pdf").data)
    assert len(pages) >= 2
    assert all(page.count("编号") == 1 and "ZC-20261123-1000" in page for page in pages)
    assert all(page.count("测试服务有限公司") == 1 for page in pages)


def test_a_complaint_call_goes_into_the_duty_log_ready_for_hand_over(client, people):
    from models.duty import DutyEntry
    client.post("/calls/new", data=call_form(call_type="complaint", outcome="answered", answer_text="已致歉并记录"))
    call = Call.get()
    assert call.complaint_prefill()["channel"] == "phone" and call.complaint_prefill()["call_id"] == call.id
    assert DutyEntry.get().kind == "complaint_call"


def test_no_private_number_reaches_a_front_desk_page_or_fragment(app, client, people):
    """Every GET the desk can reach, as page and as htmx fragment, with a visit and a call in place."""
    desk, host, manager = people
    client.post("/visitors/new", data=visit_form(host))
    client.post("/calls/new", data=call_form(promiser=str(host.id)))
    private = [host.mobile, manager.mobile]
    from views.access import declared_permission
    from models.roles import has_permission
    visit, call = Visit.get(), Call.get()
    args = {"visit_id": visit.id, "call_id": call.id, "appointment_id": 1, "day_id": 1, "handover_id": 1,
            "report_id": 1, "photo_id": 1, "item_id": 1, "notification_id": 1, "user_id": desk.id,
            "department_id": 1}
    checked = 0
    for rule in app.url_map.iter_rules():
        permission = declared_permission(app, rule.endpoint)
        if "GET" not in rule.methods or rule.endpoint == "static" or rule.rule.endswith(".pdf"):
            continue
        if permission != "public" and not has_permission(desk.roles, permission):
            continue
        with app.test_request_context():
            from flask import url_for
            url = url_for(rule.endpoint, **{name: args.get(name, 1) for name in rule.arguments})
        for headers in ({}, {"HX-Request": "true"}):
            body = client.get(url + ("&" if "?" in url else "?") + "q=张&host_q=张&phone=138", headers=headers)
            text = body.get_data(as_text=True)
            for number in private:
                assert number not in text, f"{number} leaked on {url}"
            checked += 1
    assert checked > 20


def test_visitor_log_filters_and_exports_that_open(client, people):
    import csv
    import io

    from openpyxl import load_workbook
    _desk, host, _manager = people
    client.post("/visitors/new", data=visit_form(host))
    client.post("/visitors/new", data=visit_form(host, visitor_name="王强", phone="13900000000", organisation="远航物流",
                                                 purpose="delivery", submission_key="v2"))
    page = client.get("/visitors/log?organisation=远航", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "王强" in page and "李明" not in page
    page = client.get("/visitors/log?purpose=meeting", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "李明" in page and "王强" not in page
    assert "Enter a date like" in client.get("/visitors/log?from=yesterday").get_data(as_text=True)
    xlsx = client.get("/visitors/log?format=xlsx&lang=zh")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    rows = list(sheet.values)
    assert rows[0][:4] == ("编号", "到达时间", "离开时间", "访客姓名")
    assert {row[3] for row in rows[1:]} == {"李明", "王强"}
    text = client.get("/visitors/log?format=csv&organisation=华信").data.decode("utf-8-sig")
    assert [row[3] for row in csv.reader(io.StringIO(text))][1:] == ["李明"]


def test_the_manager_keeps_the_watchlist(client, auth, people):
    _desk, host, _manager = people
    assert client.get("/visitors/watchlist").status_code == 403
    auth.logout()
    auth.login("manager")
    empty = client.post("/visitors/watchlist?lang=zh", data={"name": "", "phone": "", "id_number": "", "reason": "x"})
    assert empty.status_code == 422 and "请至少填写姓名、电话或证件号之一" in empty.get_data(as_text=True)
    client.post("/visitors/watchlist", data={"name": "赵六", "phone": "", "id_number": "", "reason": "多次无理纠缠前台",
                                             "submission_key": "w1"})
    entry = WatchlistEntry.get()
    assert entry.name == "赵六" and entry.created_by.username == "manager"
    client.post(f"/visitors/watchlist/{entry.id}/retire")
    assert not WatchlistEntry.get().active
    auth.logout()
    auth.login("desk")
    assert client.post("/visitors/new", data=visit_form(host, visitor_name="赵六")).status_code == 303


def test_visits_open_when_the_desk_closes_go_to_the_log_and_the_managers_once(client, people, frozen):
    from models.duty import DutyEntry
    _desk, host, manager = people
    client.post("/visitors/new", data=visit_form(host))
    assert frontdesk_sweep.call_local() == 0
    frozen.move_to(dt.datetime(2026, 11, 23, 10, 0))  # 18:00 in Shanghai
    frontdesk_sweep.call_local()
    frontdesk_sweep.call_local()
    entry = DutyEntry.get(DutyEntry.source == "visitors")
    assert "李明" in entry.what and "张伟" in entry.what
    assert Notification.select().where(Notification.user == manager, Notification.message.contains("desk closed")).count() == 1
    assert Visit.get().state == "waiting"


@pytest.mark.parametrize("url", ["/visitors/log?host=99999999999999999999", "/visitors/log?to=9999-12-31",
                                 "/visitors/new?from=99999999999999999999", "/visitors/hosts?host=99999999999999999999",
                                 "/duty?corrects=99999999999999999999"])
def test_odd_query_strings_are_not_a_500(client, people, url):
    assert client.get(url).status_code == 200


def test_only_the_desk_and_the_people_named_read_a_call(client, auth, people, make_user):
    _desk, host, _manager = people
    client.post("/calls/new", data=call_form(promiser=str(host.id)))
    call = Call.get()
    make_user("logistics", "logistics")
    auth.logout()
    auth.login("logistics")
    assert client.get(f"/calls/{call.id}").status_code == 403
    assert client.get(f"/calls/{call.id}/slip.pdf").status_code == 403
    auth.logout()
    auth.login("zhang")
    assert client.get(f"/calls/{call.id}/slip.pdf").status_code == 200


def test_exported_text_never_becomes_a_formula(client, people):
    import io

    from openpyxl import load_workbook
    _desk, host, _manager = people
    client.post("/visitors/new", data=visit_form(host, organisation='=HYPERLINK("http://x","y")'))
    sheet = load_workbook(io.BytesIO(client.get("/visitors/log?format=xlsx").data)).active
    cell = sheet.cell(row=2, column=6)
    assert cell.data_type == "s" and cell.value.startswith("'=")


def test_a_complaint_call_becomes_a_complaint_in_one_action(client, people):
    from models.complaints import Complaint
    client.post("/calls/new", data=call_form(call_type="complaint", outcome="answered", answer_text="已致歉并记录"))
    call = Call.get()
    page = client.get(f"/calls/{call.id}?lang=zh").get_data(as_text=True)
    link = re.search(r'href="(/complaints/new\?[^"]+)">转为投诉', page).group(1).replace("&amp;", "&")
    form = client.get(link).get_data(as_text=True)
    assert 'value="周先生"' in form and "空调不制冷，要求维修" in form and f'value="{call.id}"' in form
    data = {"name": "周先生", "phone": "021-62345678", "organisation": "1205室租户", "channel": "phone",
            "content": "空调不制冷，要求维修", "category": "facilities", "severity": "general", "call_id": str(call.id),
            "submission_key": "tc1"}
    response = client.post("/complaints/new", data=data)
    assert response.headers["Location"] == f"/calls/{call.id}"  # the desk goes back to its call
    complaint = Complaint.get()
    assert complaint.call_id == call.id and complaint.number.startswith("TS-2026-")


def test_the_visitor_log_shows_fifty_rows_then_more_on_request(client, people):
    from models.visitors import Visit
    _desk, host, _manager = people
    arrived = dt.datetime(2026, 11, 20, 1, 0)
    Visit.insert_many([{"number": f"VP-T{i:03d}", "visitor_name": f"访客{i:02d}", "phone": "13800138000",
                        "purpose": "meeting", "host": host.id, "arrived_at": arrived + dt.timedelta(minutes=i),
                        "state": "left"} for i in range(55)]).execute()
    page = client.get("/visitors/log", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert page.count("访客") == 50 and "访客54" in page and "访客04" not in page
    more = re.search(r'hx-get="([^"]*page=2[^"]*)"', page).group(1).replace("&amp;", "&")
    rest = client.get(more, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert rest.count("访客") == 5 and "访客00" in rest and "page=3" not in rest


def test_the_models_refusals_stand_beside_their_fields_and_keep_what_was_typed(client, people):
    _desk, host, _manager = people
    host.is_active = False
    host.save()
    refused = client.post("/visitors/new?lang=zh", data=visit_form(host, note="带了样品"))
    page = refused.get_data(as_text=True)
    beside_host = re.search(r'<p class="error" id="host-error">([^<]*)</p>', page).group(1)
    assert refused.status_code == 422 and "停用" in beside_host and "带了样品" in page
    booked = client.post("/appointments", data={
        "visitor_name": "陈静", "phone": "13700001111", "organisation": "", "purpose": "meeting",
        "host": str(_desk.id), "starts_at": "2026-11-23T12:00", "ends_at": "2026-11-23T11:00", "note": "",
        "submission_key": "a1"})
    page = booked.get_data(as_text=True)
    assert booked.status_code == 422 and 'id="ends_at-error"' in page and Appointment.select().count() == 0
    assert Visit.select().count() == 0
