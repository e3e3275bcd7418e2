"""Repair and maintenance visits (上门维修保养台帐): the open visits and the month's ledger
with its pass rate, a request, one visit with its next steps, the printed and XLSX ledger."""
from flask import Blueprint, abort, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import DateTimeLocalField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from models import service_visits
from models.base import DomainError
from models.service_visits import KINDS, STATES, TRANSITIONS, ServiceVisit
from models.submissions import submit_once
from models.timezone import to_utc
from printing import qr_data_uri
from views.access import allow
from views.exports import table_download
from views.fields import month_period, phone, show_refusal, strip
from views.printing import record_url, render_pdf
from views.templating import local_datetime
from views.ui import PortalForm, one_page, redirect_to, render, render_fragment, toast

bp = Blueprint("service_visits", __name__)


class RequestForm(PortalForm):
    phone = StringField(_l("Customer's phone"), filters=[strip], validators=[DataRequired(), Length(max=30), phone],
                        render_kw={"inputmode": "tel"})
    kind = SelectField(_l("Kind"), choices=[SelectChoice(k, v) for k, v in KINDS.items()])
    product = StringField(_l("Product"), filters=[strip], validators=[DataRequired(), Length(max=120)])
    problem = TextAreaField(_l("What is to be done"), filters=[strip], validators=[DataRequired(), Length(max=5000)])
    complaint = StringField(_l("Complaint number (if any)"), filters=[strip], validators=[Length(max=20)],
                            description=_l("e.g. TS-2026-000123: the visit is then listed with that complaint."))


class StepForm(PortalForm):
    """One per next step, prefixed with the step's name: the page holds several at once."""
    version = HiddenField()
    appointment_at = DateTimeLocalField(_l("Appointment"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    technician = StringField(_l("Technician"), filters=[strip], validators=[Length(max=80)])
    parts = TextAreaField(_l("Parts used"), filters=[strip], validators=[Length(max=2000)])
    result = TextAreaField(_l("Work done and result"), filters=[strip], validators=[Length(max=5000)])
    note = TextAreaField(_l("Note"), filters=[strip], validators=[Length(max=5000)])


@bp.context_processor
def labels():
    return {"STATES": STATES, "KINDS": KINDS}


def _period():
    return month_period(request.args.get("month", "").strip())


@bp.route("/service-visits")
@allow("service_visits.work")
def index():
    """The visits still open, and the month's ledger with the repair quality pass rate."""
    period, error = _period()
    start, end = period.utc_range()
    rows, more_url, page = one_page(service_visits.ledger(start, end), "service_visits.index")
    if page > 1:
        return render_fragment("service_visits/index.html", "more_ledger", rows=rows, more_url=more_url)
    return render("service_visits/index.html", status=422 if error else 200, open_rows=service_visits.open_visits(),
                  rows=rows, more_url=more_url, figures=service_visits.pass_rate(start, end),
                  month=period.key, error=error, previous=period.previous().key, following=period.following().key)


@bp.route("/service-visits/new", methods=["GET", "POST"])
@allow("service_visits.work")
def new():
    """A customer asks for a repair or maintenance visit."""
    form = RequestForm(data={k: request.args[k] for k in ("phone", "product") if k in request.args} or None)
    if earlier := form.earlier_result():
        return redirect_to(earlier)
    if form.validate_on_submit():
        try:
            url, created = submit_once(form.submission_key.data, current_user, lambda: url_for(
                "service_visits.show", visit_id=service_visits.create(
                    current_user, phone=form.phone.data, kind=form.kind.data, product=form.product.data,
                    problem=form.problem.data, complaint_number=form.complaint.data).id))
        except DomainError as refused:
            show_refusal(form, refused, fallback="phone")
        else:
            if created:
                toast(_("Visit request recorded."))
            return redirect_to(url)
    return render("service_visits/new.html", "form", status=422 if form.errors else 200, form=form)


def _visit(visit_id):
    visit = service_visits.listing().where(ServiceVisit.id == visit_id).first()
    return visit or abort(404)


def _show(visit, posted=None, status=200, error=None):
    actions = visit.actions_for(current_user)
    forms = {name: StepForm(prefix=name, formdata=None, data={"version": visit.version}) for name, _t in actions}
    if posted is not None:
        posted.version.data = visit.version
        forms[posted._prefix.rstrip("-")] = posted
    return render("service_visits/show.html", status=status, visit=visit, events=list(visit.events()),
                  actions=actions, forms=forms, error=error, opened=posted._prefix.rstrip("-") if posted else None)


@bp.route("/service-visits/<int:visit_id>", methods=["GET", "POST"])
@allow("service_visits.work")
def show(visit_id):
    """One visit, its steps so far, and the next steps I may take."""
    visit = _visit(visit_id)
    if request.method == "GET":
        return _show(visit)
    action = request.form.get("action", "")
    if action not in TRANSITIONS:
        abort(400)
    form = StepForm(prefix=action)
    if not form.validate_on_submit():
        return _show(visit, form, 422)
    try:
        version = int(form.version.data or "")
    except ValueError:
        return _show(visit, form, 422, _("Reload the page and try again."))
    appointment = to_utc(form.appointment_at.data) if form.appointment_at.data else None
    try:
        service_visits.apply(visit.id, action, current_user, version,
                             note=form.note.data, appointment_at=appointment, technician=form.technician.data,
                             parts=form.parts.data, result=form.result.data)
    except DomainError as refused:
        return _show(_visit(visit_id), form, 422, show_refusal(form, refused))
    toast(_("%(action)s: done.", action=TRANSITIONS[action].label))
    return redirect_to(url_for("service_visits.show", visit_id=visit.id))


def _ledger_rows(rows):
    return [[v.number, local_datetime(v.created_at), v.customer.name, v.customer.phone, str(KINDS[v.kind]), v.product,
             v.problem, local_datetime(v.appointment_at), v.technician, v.parts, v.result, v.rounds,
             {"good": _("Good"), "not_good": _("Not good")}.get(v.first_confirmation, ""),
             str(STATES[v.state]), v.complaint.number if v.complaint_id else ""] for v in rows]


@bp.route("/service-visits/ledger.<fmt>")
@allow("service_visits.work")
def ledger(fmt):
    """The month's ledger as the printed 上门维修保养台帐 (pdf) or a spreadsheet (xlsx)."""
    if fmt not in ("pdf", "xlsx"):
        abort(404)
    period, _error = _period()
    start, end = period.utc_range()
    rows = list(service_visits.ledger(start, end))
    if fmt == "xlsx":
        headers = [_("Number"), _("Requested"), _("Customer"), _("Phone"), _("Kind"), _("Product"),
                   _("What is to be done"), _("Appointment"), _("Technician"), _("Parts used"),
                   _("Work done and result"), _("Rounds"), _("First confirmation"), _("State"), _("Complaint")]
        return table_download(f"上门维修保养台帐-{period.key}", headers, _ledger_rows(rows), fmt)
    return render_pdf("print/service_ledger.html", f"上门维修保养台帐-{period.key}.pdf", rows=rows, month=period.key,
                      figures=service_visits.pass_rate(start, end), number=f"WX-{period.key}",
                      qr=qr_data_uri(record_url("service_visits.index", month=period.key)))
