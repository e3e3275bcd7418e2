"""A new member of staff on the desk tablet: log in, switch language, meet an error."""
import re

from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.browser.conftest import log_in


def test_new_front_desk_user_logs_in_and_switches_language(live_server, page, make_user, screenshot):
    make_user("desk", "front_desk", display_name="王芳")
    page.goto(f"{live_server}/")
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    page.get_by_label("用户名").fill("desk")
    page.get_by_label("密码").fill("wrong password")
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#password-error")).to_have_text("用户名或密码错误。")
    expect(page.get_by_label("用户名")).to_have_value("desk")
    screenshot(page, "login-error")

    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="王芳，您好")).to_be_visible()
    expect(page.locator("main").get_by_text("前台接待")).to_be_visible()
    screenshot(page, "home-zh")

    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Hello, 王芳")).to_be_visible()
    screenshot(page, "home-en")
    # The choice is kept on the account: after logging in afresh (the login page
    # follows the browser's Chinese), the portal is in English again.
    page.context.clear_cookies()
    log_in(page, live_server, "desk", PASSWORD)
    expect(page.get_by_role("heading", name="Hello, 王芳")).to_be_visible()


def test_admin_creates_a_user_and_a_failed_save_keeps_the_form(live_server, new_context, make_user, screenshot):
    make_user("boss", "admin", display_name="管理员")
    context = new_context()
    page = context.new_page()
    log_in(page, live_server, "boss", PASSWORD)
    page.locator("main").get_by_role("link", name="用户管理").click()
    page.get_by_role("link", name="新建用户").click()
    page.get_by_label("用户名").fill("desk")
    page.get_by_label("姓名").fill("李娜")
    page.get_by_label("前台接待").check()
    page.get_by_label("手机（保密）").fill("12345")
    page.get_by_role("button", name="创建用户").click()
    expect(page.locator("#mobile-error")).to_contain_text("11位手机号")
    expect(page.get_by_label("姓名")).to_have_value("李娜")
    screenshot(page, "new-user-error")

    # The network drops: nothing is saved, the user is told, and the form stays filled.
    page.get_by_label("手机（保密）").fill("13812345678")
    context.set_offline(True)
    page.get_by_role("button", name="创建用户").click()
    expect(page.locator("#user-new-form .form-failure")).to_contain_text("未保存")
    expect(page.get_by_label("姓名")).to_have_value("李娜")
    screenshot(page, "offline")
    # Even a reload while offline-then-online keeps what was typed (the draft).
    context.set_offline(False)
    page.reload()
    expect(page.get_by_label("姓名")).to_have_value("李娜")
    expect(page.get_by_label("手机（保密）")).to_have_value("13812345678")
    page.get_by_role("button", name="创建用户").click()
    expect(page.locator(".toast")).to_contain_text(re.compile("账号 desk 已创建"))
    screenshot(page, "user-created")

    # The new person logs in with the one-time password and must choose their own.
    toast = page.locator(".toast").first.inner_text()
    one_time = re.search(r"一次性密码：(\S+)", toast).group(1)
    other = new_context(locale="en-US").new_page()
    log_in(other, live_server, "desk", one_time, ("Username", "Password"), "Log in")
    expect(other.get_by_role("heading", name="Change password")).to_be_visible()
    other.get_by_label("Current password").fill(one_time)
    other.get_by_label("New password", exact=True).fill("my-own-password")
    other.get_by_label("New password again").fill("my-own-password")
    other.get_by_role("button", name="Change password").click()
    expect(other.get_by_role("heading", name="Hello, 李娜")).to_be_visible()
    screenshot(other, "front-desk-home-en")
