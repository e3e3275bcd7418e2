"""The hall desk's fault on the tablet: reported with a photo from the desk's home page,
assigned by logistics, repaired with a material from stock, and confirmed by the desk."""
import re

from PIL import Image
from playwright.sync_api import expect

from models.procurement.stock import StockItem
from models.repairs import Repair
from tests.browser.conftest import log_in
from tests.conftest import PASSWORD


def test_a_fault_reported_with_a_photo_is_repaired_and_confirmed(app, live_server, new_context, make_user, screenshot,
                                                                tmp_path):
    make_user("desk", "front_desk", display_name="王芳")
    make_user("log", "logistics", display_name="刘洋")
    make_user("fitter", "specialist", display_name="黄师傅")
    with app.app_context():
        StockItem.create(name="LED灯管", spec="T8", unit="支", balance=10)
    photo = tmp_path / "灯.jpg"
    Image.new("RGB", (640, 480), (200, 200, 60)).save(photo, "JPEG")

    desk = new_context().new_page()
    log_in(desk, live_server, "desk", PASSWORD)
    desk.get_by_role("link", name="大厅巡检：报修").click()
    expect(desk.get_by_label("地点")).to_have_value("大厅")
    desk.get_by_label("地点").fill("大厅服务台上方")
    desk.get_by_label("故障情况").fill("两支灯管不亮")
    desk.get_by_label("紧急", exact=True).check()
    desk.get_by_label("照片", exact=True).set_input_files(str(photo))
    screenshot(desk, "report")
    desk.get_by_role("button", name="提交报修").click()
    expect(desk.get_by_role("heading", name=re.compile("维修 BX-"))).to_be_visible()
    expect(desk.locator("#repair-photos img")).to_have_count(1)
    expect(desk.locator("#repair-state")).to_have_text("待派工")
    repair_url = desk.url

    logistics = new_context().new_page()
    log_in(logistics, live_server, "log", PASSWORD)
    logistics.goto(repair_url)
    logistics.get_by_label("维修员工").select_option(label="黄师傅")
    logistics.locator("#action-assign button[type=submit]").click()
    expect(logistics.locator("#repair-state")).to_have_text("已派工")

    fitter = new_context().new_page()
    log_in(fitter, live_server, "fitter", PASSWORD)
    fitter.goto(repair_url)
    fitter.get_by_label("维修内容").fill("更换LED灯管2支")
    material = fitter.locator("#done-materials-0-item option", has_text="LED灯管").get_attribute("value")
    fitter.locator("#done-materials-0-item").select_option(value=material)
    fitter.locator("#done-materials-0-quantity").fill("20")
    fitter.locator("#action-done button[type=submit]").click()
    expect(fitter.locator("#done-materials-0-quantity-error")).to_contain_text("库存")
    expect(fitter.get_by_label("维修内容")).to_have_value("更换LED灯管2支")
    fitter.locator("#done-materials-0-quantity").fill("2")
    fitter.locator("#action-done button[type=submit]").click()
    expect(fitter.locator("#repair-state")).to_have_text("已修好，待确认")
    expect(fitter.locator("#repair-materials")).to_contain_text("LED灯管 T8 × 2 支")

    desk.reload()
    screenshot(desk, "to-confirm")
    desk.locator("#action-confirm button[type=submit]").click()
    expect(desk.locator("#repair-state")).to_have_text("已确认合格")
    screenshot(desk, "confirmed")
    with app.app_context():
        repair = Repair.get()
        assert repair.state == "confirmed" and repair.reopen_count == 0
        assert StockItem.get().balance == 8
