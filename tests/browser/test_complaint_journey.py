"""A complaint's whole journey as the people involved would live it, each in their own
browser: a front-desk call becomes a complaint, customer service assigns it, the
department reports a result, the callback finds the customer unsatisfied so the
complaint reopens, the next callback is satisfied, and the manager closes it."""
import datetime as dt
import re

import time_machine
from playwright.sync_api import expect

from tasks.callbacks import schedule_callbacks
from tests.browser.conftest import act
from tests.browser.conftest import log_in as enter
from tests.pdf import assert_embedded_cjk_font, pdf_text

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def test_from_a_call_to_a_closed_complaint_through_two_callbacks(live_server, new_context, make_user, screenshot):
    # A Monday morning in the configured zone, the clock running: callbacks fall due at once.
    with time_machine.travel(dt.datetime(2026, 11, 2, 10, 0, tzinfo=SHANGHAI), tick=True):
        make_user("desk", "front_desk", display_name="王前台")
        make_user("spec", "specialist", display_name="李专员")
        make_user("head", "dept_head", display_name="赵主任", department="维修部")
        make_user("manager", "service_manager", display_name="周经理")

        # The front desk takes a phone call that is a complaint and hands it over.
        desk = new_context().new_page()
        enter(desk, live_server, "desk")
        desk.get_by_role("navigation").get_by_role("link", name="电话接听").click()
        desk.get_by_role("link", name="登记来电").click()
        desk.get_by_label("来电人姓名").fill("孙女士")
        desk.get_by_label("电话").fill("139 1234 5678")
        desk.get_by_label("来电事由").fill("新买的冰箱不制冷")
        desk.get_by_label("类型").select_option(label="投诉")
        desk.get_by_label("处理方式").select_option(label="已答复")
        desk.get_by_label("答复内容").fill("已致歉，转客服部处理")
        desk.get_by_role("button", name="登记", exact=True).click()
        desk.get_by_role("link", name="转为投诉").click()
        expect(desk.get_by_label("客户姓名")).to_have_value("孙女士")
        expect(desk.get_by_label("投诉内容")).to_have_value("新买的冰箱不制冷")
        desk.get_by_label("类别").select_option(label="产品质量")
        desk.get_by_role("button", name="登记投诉").click()
        expect(desk.get_by_role("heading", name=re.compile("孙女士"))).to_be_visible()

        # Customer service acknowledges and assigns it.
        spec = new_context().new_page()
        enter(spec, live_server, "spec")
        spec.get_by_role("navigation").get_by_role("link", name="投诉", exact=True).click()
        spec.get_by_role("link", name=re.compile(r"TS-2026-\d+")).first.click()
        number = spec.locator("h1").inner_text().split()[-1]
        complaint_url = spec.url
        act(spec, "受理致歉", **{"向客户的致歉与承诺": "已致歉，承诺今天安排上门"})
        act(spec, "转交责任部门", **{"责任部门": "维修部"})
        expect(spec.locator("#complaint-state")).to_have_text("已转交")

        # The department handles it and reports back.
        dept = new_context().new_page()
        enter(dept, live_server, "head")

        def department_reports(result):
            dept.goto(f"{live_server}/complaints/inbox")
            dept.get_by_role("link", name=number).click()
            act(dept, "登记处理措施", **{"处理措施": "上门检查压缩机"})
            act(dept, "反馈处理结果", **{"处理结果": result})
            expect(dept.locator("#complaint-state")).to_have_text("已反馈处理结果")

        department_reports("已补充制冷剂")

        # Customer service tells the customer; the callback is now in today's queue.
        spec.goto(complaint_url)
        act(spec, "已告知客户")
        expect(spec.locator("#complaint-state")).to_have_text("已告知客户")
        schedule_callbacks.call_local()  # the minute sweep makes the callback
        spec.get_by_role("navigation").get_by_role("link", name="回访").click()
        queue = spec.locator("#callback-queue")
        expect(queue).to_contain_text("孙女士")
        expect(queue).to_contain_text(number)
        screenshot(spec, "queue")
        queue.get_by_role("link", name="孙女士").click()
        expect(spec.locator("#callback-script")).to_contain_text("请问您是孙女士")
        # Not satisfied without saying what: refused beside the field.
        spec.get_by_role("radio", name="不满意").check()
        spec.get_by_role("button", name="记录回访").click()
        expect(spec.locator("#note-error")).to_be_visible()
        screenshot(spec, "script-and-refusal", full_page=False)
        spec.get_by_label("客户的建议，或不满意之处").fill("第二天又不制冷了")
        spec.get_by_role("button", name="记录回访").click()
        expect(spec.locator("#callback-queue")).not_to_contain_text("孙女士")

        # The complaint is reopened, with what was wrong in its timeline.
        spec.goto(complaint_url)
        expect(spec.locator("#complaint-state")).to_have_text("已重新打开")
        expect(spec.locator("#timeline")).to_contain_text("第二天又不制冷了")
        screenshot(spec, "reopened")
        act(spec, "转交责任部门", **{"责任部门": "维修部"})
        department_reports("更换了压缩机")
        spec.goto(complaint_url)
        act(spec, "已告知客户")
        expect(spec.locator("#complaint-state")).to_have_text("已告知客户")
        schedule_callbacks.call_local()

        # The second callback: satisfied.
        spec.get_by_role("navigation").get_by_role("link", name="回访").click()
        spec.locator("#callback-queue").get_by_role("link", name="孙女士").click()
        spec.get_by_role("radio", name="满意", exact=True).check()
        spec.get_by_label("客户的建议，或不满意之处").fill("很满意，师傅很专业")
        spec.get_by_role("button", name="记录回访").click()
        expect(spec.locator("#callback-done")).to_contain_text("孙女士")
        expect(spec.locator("#today-figures")).to_contain_text("2 / 2")
        spec.goto(complaint_url)
        expect(spec.locator("#complaint-state")).to_have_text("回访满意")

        # The manager closes it with the root cause and the improvement.
        boss = new_context().new_page()
        enter(boss, live_server, "manager")
        boss.goto(complaint_url)
        act(boss, "关闭", **{"根本原因": "压缩机批次质量问题", "改进建议": "该批次全部抽检，更换供应商"})
        expect(boss.locator("#complaint-state")).to_have_text("已关闭")
        screenshot(boss, "closed")

        # The handling form prints for the paper archive, every step of the timeline on it.
        form = boss.request.get(live_server + boss.locator("#print-handling-form").get_attribute("href"))
        assert form.headers["content-type"] == "application/pdf"
        text = pdf_text(form.body()).replace(" ", "")
        for words in ("客户服务处理表", "孙女士", "第二天又不制冷了", "更换了压缩机", "压缩机批次质量问题",
                      "该批次全部抽检，更换供应商"):
            assert words in text, words
        assert_embedded_cjk_font(form.body())
        boss.goto(f"{live_server}/callbacks/stats?month=2026-11")
        expect(boss.locator("#stats-total")).to_contain_text("50.0 %")
        screenshot(boss, "stats")
