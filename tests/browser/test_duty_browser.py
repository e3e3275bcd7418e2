"""The duty desk on the tablet: two events (one an emergency with a photo), the
handover to a second person who signs, the manager signs the day, the sheet prints."""
import re

from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.conftest import PASSWORD
from tests.pdf import assert_embedded_cjk_font, pdf_text


def test_a_shift_from_first_event_to_signed_day_sheet(live_server, new_context, make_user, screenshot, tmp_path):
    make_user("desk", "front_desk", display_name="王芳")
    make_user("desk2", "front_desk", display_name="李娜")
    make_user("manager", "service_manager", display_name="杨磊")
    photo = tmp_path / "现场.jpg"
    Image.new("RGB", (640, 480), (40, 90, 160)).save(photo, "JPEG")

    desk = new_context().new_page()
    log_in(desk, live_server, "desk", PASSWORD)
    desk.get_by_role("navigation").get_by_role("link", name="值班日志").click()
    expect(desk.get_by_role("heading", name=re.compile("值班日志 · .* · (白班|夜班)"))).to_be_visible()
    desk.get_by_label("事件类别").select_option(label="租户搬入搬出")
    desk.get_by_label("事件经过（客观记录）").fill("1205室租户上午搬入，电梯已预约")
    desk.get_by_label("处理情况").fill("安排保洁跟进")
    desk.get_by_label("最终结果", exact=True).fill("搬入完成")
    desk.get_by_role("button", name="记录", exact=True).click()
    expect(desk.get_by_text("1205室租户上午搬入，电梯已预约")).to_be_visible()

    desk.get_by_role("navigation").get_by_role("link", name="紧急情况").click()
    desk.get_by_role("link", name="新建紧急情况登记").click()
    desk.get_by_label("地点").fill("地下车库B区")
    desk.get_by_label("事件经过").fill("车库顶部水管爆裂，积水约五厘米")
    desk.get_by_label("值班领导").check()
    desk.get_by_label("处理措施").fill("关闭总阀，设置警示牌")
    desk.get_by_label("现场照片").set_input_files(str(photo))
    screenshot(desk, "emergency-form")
    desk.get_by_role("button", name="保存紧急情况登记").click()
    expect(desk.get_by_role("heading", name=re.compile("紧急情况处理登记表 JJ-"))).to_be_visible()
    expect(desk.locator(".thumbs img")).to_have_count(1)
    screenshot(desk, "emergency-report")

    # The handover is refused while the emergency is unresolved.
    desk.get_by_role("navigation").get_by_role("link", name="值班日志").click()
    desk.get_by_role("button", name="准备交接班").click()
    expect(desk.locator("#handover .error").first).to_contain_text("尚未处理完毕")
    desk.go_back()
    desk.get_by_role("navigation").get_by_role("link", name="紧急情况").click()
    desk.get_by_role("link", name=re.compile("JJ-")).click()
    desk.get_by_label("处理结果").fill("工程部已修复，积水已清理")
    desk.get_by_role("button", name="标记为已处理").click()
    expect(desk.get_by_text("工程部已修复，积水已清理")).to_be_visible()

    desk.get_by_role("navigation").get_by_role("link", name="值班日志").click()
    desk.get_by_role("link", name="打开交接班记录").click()
    desk.get_by_label("需传达的上级指示").fill("明早九点消防检查，提前打开消防通道")
    for row in desk.locator("input.count").all():
        row.fill("1")
    desk.get_by_role("button", name="保存交接内容").click()
    expect(desk.locator("#handover .error")).to_have_count(0)
    desk.get_by_role("button", name="交班人签字").click()
    expect(desk.get_by_text("等待接班人")).to_be_visible()
    screenshot(desk, "handover-signed-out")
    handover_url = desk.url

    # The incoming person logs in on the same tablet with their own account.
    desk.get_by_role("group").get_by_text("王芳").click()
    desk.get_by_role("button", name="退出登录").click()
    log_in(desk, live_server, "desk2", PASSWORD)
    desk.goto(handover_url)
    desk.get_by_role("button", name="接班人签字").click()
    expect(desk.get_by_text("交接班已完成。").first).to_be_visible()
    screenshot(desk, "handover-complete")

    manager = new_context().new_page()
    log_in(manager, live_server, "manager", PASSWORD)
    manager.goto(f"{live_server}/duty/days")
    manager.locator("ul.list").first.get_by_role("link").first.click()
    manager.get_by_role("button", name="签署本班次日志").click()
    expect(manager.get_by_text(re.compile("杨磊 已于 .* 签字"))).to_be_visible()
    screenshot(manager, "day-signed")

    sheet = manager.get_by_role("link", name="打印值班日志").get_attribute("href")
    pdf = manager.request.get(f"{live_server}{sheet}")
    assert pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(pdf.body())
    assert "1205室租户上午搬入" in text and "地下车库B区" in text and "杨磊" in text
    assert_embedded_cjk_font(pdf.body())
    (tmp_path / "sheet.pdf").write_bytes(pdf.body())


def test_the_entry_form_is_at_hand_after_a_full_shift(app, live_server, new_context, make_user, screenshot):
    import datetime as dt

    from models.duty import add_entry, current_shift, open_day
    desk_user = make_user("desk", "front_desk", display_name="王芳")
    with app.app_context():
        day = open_day(desk_user, *current_shift())
        for n in range(20):
            add_entry(desk_user, day, dt.datetime.utcnow() - dt.timedelta(minutes=60 - n), "other",
                      f"第{n + 1}次巡查：各楼层正常，消防通道畅通", "已记录", "", False)
    desk = new_context().new_page()
    log_in(desk, live_server, "desk", PASSWORD)
    desk.get_by_role("navigation").get_by_role("link", name="值班日志").click()
    what = desk.get_by_label("事件经过（客观记录）")
    expect(what).to_be_in_viewport()
    screenshot(desk, "log-after-20-entries", full_page=False)
    what.fill("大堂地面湿滑，已放置警示牌")
    desk.get_by_role("button", name="记录", exact=True).click()
    first = desk.locator("ol.entries > li").first
    expect(first).to_contain_text("大堂地面湿滑，已放置警示牌")
    expect(desk.get_by_label("事件经过（客观记录）")).to_be_in_viewport()
