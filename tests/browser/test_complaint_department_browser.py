"""The department's side of a complaint at tablet size, in Chinese: the navigation counts
what waits on it, the page names every deadline, and the department signs for it and
names who handles it; customer service makes a customer VIP later."""
import datetime as dt
import re

import time_machine
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import act
from tests.browser.conftest import log_in as enter
from tests.helpers import on_the_clock


@pytest.fixture(autouse=True)
def _deadlines_on_the_clock(app):
    """The deadlines read here are wall-clock hours; working time is the default since the official calendar."""
    on_the_clock(app)


SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def test_the_department_signs_for_a_complaint_and_sees_its_deadlines(live_server, new_context, make_user,
                                                                     screenshot):
    # Monday 10:00 in the configured zone; the clock runs.
    with time_machine.travel(dt.datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI), tick=True):
        make_user("spec", "specialist", display_name="李专员")
        make_user("head", "dept_head", display_name="赵主任", department="维修部")
        make_user("fitter", "front_desk", display_name="钱师傅", department="维修部")

        desk = new_context().new_page()
        enter(desk, live_server, "spec")
        desk.goto(f"{live_server}/complaints/new")
        desk.get_by_label("客户姓名").fill("张先生")
        desk.get_by_label("电话").fill("138 0013 8000")
        desk.get_by_label("类别").select_option(label="产品质量")
        desk.get_by_label("严重程度").select_option(label="重大")
        desk.get_by_label("投诉内容").fill("新买的洗衣机漏水，已经找过两次")
        desk.get_by_role("button", name="登记投诉").click()
        expect(desk.locator("#complaint-state")).to_have_text("已接收")
        number = desk.locator("h1").inner_text().split()[-1]
        deadlines = desk.locator("#deadlines")
        expect(deadlines).to_contain_text("答复客户期限：2026-11-24 10:00")
        expect(deadlines).to_contain_text("重大投诉解决方案期限（自受理起算）：2026-11-26 10:00")
        expect(deadlines).to_contain_text("部门处理期限：2026-11-26 10:00")
        expect(desk.locator("#deadline-clock")).to_have_text("按自然时间计算（全天连续计时）。")
        act(desk, "受理致歉", **{"向客户的致歉与承诺": "已致歉，承诺明天上门"})
        act(desk, "转交责任部门", **{"责任部门": "维修部"})
        expect(desk.locator("#complaint-state")).to_have_text("已转交")

        # The customer turns out to be a VIP: the deadlines follow, from intake.
        desk.locator("summary", has_text="更改 VIP 或严重程度").click()
        form = desk.locator("details[open] form")
        form.get_by_label("VIP客户").check()
        form.get_by_label("更改原因").fill("客户是签约大客户")
        form.locator("button[type=submit]").click()
        expect(desk.locator(".page-head .tag.vip")).to_be_visible()
        expect(deadlines).to_contain_text("答复客户期限：2026-11-23 14:00")
        expect(deadlines).to_contain_text("部门处理期限：2026-11-23 22:00")
        expect(desk.locator("#timeline")).to_contain_text("已更改 VIP 或严重程度，时限已重新计算")
        screenshot(desk, "vip-recomputed")

        # The department's member: the navigation counts it, the inbox is one tap away.
        dept = new_context().new_page()
        enter(dept, live_server, "fitter")
        inbox_link = dept.get_by_role("navigation").get_by_role("link", name=re.compile("部门待办"))
        expect(inbox_link.locator(".nav-count")).to_have_text("1")
        screenshot(dept, "nav-count", full_page=False)
        inbox_link.click()
        dept.get_by_role("link", name=number).click()
        act(dept, "签收", **{"经办人": "钱师傅", "签收备注": "明早九点上门"})
        expect(dept.locator("#complaint-state")).to_have_text("部门已签收")
        expect(dept.locator("#complaint-handler")).to_have_text("钱师傅")
        expect(dept.locator("#timeline")).to_contain_text("经办人：钱师傅")
        expect(dept.locator("summary", has_text="登记处理措施")).to_be_visible()
        screenshot(dept, "signed")
        # Still waiting on the department (to handle it): still counted.
        expect(dept.get_by_role("navigation").get_by_role("link", name=re.compile("部门待办"))
               .locator(".nav-count")).to_have_text("1")
