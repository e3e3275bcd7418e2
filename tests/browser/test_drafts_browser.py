"""Drafts and forms as people met them: a restored draft keeps what was meant and everything
typed, a limit is told before anything is cut, a failed save leaves the retry button in
reach, and fields that do not apply are hidden."""
import datetime as dt
import re

from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.conftest import PASSWORD

NEEDED = (dt.date.today() + dt.timedelta(days=14)).isoformat()


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
