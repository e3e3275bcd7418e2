"""The weekly complaint archives on the reports page, at tablet size in Chinese, as the
service manager reads them before the group's inspection."""
from playwright.sync_api import expect

from models.weekly_archive import WeeklyArchive
from tests.browser.conftest import log_in
from tests.conftest import PASSWORD
from tests.test_weekly_archive import at, clerk, complaint, counter, step, sweep_at  # noqa: F401 (fixtures)


def test_the_manager_finds_last_weeks_archive_with_the_reports(live_server, new_context, make_user, clerk,
                                                               complaint, screenshot):
    make_user("yang", "service_manager", display_name="杨磊")
    leaking = complaint(at(2026, 11, 17, 9), name="王先生", content="冰箱漏水")
    complaint(at(2026, 11, 18, 14), category="delivery", severity="major", name="陈女士", content="送货延误")
    step(leaking.id, "pause", clerk, at(2026, 11, 17, 10), note="等客户提供购买凭证")
    sweep_at(at(2026, 11, 23, 0, 15))
    archive = WeeklyArchive.get()
    page = new_context().new_page()
    log_in(page, live_server, "yang", PASSWORD)
    page.goto(f"{live_server}/reports")
    recent = page.locator("#weekly-archives-recent")
    expect(recent).to_contain_text("投诉周汇总档案")
    expect(recent).to_contain_text("TSZ-2026-000001")
    expect(recent).to_contain_text("2026-W47")
    screenshot(page, "reports-page")
    response = page.request.get(f"{live_server}/reports/weekly/{archive.id}.pdf")
    assert response.headers["content-type"] == "application/pdf"
    recent.get_by_role("link", name="全部周汇总档案").click()
    expect(page.locator("#weekly-archives")).to_contain_text("TSZ-2026-000001")
    screenshot(page, "all-archives", full_page=False)
