"""A specialist imports the sales list from the sales desk: the good rows become
callbacks, the bad ones are listed by row so they can be fixed."""
import datetime as dt

import time_machine
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.conftest import PASSWORD

SHANGHAI = dt.timezone(dt.timedelta(hours=8))

SALES_CSV = ("客户姓名,电话,产品,销售日期,保修截止,约定回访时间\n"
             "周强,13812340001,滚筒洗衣机,2026-10-03,2029-10-03,\n"
             "吴敏,12345,变频空调,2026-10-03,,\n"
             "郑涛,13812340003,电热水器,2026-10-32,,\n").encode("utf-8")


def test_a_sales_list_with_a_bad_row_is_imported_and_the_bad_rows_listed(live_server, new_context, make_user,
                                                                         screenshot, tmp_path):
    with time_machine.travel(dt.datetime(2026, 11, 2, 10, 0, tzinfo=SHANGHAI), tick=True):
        make_user("spec", "specialist", display_name="李专员")
        page = new_context().new_page()
        log_in(page, live_server, "spec", PASSWORD)
        page.get_by_role("navigation").get_by_role("link", name="回访").click()
        page.get_by_role("link", name="导入销售清单").click()
        path = tmp_path / "十月销售.csv"
        path.write_bytes(SALES_CSV)
        page.get_by_label("销售清单（CSV 或 XLSX）").set_input_files(str(path))
        page.get_by_role("button", name="导入", exact=True).click()
        expect(page.locator("#import-report")).to_contain_text("已导入 1 行，2 行有错误")
        errors = page.locator("#import-errors")
        expect(errors).to_contain_text("第 3 行")
        expect(errors).to_contain_text("第 4 行")
        expect(errors).to_contain_text("2026-10-32")
        expect(page.locator("#import-kept")).to_contain_text("周强")
        screenshot(page, "report")
        # Today's queue: the 30-day callback of 2026-10-03 falls due today.
        page.get_by_role("link", name="今日回访").click()
        expect(page.locator("#callback-queue")).to_contain_text("周强")
        expect(page.locator("#callback-queue")).to_contain_text("售后30天回访")
