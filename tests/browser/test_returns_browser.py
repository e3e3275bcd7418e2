"""At the front desk, in Chinese on a tablet: a customer brings back goods bought 29 days
ago (checked, vendor agrees, refunded), and goods bought 31 days ago (refused at once, the
day the period ended shown)."""
import datetime as dt

import time_machine
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.conftest import PASSWORD

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def _receive(page, base_url, name, phone, order, goods, sale_date, amount):
    page.goto(f"{base_url}/returns")
    page.get_by_role("link", name="退货接待").click()
    page.get_by_label("客户姓名").fill(name)
    page.get_by_label("电话").fill(phone)
    page.get_by_label("商品", exact=True).fill(goods)
    page.get_by_label("销售日期").fill(sale_date)
    page.get_by_label("订单号").fill(order)
    page.get_by_label("成交金额（元）").fill(amount)
    page.get_by_label("厂商").fill("林氏家居")
    page.get_by_label("商品品类").select_option(label="家具")


def test_day_29_is_refunded_and_day_31_refused_with_the_date(live_server, new_context, make_user, screenshot):
    with time_machine.travel(dt.datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI), tick=True):
        make_user("desk", "front_desk", display_name="前台小张")
        page = new_context().new_page()
        log_in(page, live_server, "desk", PASSWORD)
        expect(page.get_by_role("navigation").get_by_role("link", name="无理由退货")).to_be_visible()

        # Day 29: sold on 11-01.
        _receive(page, live_server, "王女士", "13800000001", "HX-1001", "实木餐桌", "2026-11-01", "3200")
        expect(page.locator("#deadline-preview")).to_contain_text("销售后第 29 天：在退货期内，期限至 2026年12月1日")
        screenshot(page, "new-day-29")
        page.get_by_role("button", name="登记退货").click()
        expect(page.locator("#return-state")).to_have_text("已接待，待核查")
        page.get_by_text("记录核查结果", exact=True).first.click()
        form = page.locator("#action-check")
        form.get_by_label("是").first.check()
        form.locator("#check-vendor_agreed-0").check()
        form.get_by_label("厂商联系人").fill("林经理")
        form.get_by_role("button", name="记录核查结果").click()
        expect(page.locator("#return-state")).to_have_text("已核查")
        page.get_by_text("同意退货", exact=True).first.click()
        form = page.locator("#action-accept")
        form.get_by_label("退款").check()
        form.get_by_label("金额（元）").fill("3500")
        form.get_by_role("button", name="同意退货").click()
        expect(page.locator("#accept-amount-error")).to_have_text("3,500.00 超过了顾客为该商品支付的 3,200.00。")
        form = page.locator("#action-accept")
        expect(form.get_by_label("金额（元）")).to_have_value("3500")
        form.get_by_label("金额（元）").fill("3200")
        form.get_by_role("button", name="同意退货").click()
        expect(page.locator("#return-state")).to_have_text("同意退货")
        expect(page.locator("#return-result")).to_contain_text("退款 · ¥3,200.00")
        screenshot(page, "accepted-day-29")

        # Day 31: sold on 10-30; the period ended on 11-29.
        _receive(page, live_server, "李先生", "13800000002", "HX-0930", "布艺沙发", "2026-10-30", "5800")
        expect(page.locator("#deadline-preview")).to_contain_text("期限已于 2026年11月29日 届满")
        page.get_by_role("button", name="登记退货").click()
        expect(page.locator("#return-state")).to_have_text("不予退货")
        expect(page.locator("#deadline-passed")).to_contain_text("期限已于 2026年11月29日 届满")
        expect(page.locator("#deadline-passed")).to_contain_text("第 31 天")
        expect(page.locator("#return-actions")).not_to_contain_text("同意退货")
        screenshot(page, "refused-day-31")

        # The month's summary counts both, and the register lists the reason told.
        page.goto(f"{live_server}/returns")
        page.get_by_role("link", name="月度汇总表").click()
        expect(page.locator("#fig-total")).to_have_text("2")
        expect(page.locator("#fig-refused")).to_have_text("1")
        expect(page.locator("#by-vendor")).to_contain_text("林氏家居")
        screenshot(page, "summary")
        page.get_by_role("link", name="退货登记表", exact=True).click()
        expect(page.locator("#register-rows")).to_contain_text("超过退货期限")
        screenshot(page, "register")
