"""个人信息查询 on the tablet, in Chinese: an administrator finds a visitor by phone number and
anonymises them at their request."""
import datetime as dt

from models.visitors import Visit, WatchlistEntry, add_to_watchlist, apply, register_visit

from .conftest import log_in


def test_an_admin_finds_a_visitor_by_phone_and_anonymises_them(live_server, page, make_user, screenshot):
    desk = make_user("desk", "front_desk", display_name="王芳")
    host = make_user("zhang", "specialist", display_name="张伟")
    make_user("boss", "admin", display_name="系统管理员")
    for name, phone in (("王小明", "13800138000"), ("李明", "13900000001")):
        visit = register_visit(desk, visitor_name=name, phone=phone, organisation="华信科技", purpose="meeting",
                               purpose_other="", host=host, companions=0, id_number="310101199001011234",
                               car_plate="沪A12345", note="", arrived_at=dt.datetime.utcnow())
        apply(desk, visit.id, "check_out")
    add_to_watchlist(make_user("manager", "service_manager"), "王小明", "13800138000", "", "多次无理纠缠前台")
    log_in(page, live_server, "boss")
    page.get_by_role("link", name="个人信息查询").first.click()
    page.get_by_label("电话号码或完整姓名").fill("138 0013 8000")
    page.get_by_role("button", name="查询").click()
    page.get_by_text("王小明").first.wait_for()
    assert "0013" not in page.url and "138" not in page.url  # posted: the number is in no URL or history
    assert page.get_by_label("本人的").first.is_checked()  # what the number found is ticked as the person's
    assert page.get_by_text("李明", exact=True).count() == 0
    assert page.get_by_text("保留：未办结或仍有效").count() == 1  # the watchlist entry
    screenshot(page, "found")

    page.get_by_role("button", name="匿名化").click()
    assert "必填" in page.locator("#reason-error").inner_text()  # the reason is needed, said beside its field
    page.get_by_label("原因（本人的申请及日期）").fill("本人2026年11月来电要求删除")
    page.get_by_role("button", name="匿名化").click()
    page.get_by_text("已匿名 1 条记录；1 条").wait_for()
    page.get_by_text("多次无理纠缠前台").wait_for()  # still on the watchlist, so still found
    screenshot(page, "anonymised")
    assert Visit.get(Visit.phone == "已匿名").visitor_name == "已匿名"
    assert WatchlistEntry.get().phone == "13800138000"
