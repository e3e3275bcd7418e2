"""Browser tests: the app served on a free loopback port, driven in Debian's Chromium
through Playwright (never a downloaded browser). Screenshots go to tests/screenshots/
(git-ignored): look at them, they are what the staff will see."""
import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import PASSWORD

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"
TABLET = {"width": 768, "height": 1024}
WALL = {"width": 1920, "height": 1080}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def pytest_collection_modifyitems(items):
    for item in items:
        if "/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def live_server(app):
    """The app on 127.0.0.1:<free port>, in a thread, for the length of one test."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_context(browser):
    """new_context(locale="zh-CN", viewport=TABLET): a fresh browser profile (a second person)."""
    contexts = []

    def make(locale="zh-CN", viewport=None, **kwargs):
        context = browser.new_context(locale=locale, viewport=viewport or TABLET, has_touch=True, **kwargs)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context
    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context):
    return new_context().new_page()


@pytest.fixture
def screenshot(request):
    """screenshot(page, "name"): saved as tests/screenshots/<test>-<name>.png."""
    SCREENSHOTS.mkdir(exist_ok=True)

    def take(page, name, full_page=True):
        path = SCREENSHOTS / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path
    return take


def log_in(page, base_url, username, password=PASSWORD, lang_labels=("用户名", "密码"), submit="登录", expect_success=True):
    """Log in as a person would: by the visible labels."""
    page.goto(f"{base_url}/login")
    page.get_by_label(lang_labels[0]).fill(username)
    page.get_by_label(lang_labels[1]).fill(password)
    page.get_by_role("button", name=submit).click()
    if expect_success:
        page.wait_for_url(lambda url: "/login" not in url)


def act(page, label, **fields):
    """Open an action on the complaint page, fill its fields by label, and submit it."""
    page.locator("summary", has_text=label).first.click()
    form = page.locator("details[open] form")
    for field_label, value in fields.items():
        box = form.get_by_label(field_label)
        if box.evaluate("e => e.tagName") == "SELECT":
            box.select_option(label=value)
        else:
            box.fill(value)
    form.locator("button[type=submit]").click()
