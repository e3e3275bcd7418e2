"""Mail and parcels, lost and found: registering, handing over, reminders, disposal."""
import datetime as dt

import pytest
import time_machine

from models.desk_items import LostItem, MailItem, remind_uncollected
from models.notifications import Notification
from tasks.frontdesk import remind_uncollected_mail

NOW = dt.datetime(2026, 11, 23, 2, 0)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def desk(make_user, auth):
    user = make_user("desk", "front_desk", display_name="王芳")
    auth.login("desk")
    return user


def mail_form(**overrides):
    data = {"direction": "in", "carrier": "顺丰速运", "tracking_number": "SF1234567890", "recipient": "0",
            "recipient_name": "", "sender_name": "", "size": "small", "submission_key": "m1"}
    data.update(overrides)
    return data


def test_incoming_mail_for_staff_notifies_and_is_handed_over(client, desk, make_user):
    specialist = make_user("zhang", "specialist", display_name="张伟")
    response = client.post("/mail", data=mail_form(recipient=str(specialist.id)))
    assert response.status_code == 303
    item = MailItem.get()
    assert item.recipient_name == "张伟" and item.registered_by_id == desk.id
    with client.application.app_context():
        assert Notification.get(Notification.user == specialist).url == "/mail"
    client.post(f"/mail/{item.id}/collect", data={"collected_by": "张伟"})
    item = MailItem.get()
    assert item.collected_by_name == "张伟" and item.collected_at == NOW and item.handed_over_by_id == desk.id
    again = client.post(f"/mail/{item.id}/collect", data={"collected_by": "别人"})
    assert again.status_code == 303 and MailItem.get().collected_by_name == "张伟"


def test_mail_needs_a_recipient_and_keeps_what_was_typed(client, desk):
    response = client.post("/mail?lang=zh", data=mail_form(tracking_number="YT998877"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "请填写收件人" in page and "YT998877" in page
    assert MailItem.select().count() == 0


def test_uncollected_mail_is_listed_and_reminded_once(client, desk, make_user, frozen):
    specialist = make_user("zhang", "specialist", display_name="张伟")
    client.post("/mail", data=mail_form(recipient=str(specialist.id)))
    client.post("/mail", data=mail_form(recipient_name="1205室 刘先生", submission_key="m2"))
    assert remind_uncollected() == 0
    frozen.move_to(NOW + dt.timedelta(days=3, minutes=1))
    assert MailItem.overdue().count() == 2
    assert remind_uncollected_mail.call_local() == 1  # the tenant has no account to remind
    assert remind_uncollected_mail.call_local() == 0  # a repeated run sends nothing more
    reminders = Notification.select().where(Notification.user == specialist, Notification.message.contains("Reminder"))
    assert reminders.count() == 1


def lost_form(**overrides):
    data = {"description": "黑色双肩包，内有笔记本电脑", "finder_name": "保洁 赵阿姨", "found_at": "2026-11-23T09:30",
            "found_place": "二楼洗手间", "stored_at": "前台失物柜2号", "submission_key": "l1"}
    data.update(overrides)
    return data


def test_lost_item_is_claimed_only_with_an_id_check(client, desk):
    assert client.post("/lost-found", data=lost_form()).status_code == 303
    item = LostItem.get()
    assert item.found_at == dt.datetime(2026, 11, 23, 1, 30)
    refused = client.post(f"/lost-found/{item.id}/claim?lang=zh", data={"claimant": "陈先生"})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "交还物品前请核对认领人身份证件" in page and 'value="陈先生"' in page
    assert LostItem.get().claimed_at is None
    client.post(f"/lost-found/{item.id}/claim", data={"claimant": "陈先生", "id_checked": "y"})
    item = LostItem.get()
    assert item.claimant_name == "陈先生" and item.claimant_id_checked and item.handed_over_by_id == desk.id


def test_disposal_only_after_the_setting_and_with_a_reason(client, desk, frozen):
    client.post("/lost-found", data=lost_form())
    item = LostItem.get()
    client.post(f"/lost-found/{item.id}/dispose", data={"reason": "无人认领"})
    assert LostItem.get().disposed_at is None
    frozen.move_to(NOW + dt.timedelta(days=91))
    from tests.conftest import PASSWORD
    client.post("/login", data={"username": "desk", "password": PASSWORD})
    assert "overdue" in client.get("/lost-found").get_data(as_text=True)
    client.post(f"/lost-found/{item.id}/dispose", data={"reason": "  "})
    assert LostItem.get().disposed_at is None
    client.post(f"/lost-found/{item.id}/dispose", data={"reason": "超过90天无人认领，交公司统一处理"})
    assert LostItem.get().disposal_reason == "超过90天无人认领，交公司统一处理"


def test_a_found_item_may_have_a_photo_checked_by_its_content(client, desk):
    import io

    from PIL import Image
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 200, 10)).save(buffer, "PNG")
    refused = client.post("/lost-found?lang=zh", content_type="multipart/form-data",
                          data=lost_form(photo=(io.BytesIO(b"not an image"), "bag.jpg")))
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "该文件不是照片" in page and "黑色双肩包，内有笔记本电脑" in page
    assert LostItem.select().count() == 0
    client.post("/lost-found", content_type="multipart/form-data",
                data=lost_form(photo=(io.BytesIO(buffer.getvalue()), "bag.png"), submission_key="l2"))
    item = LostItem.get()
    assert item.photo_name.endswith(".png") and item.photo_name != "bag.png"
    assert client.get(f"/lost-found/{item.id}/photo?thumb=1").mimetype == "image/jpeg"
