"""Personal data under the PIPL: the retention sweep, the admin's subject search (find, export,
anonymise), photos without metadata, and phone numbers read by phonenumbers."""
import base64
import csv
import datetime as dt
import io
import json
import re
import os

import pytest
import time_machine
from PIL import Image

from models import fulltext, reports
from models.audit import AuditEntry
from models.calls import Call, close_promise, log_call
from models.complaints import Complaint, Customer
from models.desk_items import LostItem, MailItem, claim_lost, collect_mail, register_lost, register_mail
from models.duty import DutyEntry
from models.notifications import N_, DepartmentDelivery, Notification, notify_department
from models.phones import normalise_phone
from models.privacy import ANONYMISED, SUBJECT_ROWS, sweep_retention
from models.reports import Period
from models.uploads import check_image, print_data_uri, stored_path
from models.users import Department
from models.visitors import Appointment, Visit, WatchlistEntry, add_to_watchlist, apply, book, register_visit
from tasks.privacy import retention_sweep

from .helpers import apply_action, make_complaint
from .pdf import pdf_text

NOW = dt.datetime(2026, 11, 2, 2, 0)  # 10:00 in Shanghai
PHONE = "13800138000"


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def cast(make_user):
    return {"desk": make_user("desk", "front_desk", display_name="王芳"),
            "host": make_user("zhang", "specialist", display_name="张伟"),
            "manager": make_user("manager", "service_manager", display_name="杨磊")}


def visit(cast, name="李明", phone=PHONE, check_out=True, **fields):
    record = register_visit(cast["desk"], visitor_name=name, phone=phone, organisation="华信科技", purpose="meeting",
                            purpose_other="", host=cast["host"], companions=1,
                            id_number=fields.get("id_number", "310101199001011234"),
                            car_plate=fields.get("car_plate", "沪A12345"), note="", arrived_at=dt.datetime.utcnow(),
                            watchlist_reason=fields.get("watchlist_reason", ""))
    if check_out:
        record = apply(cast["desk"], record.id, "check_out")
    return record


def call(cast, phone=PHONE, promised=False, name="周先生"):
    return log_call(cast["desk"], caller_name=name, organisation="1205室租户", phone=phone, reason="空调不制冷",
                    call_type="inquiry", outcome="promised" if promised else "answered", promiser=cast["host"],
                    reply_due=dt.datetime.utcnow() + dt.timedelta(hours=4) if promised else None)


def month_counts():
    built = reports.build(Period.parse("month", "2026-11"))["sections"]
    return built["visitors"]["total"], built["visitors"]["people"], built["calls"]["total"], built["calls"]["promises"]


def holds(value, *record_types):
    """Does any audit entry of these record types still carry the value?"""
    return AuditEntry.select().where(AuditEntry.record_type.in_(record_types),
                                     AuditEntry.changes.contains(value)).exists()


def find(client, q, lang="en"):
    """The admin's search, posted as the page posts it."""
    return client.post(f"/admin/personal-data?lang={lang}", data={"q": q}, htmx=True).get_data(as_text=True)


def boxes(page):
    """{"kind:id": ticked?} of the records the page offers to anonymise."""
    return {value: "checked" in rest for value, rest in
            re.findall(r'name="records" value="([^"]+)"([^>]*)>', page)}


def anonymise(client, q, records, reason="本人2026-11-02来电要求删除"):
    return client.post("/admin/personal-data/anonymise?lang=en", data={"q": q, "records": records, "reason": reason},
                       htmx=True)


def test_the_sweep_anonymises_after_the_retention_days_keeps_counts_and_spares_open_records(app, cast, frozen):
    closed = visit(cast)
    waiting = visit(cast, name="陈静", phone="13700001111", check_out=False, id_number="", car_plate="")
    answered = call(cast)
    promise = call(cast, phone="13900139000", promised=True)
    add_to_watchlist(cast["manager"], "赵六", PHONE, "", "曾在大堂滋事")
    item = register_lost(cast["desk"], "黑色雨伞", "保洁李阿姨", dt.datetime.utcnow(), "大堂", "前台柜子")
    claim_lost(cast["desk"], item, "孙先生", True)
    counts = month_counts()

    frozen.move_to(NOW + dt.timedelta(days=29))
    assert retention_sweep.call_local() == 0
    assert Visit.get_by_id(closed.id).phone == PHONE

    frozen.move_to(NOW + dt.timedelta(days=31))
    assert retention_sweep.call_local() == 2  # the closed visit and the answered call
    swept = Visit.get_by_id(closed.id)
    assert (swept.phone, swept.id_number, swept.car_plate) == (ANONYMISED, ANONYMISED, ANONYMISED)
    assert swept.visitor_name == "李明" and swept.number == closed.number and swept.anonymised_at is not None
    assert Call.get_by_id(answered.id).phone == ANONYMISED
    # Open records and the watchlist keep everything while open.
    assert Visit.get_by_id(waiting.id).phone == "13700001111"
    assert Call.get_by_id(promise.id).phone == "13900139000"
    assert WatchlistEntry.get().phone == PHONE
    assert LostItem.get_by_id(item.id).claimant_name == "孙先生"  # claimants are kept 90 days
    # The audit trail no longer holds what went; it says what went and why, without the value.
    assert not holds("310101199001011234", "visit") and not holds("沪A12345", "visit")
    entry = AuditEntry.get(AuditEntry.record_type == "visit", AuditEntry.record_id == closed.id,
                           AuditEntry.action == "anonymised")
    assert json.loads(entry.changes) == {"phone": [None, ANONYMISED], "id_number": [None, ANONYMISED],
                                         "car_plate": [None, ANONYMISED]}
    assert "30" in entry.reason
    assert month_counts() == counts

    audit_rows = AuditEntry.select().count()
    assert retention_sweep.call_local() == 0 and AuditEntry.select().count() == audit_rows

    close_promise(cast["host"], Call.get_by_id(promise.id), "已回复")
    frozen.move_to(NOW + dt.timedelta(days=91))
    assert sweep_retention() == 2  # the promise, closed now, and the claimant
    assert Call.get_by_id(promise.id).phone == ANONYMISED
    assert LostItem.get_by_id(item.id).claimant_name == ANONYMISED
    assert month_counts() == counts


@pytest.fixture
def subject(app, cast, frozen):
    """One person, 王小明 on 13800138000, across the areas; a stranger's visit beside them."""
    records = {
        "visit": visit(cast, name="王小明"),
        "call": call(cast, name="王小明"),
        "appointment": book(cast["desk"], visitor_name="王小明", phone=PHONE, organisation="", purpose="business",
                            host=cast["host"], starts_at=dt.datetime.utcnow() + dt.timedelta(days=2), ends_at=None,
                            note=""),
        "watch": add_to_watchlist(cast["manager"], "王小明", PHONE, "", "多次无理纠缠前台"),
        "complaint": make_complaint(app, cast["manager"], name="王小明", phone=PHONE, address="浦东新区世纪大道100号",
                                    content="空调漏水"),
        "other": visit(cast, name="李明", phone="13900000001"),
    }
    # Handled and voided: nothing is open for the customer any more.
    apply_action(app, records["complaint"], "void", cast["manager"], note="重复录入")
    records["customer"] = Customer.get(Customer.phone == PHONE)
    return records


def test_an_admin_finds_a_person_everywhere_exports_and_anonymises_them_audited(client, auth, make_user, subject):
    make_user("boss", "admin")
    auth.login("boss")
    page = find(client, "138 0013 8000", lang="zh")
    assert "电话号码" in page
    for text in (subject["visit"].number, "浦东新区世纪大道100号", "多次无理纠缠前台", "138 0013 8000",
                 subject["complaint"].number):
        assert text in page
    assert subject["other"].number not in page
    ticked = [value for value, on in boxes(page).items() if on]
    assert f"visit:{subject['visit'].id}" in ticked and f"visit:{subject['other'].id}" not in ticked
    by_name = find(client, "王小明")
    assert subject["visit"].number in by_name and f"/calls/{subject['call'].id}" in by_name

    export = client.post("/admin/personal-data/export?lang=en", data={"q": PHONE, "fmt": "csv"})
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    assert {row[0] for row in rows[1:]} == {"Visitor register", "Phone calls", "Appointments", "Customers",
                                           "Watchlist", "Complaints"}
    assert any(row[1] == subject["visit"].number and row[3] == "王小明" for row in rows)
    exported = AuditEntry.get(AuditEntry.action == "personal_data_export")
    assert f"visit#{subject['visit'].id}" in exported.changes and PHONE not in exported.changes

    refused = client.post("/admin/personal-data/anonymise?lang=zh", data={"q": PHONE, "records": ticked, "reason": " "},
                          htmx=True)
    assert refused.status_code == 422 and "subject-anonymise" in refused.get_data(as_text=True)
    assert Visit.get_by_id(subject["visit"].id).visitor_name == "王小明"

    done = anonymise(client, PHONE, ticked)
    assert done.status_code == 200
    assert json.loads(done.headers["HX-Trigger"])["toast"][0]["message"] == (
        "3 records anonymised; 2 kept (still open, or on the watchlist).")
    gone = Visit.get_by_id(subject["visit"].id)
    assert (gone.visitor_name, gone.phone, gone.number) == (ANONYMISED, ANONYMISED, subject["visit"].number)
    assert Call.get_by_id(subject["call"].id).caller_name == ANONYMISED
    customer = Customer.get_by_id(subject["customer"].id)
    assert customer.name == ANONYMISED and customer.address == ANONYMISED and PHONE not in customer.phone
    # Open records (the coming appointment) and the active watchlist entry are kept.
    assert Appointment.get_by_id(subject["appointment"].id).phone == PHONE
    assert WatchlistEntry.get_by_id(subject["watch"].id).phone == PHONE
    assert Visit.get_by_id(subject["other"].id).visitor_name == "李明"
    assert Complaint.get_by_id(subject["complaint"].id).number == subject["complaint"].number
    assert not holds("王小明", "visit", "call", "customer") and not holds(PHONE, "visit", "call", "customer")
    reasons = {e.reason for e in AuditEntry.select().where(AuditEntry.action == "anonymised")}
    assert reasons == {"本人2026-11-02来电要求删除"}

    printed = pdf_text(client.get(f"/customers/{customer.id}.pdf").data)
    assert "已匿名" in printed and "王小明" not in printed and subject["complaint"].number in printed

    after = find(client, "13800138000")
    assert subject["visit"].number not in after and "多次无理纠缠前台" in after
    shown = find(client, "李明")
    assert subject["other"].number in shown

    auth.logout()
    auth.login("desk")
    page = client.get(f"/visitors/{gone.id}?lang=en").get_data(as_text=True)
    assert "Anonymised" in page and ANONYMISED not in page  # in the reader's language
    slip = pdf_text(client.get(f"/calls/{subject['call'].id}/slip.pdf").data)
    assert "已匿名" in slip and PHONE not in slip


def test_the_page_is_for_admins_and_asks_for_enough_to_name_one_person(client, auth, make_user, subject):
    auth.login("desk")
    assert client.get("/admin/personal-data").status_code == 403
    auth.logout()
    make_user("boss", "admin")
    auth.login("boss")
    page = find(client, "王", lang="zh")
    assert "请输入电话号码或完整姓名" in page
    # The marker is no way to list everyone anonymised.
    marker = find(client, ANONYMISED)
    assert 'id="subject-q-error"' in marker and "<table" not in marker


def gps_photo():
    """A 40 × 20 JPEG taken by a phone held upright (orientation 6), with where it was taken."""
    image = Image.new("RGB", (40, 20), "red")
    image.paste((0, 0, 255), (0, 0, 10, 20))  # the left edge blue: after the turn it is the top
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (31.0, 14.0, 0.0), 3: "E", 4: (121.0, 28.0, 0.0)}
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, comment=b"taken at home")
    return buffer.getvalue()


def test_an_uploaded_photo_is_stored_shown_and_printed_upright_without_metadata(app, client, auth, cast, frozen):
    data = gps_photo()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)  # the test photo has GPS
    assert check_image(data, 10 * 1024 * 1024) == ("JPEG", 20, 40)
    auth.login("desk")
    form = {"description": "黑色双肩包", "finder_name": "保洁 赵阿姨", "found_at": "2026-11-02T09:30",
            "found_place": "二楼洗手间", "stored_at": "前台失物柜2号", "submission_key": "p1",
            "photo": (io.BytesIO(data), "IMG_0001.jpg")}
    assert client.post("/lost-found", data=form).status_code == 303
    item = LostItem.get()
    shown = Image.open(io.BytesIO(client.get(f"/lost-found/{item.id}/photo").data))
    thumbnail = Image.open(io.BytesIO(client.get(f"/lost-found/{item.id}/photo?thumb=1").data))
    with app.app_context():
        path = stored_path("lost", item.photo_name)
        printed = Image.open(io.BytesIO(base64.b64decode(print_data_uri("lost", item.photo_name).split(",", 1)[1])))
    stored = Image.open(path)
    with open(path, "rb") as f:
        assert stored.format == "JPEG" and b"PhoneMaker" not in f.read()
    for image in (stored, shown, thumbnail, printed):
        assert image.size == (20, 40)
        assert not image.getexif() and "exif" not in image.info and "comment" not in image.info
        assert image.getpixel((10, 2))[2] > 200  # blue on top: turned the way the phone was held


def test_a_photo_records_the_size_of_the_file_stored_not_of_the_upload(app, cast, frozen):
    from models.repairs import report
    data = gps_photo()
    with app.test_request_context():
        repair = report(cast["desk"], place="一楼大厅东门", what="自动门不能关闭",
                        photos=[("IMG_0001.jpg", data, "JPEG", 20, 40)])
        photo = repair.photo_list()[0]
        stored = os.path.getsize(stored_path("repairs", photo.stored_name))
    assert stored != len(data)  # the metadata is gone and the pixels re-encoded
    assert photo.size == stored


def test_a_russian_number_is_stored_and_shown_and_a_wrong_one_refused_beside_the_field(client, auth, cast, frozen):
    auth.login("desk")
    form = {"caller_name": "Иван Петров", "organisation": "", "phone": "+7 912 345-67-89", "reason": "询问营业时间",
            "call_type": "inquiry", "outcome": "answered", "answer_text": "9点到18点", "transferred_to": "",
            "message_for": "", "message_text": "", "promiser": "", "reply_due": "", "submission_key": "ru1"}
    assert client.post("/calls/new", data=form).status_code == 303
    stored = Call.get()
    assert stored.phone == "+79123456789"
    assert "+7 912 345-67-89" in client.get(f"/calls/{stored.id}").get_data(as_text=True)
    refused = client.post("/calls/new?lang=zh", data=form | {"phone": "+7 912 345", "submission_key": "ru2"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Иван Петров" in page
    assert 'id="phone-error">请填写11位手机号、带区号的座机号，或以 + 开头的国际号码。' in page
    assert Call.select().count() == 1
    # Customers are found by the start or the end of such a number too.
    customer = Customer.create(name="Иван Петров", phone=normalise_phone("007 912 345 67 89"))
    for typed in ("+7912", "67 89", "345-67-89"):
        assert [c.id for c in Customer.matching(typed)] == [customer.id]


def notice_params(user):
    return [json.loads(note.params) for note in Notification.select().where(Notification.user == user)
            .order_by(Notification.id)]


def test_anonymising_reaches_the_copies_in_notices_robot_messages_and_the_duty_log(app, client, auth, make_user,
                                                                                   cast, frozen):
    Department.create(name="客服部", wecom_webhook="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k1")
    department = Department.get(Department.name == "客服部")
    add_to_watchlist(cast["manager"], "王小明", "", "", "多次无理纠缠前台")
    # Phone message for the host, a complaint call in the duty log, a visit on the watchlist:
    # each copies the person's name or number into text of its own.
    taken = log_call(cast["desk"], caller_name="王小明", organisation="", phone=PHONE, reason="投诉空调",
                     call_type="complaint", outcome="message", message_for=cast["host"], message_text="请回电")
    with app.app_context():
        notify_department(department.id, f"call:{taken.id}", N_("Phone message from %(caller)s (%(phone)s): %(text)s"),
                          ("calls.show", {"call_id": taken.id}), about=taken, caller="王小明", phone=PHONE, text="")
    came = visit(cast, name="王小明", watchlist_reason="本人来访，已陪同")
    namesake = visit(cast, name="王小明", phone="13900000001", watchlist_reason="另一位王小明")
    assert {"caller": "王小明", "phone": PHONE, "text": "请回电"} in notice_params(cast["host"])
    assert DutyEntry.select().where(DutyEntry.what.contains(PHONE)).count() == 1

    # The sweep takes the number out of the copies; the name stays, as it does on the call.
    frozen.move_to(NOW + dt.timedelta(days=31))
    sweep_retention()
    assert {"caller": "王小明", "phone": ANONYMISED, "text": "请回电"} in notice_params(cast["host"])
    assert json.loads(DepartmentDelivery.get().params)["phone"] == ANONYMISED
    assert not DutyEntry.select().where(DutyEntry.what.contains(PHONE)).exists()
    assert not AuditEntry.select().where(AuditEntry.record_type == "duty_entry",
                                         AuditEntry.changes.contains(PHONE)).exists()
    assert DutyEntry.select().where(DutyEntry.what.contains("投诉来电：王小明（已匿名）")).exists()

    # On request, the visit ticked as the person's: its notices and log line lose the name; the
    # namesake's, linked to another visit, keep it.
    make_user("boss", "admin")
    auth.login("boss")
    assert anonymise(client, "王小明", [f"visit:{came.id}", f"call:{taken.id}"]).status_code == 200
    texts = [entry.what for entry in DutyEntry.select().order_by(DutyEntry.id)]
    assert texts[0].startswith("投诉来电：已匿名（已匿名）")
    assert "黑名单访客登记：已匿名，原因：本人来访" in texts[1] and "黑名单访客登记：王小明，原因：另一位王小明" in texts[2]
    host_names = [params.get("name") or params.get("caller") for params in notice_params(cast["host"])]
    assert host_names == [ANONYMISED, ANONYMISED, "王小明"]
    manager_names = [params["name"] for params in notice_params(cast["manager"])]
    assert manager_names == [ANONYMISED, "王小明"]
    assert json.loads(DepartmentDelivery.get().params)["caller"] == ANONYMISED
    assert fulltext.search("duty", "王小明") == [entry.id for entry in DutyEntry.select().where(
        DutyEntry.what.contains("另一位"))]
    # The pinyin search keys spelled the name too.
    assert Visit.get_by_id(came.id).name_pinyin == "" and Visit.get_by_id(namesake.id).name_pinyin == "wangxiaoming"

    # In English the notice reads the marker in English.
    with app.test_request_context("/?lang=en"):
        note = Notification.select().where(Notification.user == cast["host"]).order_by(Notification.id).get()
        assert note.text == "Phone message from Anonymised (Anonymised): 请回电"


def test_the_notices_of_a_database_from_before_the_links_are_linked_by_the_page_they_open(app, client, auth,
                                                                                         make_user, cast, frozen):
    from models import create_tables
    from models.base import db
    from models.personal_copies import PersonalCopy
    taken = call(cast, name="王小明")
    complaint = make_complaint(app, cast["manager"], name="王小明", phone=PHONE, content="空调漏水")
    apply_action(app, complaint, "void", cast["manager"], note="重复录入")
    # As earlier versions wrote them: the page they open, no link to the record.
    for endpoint, args, params in (("calls.show", {"call_id": taken.id}, {"caller": "王小明", "phone": PHONE}),
                                   ("complaints.show", {"complaint_id": complaint.id}, {"customer": "王小明"})):
        Notification.create(user=cast["host"], message=N_("Phone message from %(caller)s (%(phone)s): %(text)s"),
                            endpoint=endpoint, endpoint_args=json.dumps(args, sort_keys=True),
                            params=json.dumps(params, ensure_ascii=False))
    with app.app_context():
        db.drop_tables([PersonalCopy])
        create_tables()
    frozen.move_to(NOW + dt.timedelta(days=31))
    sweep_retention()
    assert notice_params(cast["host"])[0] == {"caller": "王小明", "phone": ANONYMISED}
    make_user("boss", "admin")
    auth.login("boss")
    assert anonymise(client, PHONE, [f"customer:{Customer.get(Customer.phone == PHONE).id}"]).status_code == 200
    assert notice_params(cast["host"])[1] == {"customer": ANONYMISED}


def test_mail_and_parcels_are_a_kind_of_personal_data_swept_after_their_days(app, client, auth, make_user, cast,
                                                                             frozen):
    collected = register_mail(cast["desk"], True, "顺丰速运", "SF1234567890", "1205室 陈女士", sender_name="赵先生")
    collect_mail(cast["desk"], collected, "陈女士本人")
    waiting = register_mail(cast["desk"], True, "中国邮政", "", "1301室 刘先生", sender_name="孙女士")
    sent = register_mail(cast["desk"], False, "EMS", "E1", "北京 周先生", sender_name="王芳")
    make_user("boss", "admin")
    auth.login("boss")
    page = find(client, "赵先生")
    assert "Mail and parcels" in page and "SF1234567890" in page
    assert "mail_data_retention_days" in client.get("/settings").get_data(as_text=True)

    frozen.move_to(NOW + dt.timedelta(days=29))
    assert sweep_retention() == 0
    frozen.move_to(NOW + dt.timedelta(days=31))
    assert sweep_retention() == 2  # the collected item and the one sent out; the waiting one is open
    swept = MailItem.get_by_id(collected.id)
    assert (swept.recipient_name, swept.sender_name, swept.collected_by_name) == (ANONYMISED,) * 3
    assert swept.anonymised_at is not None and swept.tracking_number == "SF1234567890"
    assert MailItem.get_by_id(sent.id).recipient_name == ANONYMISED
    assert MailItem.get_by_id(waiting.id).recipient_name == "1301室 刘先生"
    assert MailItem.select().count() == 3
    assert not holds("陈女士", "mail_item") and not holds("赵先生", "mail_item")
    assert sweep_retention() == 0


def test_the_export_holds_every_record_of_the_person_not_only_those_shown(client, auth, make_user, cast, frozen):
    Call.insert_many([{"caller_name": "王小明", "phone": PHONE, "reason": f"第{n}次来电", "call_type": "inquiry",
                       "outcome": "answered", "taken_at": NOW - dt.timedelta(minutes=n)} for n in range(130)]).execute()
    make_user("boss", "admin")
    auth.login("boss")
    page = find(client, PHONE)
    assert "Only the newest 100 are shown; the export holds them all." in page
    assert page.count('name="records" value="call:') == SUBJECT_ROWS
    export = client.post("/admin/personal-data/export?lang=en", data={"q": PHONE, "fmt": "csv"})
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))[1:]
    assert len(rows) == 130 and {row[0] for row in rows} == {"Phone calls"}
    assert len(json.loads(AuditEntry.get(AuditEntry.action == "personal_data_export").changes)["records"][1]) == 130


def test_a_phone_search_offers_the_older_records_of_its_names_whose_number_was_swept(client, auth, make_user, cast,
                                                                                     frozen):
    old = visit(cast, name="王小明")
    old_call = call(cast, name="王小明")
    stranger = visit(cast, name="李明")  # his name is not on the number's records now
    frozen.move_to(NOW + dt.timedelta(days=40))
    sweep_retention()
    assert Visit.get_by_id(old.id).phone == ANONYMISED
    new = visit(cast, name="王小明")
    namesake = visit(cast, name="王小明", phone="13900000001")  # another number: another person
    make_user("boss", "admin")
    auth.login("boss")
    page = find(client, PHONE)
    offered = boxes(page)
    # What the number found is ticked; the old records of its name are offered, for the admin to confirm.
    assert offered[f"visit:{new.id}"] is True
    assert offered[f"visit:{old.id}"] is False and offered[f"call:{old_call.id}"] is False
    assert f"visit:{namesake.id}" not in offered and f"visit:{stranger.id}" not in offered
    assert "The name 王小明, on records of this number; its own number was anonymised" in page
    assert anonymise(client, PHONE, [f"visit:{old.id}"]).status_code == 200
    assert Visit.get_by_id(old.id).visitor_name == ANONYMISED
    assert Visit.get_by_id(new.id).visitor_name == "王小明"  # not ticked this time


def test_anonymising_by_name_takes_only_the_records_ticked_and_found(client, auth, make_user, cast, frozen):
    mine = visit(cast, name="张伟", phone="13700001111")
    namesake = visit(cast, name="张伟", phone="13700002222")
    stranger = visit(cast, name="李明", phone="13900000001")
    make_user("boss", "admin")
    auth.login("boss")
    page = find(client, "张伟")
    assert boxes(page) == {f"visit:{mine.id}": False, f"visit:{namesake.id}": False}  # nobody ticked for the admin
    nothing = anonymise(client, "张伟", [])
    assert nothing.status_code == 422 and "Tick the records that are this person" in nothing.get_data(as_text=True)
    # A record the search does not find cannot be slipped in.
    assert anonymise(client, "张伟", [f"visit:{mine.id}", f"visit:{stranger.id}", "visit:x", "nope:1"]).status_code == 200
    assert Visit.get_by_id(mine.id).visitor_name == ANONYMISED
    assert Visit.get_by_id(namesake.id).visitor_name == "张伟"
    assert Visit.get_by_id(stranger.id).visitor_name == "李明"


def test_the_number_or_name_searched_stays_out_of_the_url(client, auth, make_user, subject):
    make_user("boss", "admin")
    auth.login("boss")
    page = client.get("/admin/personal-data").get_data(as_text=True)
    assert 'id="subject-search" method="post"' in page
    # A link from before (?q=…) shows nothing: the page reads no number from the URL.
    assert subject["visit"].number not in client.get(f"/admin/personal-data?q={PHONE}").get_data(as_text=True)
    found = client.post("/admin/personal-data", data={"q": PHONE})
    assert found.status_code == 200 and subject["visit"].number in found.get_data(as_text=True)
    assert PHONE not in (found.headers.get("Location", "") + found.headers.get("HX-Push-Url", ""))
    done = anonymise(client, PHONE, [f"visit:{subject['visit'].id}"])
    assert done.status_code == 200 and "HX-Redirect" not in done.headers
    # Posted like every change of state: without the CSRF token it is refused.
    assert client.post("/admin/personal-data", data={"q": PHONE}, csrf=False).status_code == 400


def test_an_anonymised_value_reads_in_the_readers_language_in_the_export(client, auth, make_user, cast, frozen):
    visit(cast, name="李明")
    frozen.move_to(NOW + dt.timedelta(days=31))
    sweep_retention()
    make_user("boss", "admin")
    auth.login("boss")
    export = client.post("/admin/personal-data/export?lang=en", data={"q": "李明", "fmt": "csv"})
    row = list(csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))[1]
    assert row[3:6] == ["李明", "Anonymised", "华信科技 · Anonymised · Anonymised"]
