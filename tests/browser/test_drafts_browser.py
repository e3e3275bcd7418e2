"""Drafts and forms as people met them: a restored draft keeps what was meant and everything
typed, a limit is told before anything is cut, a failed save leaves the retry button in
reach, and fields that do not apply are hidden."""
import datetime as dt
import re

from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.conftest import PASSWORD

NEEDED = (dt.date.today() + dt.timedelta(days=14)).isoformat()


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
