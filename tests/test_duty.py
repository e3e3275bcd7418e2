"""The duty desk: the log, the manager's signature and lock, handover refusals,
emergency reports with photos, and the printed sheets."""
import datetime as dt
import io
import re

import pytest
import time_machine
from PIL import Image

from models.duty import (
    DutyDay, DutyEntry, DutyError, EmergencyReport, Handover, IncidentPhoto, add_entry, log_system_event, open_day,
    prepare_handover, sign_day, sign_incoming, sign_outgoing, start_handover,
)
from models.notifications import Notification
from models.uploads import stored_path

from .pdf import assert_embedded_cjk_font, pdf_text

# 2026-11-23 10:00 in Shanghai: the day shift.
MORNING = dt.datetime(2026, 11, 23, 2, 0)


@pytest.fixture(autouse=True)
def morning():
    """Every test here runs at MORNING unless it travels on (sessions are signed with
    the time, so logging in and acting must share one clock)."""
    with time_machine.travel(MORNING, tick=False):
        yield


def entry_form(**overrides):
    data = {"occurred_at": "2026-11-23T09:40", "kind": "theft", "what": "三楼储物间丢失一台投影仪",
            "handling": "已调取监控，报告安保", "outcome": "", "submission_key": "k1"}
    data.update(overrides)
    return data


@pytest.fixture
def desk(make_user):
    return make_user("desk", "front_desk", display_name="王芳")


@pytest.fixture
def manager(make_user):
    return make_user("manager", "service_manager", display_name="杨磊")


def test_desk_logs_an_event_on_the_current_shift(client, auth, desk):
    auth.login("desk")
    page = client.get("/duty?lang=zh").get_data(as_text=True)
    assert "值班日志 · 2026-11-23 · 白班" in page
    day = DutyDay.get()
    response = client.post(f"/duty/{day.id}/entries", data=entry_form())
    assert response.status_code == 303
    entry = DutyEntry.get()
    assert (entry.kind, entry.what, entry.created_by_id, entry.day_id) == ("theft", "三楼储物间丢失一台投影仪", desk.id,
                                                                           day.id)
    assert entry.occurred_at == dt.datetime(2026, 11, 23, 1, 40)  # stored in UTC
    page = client.get(f"/duty/{day.id}?lang=zh").get_data(as_text=True)
    assert "三楼储物间丢失一台投影仪" in page and "盗窃" in page


def test_a_bad_entry_keeps_what_was_typed(client, auth, desk):
    auth.login("desk")
    client.get("/duty")
    day = DutyDay.get()
    response = client.post(f"/duty/{day.id}/entries?lang=zh",
                           data=entry_form(what="", handling="已报告安保", occurred_at="2026-11-23T11:30"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="occurred_at-error">事件时间不能晚于现在。' in page
    assert 'id="what-error"' in page and "已报告安保" in page
    assert DutyEntry.select().count() == 0


def test_night_shift_after_midnight_belongs_to_the_evening_it_began(client, auth, desk):
    with time_machine.travel(dt.datetime(2026, 11, 23, 18, 30), tick=False):  # 02:30 on the 24th in Shanghai
        auth.login("desk")
        client.get("/duty")
    day = DutyDay.get()
    assert (day.date, day.shift) == (dt.date(2026, 11, 23), "night")


def test_a_major_entry_tells_the_managers(app, desk, manager):
    day = open_day(desk, dt.date(2026, 11, 23), "day")
    add_entry(desk, day, MORNING, "accident", "地下室漏水", major=True)
    note = Notification.get(Notification.user == manager)
    assert "地下室漏水" in note.params
    with app.app_context():
        assert note.url == f"/duty/{day.id}"  # the day's page, by its id


def test_only_the_manager_signs_and_a_signed_day_is_locked(client, auth, desk, manager):
    day = open_day(desk, dt.date(2026, 11, 23), "day")
    entry = add_entry(desk, day, MORNING, "theft", "丢失投影仪")
    with pytest.raises(DutyError):
        sign_day(desk, day)
    auth.login("desk")
    assert client.post(f"/duty/{day.id}/sign").status_code == 403
    auth.logout()
    auth.login("manager")
    assert client.post(f"/duty/{day.id}/sign").status_code == 303
    assert DutyDay.get_by_id(day.id).signed_by_id == manager.id
    assert client.get("/duty/days?lang=zh").get_data(as_text=True).count("待您签字") == 1
    auth.logout()
    auth.login("desk")
    refused = client.post(f"/duty/{day.id}/entries?lang=en", data=entry_form())
    assert refused.headers["Location"] == "/duty"
    assert "signed and can no longer be changed" in client.get("/duty/days").get_data(as_text=True)
    client.post(f"/duty/entries/{entry.id}/outcome", data={"outcome": "找回"})
    assert DutyEntry.get_by_id(entry.id).outcome == ""
    assert DutyEntry.select().count() == 1


def test_entries_cannot_be_back_dated_into_a_signed_day(client, auth, desk, manager):
    yesterday = open_day(desk, dt.date(2026, 11, 22), "day")
    sign_day(manager, yesterday)
    auth.login("desk")
    client.get("/duty")
    today = DutyDay.get(DutyDay.date == dt.date(2026, 11, 23))
    response = client.post(f"/duty/{today.id}/entries?lang=zh", data=entry_form(occurred_at="2026-11-22T15:00"))
    assert response.status_code == 422
    assert "不能补记到已签字的日志中" in response.get_data(as_text=True)


def test_portal_events_land_in_the_current_log(app, desk):
    entry = log_system_event("other", "来访者张三离开时未签退", source="visitors")
    assert entry.source == "visitors" and entry.day.shift == "day"


def prepared(handover, user, instructions="无"):
    counts = {item.id: (1, "") for item in handover.items()}
    return prepare_handover(user, handover, handover.open_items, instructions, counts)


def test_handover_refusals_and_completion(app, desk, make_user):
    incoming = make_user("desk2", "front_desk", display_name="李娜")
    spare = make_user("desk3", "front_desk", display_name="赵强")
    day = open_day(desk, dt.date(2026, 11, 23), "day")
    major = add_entry(desk, day, MORNING, "accident", "配电房跳闸", major=True)
    handover = start_handover(desk, day)
    assert "配电房跳闸" in handover.open_items

    with pytest.raises(DutyError, match="preparation is incomplete|unresolved"):
        sign_outgoing(desk, handover)
    prepare_handover(desk, handover, "", "", {})
    assert Handover.get_by_id(handover.id).prepared_at is None
    prepared(handover, desk)
    with pytest.raises(DutyError, match="unresolved"):
        sign_outgoing(desk, handover)
    from models.duty import record_outcome
    record_outcome(desk, major, "电工已恢复供电")
    with pytest.raises(DutyError, match="outgoing person has not signed"):
        sign_incoming(incoming, Handover.get_by_id(handover.id), fit=True)
    sign_outgoing(desk, Handover.get_by_id(handover.id))

    handover = Handover.get_by_id(handover.id)
    with pytest.raises(DutyError, match="both outgoing and incoming"):
        sign_incoming(desk, handover, fit=True)
    with pytest.raises(DutyError, match="name a replacement"):
        sign_incoming(incoming, handover, fit=False)
    sign_incoming(incoming, handover, fit=False, replacement=spare)
    handover = Handover.get_by_id(handover.id)
    assert not handover.completed and handover.replacement_id == spare.id
    with pytest.raises(DutyError, match="replacement and must sign"):
        sign_incoming(incoming, handover, fit=True)
    sign_incoming(spare, handover, fit=True)
    handover = Handover.get_by_id(handover.id)
    assert handover.completed and handover.incoming_id == spare.id


def test_handover_page_explains_what_blocks_it(client, auth, desk):
    auth.login("desk")
    client.get("/duty")
    day = DutyDay.get()
    response = client.post(f"/duty/{day.id}/handover")
    handover = Handover.get()
    assert response.headers["Location"] == f"/duty/handover/{handover.id}"
    item = handover.items()[0]
    bad = client.post(f"/duty/handover/{handover.id}?lang=zh",
                      data={"open_items": "", "instructions": "注意明早九点的检查", f"count-{item.id}": "two"})
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    assert "请填写整数" in page and "注意明早九点的检查" in page
    refused = client.post(f"/duty/handover/{handover.id}/sign-out", headers={"HX-Request": "true"})
    assert Handover.get_by_id(handover.id).outgoing_signed_at is None
    assert refused.status_code == 204


def photo_bytes(fmt="JPEG", size=(64, 48)):
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, fmt)
    return buffer.getvalue()


def incident_form(**overrides):
    data = {"occurred_at": "2026-11-23T09:50", "place": "地下车库B区", "what": "车库顶部水管爆裂，积水约五厘米",
            "notified": ["duty_leader", "security"], "actions": "关闭总阀，设置警示牌", "casualties": "",
            "outcome": "", "submission_key": "inc-1"}
    data.update(overrides)
    return data


def test_emergency_report_with_photos_tells_the_manager(client, auth, desk, manager):
    auth.login("desk")
    data = incident_form(photos=[(io.BytesIO(photo_bytes()), "现场1.jpg"),
                                 (io.BytesIO(photo_bytes("PNG")), "scene.png")])
    response = client.post("/incidents/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 303
    report = EmergencyReport.get()
    assert report.number == "JJ-2026-000001" and report.notified == "duty_leader,security"
    photos = list(IncidentPhoto.select())
    assert len(photos) == 2 and all(p.stored_name != p.original_name for p in photos)
    assert photos[0].original_name == "现场1.jpg"
    thumb = client.get(f"/incidents/photos/{photos[0].id}?thumb=1")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    with client.application.app_context():
        assert Notification.get(Notification.user == manager).url == f"/incidents/{report.id}"
    entry = DutyEntry.get()
    assert entry.major and not entry.resolved and entry.source == "emergency"


def test_a_renamed_non_image_is_refused_and_the_report_kept(client, auth, desk):
    auth.login("desk")
    data = incident_form(photos=[(io.BytesIO(b"%PDF-1.4 not a photo at all"), "scene.jpg")])
    response = client.post("/incidents/new?lang=zh", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "scene.jpg: 该文件不是照片" in page
    assert "车库顶部水管爆裂，积水约五厘米" in page and "地下车库B区" in page
    assert EmergencyReport.select().count() == 0


def test_an_oversized_photo_is_refused(client, auth, desk, admin_settings):
    admin_settings(incident_photo_max_mb=1)
    auth.login("desk")
    big = photo_bytes("PNG", size=(1, 1)) + b"\0" * (1024 * 1024 + 10)
    response = client.post("/incidents/new", content_type="multipart/form-data",
                           data=incident_form(photos=[(io.BytesIO(big), "huge.png")]))
    assert response.status_code == 422
    assert "huge.png: This photo is larger than 1 MB." in response.get_data(as_text=True)


@pytest.fixture
def admin_settings(app):
    from models import settings

    def change(**values):
        settings.save(None, values)
    return change


def test_printed_emergency_report_and_day_sheet_are_chinese_with_an_embedded_font(client, auth, desk):
    auth.login("desk")
    client.post("/incidents/new", content_type="multipart/form-data",
                data=incident_form(photos=[(io.BytesIO(photo_bytes()), "现场.jpg")]))
    report = EmergencyReport.get()
    pdf = client.get(f"/incidents/{report.id}/report.pdf")
    assert pdf.mimetype == "application/pdf"
    text = pdf_text(pdf.data)
    assert "紧急情况处理登记表" in text and "车库顶部水管爆裂" in text and "JJ-2026-000001" in text
    assert "值班领导、安保监控室" in text
    assert re.search(r"第\s*1\s*页\s*/\s*共\s*\d+\s*页", text)
    assert_embedded_cjk_font(pdf.data)
    sheet = client.get(f"/duty/{report.day_id}/sheet.pdf")
    text = pdf_text(sheet.data)
    assert "值班日志" in text and "地下车库B区" in text and "客服经理签字" in text
    assert_embedded_cjk_font(sheet.data)


def test_the_pdf_renderer_fetches_nothing_but_static_files(app):
    from printing import StaticOnlyFetcher
    fetcher = StaticOnlyFetcher(app.static_folder, "http://localhost/")
    assert fetcher.fetch("http://localhost/static/css/print.css").read()
    for url in ("file:///etc/passwd", "http://localhost/static/../app.py", "http://example.com/x.png",
                "http://localhost/admin/users"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)


def test_photos_are_stored_under_the_portals_names(app):
    from models.uploads import store_image
    with app.test_request_context():
        name = store_image("incidents", photo_bytes(), "JPEG").name
        assert name.endswith(".jpg") and len(name) == 36
        assert open(stored_path("incidents", name), "rb").read(2) == b"\xff\xd8"


def test_a_correction_is_a_new_entry_that_refers_to_the_signed_one(client, auth, desk, manager, morning):
    day = open_day(desk, dt.date(2026, 11, 22), "day")
    old = add_entry(desk, day, MORNING - dt.timedelta(days=1), "theft", "丢失投影仪")
    sign_day(manager, day)
    auth.login("desk")
    page = client.get(f"/duty/{day.id}?lang=zh").get_data(as_text=True)
    assert f"/duty?corrects={old.id}" in page
    prefilled = client.get(f"/duty?corrects={old.id}").get_data(as_text=True)
    assert f'name="corrects" type="hidden" value="{old.id}"' in prefilled
    today = DutyDay.get(DutyDay.date == dt.date(2026, 11, 23))
    client.post(f"/duty/{today.id}/entries", data=entry_form(corrects=str(old.id), what="更正：投影仪已在会议室找到"))
    correction = DutyEntry.get(DutyEntry.day == today)
    assert correction.corrects_id == old.id
    assert DutyEntry.get_by_id(old.id).what == "丢失投影仪"


def test_the_entry_form_comes_first_and_the_newest_entry_under_it(client, auth, desk):
    auth.login("desk")
    day = open_day(desk, dt.date(2026, 11, 23), "day")
    for minute in range(20):
        add_entry(desk, day, MORNING - dt.timedelta(minutes=40 - minute), "other", f"第{minute}条巡查记录", "", "",
                  False)
    page = client.get("/duty?lang=zh").get_data(as_text=True)
    form_at = page.index('id="entry-form"')
    assert form_at < page.index("第19条巡查记录") < page.index("第0条巡查记录")
