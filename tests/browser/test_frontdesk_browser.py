"""A new front-desk user at 768×1024: a returning visitor from a suggestion, the host
answers from a second browser, the desk sees it without reloading, the pass prints,
check-out; then a call with a promised reply shows in the promiser's due list."""
import datetime as dt
import re

from playwright.sync_api import expect

from models.visitors import register_visit
from tests.browser.conftest import log_in
from tests.conftest import PASSWORD
from tests.pdf import assert_embedded_cjk_font, pdf_text


def test_returning_visitor_host_answer_pass_and_promised_call(app, live_server, new_context, make_user, screenshot):
    make_user("desk", "front_desk", display_name="王芳")
    host = make_user("zhang", "specialist", display_name="张伟", department="客户服务部", extension="8101")
    with app.app_context():
        earlier = register_visit(None, visitor_name="李明", phone="13800138000", organisation="华信科技",
                                 purpose="meeting", purpose_other="", host=host, companions=0, id_number="",
                                 car_plate="", note="", arrived_at=dt.datetime.utcnow() - dt.timedelta(days=7))
        from models.visitors import apply
        apply(None, earlier.id, "check_out")

    desk = new_context().new_page()
    log_in(desk, live_server, "desk", PASSWORD)
    desk.get_by_role("navigation").get_by_role("link", name="来访登记").click()
    # Tap 1: register; type the phone; tap 2: the suggestion; tap 3: register.
    desk.get_by_role("link", name="来访登记").last.click()
    desk.get_by_label("电话").fill("1380013")
    suggestion = desk.get_by_role("link", name=re.compile("李明 138 0013 8000"))
    expect(suggestion).to_be_visible()
    screenshot(desk, "suggestion")
    suggestion.click()
    expect(desk.get_by_label("访客姓名")).to_have_value("李明")
    expect(desk.get_by_label(re.compile("张伟"))).to_be_checked()
    desk.get_by_role("button", name="登记并通知被访人").click()
    expect(desk.get_by_role("heading", name=re.compile("李明 VP-"))).to_be_visible()
    pass_url = desk.get_by_role("link", name="打印访客证").get_attribute("href")
    pdf = desk.request.get(f"{live_server}{pass_url}")
    assert "李明" in pdf_text(pdf.body()) and "访客证" in pdf_text(pdf.body())
    assert_embedded_cjk_font(pdf.body())
    desk.get_by_role("link", name="返回前台").click()
    expect(desk.locator("#desk-board")).to_contain_text("被访人尚未回复")
    screenshot(desk, "desk-waiting")

    # The host, in a second browser, answers from the notification on the home page: one tap.
    host_page = new_context().new_page()
    log_in(host_page, live_server, "zhang", PASSWORD)
    note = host_page.locator("li.notification", has_text="李明（华信科技）正在前台等您")
    expect(note.get_by_role("button", name="马上到前台")).to_be_visible()
    screenshot(host_page, "host-notification")
    note.get_by_role("button", name="马上到前台").click()
    expect(host_page.get_by_text("已将您的回复告知前台")).to_be_visible()
    expect(note.get_by_text("您的回复: 马上到前台")).to_be_visible()
    screenshot(host_page, "host-answered")

    # The desk sees the answer and its time without reloading (polling every 5 s); the
    # visitor waits at the desk until the host is there.
    waiting = desk.locator("#desk-board .card").first
    expect(waiting).to_contain_text(re.compile(r"被访人马上来（\d\d:\d\d）"), timeout=12_000)
    expect(waiting).to_contain_text("李明")
    screenshot(desk, "desk-host-coming")
    waiting.get_by_role("button", name="已与被访人会面").click()
    expect(desk.locator("#desk-board")).to_contain_text("与 张伟 会面")
    expect(waiting).to_contain_text("当前无等候访客")
    screenshot(desk, "desk-on-site")
    desk.locator("#desk-board").get_by_role("button", name="签退").click()
    expect(desk.locator("#desk-board")).to_contain_text("当前无在场访客")

    # A call with a promised reply lands in the promiser's due list.
    desk.get_by_role("navigation").get_by_role("link", name="电话接听").click()
    desk.get_by_role("link", name="登记来电").click()
    desk.get_by_label("来电人姓名").fill("周先生")
    desk.get_by_label("电话").fill("021-62345678")
    desk.get_by_label("来电事由").fill("空调不制冷，要求维修")
    desk.get_by_label("处理方式").select_option(label="承诺回复")
    desk.get_by_label("答复人").select_option(label="张伟")
    desk.get_by_label("答复期限").fill((dt.datetime.utcnow() + dt.timedelta(hours=12)).strftime("%Y-%m-%dT%H:%M"))
    screenshot(desk, "call-form")
    desk.get_by_role("button", name="登记", exact=True).click()
    expect(desk.get_by_role("heading", name=re.compile("周先生"))).to_be_visible()
    host_page.goto(f"{live_server}/calls/due")
    expect(host_page.get_by_text("空调不制冷，要求维修")).to_be_visible()
    screenshot(host_page, "due-list")


def test_after_a_save_the_next_form_starts_empty(live_server, new_context, make_user):
    """The draft of a saved form must not come back (with its used submission key)."""
    make_user("desk", "front_desk", display_name="王芳")
    make_user("zhang", "specialist", display_name="张伟")
    desk = new_context().new_page()
    log_in(desk, live_server, "desk", PASSWORD)
    for name, phone in (("李明", "13800138000"), ("王强", "13900139000")):
        desk.goto(f"{live_server}/visitors/new")
        expect(desk.get_by_label("访客姓名")).to_have_value("")
        desk.get_by_label("电话").fill(phone)
        desk.get_by_label("访客姓名").fill(name)
        desk.get_by_label(re.compile("张伟")).check()
        desk.get_by_role("button", name="登记并通知被访人").click()
        expect(desk.get_by_role("heading", name=re.compile(name))).to_be_visible()
    from models.visitors import Visit
    assert sorted(v.visitor_name for v in Visit.select()) == ["李明", "王强"]
