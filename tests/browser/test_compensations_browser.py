"""A specialist proposes an advance compensation above the leadership amount; the manager and
leadership approve it on their tablets; the desk's payment above the approval goes back for it."""
import datetime as dt

import time_machine
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.conftest import PASSWORD

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def test_a_compensation_is_proposed_approved_in_two_tiers_and_paid(live_server, new_context, make_user, screenshot):
    with time_machine.travel(dt.datetime(2026, 11, 2, 10, 0, tzinfo=SHANGHAI), tick=True):
        make_user("spec", "specialist", display_name="李专员")
        make_user("manager", "service_manager", display_name="杨经理")
        make_user("leader", "leadership", display_name="赵领导")
        make_user("desk", "front_desk", display_name="王前台")
        page = new_context().new_page()
        log_in(page, live_server, "spec", PASSWORD)
        page.get_by_role("navigation").get_by_role("link", name="先行赔偿").click()
        page.get_by_role("link", name="提出先行赔偿").click()
        page.get_by_label("客户姓名").fill("周强")
        page.get_by_label("客户电话").fill("13812340001")
        page.get_by_label("事情经过，及公司先行赔付的原因").fill("送货时磕坏顾客家门框，物流公司未赔付。")
        page.get_by_label("应偿还方（厂商或责任方）").fill("顺达物流有限公司")
        page.get_by_label("拟赔金额（元）").fill("2,500.5")
        page.get_by_role("button", name="提交审批").click()
        expect(page.locator("#compensation-state")).to_have_text("审批中")
        expect(page.locator("#waiting-for")).to_contain_text("杨经理")
        screenshot(page, "proposed")

        manager = new_context().new_page()
        log_in(manager, live_server, "manager", PASSWORD)
        manager.get_by_role("navigation").get_by_role("link", name="先行赔偿").click()
        manager.locator("#inbox-rows").get_by_role("link").first.click()
        manager.get_by_label("审批意见（退回时请写明原因）").fill("情况属实")
        manager.get_by_role("button", name="同意").click()
        expect(manager.locator("#waiting-for")).to_contain_text("赵领导")

        leader = new_context().new_page()
        log_in(leader, live_server, "leader", PASSWORD)
        leader.get_by_role("navigation").get_by_role("link", name="先行赔偿").click()
        leader.locator("#inbox-rows").get_by_role("link").first.click()
        leader.get_by_role("button", name="同意").click()
        expect(leader.locator("#compensation-state")).to_have_text("已批准，待付款")

        desk = new_context().new_page()
        log_in(desk, live_server, "desk", PASSWORD)
        desk.goto(leader.url)
        desk.get_by_label("付款金额（元）").fill("2600")
        desk.get_by_label("付款方式").select_option(label="银行转账")
        desk.get_by_role("button", name="登记付款").click()
        expect(desk.locator("#compensation-state")).to_have_text("审批中")
        expect(desk.locator("#toasts")).to_contain_text("高于已批准的 ¥2,500.50")
        expect(desk.locator("#requested-amount")).to_contain_text("2,600.00")
        screenshot(desk, "sent-back")
