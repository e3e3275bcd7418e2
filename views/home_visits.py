"""Home visits (上门拜访): the planning list, the month's visits against the minimum, planning
and recording a visit, and the printed monthly form (月度上门拜访顾客填报表)."""
from flask import Blueprint, abort, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import DateField, DateTimeLocalField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from models import home_visits
from models.base import DomainError
from models.home_visits import SATISFACTION, STATES, TRANSITIONS, HomeVisit
from models.submissions import submit_once
from models.timezone import to_utc
from models.users import User
from printing import qr_data_uri
from views.access import allow
from views.fields import month_period, phone, show_refusal, strip, whole_number
from views.printing import record_url, render_pdf
from views.ui import PortalForm, redirect_to, render, toast

bp = Blueprint("home_visits", __name__)


class PlanForm(PortalForm):
    phone = StringField(_l("Customer's phone"), filters=[strip], validators=[DataRequired(), Length(max=30), phone],
                        render_kw={"inputmode": "tel"})
    planned_for = DateField(_l("Day of the visit"), validators=[DataRequired(message=_l("Enter the day of the visit."))])
    purpose = TextAreaField(_l("Purpose of the visit"), filters=[strip], validators=[Length(max=2000)])
    complaint = HiddenField()
    sale = HiddenField()


class StepForm(PortalForm):
    """One per next step, prefixed with the step's name: the page holds several at once."""
    version = HiddenField()
    visited_at = DateTimeLocalField(_l("When"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    visited_by = SelectField(_l("Who went"), coerce=int, validate_choice=False)
    companions = StringField(_l("Went with"), filters=[strip], validators=[Length(max=120)])
    findings = TextAreaField(_l("What was found"), filters=[strip], validators=[Length(max=5000)])
    # The model says which satisfaction is allowed: the close and void steps post none at all.
    satisfaction = SelectField(_l("Satisfaction"), default="", validate_choice=False, choices=[SelectChoice("", "—")] + [
        SelectChoice(k, v) for k, v in SATISFACTION.items()])
    follow_up = TextAreaField(_l("Follow-up needed"), filters=[strip], validators=[Length(max=5000)],
                              description=_l("Empty when nothing is to follow: the visit is then complete."))
    note = TextAreaField(_l("Note"), filters=[strip], validators=[Length(max=5000)])


@bp.context_processor
def labels():
    return {"STATES": STATES, "SATISFACTION": SATISFACTION}


def _period():
    return month_period(request.args.get("month", "").strip())


@bp.route("/home-visits")
@allow("home_visits.work")
def index():
    """Whom to visit, the visits planned, and the month's visits against the minimum."""
    period, error = _period()
    return render("home_visits/index.html", status=422 if error else 200, candidates=home_visits.candidates(),
                  planned=home_visits.planned(), rows=home_visits.month_visits(period),
                  figures=home_visits.month_count(period), month=period.key, error=error,
                  previous=period.previous().key, following=period.following().key,
                  plan_days=home_visits.settings.get(home_visits.PLAN_DAYS))


@bp.route("/home-visits/new", methods=["GET", "POST"])
@allow("home_visits.work")
def new():
    """Plan a visit, usually from the planning list (customer and reason filled in)."""
    form = PlanForm(data={k: request.args[k] for k in ("phone", "complaint", "sale") if k in request.args} or None)
    if earlier := form.earlier_result():
        return redirect_to(earlier)
    if form.validate_on_submit():
        def plan():
            visit = home_visits.plan(current_user, phone=form.phone.data, planned_for=form.planned_for.data,
                                     purpose=form.purpose.data, complaint_id=_id(form.complaint.data),
                                     sale_id=_id(form.sale.data))
            return url_for("home_visits.show", visit_id=visit.id)
        try:
            url, created = submit_once(form.submission_key.data, current_user, plan)
        except DomainError as refused:
            show_refusal(form, refused, fallback="phone")
        else:
            if created:
                toast(_("Home visit planned."))
            return redirect_to(url)
    return render("home_visits/new.html", "form", status=422 if form.errors else 200, form=form)


def _id(text):
    return int(text) if whole_number(text) else None


def _visit(visit_id):
    return home_visits.listing().where(HomeVisit.id == visit_id).first() or abort(404)


def _staff_choices():
    return [SelectChoice(0, "—")] + [SelectChoice(u.id, u.display_name) for u in
                                      User.select().where(User.is_active == True).order_by(User.display_name)  # noqa: E712
                                      .limit(500)]


def _show(visit, posted=None, status=200, error=None):
    actions = visit.actions_for(current_user)
    forms = {}
    for name, _t in actions:
        forms[name] = StepForm(prefix=name, formdata=None, data={"version": visit.version,
                                                                  "visited_by": current_user.id})
    if posted is not None:
        posted.version.data = visit.version
        forms[posted._prefix.rstrip("-")] = posted
    for form in forms.values():
        form.visited_by.choices = _staff_choices()
    return render("home_visits/show.html", status=status, visit=visit, actions=actions, forms=forms, error=error,
                  opened=posted._prefix.rstrip("-") if posted else None)


@bp.route("/home-visits/<int:visit_id>", methods=["GET", "POST"])
@allow("home_visits.work")
def show(visit_id):
    """One visit and the next steps I may take."""
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
    try:
        home_visits.apply(visit.id, action, current_user, version,
                          visited_at=to_utc(form.visited_at.data) if form.visited_at.data else None,
                          visited_by_id=form.visited_by.data or None, companions=form.companions.data,
                          findings=form.findings.data, satisfaction=form.satisfaction.data,
                          follow_up=form.follow_up.data, note=form.note.data)
    except DomainError as refused:
        return _show(_visit(visit_id), form, 422, show_refusal(form, refused))
    toast(_("%(action)s: done.", action=TRANSITIONS[action].label))
    return redirect_to(url_for("home_visits.show", visit_id=visit.id))


@bp.route("/home-visits/form.pdf")
@allow("home_visits.work")
def month_form():
    """The monthly home-visit form (月度上门拜访顾客填报表)."""
    period, _error = _period()
    return render_pdf("print/home_visits.html", f"月度上门拜访顾客填报表-{period.key}.pdf", month=period.key,
                      rows=home_visits.month_visits(period), figures=home_visits.month_count(period),
                      number=f"BF-{period.key}", qr=qr_data_uri(record_url("home_visits.index", month=period.key)))
