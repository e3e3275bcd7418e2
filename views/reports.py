"""The managers' reports (/reports): a period and a department chosen, the figures built
by the consumer while the page shows progress, then shown, printed and exported."""

from flask import Blueprint, abort, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from models import reports
from models.calls import CALL_TYPES
from models.complaints import SEVERITIES, category_label
from models.money import Money
from models.reports import LABELS, PERIOD_KINDS, Period, ReportRun, bar_chart
from models.timezone import local_now
from models.users import Department
from models.visitors import PURPOSES
from printing import report_pdf
from views.access import allow
from views.exports import table_download
from views.fields import whole_number
from views.printing import pdf_response
from views.ui import render, render_fragment, render_invalid

bp = Blueprint("reports", __name__)
SERIES_LABELS = {"visitors": _l("Visits by day or month"), "calls": _l("Calls by day or month"),
                 "complaints": _l("Complaints by day or month")}


def _period_choices(kind, today):
    period, choices = Period.containing(kind, today), []
    for _index in range({"month": 24, "quarter": 8, "year": 5}[kind]):
        choices.append(SelectChoice(period.key, period.label))
        period = period.previous()
    return choices


class ReportForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form: it changes nothing

    kind = SelectField(_l("Period"), choices=[SelectChoice(k, v) for k, v in PERIOD_KINDS.items()], default="month")
    month = SelectField(_l("Month"), validate_choice=False)
    quarter = SelectField(_l("Quarter"), validate_choice=False)
    year = SelectField(_l("Year"), validate_choice=False)
    department = SelectField(_l("Department"), validate_choice=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        today = local_now().date()
        for kind in ("month", "quarter", "year"):
            getattr(self, kind).choices = _period_choices(kind, today)
        # Last month is what the manager reads by default: the current one is still running.
        self.month.default = Period.containing("month", today).previous().key
        if not self.month.data:
            self.month.data = self.month.default
        self.quarter.data = self.quarter.data or Period.containing("quarter", today).key
        self.year.data = self.year.data or str(today.year)
        own = _own_department()
        departments = Department.select().order_by(Department.name)
        if own is not None:
            self.department.choices = [SelectChoice(str(d.id), d.name) for d in departments if d.id == own]
            self.department.data = str(own)
        else:
            self.department.choices = [SelectChoice("", _("All departments"))] + [
                SelectChoice(str(d.id), d.name) for d in departments]

    def period(self):
        try:
            return Period.parse(self.kind.data, getattr(self, self.kind.data).data)
        except (ValueError, AttributeError) as error:
            field = getattr(self, self.kind.data, self.kind) if self.kind.data in PERIOD_KINDS else self.kind
            field.errors = [str(error)]
            return None

    def department_id(self):
        value = self.department.data or ""
        if not value:
            return None
        if whole_number(value) and Department.get_or_none(Department.id == int(value)) is not None:
            return int(value)
        self.department.errors = [_("Choose a department from the list.")]
        return None


def _own_department():
    """The only department a department head (without a wider role) may read, else None."""
    if current_user.can("reports.all_departments"):
        return None
    return current_user.department_id or 0


def _run(run_id):
    run = ReportRun.get_or_none(ReportRun.id == run_id)
    if run is None:
        abort(404)
    own = _own_department()
    if own is not None and run.department_id != own:
        abort(403)
    return run


def _context(run):
    figures = run.figures
    department = Department.get_or_none(Department.id == run.department_id) if run.department_id else None
    rebuild_url = url_for("reports.index", kind=run.kind, **{run.kind: run.period_key},
                          department=run.department_id or "", rebuild=1)
    return {"run": run, "period": run.period, "department": department, "f": figures, "rebuild_url": rebuild_url,
            "chart": bar_chart(figures["chart"]) if figures else None,
            **LABELS}


@bp.route("/reports")
@allow("reports.view")
def index():
    if _own_department() == 0:
        return render("reports/index.html", "report", form=None, run=None)
    form = ReportForm(request.args)
    period, department_id = form.period(), form.department_id()
    if form.errors or period is None:
        return render_invalid("reports/index.html", "report", form=form, run=None)
    run, is_new = reports.find_or_start(period, department_id, current_user.id,
                                        rebuild=request.args.get("rebuild") == "1")
    if is_new:
        from tasks.reports import build_report
        build_report(run.id)
        run = ReportRun.get_by_id(run.id)  # in immediate mode (tests) it is already built
    return render("reports/index.html", "report", form=form, archives=_weekly_archives(), **_context(run))


def _weekly_archives():
    """The newest weekly complaint archives, listed below the report on the full page."""
    from views.ui import wants_fragment
    from views.weekly_archive import recent
    if wants_fragment() or not current_user.can("reports.weekly_archive"):
        return []
    return recent()


@bp.route("/reports/runs/<int:run_id>")
@allow("reports.view")
def progress(run_id):
    """Polled while the consumer builds the report; the finished report replaces it."""
    return render_fragment("reports/index.html", "result", **_context(_run(run_id)))


def _finished(run_id):
    run = _run(run_id)
    if run.state != "done":
        abort(404)
    return run


@bp.route("/reports/runs/<int:run_id>.pdf")
@allow("reports.view")
def pdf(run_id):
    context = _context(_finished(run_id))
    return pdf_response(report_pdf(context["period"], context["department"], context["f"], request.host_url),
                        f"统计报告-{context['period'].key}.pdf")


def table_rows(figures):
    """The report as (section, figure, value) rows for a spreadsheet; labels in the
    reader's language."""
    sections = figures["sections"]
    visitors, calls = sections["visitors"], sections["calls"]
    rows = [
        [_("Visitors"), _("Visits"), visitors["total"]],
        [_("Visitors"), _("People, companions included"), visitors["people"]],
        [_("Visitors"), _("Average wait for the host (minutes)"), visitors["average_wait_minutes"]],
        [_("Visitors"), _("Not checked out"), visitors["not_checked_out"]],
        *[[_("Visitors"), str(PURPOSES.get(key, key)), n] for key, n in visitors["by_purpose"]],
        [_("Calls"), _("Calls"), calls["total"]],
        *[[_("Calls"), str(CALL_TYPES.get(key, key)), n] for key, n in calls["by_type"]],
        [_("Calls"), _("Replies promised"), calls["promises"]],
        [_("Calls"), _("Promises kept on time"), calls["promises_kept"]],
        [_("Calls"), _("Promises missed"), calls["promises_missed"]],
    ]
    complaints, callbacks, procurement = (sections[name] for name in ("complaints", "callbacks", "procurement"))
    rows += [
        [_("Complaints"), _("Complaints"), complaints["total"]],
        [_("Complaints"), _("Handled"), complaints["handled"]],
        [_("Complaints"), _("Complaints handled, target %(target)s", target="100 %"), complaints["handling_rate"]],
        [_("Complaints"), _("Handled on time"), complaints["on_time_rate"]],
        [_("Complaints"), _("Average handling time (hours)"), complaints["avg_handling_hours"]],
        [_("Complaints"), _("Satisfied at the callback"), complaints["satisfied"]],
        *[[_("Complaints"), str(SEVERITIES.get(key, key)), n] for key, n in complaints["by_severity"]],
        *[[_("Complaints"), str(category_label(key)), n] for key, n in complaints["by_category"]],
        *[[_("Complaints"), name or _("Not yet assigned"), n] for name, n in complaints["by_department"]],
    ]
    if callbacks:
        rows += [[_("Callbacks"), _("Callbacks due"), callbacks["due"]],
                 [_("Callbacks"), _("Callbacks done"), callbacks["done"]],
                 [_("Callbacks"), _("Done on time"), callbacks["on_time"]],
                 [_("Callbacks"), _("Customer satisfied"), callbacks["satisfied"]],
                 [_("Callbacks"), _("Callback pass rate, target %(target)s", target="≥ 98 %"), callbacks["pass_rate"]]]
    rows += [[_("Procurement"), _("Requisitions submitted"), procurement["count"]],
             [_("Procurement"), _("Requisitions approved"), procurement["approved"]],
             [_("Procurement"), _("Confirmed amount (CNY)"), Money(procurement["total_confirmed"])],
             [_("Procurement"), _("Average time to approve (hours)"), procurement["avg_hours_to_approve"]]]
    if repairs := sections.get("repairs"):
        rows += [[_("Facility repairs"), _("Faults reported"), repairs["reported"]],
                 [_("Facility repairs"), _("Escalated: not repaired in time"), repairs["escalated"]],
                 [_("Facility repairs"), _("Repairs confirmed"), repairs["total"]],
                 [_("Facility repairs"), _("Good the first time"), repairs["good"]],
                 [_("Facility repairs"), _("Repair quality pass rate, target ≥ %(target)s %%", target=repairs["target"]),
                  repairs["percent"]]]
    chart = figures["chart"]
    for name, values in chart["series"].items():
        rows.extend([str(SERIES_LABELS[name]), label, n] for label, n in zip(chart["labels"], values))
    return rows


@bp.route("/reports/runs/<int:run_id>.<any(csv, xlsx):fmt>")
@allow("reports.view")
def export(run_id, fmt):
    run = _finished(run_id)
    return table_download(f"report-{run.period_key}", [_("Section"), _("Figure"), _("Value")],
                          table_rows(run.figures), fmt)
