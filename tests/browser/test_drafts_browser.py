"""Drafts and forms as people met them: a restored draft keeps what was meant and everything
typed, a limit is told before anything is cut, a failed save leaves the retry button in
reach, and fields that do not apply are hidden."""
import datetime as dt
import re

from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.conftest import PASSWORD

NEEDED = (dt.date.today() + dt.timedelta(days=14)).isoformat()


def _requester(make_user):
    make_user("req", "specialist", department="客服部", display_name="张申请")
    make_user("head", "dept_head", department="客服部", display_name="陈主任")


def _fill_line(page, n, name, quantity="2", unit="箱", price="30"):
    line = page.locator(f"#lines-{n}-item_name-field").locator("xpath=ancestor::fieldset[1]")
    line.get_by_label("物资名称").fill(name)
    line.get_by_label("数量").fill(quantity)
    line.get_by_label("单位").fill(unit)
    line.get_by_label("预估单价（元）").fill(price)
    line.get_by_label("需求日期").fill(NEEDED)


def _requisitions(app):
    from models.procurement.requisitions import Requisition
    with app.app_context():
        return [(r.state, [line.item_name for line in r.lines_list()]) for r in Requisition.select().order_by(Requisition.id)]


def test_a_restored_requisition_draft_still_submits_for_approval(app, live_server, new_context, make_user,
                                                                 screenshot):
    _requester(make_user)
    page = new_context().new_page()
    log_in(page, live_server, "req", PASSWORD)
    page.goto(f"{live_server}/procurement/new")
    _fill_line(page, 0, "A4打印纸")
    page.reload()
    expect(page.locator(".draft-note")).to_contain_text("已恢复")
    expect(page.get_by_label("物资名称")).to_have_value("A4打印纸")
    screenshot(page, "restored", full_page=False)
    page.get_by_role("button", name="提交审批").click()
    expect(page.locator("#requisition-state")).to_have_text("审批中")
    assert _requisitions(app) == [("pending", ["A4打印纸"])]


def test_a_returned_requisition_restored_after_a_new_login_is_resubmitted(app, live_server, new_context, make_user,
                                                                          screenshot):
    from models import procurement
    from models.procurement import requisitions
    from models.procurement.requisitions import Requisition
    from models.users import User
    _requester(make_user)
    with app.test_request_context():
        requester, head = User.get(User.username == "req"), User.get(User.username == "head")
        line = {"item_name": "A4打印纸", "spec": "", "quantity": 20, "unit": "箱", "unit_price": 30,
                "needed_on": dt.date.fromisoformat(NEEDED), "purpose": ""}
        requisition = requisitions.create(requester, department_id=requester.department_id, lines=[line], submit=True)
        procurement.apply(head, requisition.id, Requisition.get_by_id(requisition.id).version, "reject",
                           reason="数量太多，先买5箱")

    context = new_context()
    page = context.new_page()
    log_in(page, live_server, "req", PASSWORD)
    edit_url = f"{live_server}/procurement/{requisition.id}/edit"
    page.goto(edit_url)
    page.get_by_label("数量").fill("5")
    # The session ends over lunch; the requester logs in again and finds the form as typed.
    context.clear_cookies()
    log_in(page, live_server, "req", PASSWORD)
    page.goto(edit_url)
    expect(page.get_by_label("数量")).to_have_value("5")
    page.get_by_role("button", name="提交审批").click()
    expect(page.locator(".toast")).to_contain_text("采购申请已提交审批")
    screenshot(page, "resubmitted", full_page=False)
    with app.app_context():
        again = Requisition.get_by_id(requisition.id)
        assert again.state == "pending"
        assert [line.quantity for line in again.lines_list()] == [5]


def test_three_requisition_lines_survive_a_reload(app, live_server, new_context, make_user, screenshot):
    _requester(make_user)
    page = new_context().new_page()
    log_in(page, live_server, "req", PASSWORD)
    page.goto(f"{live_server}/procurement/new")
    names = ["A4打印纸", "签字笔", "文件夹"]
    for n, name in enumerate(names):
        if n:
            page.get_by_role("button", name="再加一项物资").click()
            expect(page.locator(f"#lines-{n}-item_name")).to_be_visible()
        _fill_line(page, n, name)
    page.reload()
    expect(page.locator("fieldset.req-line")).to_have_count(3)
    for n, name in enumerate(names):
        expect(page.locator(f"#lines-{n}-item_name")).to_have_value(name)
        expect(page.locator(f"#lines-{n}-needed_on")).to_have_value(NEEDED)
    expect(page.locator("fieldset.req-line legend").nth(2)).to_have_text("物资 3")
    expect(page.get_by_label("物资名称", exact=True).nth(2)).to_have_value("文件夹")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "three-lines")
    page.get_by_role("button", name="提交审批").click()
    expect(page.locator("#requisition-state")).to_have_text("审批中")
    assert _requisitions(app) == [("pending", names)]


def test_a_host_beyond_the_first_eight_survives_a_reload(app, live_server, new_context, make_user, screenshot):
    make_user("desk", "front_desk", display_name="王芳")
    for n in range(1, 11):
        make_user(f"staff{n:02}", "specialist", display_name=f"职员{n:02}")
    page = new_context().new_page()
    log_in(page, live_server, "desk", PASSWORD)
    page.goto(f"{live_server}/visitors/new")
    expect(page.locator("#host-options .host-option")).to_have_count(8)
    page.get_by_label("电话").fill("13800138000")
    page.get_by_label("访客姓名").fill("李明")
    page.locator("#host_q").press_sequentially("职员10")
    page.get_by_label(re.compile("职员10")).check()
    page.reload()
    expect(page.get_by_label(re.compile("职员10"))).to_be_checked()
    expect(page.get_by_label("访客姓名")).to_have_value("李明")
    screenshot(page, "host-restored", full_page=False)
    page.get_by_role("button", name="登记并通知被访人").click()
    expect(page.get_by_role("heading", name=re.compile("李明"))).to_be_visible()
    from models.visitors import Visit
    with app.app_context():
        assert [v.host.display_name for v in Visit.select()] == ["职员10"]


def test_a_choice_that_cannot_come_back_is_named_not_dropped(app, live_server, new_context, make_user, screenshot):
    from models.users import User
    make_user("desk", "front_desk", display_name="王芳")
    make_user("zhang", "specialist", display_name="张伟")
    page = new_context().new_page()
    log_in(page, live_server, "desk", PASSWORD)
    page.goto(f"{live_server}/visitors/new")
    page.get_by_label("访客姓名").fill("李明")
    page.get_by_label(re.compile("张伟")).check()
    with app.app_context():  # the host leaves the company before the form is sent
        User.update(is_active=False).where(User.username == "zhang").execute()
    page.reload()
    expect(page.get_by_label("访客姓名")).to_have_value("李明")
    expect(page.locator(".draft-note")).to_contain_text("以下内容无法放回表单")
    expect(page.locator(".draft-note li")).to_have_text("被访人: 张伟")
    screenshot(page, "host-gone", full_page=False)


def test_an_over_long_paste_is_told_beside_the_field_and_kept(app, live_server, new_context, make_user, screenshot):
    _requester(make_user)
    page = new_context().new_page()
    log_in(page, live_server, "req", PASSWORD)
    page.goto(f"{live_server}/procurement/new")
    _fill_line(page, 0, "")
    pasted = "超长的物资名称" * 300  # 2,100 characters
    page.get_by_label("物资名称").focus()
    page.keyboard.insert_text(pasted)
    expect(page.get_by_label("物资名称")).to_have_value(pasted)
    beside = page.locator("#lines-0-item_name-field .length-error")
    expect(beside).to_contain_text("2100")
    expect(beside).to_contain_text("80")
    screenshot(page, "too-long", full_page=False)
    page.get_by_role("button", name="提交审批").click()
    expect(page.locator("#lines-0-item_name-error")).to_have_text("字段长度不能超过 80 个字符。")
    expect(beside).to_contain_text("2100")
    expect(page.get_by_label("物资名称")).to_have_value(pasted)
    screenshot(page, "too-long-refused", full_page=False)
    assert _requisitions(app) == []


def _offline_submit_keeps_the_button_in_reach(page, context, button, form, screenshot):
    # The clerk scrolled down to the button, as on the tablet, once portal.js has brought the
    # last field typed into view (300 ms after focus, then a smooth scroll).
    page.wait_for_timeout(1000)
    button.evaluate("b => b.scrollIntoView({block: 'end'})")
    context.set_offline(True)
    button.click()
    expect(form).to_contain_text("未保存")
    expect(button).to_be_enabled()
    assert button.evaluate("""b => { const r = b.getBoundingClientRect();
        return document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === b; }""")
    screenshot(page, "offline", full_page=False)
    context.set_offline(False)
    with page.expect_response(lambda response: response.request.method == "POST"):
        button.click()


def test_an_offline_visitor_registration_leaves_the_button_in_reach(app, live_server, new_context, make_user,
                                                                    screenshot):
    make_user("desk", "front_desk", display_name="王芳")
    make_user("zhang", "specialist", display_name="张伟")
    context = new_context()
    page = context.new_page()
    log_in(page, live_server, "desk", PASSWORD)
    page.goto(f"{live_server}/visitors/new")
    page.get_by_label("电话").fill("13800138000")
    page.get_by_label("访客姓名").fill("李明")
    page.get_by_label(re.compile("张伟")).check()
    _offline_submit_keeps_the_button_in_reach(page, context, page.get_by_role("button", name="登记并通知被访人"),
                                              page.locator("#visit-form"), screenshot)
    expect(page.get_by_role("heading", name=re.compile("李明"))).to_be_visible()


def test_an_offline_handover_save_leaves_the_button_in_reach(app, live_server, new_context, make_user, screenshot):
    make_user("desk", "front_desk", display_name="王芳")
    context = new_context()
    page = context.new_page()
    log_in(page, live_server, "desk", PASSWORD)
    page.get_by_role("navigation").get_by_role("link", name="值班日志").click()
    page.get_by_role("button", name="准备交接班").click()
    page.get_by_label("需传达的上级指示").fill("明早九点消防检查")
    _offline_submit_keeps_the_button_in_reach(page, context, page.get_by_role("button", name="保存交接内容"),
                                              page.locator("#handover-form"), screenshot)
    expect(page.locator("#handover-form .form-failure")).to_have_count(0)
    from models.duty import Handover
    with app.app_context():
        assert [h.instructions for h in Handover.select()] == ["明早九点消防检查"]


def test_the_call_form_hides_the_reply_fields_unless_a_reply_is_promised(live_server, new_context, make_user,
                                                                         screenshot):
    make_user("desk", "front_desk", display_name="王芳")
    page = new_context().new_page()
    log_in(page, live_server, "desk", PASSWORD)
    page.goto(f"{live_server}/calls/new")
    outcome = page.get_by_label("处理方式")
    outcome.select_option(label="已答复")
    expect(page.get_by_label("答复人")).to_be_hidden()
    expect(page.get_by_label("答复期限")).to_be_hidden()
    screenshot(page, "answered", full_page=False)
    outcome.select_option(label="承诺回复")
    expect(page.get_by_label("答复人")).to_be_visible()
    expect(page.get_by_label("答复期限")).to_be_visible()
