"""The Content-Security-Policy in a real browser: Chromium refuses every inline script, handler and
style the policy forbids and says so in the console. A clerk works through the htmx-heavy pages
(an invalid form swapped in place, the host picker, polling lists, a choice that submits itself,
a lookup redrawn as a field changes) and the wall board polls: nothing is refused, nothing fails."""
import re

from playwright.sync_api import expect

from models.board import create_token, revoke_token
from models.roles import ROLES
from tests.browser.conftest import WALL, log_in

#: What Chromium and htmx print when a policy refuses something, or htmx may not evaluate.
REFUSED = re.compile(r"Content.Security.Policy|Permissions.Policy|Refused to|evalDisallowed|unsafe-", re.I)
#: An answer htmx asked for and got a 4xx to (the invalid form's 422) is logged, and is no fault here.
HTTP_ERROR = re.compile(r"Failed to load resource: the server responded with a status of 4\d\d")


def watch(page, faults):
    """Everything the page says went wrong: refusals, script errors, console errors."""
    def on_console(message):
        if REFUSED.search(message.text) or (message.type == "error" and not HTTP_ERROR.search(message.text)):
            faults.append(f"{page.url}: console {message.type}: {message.text}")
    page.on("console", on_console)
    page.on("pageerror", lambda error: faults.append(f"{page.url}: {error}"))
    return page


def test_the_htmx_pages_run_under_the_policy_without_a_refusal(app, live_server, new_context, make_user, screenshot):
    clerk = make_user("clerk", *sorted(ROLES), display_name="王芳", department="客服部")
    make_user("zhang", "specialist", display_name="张伟")
    with app.app_context():
        row, token = create_token(clerk, "大堂屏幕")
    faults = []
    wall = watch(new_context(viewport=WALL).new_page(), faults)
    wall.goto(f"{live_server}/board?token={token}")

    page = watch(new_context().new_page(), faults)
    log_in(page, live_server, "clerk")

    # The status choice sends itself (a listener in portal.js, not an onchange attribute).
    with page.expect_navigation():
        page.get_by_label("我的状态（前台可见）").select_option(label="开会中")
    expect(page.get_by_label("我的状态（前台可见）")).to_have_value("meeting")
    with app.app_context():
        from models.users import User
        assert User.get_by_id(clerk.id).availability == "meeting"

    # An invalid complaint comes back in place (htmx, 422), then goes in.
    page.goto(f"{live_server}/complaints/new")
    page.get_by_label("客户姓名").fill("张先生")
    page.get_by_label("电话").fill("12345")
    page.get_by_label("类别").select_option(label="产品质量")
    page.get_by_label("投诉内容").fill("会议室空调又漏水了")
    page.get_by_role("button", name="登记投诉").click()
    expect(page.locator("#phone-error")).to_be_visible()
    page.get_by_label("电话").fill("138 0013 8000")
    page.get_by_role("button", name="登记投诉").click()
    expect(page.locator("#complaint-state")).to_have_text("已接收")

    # The visitor form's host picker, then the desk's polled list.
    page.goto(f"{live_server}/visitors/new")
    page.get_by_label("电话").fill("13900139000")
    page.get_by_label("访客姓名").fill("李明")
    page.get_by_label(re.compile("张伟")).check()
    page.get_by_role("button", name="登记并通知被访人").click()
    expect(page.get_by_role("heading", name=re.compile("李明"))).to_be_visible()
    page.goto(f"{live_server}/visitors")
    expect(page.locator("#main")).to_contain_text("李明")

    # A date that redraws the return's deadline as it changes.
    page.goto(f"{live_server}/returns/new")
    page.get_by_label("销售日期").fill("2026-01-05")
    expect(page.locator("#deadline-preview")).to_be_visible()

    # The rooms' day sends itself too; the report draws its legend without a style attribute.
    page.goto(f"{live_server}/rooms")
    page.get_by_label("会议日期").fill("2026-03-05")
    page.wait_for_url(re.compile(r"day=2026-03-05"))
    page.goto(f"{live_server}/reports")
    expect(page.locator(".chart-legend .swatch").first).to_be_visible()
    screenshot(page, "report")
    page.goto(f"{live_server}/broadcast")
    expect(page.locator("#on-air")).to_be_visible()

    # The wall has polled meanwhile (every 5 s) and shows the visitor who came.
    expect(wall.locator(".tile.big .number")).to_have_text("1", timeout=7_000)
    # Its link revoked, the wall says so and stops asking (that was an evaluated filter too).
    with app.app_context():
        revoke_token(clerk, row)
    expect(wall.locator(".revoked")).to_contain_text("此看板链接已失效", timeout=7_000)
    asked = []
    wall.on("request", lambda request: asked.append(request.url))
    wall.wait_for_timeout(6_000)
    assert asked == []
    assert not faults, "\n".join(faults)


def test_the_broadcast_screen_holds_still_while_a_missed_entry_is_written(app, live_server, new_context, make_user):
    """The poll's pause was an htmx filter (evaluated, which the policy forbids); it is a listener now."""
    import datetime as dt

    from models import broadcast, settings
    from models.timezone import local_now
    caster = make_user("caster", "broadcaster", "service_manager", display_name="孙丽")
    now = local_now()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    starts = max(now - dt.timedelta(minutes=2), midnight).strftime("%H:%M")  # begun: it may be recorded
    ends = min(now + dt.timedelta(minutes=30), midnight + dt.timedelta(hours=23, minutes=59)).strftime("%H:%M")
    with app.test_request_context():
        settings.save(caster, {broadcast.SCREEN_REFRESH_SECONDS: 5})
        for variant in broadcast.VARIANTS:
            broadcast.add_slot(caster, variant=variant, starts=starts, ends=ends, kind="music", title="迎宾曲")
    faults = []
    page = watch(new_context().new_page(), faults)
    log_in(page, live_server, "caster")
    page.goto(f"{live_server}/broadcast")
    polls = []
    page.on("request", lambda request: polls.append(request.url) if "/broadcast" in request.url else None)
    page.locator("details.missed summary").first.click()
    page.get_by_label("漏播原因").first.fill("设备故障")
    page.wait_for_timeout(6_500)
    assert polls == []  # held while the reason is being written
    expect(page.get_by_label("漏播原因").first).to_have_value("设备故障")
    page.locator("details.missed summary").first.click()
    page.wait_for_event("request", lambda request: "/broadcast" in request.url, timeout=7_000)
    assert not faults, "\n".join(faults)
