"""Personal data under the PIPL: the retention sweep, the admin's subject search (find, export,
anonymise), photos without metadata, and phone numbers read by phonenumbers."""
import base64
import csv
import datetime as dt
import io
import json
import os

import pytest
import time_machine
from PIL import Image

from models import reports
from models.audit import AuditEntry
from models.calls import Call, close_promise, log_call
from models.complaints import Complaint, Customer
from models.desk_items import LostItem, claim_lost, register_lost
from models.phones import normalise_phone
from models.privacy import ANONYMISED, sweep_retention
from models.reports import Period
from models.uploads import check_image, print_data_uri, stored_path
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
                            car_plate=fields.get("car_plate", "沪A12345"), note="", arrived_at=dt.datetime.utcnow())
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
    page = client.get("/admin/personal-data?lang=zh&q=138 0013 8000").get_data(as_text=True)
    assert "个人信息查询" in page
    for text in (subject["visit"].number, "浦东新区世纪大道100号", "多次无理纠缠前台", "138 0013 8000",
                 subject["complaint"].number):
        assert text in page
    assert subject["other"].number not in page
    by_name = client.get("/admin/personal-data?q=王小明").get_data(as_text=True)
    assert subject["visit"].number in by_name and f"/calls/{subject['call'].id}" in by_name

    export = client.post("/admin/personal-data/export?lang=en", data={"q": PHONE, "fmt": "csv"})
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    assert {row[0] for row in rows[1:]} == {"Visitor register", "Phone calls", "Appointments", "Customers",
                                           "Watchlist", "Complaints"}
    assert any(row[1] == subject["visit"].number and row[3] == "王小明" for row in rows)
    exported = AuditEntry.get(AuditEntry.action == "personal_data_export")
    assert f"visit#{subject['visit'].id}" in exported.changes and PHONE not in exported.changes

    refused = client.post("/admin/personal-data/anonymise?lang=zh", data={"q": PHONE, "reason": " "}, htmx=True)
    assert refused.status_code == 422 and "subject-anonymise" in refused.get_data(as_text=True)
    assert Visit.get_by_id(subject["visit"].id).visitor_name == "王小明"

    done = client.post("/admin/personal-data/anonymise", data={"q": PHONE, "reason": "本人2026-11-02来电要求删除"})
    assert done.status_code == 303
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

    after = client.get("/admin/personal-data?q=13800138000").get_data(as_text=True)
    assert subject["visit"].number not in after and "多次无理纠缠前台" in after
    shown = client.get("/admin/personal-data?q=李明").get_data(as_text=True)
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
    page = client.get("/admin/personal-data?lang=zh&q=王").get_data(as_text=True)
    assert "请输入电话号码或完整姓名" in page
    # The marker is no way to list everyone anonymised.
    marker = client.get(f"/admin/personal-data?q={ANONYMISED}").get_data(as_text=True)
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
