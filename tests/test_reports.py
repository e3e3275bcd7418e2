"""The managers' reports: periods, figures against hand-made data, department scope,
the printed report, the exports and the monthly mail."""
import datetime as dt
import io

import pytest
import time_machine
from openpyxl import load_workbook

from models.base import utcnow
from models.calls import log_call
from models.reports import Period, ReportMailing, ReportRun
from models.users import Department
from models.visitors import register_visit

from .pdf import assert_embedded_cjk_font, pdf_text

# 2026-12-02 10:00 in Shanghai: November is last month.
NOW = dt.datetime(2026, 12, 2, 2, 0)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def manager(make_user):
    return make_user("manager", "service_manager", display_name="杨磊")


def visit(host, when, name="李明", purpose="meeting", companions=0):
    with time_machine.travel(when, tick=False):
        return register_visit(None, visitor_name=name, phone="13800138000", organisation="华信", purpose=purpose,
                              purpose_other="", host=host, companions=companions, id_number="", car_plate="",
                              note="", arrived_at=utcnow())


def promised_call(promiser, when, due, replied=None):
    with time_machine.travel(when, tick=False):
        call = log_call(None, caller_name="周", organisation="", phone="13800000000", reason="r", call_type="inquiry",
                        outcome="promised", promiser=promiser, reply_due=due)
    if replied:
        call.replied_at = replied
        call.save()
    return call


def test_periods_cover_whole_local_months_quarters_and_years():
    november = Period.parse("month", "2026-11")
    assert (november.start, november.end) == (dt.date(2026, 11, 1), dt.date(2026, 12, 1))
    # Midnight in Shanghai is 16:00 UTC the day before.
    assert november.utc_range() == (dt.datetime(2026, 10, 31, 16), dt.datetime(2026, 11, 30, 16))
    assert Period.parse("quarter", "2026-q4").end == dt.date(2027, 1, 1)
    assert [label for label, *_ in Period.parse("quarter", "2026-Q1").buckets()] == ["1", "2", "3"]
    assert len(Period.parse("month", "2024-02").buckets()) == 29
    assert Period.parse("year", "2026").previous() == Period("year", 2025)
    for kind, key in (("month", "2026-13"), ("month", "11/2026"), ("quarter", "2026-Q5"), ("week", "2026")):
        with pytest.raises(ValueError):
            Period.parse(kind, key)


def test_monthly_figures_match_hand_computed_data(client, auth, manager, make_user):
    host = make_user("zhang", "specialist", display_name="张伟")
    visit(host, dt.datetime(2026, 10, 31, 16, 30), "甲", companions=2)  # 1 Nov 00:30 local: November
    visit(host, dt.datetime(2026, 11, 15, 3, 0), "乙", purpose="delivery")
    visit(host, dt.datetime(2026, 10, 31, 15, 30), "丙")  # 31 Oct 23:30 local: October
    promised_call(host, dt.datetime(2026, 11, 3, 2), due=dt.datetime(2026, 11, 3, 6),
                  replied=dt.datetime(2026, 11, 3, 5))  # kept
    promised_call(host, dt.datetime(2026, 11, 4, 2), due=dt.datetime(2026, 11, 4, 6),
                  replied=dt.datetime(2026, 11, 4, 9))  # late
    promised_call(host, dt.datetime(2026, 11, 5, 2), due=dt.datetime(2026, 11, 5, 6))  # never replied
    auth.login("manager")
    response = client.get("/reports?kind=month&month=2026-11&lang=zh")
    assert response.status_code == 200
    run = ReportRun.get()
    visitors, calls = run.figures["sections"]["visitors"], run.figures["sections"]["calls"]
    assert (visitors["total"], visitors["people"]) == (2, 4)
    assert visitors["by_purpose"] == [["delivery", 1], ["meeting", 1]] or \
        sorted(visitors["by_purpose"]) == [["delivery", 1], ["meeting", 1]]
    assert (calls["total"], calls["promises"], calls["promises_kept"], calls["promises_missed"]) == (3, 3, 1, 2)
    assert calls["promise_rate"] == 33.3
    chart = run.figures["chart"]
    assert len(chart["labels"]) == 30 and chart["series"]["visitors"][0] == 1 and chart["series"]["visitors"][14] == 1
    page = response.get_data(as_text=True)
    assert "2026年11月 统计" in page or "2026年11月" in page
    assert "33.3 %" in page


def test_the_default_is_last_month_and_a_fresh_report_is_reused(client, auth, manager):
    auth.login("manager")
    client.get("/reports")
    run = ReportRun.get()
    assert (run.kind, run.period_key, run.state) == ("month", "2026-11", "done")
    client.get("/reports?kind=month&month=2026-11")
    assert ReportRun.select().count() == 1
    client.get("/reports?kind=month&month=2026-11&rebuild=1")
    assert ReportRun.select().count() == 2


def test_a_bad_period_or_department_is_refused_beside_its_field(client, auth, manager):
    auth.login("manager")
    response = client.get("/reports?kind=month&month=2026-13&lang=zh")
    assert response.status_code == 422
    assert 'id="month-error">请选择统计期间，例如 2026-11、2026-Q4 或 2026。' in response.get_data(as_text=True)
    response = client.get("/reports?kind=year&year=2026&department=999&lang=zh")
    assert response.status_code == 422
    assert 'id="department-error">' in response.get_data(as_text=True)
    assert ReportRun.select().count() == 0


def test_a_department_head_reads_only_their_own_department(client, auth, make_user):
    head = make_user("head", "dept_head", department="销售部")
    visit(head, dt.datetime(2026, 11, 10, 2), "甲")
    visit(make_user("other", "specialist", department="客服部"), dt.datetime(2026, 11, 10, 2), "乙")
    sales, service = Department.get(name="销售部"), Department.get(name="客服部")
    auth.login("head")
    client.get(f"/reports?kind=month&month=2026-11&department={service.id}")
    run = ReportRun.get()
    assert run.department_id == sales.id and run.figures["sections"]["visitors"]["total"] == 1
    other_run = ReportRun.create(kind="month", period_key="2026-11", department=service, state="done",
                                 result=run.result)
    assert client.get(f"/reports/runs/{other_run.id}.pdf").status_code == 403


def test_front_desk_has_no_reports(client, auth, make_user):
    make_user("desk", "front_desk")
    auth.login("desk")
    assert client.get("/reports").status_code == 403


def test_the_printed_report_and_the_spreadsheets(client, auth, manager, make_user):
    host = make_user("zhang", "specialist", display_name="张伟")
    visit(host, dt.datetime(2026, 11, 15, 3, 0), "乙", purpose="delivery")
    auth.login("manager")
    client.get("/reports?kind=month&month=2026-11&lang=zh")
    run = ReportRun.get()
    response = client.get(f"/reports/runs/{run.id}.pdf")
    assert response.headers["Content-Type"] == "application/pdf"
    text = pdf_text(response.data)
    assert "月度统计报告" in text and "来访登记" in text and "2026-11-01 至 2026-11-30" in text
    assert_embedded_cjk_font(response.data)
    book = load_workbook(io.BytesIO(client.get(f"/reports/runs/{run.id}.xlsx?lang=zh").data))
    rows = list(book.active.values)
    assert rows[0] == ("部分", "指标", "数值")
    assert ("来访登记", "来访次数", 1) in rows and ("来访登记", "送货", 1) in rows
    csv_text = client.get(f"/reports/runs/{run.id}.csv?lang=en").data.decode("utf-8-sig")
    assert "Visitors,Visits,1" in csv_text


def test_a_run_still_being_built_shows_progress_and_is_polled(client, auth, manager):
    auth.login("manager")
    run = ReportRun.create(kind="month", period_key="2026-11", state="running", progress=50)
    page = client.get(f"/reports/runs/{run.id}?lang=en", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in page and 'value="50"' in page
    assert client.get(f"/reports/runs/{run.id}.pdf").status_code == 404


def test_last_months_report_is_mailed_once_also_after_a_missed_morning(app, frozen, monkeypatch):
    import smtplib

    from models import settings
    from tasks.reports import mail_monthly_report
    sent = []

    class FakeSMTP:
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def send_message(self, message):
            sent.append(message)

    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    settings.save(None, {"reports.monthly_recipients": "boss@example.com, head@example.com"})
    mail_monthly_report.call_local()
    assert sent == []  # no SMTP configured: nothing claimed either
    assert ReportMailing.select().count() == 0
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=2525)
    # The consumer was down on the 1st; it catches up on the 2nd, once.
    mail_monthly_report.call_local()
    mail_monthly_report.call_local()
    assert len(sent) == 1
    message = sent[0]
    assert message["To"] == "boss@example.com, head@example.com" and "2026-11" in message["Subject"]
    attachment = next(message.iter_attachments())
    assert "月度统计报告" in pdf_text(attachment.get_content())
    assert ReportMailing.get().sent_to == "boss@example.com, head@example.com"


def test_the_report_prints_outside_a_request_from_the_base_url_it_is_given(app, make_user):
    """What the monthly mail attaches: printed in the task's app context, no request faked."""
    from flask import has_request_context

    from models import reports
    from printing import report_pdf
    host = make_user("host", display_name="张伟")
    visit(host, dt.datetime(2026, 11, 10, 2, 0), name="陈静")
    with app.app_context():
        period = Period.parse("month", "2026-11")
        assert not has_request_context()
        pdf = report_pdf(period, None, reports.build(period), "https://portal.example.com")
    text = pdf_text(pdf)
    assert "月度统计报告" in text and "2026-11" in text and "测试服务有限公司" in text
    assert_embedded_cjk_font(pdf)


def test_a_department_head_without_a_department_is_told_why_there_are_no_figures(client, auth, make_user):
    make_user("head", "dept_head")
    auth.login("head")
    response = client.get("/reports?lang=zh")
    assert response.status_code == 200 and "您的账号未归属任何部门" in response.get_data(as_text=True)
    assert ReportRun.select().count() == 0


def test_complaints_callbacks_and_procurement_join_the_report(client, auth, manager, make_user):
    from models import complaints
    clerk = make_user("li", "specialist")
    with time_machine.travel(dt.datetime(2026, 11, 10, 2), tick=False):
        complaints.create(clerk, name="张先生", phone="13800138000", content="漏水", channel="phone",
                          category=complaints.categories()[0], severity="major")
    auth.login("manager")
    client.get("/reports?kind=month&month=2026-11&lang=zh")
    run = ReportRun.get()
    sections = run.figures["sections"]
    assert sections["complaints"]["total"] == 1 and sections["complaints"]["by_severity"] == [["general", 0],
                                                                                               ["major", 1]]
    assert sections["complaints"]["handling_rate"] == 0.0
    assert sections["callbacks"]["due"] == 0 and sections["procurement"]["count"] == 0
    text = pdf_text(client.get(f"/reports/runs/{run.id}.pdf").data)
    assert "三、投诉处理" in text and "四、客户回访" in text and "五、物资采购" in text
    rows = list(load_workbook(io.BytesIO(client.get(f"/reports/runs/{run.id}.xlsx?lang=zh").data)).active.values)
    assert ("投诉", "投诉处理率（目标 100 %）", 0) in rows


def test_a_departments_calls_are_the_same_in_its_figures_and_its_chart(client, auth, make_user):
    head = make_user("head", "dept_head", department="销售部")
    with time_machine.travel(dt.datetime(2026, 11, 10, 2), tick=False):
        log_call(None, caller_name="周", organisation="", phone="13800000000", reason="r", call_type="business",
                 outcome="transferred", transferred_to=head, transfer_accepted=True)
        log_call(None, caller_name="吴", organisation="", phone="13800000001", reason="r", call_type="inquiry",
                 outcome="answered", answer_text="ok")  # nothing to do with the department
    auth.login("head")
    client.get("/reports?kind=month&month=2026-11")
    figures = ReportRun.get().figures
    assert figures["sections"]["calls"]["total"] == 1 and sum(figures["chart"]["series"]["calls"]) == 1


def test_built_reports_are_purged_after_a_month_and_rebuilt_on_demand(client, auth, manager, frozen):
    from tasks.maintenance import purge_old_rows
    auth.login("manager")
    client.get("/reports?kind=month&month=2026-11")
    frozen.shift(dt.timedelta(days=31))
    purge_old_rows.call_local()
    assert ReportRun.select().count() == 0
    auth.login("manager")
    assert client.get("/reports?kind=month&month=2026-11").status_code == 200
    assert ReportRun.get().state == "done"
