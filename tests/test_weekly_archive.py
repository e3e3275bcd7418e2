"""The weekly complaint archive: made by the sweep on the first working day of the next
week, once (also twice run, or after an outage), with the week's figures, printed in
Chinese and kept as printed."""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from models import complaints, worktime
from models.complaints import Complaint
from models.numbering import Counter
from models.weekly_archive import Week, WeeklyArchive, archive_week
from tasks.weekly_archive import archive_weekly_complaints

from tests.helpers import on_the_clock

from .pdf import assert_embedded_cjk_font, pdf_text
from .test_query_counts import assert_query_count_does_not_grow


@pytest.fixture(autouse=True)
def _deadlines_on_the_clock(app):
    """These deadlines are wall-clock hours: the setting is turned off explicitly, since working
    time is the default now (tests that count working time turn it on themselves)."""
    on_the_clock(app)


SHANGHAI = ZoneInfo("Asia/Shanghai")
#: The week under test: Monday 16 to Sunday 22 November 2026.
WEEK = Week(dt.date(2026, 11, 16))


def at(*args):
    """A Shanghai wall-clock moment, as time_machine takes it."""
    return dt.datetime(*args, tzinfo=SHANGHAI)


def sweep_at(moment):
    with time_machine.travel(moment, tick=False):
        return archive_weekly_complaints.call_local()


@pytest.fixture
def clerk(make_user):
    return make_user("li", "specialist", display_name="李娜", department="客服部")


@pytest.fixture
def counter():
    return iter(range(100))


@pytest.fixture
def complaint(clerk, counter):
    def make(moment, category="product quality", severity="general", name="王先生", content="冰箱漏水"):
        with time_machine.travel(moment, tick=False):
            return complaints.create(clerk, name=name, phone=f"1380013{next(counter):04d}", content=content,
                                     channel="phone", category=category, severity=severity)
    return make


def step(complaint_id, action, actor, moment, **kwargs):
    with time_machine.travel(moment, tick=False):
        current = Complaint.get_by_id(complaint_id)
        return complaints.apply(complaint_id, action, actor, current.version, **kwargs)


def test_the_week_is_archived_on_its_first_working_day_not_before_and_once(app, complaint):
    complaint(at(2026, 11, 18, 10))
    assert sweep_at(at(2026, 11, 22, 23, 59)) == []  # Sunday night: the week is not over
    assert WeeklyArchive.select().count() == 0
    assert sweep_at(at(2026, 11, 23, 0, 15)) == ["TSZ-2026-000001"]  # Monday
    assert sweep_at(at(2026, 11, 23, 0, 30)) == []
    assert sweep_at(at(2026, 11, 25, 9)) == []
    archive = WeeklyArchive.get()
    assert (archive.week_start, archive.total, archive.still_open) == (WEEK.start, 1, 1)
    assert archive.summary["week"] == "2026-W47"


def test_a_monday_holiday_moves_the_archive_to_tuesday(app, complaint):
    complaint(at(2026, 11, 18, 10))
    worktime.add_days(None, dt.date(2026, 11, 23), dt.date(2026, 11, 23), worktime.HOLIDAY, "公司假日")
    assert sweep_at(at(2026, 11, 23, 10)) == []
    assert sweep_at(at(2026, 11, 24, 0, 15)) == ["TSZ-2026-000001"]
    assert WeeklyArchive.get().week_start == WEEK.start


def test_a_holiday_week_is_archived_on_the_first_working_day_after_it(app, complaint):
    """The National Day week: 1–7 October off, the make-up Saturday the first working day."""
    complaint(at(2026, 9, 30, 10))
    worktime.add_days(None, dt.date(2026, 10, 1), dt.date(2026, 10, 7), worktime.HOLIDAY, "国庆节")
    assert sweep_at(at(2026, 10, 5, 10)) == []
    assert sweep_at(at(2026, 10, 8, 0, 15)) == ["TSZ-2026-000001"]  # Thursday, the first working day
    assert WeeklyArchive.get().week_start == dt.date(2026, 9, 28)


def test_after_a_two_week_outage_each_missed_week_is_archived_once(app, complaint):
    complaint(at(2026, 11, 4, 10))
    assert sweep_at(at(2026, 11, 9, 0, 15)) == ["TSZ-2026-000001"]
    complaint(at(2026, 11, 11, 10))
    complaint(at(2026, 11, 12, 10))
    complaint(at(2026, 11, 18, 10))
    # The consumer was down from the 9th: nothing ran on Monday the 16th nor the 23rd.
    assert sweep_at(at(2026, 11, 25, 14)) == ["TSZ-2026-000002", "TSZ-2026-000003"]
    assert sweep_at(at(2026, 11, 25, 14, 15)) == []
    weeks = {a.week_start: a.total for a in WeeklyArchive.select()}
    assert weeks == {dt.date(2026, 11, 2): 1, dt.date(2026, 11, 9): 2, dt.date(2026, 11, 16): 1}


def test_a_week_another_run_archived_is_left_alone_and_its_number_not_used_up(app, complaint):
    """Two consumers at once: the unique week decides, and the loser's number goes back."""
    complaint(at(2026, 11, 18, 10))
    sweep_at(at(2026, 11, 23, 0, 15))
    with time_machine.travel(at(2026, 11, 23, 0, 16), tick=False):
        assert archive_week(WEEK, lambda archive, figures: b"%PDF-") is None
    assert WeeklyArchive.select().count() == 1
    assert Counter.get(Counter.doc_type == "TSZ").value == 1
    complaint(at(2026, 11, 25, 10))
    assert sweep_at(at(2026, 11, 30, 0, 15)) == ["TSZ-2026-000002"]


def test_a_failed_print_leaves_no_archive_and_the_next_run_makes_it(app, complaint):
    complaint(at(2026, 11, 18, 10))

    def broken(archive, figures):
        raise RuntimeError("the printer fell over")

    with time_machine.travel(at(2026, 11, 23, 0, 15), tick=False), pytest.raises(RuntimeError):
        archive_week(WEEK, broken)
    assert WeeklyArchive.select().count() == 0
    assert sweep_at(at(2026, 11, 23, 0, 30)) == ["TSZ-2026-000001"]


def test_the_figures_count_the_weeks_complaints_as_they_stood(app, make_user, complaint, clerk):
    manager = make_user("yang", "service_manager", display_name="杨磊")
    sales = make_user("zhao", "specialist", display_name="赵强", department="销售部")
    logistics = make_user("qian", "specialist", display_name="钱芳", department="物流部")
    departments = {u.department.name: u.department_id for u in (sales, logistics)}
    earlier = complaint(at(2026, 11, 15, 23, 50), name="周先生")  # Sunday before: the previous week
    first = complaint(at(2026, 11, 16, 0, 10), name="王先生")  # Monday just after midnight
    second = complaint(at(2026, 11, 17, 9), category="delivery", severity="major", name="陈女士", content="送货延误")
    third = complaint(at(2026, 11, 18, 9), name="刘先生")
    voided = complaint(at(2026, 11, 19, 9), name="误录")
    later = complaint(at(2026, 11, 23, 0, 5), name="下周")  # Monday after: the next week
    step(first.id, "acknowledge", clerk, at(2026, 11, 16, 9))
    step(first.id, "assign", clerk, at(2026, 11, 16, 9, 5), department_id=departments["销售部"])
    step(first.id, "handle", sales, at(2026, 11, 16, 15), note="上门更换密封条")
    step(first.id, "report", sales, at(2026, 11, 16, 16), note="已更换密封条，客户确认不再漏水")
    step(second.id, "acknowledge", clerk, at(2026, 11, 17, 9, 30))
    step(second.id, "assign", clerk, at(2026, 11, 17, 9, 40), department_id=departments["物流部"])
    step(second.id, "accept", logistics, at(2026, 11, 17, 10))
    step(third.id, "pause", clerk, at(2026, 11, 18, 10), note="等客户提供购买凭证")
    step(voided.id, "void", manager, at(2026, 11, 19, 10), note="重复登记")
    # The week of the first complaint ever is the first archived.
    assert sweep_at(at(2026, 11, 23, 0, 15)) == ["TSZ-2026-000001", "TSZ-2026-000002"]
    assert WeeklyArchive.get(WeeklyArchive.week_start == dt.date(2026, 11, 9)).total == 1
    f = WeeklyArchive.get(WeeklyArchive.week_start == WEEK.start).summary
    assert f["total"] == 3 and f["handled"] == 1 and f["earlier_open"] == 1
    assert f["by_category"] == [["product quality", 2], ["delivery", 1]]
    assert sorted(f["by_department"]) == [["", 1], ["物流部", 1], ["销售部", 1]]
    assert f["by_severity"] == [["general", 2], ["major", 1]]
    assert f["by_state"] == [["received", 1], ["accepted", 1], ["result_reported", 1]]
    assert [c["customer"] for c in f["complaints"]] == ["王先生", "陈女士", "刘先生"]
    assert f["complaints"][0]["outcome"] == "已更换密封条，客户确认不再漏水"
    why = {c["number"]: c for c in f["open"]}
    assert why[first.number]["waiting"] == "inform"
    assert (why[second.number]["waiting"], why[second.number]["department"],
            why[second.number]["handler"]) == ("handle", "物流部", "钱芳")
    assert why[third.number]["paused_for"] == "等客户提供购买凭证"
    assert why[second.number]["overdue"] and not why[third.number]["overdue"]  # paused: its clock stands
    assert earlier.number not in why and later.number not in why


def test_the_pdf_is_in_chinese_and_stays_as_archived(client, auth, make_user, complaint, clerk):
    first = complaint(at(2026, 11, 17, 9), name="王先生", content="冰箱漏水")
    step(first.id, "pause", clerk, at(2026, 11, 17, 10), note="等客户提供购买凭证")
    sweep_at(at(2026, 11, 23, 0, 15))
    archive = WeeklyArchive.get()
    make_user("yang", "service_manager", display_name="杨磊")
    with time_machine.travel(at(2026, 11, 24, 10), tick=False):
        auth.login("yang")
        response = client.get(f"/reports/weekly/{archive.id}.pdf")
        assert response.headers["Content-Type"] == "application/pdf"
        text = pdf_text(response.data)
        for words in ("投诉信息周汇总档案", "TSZ-2026-000001", "测试服务有限公司", "2026-11-16（周一）至 2026-11-22（周日）", "此前各周未结案",
                      "一、分类统计", "产品质量", "二、投诉明细", "王先生", first.number,
                      "三、尚未结案的投诉及原因", "等待客户回复", "等客户提供购买凭证", "第1页"):
            assert words in text, words
        assert_embedded_cjk_font(response.data)
        # The complaint moves on; the archive is what was true at the sweep.
        step(first.id, "resume", clerk, at(2026, 11, 24, 10), note="凭证已收到")
        step(first.id, "void", make_user("boss2", "admin"), at(2026, 11, 24, 10, 5), note="测试")
        again = client.get(f"/reports/weekly/{archive.id}.pdf")
        assert again.data == response.data


def test_the_archives_are_listed_with_the_reports(client, auth, make_user, complaint):
    complaint(at(2026, 11, 18, 10))
    sweep_at(at(2026, 11, 23, 0, 15))
    make_user("yang", "service_manager", display_name="杨磊")
    with time_machine.travel(at(2026, 12, 2, 10), tick=False):
        auth.login("yang")
        page = client.get("/reports?lang=zh").get_data(as_text=True)
        assert "投诉周汇总档案" in page and "TSZ-2026-000001" in page and "2026-W47" in page
        listing = client.get("/reports/weekly?lang=zh").get_data(as_text=True)
        assert "TSZ-2026-000001" in listing and "/reports/weekly/1.pdf" in listing


def test_a_department_head_neither_sees_nor_opens_the_archives(client, auth, make_user, complaint):
    complaint(at(2026, 11, 18, 10))
    sweep_at(at(2026, 11, 23, 0, 15))
    make_user("head", "dept_head", department="销售部")
    with time_machine.travel(at(2026, 12, 2, 10), tick=False):
        auth.login("head")
        assert "TSZ-2026" not in client.get("/reports?lang=zh").get_data(as_text=True)
        assert client.get("/reports/weekly").status_code == 403
        assert client.get(f"/reports/weekly/{WeeklyArchive.get().id}.pdf").status_code == 403
        assert client.get("/reports/weekly/999.pdf").status_code == 403


def test_the_archive_list_is_paged_and_costs_the_same_for_many_weeks(client, auth, make_user):
    make_user("yang", "service_manager")
    weeks = iter(range(200))

    def add_archives(n):
        WeeklyArchive.insert_many([{"week_start": dt.date(2020, 1, 6) + dt.timedelta(weeks=next(weeks)),
                                    "number": f"TSZ-Q-{i:04d}-{n}", "total": 1, "figures": "{}"}
                                   for i in range(n)]).execute()
    with time_machine.travel(at(2026, 12, 2, 10), tick=False):
        auth.login("yang")
        assert_query_count_does_not_grow(client, "/reports/weekly", add_archives)
        add_archives(30)
        page = client.get("/reports/weekly").get_data(as_text=True)
        assert page.count('href="/reports/weekly/') == 26 and "/reports/weekly?page=2" in page
        rest = client.get("/reports/weekly?page=2", headers={"HX-Request": "true"}).get_data(as_text=True)
        assert rest.count('href="/reports/weekly/') == 43 - 26 and "<html" not in rest


def test_the_demo_comes_with_its_weeks_archived(app, monkeypatch):
    """`seed-demo` (what `make run` loads) archives the demo's weeks as the sweep would."""
    monkeypatch.setattr("models.demo.generate_password", lambda: "demo-password-1")
    with time_machine.travel(at(2026, 12, 2, 10), tick=False):
        result = app.test_cli_runner().invoke(args=["seed-demo", "--if-empty"])
        assert result.exit_code == 0, result.output
        archives = list(WeeklyArchive.select().order_by(WeeklyArchive.week_start))
        assert len(archives) >= 3 and archives[-1].week_start == dt.date(2026, 11, 23)
        for archive in archives:
            start, end = archive.week.utc_range()
            assert archive.total == complaints.register(start, end).count()
        assert sum(a.still_open for a in archives) >= 1
