"""The service-capability plan (服务能力计划): the plans per year and department, their targets,
the achievement table (达成表) per month or quarter, the tracking sheet of improvement
measures, and the year-end evaluation report (年度评价报告) with next year's proposed targets."""
from flask import Blueprint, abort, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from peewee import JOIN
from wtforms import DecimalField, Form, FormField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import TextInput

from models.base import DomainError
from models.quality import plan as plans
from models.quality.plan import MEASURE_STATES, MEASURE_TRANSITIONS, METRICS, TRENDS, Measure, Plan
from models.reports import Period
from models.timezone import local_now
from models.users import Department, User
from printing import qr_data_uri
from views.access import allow
from views.fields import DayField, WholeNumberField, show_refusal, strip
from views.printing import record_url, render_pdf
from views.ui import PortalForm, SubForm, one_page, redirect_to, render, toast

bp = Blueprint("quality_plan", __name__, url_prefix="/quality/plan")


class TargetField(DecimalField):
    widget = TextInput()

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_l("Enter a number, like 98 or 2.5.")) from None


def _targets_form():
    """One number box per metric, named by its key."""
    class Targets(SubForm):
        pass
    for key, metric in METRICS.items():
        setattr(Targets, key, TargetField(metric.label, places=1, validators=[Optional()],
                                          description=metric.source, render_kw={"inputmode": "decimal"}))
    return Targets


class PlanForm(PortalForm):
    year = WholeNumberField(_l("Year"), validators=[DataRequired(message=_l("Choose a year.")),
                                                    NumberRange(2000, 2100)])
    department = SelectField(_l("Department"), coerce=int, validate_choice=False)
    review = TextAreaField(_l("Last year's review and open problems"), filters=[strip], validators=[Length(max=5000)])
    capability = TextAreaField(_l("Capability plan: people, technology, resources, processes"), filters=[strip],
                               validators=[Length(max=5000)])
    tracking = TextAreaField(_l("How the plan's execution is tracked"), filters=[strip], validators=[Length(max=5000)])
    targets = FormField(_targets_form(), label=_l("Targets"))
    version = HiddenField()


class NoteForm(PortalForm):
    metric = HiddenField()
    note = TextAreaField(_l("Measures taken"), filters=[strip], validators=[Length(max=2000)])


class MeasureForm(PortalForm):
    title = TextAreaField(_l("Measure"), filters=[strip], validators=[DataRequired(), Length(max=2000)])
    metric = SelectField(_l("Metric"), validate_choice=False,
                         choices=[SelectChoice("", "—")] + [SelectChoice(k, m.label) for k, m in METRICS.items()])
    owner = SelectField(_l("Owner"), coerce=int, validate_choice=False)
    due_on = DayField(_l("Due"), validators=[DataRequired(message=_l("Enter the due date."))])


class StepForm(PortalForm):
    version = HiddenField()
    note = TextAreaField(_l("Note"), filters=[strip], validators=[Length(max=2000)])


@bp.context_processor
def labels():
    return {"METRICS": METRICS, "TRENDS": TRENDS, "MEASURE_STATES": MEASURE_STATES,
            "may_edit": plans.may_edit(current_user) if current_user.is_authenticated else False}


def _departments():
    return [SelectChoice(0, _("Whole service department"))] + [SelectChoice(d.id, d.name)
                                                               for d in Department.active_ones()]


def _plan(plan_id):
    return (Plan.select(Plan, Department).join(Department, JOIN.LEFT_OUTER, on=(Plan.department == Department.id))
            .where(Plan.id == plan_id).first()) or abort(404)


@bp.route("")
@allow("quality.read")
def index():
    """The plans, this year's first, with this month's achievement of the whole department."""
    rows, more_url, page = one_page(plans.plans(), "quality_plan.index")
    return render("quality/plan/index.html", "rows" if page > 1 else None, rows=rows, more_url=more_url,
                  panel=plans.board_panel())


def _save(form, plan=None):
    targets = {key: form.targets.form[key].data for key in METRICS}
    if plan is None:
        created = plans.create(current_user, year=form.year.data, department_id=form.department.data or None,
                               targets=targets, review=form.review.data, capability=form.capability.data,
                               tracking=form.tracking.data)
        return created
    return plans.update(current_user, plan.id, int(form.version.data or 0), targets=targets, review=form.review.data,
                        capability=form.capability.data, tracking=form.tracking.data)


@bp.route("/new", methods=["GET", "POST"])
@allow("quality.run")
def new():
    """A year's plan: the seed's targets proposed, the texts of seed 003's annual plan."""
    data = None
    if request.method == "GET":
        data = {"year": local_now().date().year, "targets": {k: m.default for k, m in METRICS.items()}}
    form = PlanForm(data=data)
    form.department.choices = _departments()
    if form.validate_on_submit():
        try:
            plan = _save(form)
        except DomainError as refused:
            show_refusal(form, refused, fallback="year")
        else:
            toast(_("Plan saved."))
            return redirect_to(url_for("quality_plan.show", plan_id=plan.id))
    return render("quality/plan/edit.html", "form", status=422 if form.errors else 200, form=form, plan=None)


@bp.route("/<int:plan_id>", methods=["GET", "POST"])
@allow("quality.read")
def show(plan_id):
    """The plan and its targets; the manager edits them here."""
    plan = _plan(plan_id)
    if request.method == "GET":
        form = PlanForm(formdata=None, data={"year": plan.year, "department": plan.department_id or 0,
                                             "review": plan.review, "capability": plan.capability,
                                             "tracking": plan.tracking, "targets": plan.targets(),
                                             "version": plan.version})
    else:
        if not plans.may_edit(current_user):
            abort(403)
        form = PlanForm()
    form.department.choices = _departments()
    if request.method == "POST" and form.validate_on_submit():
        try:
            _save(form, plan)
        except DomainError as refused:
            show_refusal(form, refused, fallback="year")
        else:
            toast(_("Plan saved."))
            return redirect_to(url_for("quality_plan.show", plan_id=plan.id))
    return render("quality/plan/edit.html", "form", status=422 if form.errors else 200, form=form, plan=plan)


def _period(plan):
    """The ?period= of the achievement table: a month (2026-11) or a quarter (2026-Q4) of the plan's year."""
    text = request.args.get("period", "").strip().upper()
    today = local_now().date()
    default = Period.containing("month", today if today.year == plan.year else
                                today.replace(year=plan.year, month=12, day=1))
    if not text:
        return default, None
    try:
        period = Period.parse("quarter" if "Q" in text else "month", text)
    except ValueError as error:
        return default, str(error)
    if period.year != plan.year:
        return default, _("Choose a month or quarter of %(year)s.", year=plan.year)
    return period, None


def _achievement_context(plan):
    period, error = _period(plan)
    quarters = [Period("quarter", plan.year, n) for n in range(1, 5)]
    months = [Period("month", plan.year, n) for n in range(1, 13)]
    return {"plan": plan, "period": period, "error": error, "rows": plans.achievement(plan, period),
            "months": months, "quarters": quarters}


@bp.route("/<int:plan_id>/achievement", methods=["GET", "POST"])
@allow("quality.read")
def achievement(plan_id):
    """The achievement table of a month or quarter: target, actual, gap, trend, measures taken."""
    plan = _plan(plan_id)
    context = _achievement_context(plan)
    status = 422 if context["error"] else 200
    note_error = None
    if request.method == "POST":
        if not plans.may_edit(current_user):
            abort(403)
        form = NoteForm()
        if form.validate_on_submit():
            try:
                plans.save_note(current_user, plan.id, form.metric.data, context["period"].key, form.note.data)
            except DomainError as refused:
                note_error, status = (form.metric.data, str(refused)), 422
            else:
                toast(_("Measures saved."))
                return redirect_to(url_for("quality_plan.achievement", plan_id=plan.id, period=context["period"].key))
        else:
            note_error, status = (form.metric.data, _("Reload the page and try again.")), 422
    return render("quality/plan/achievement.html", status=status, note_form=NoteForm(formdata=None),
                  note_error=note_error, **context)


@bp.route("/<int:plan_id>/achievement.pdf")
@allow("quality.read")
def achievement_pdf(plan_id):
    """The achievement table (运维服务管理目标度量达成表), printed."""
    plan = _plan(plan_id)
    context = _achievement_context(plan)
    return render_pdf("print/plan_achievement.html", f"目标度量达成表-{plan.year}-{context['period'].key}.pdf",
                      number=f"JH-{plan.year}-{plan.id}-{context['period'].key}",
                      qr=qr_data_uri(record_url("quality_plan.achievement", plan_id=plan.id,
                                                period=context["period"].key)), **context)


def _owners():
    return [SelectChoice(0, "—")] + [SelectChoice(u.id, u.display_name) for u in
                                     User.select().where(User.is_active == True).order_by(User.display_name)  # noqa: E712
                                     .limit(1000)]


def _tracking(plan, form=None, status=200, error=None, opened=None, posted=None):
    rows, more_url, page = one_page(plans.measures(plan), "quality_plan.tracking", plan_id=plan.id)
    if form is None:
        form = MeasureForm(formdata=None)
    form.owner.choices = _owners()
    steps = {}
    for m in rows:
        for name, _t in m.actions_for(current_user):
            steps[(m.id, name)] = StepForm(prefix=f"m{m.id}-{name}", formdata=None, data={"version": m.version})
    if posted is not None:
        steps[opened] = posted
    return render("quality/plan/tracking.html", status=status, plan=plan, rows=rows, more_url=more_url, form=form,
                  steps=steps,
                  error=error, opened=opened, complaints=plans.complaint_measures(plan),
                  rectifications=plans.rectification_measures(plan), today=local_now().date())


@bp.route("/<int:plan_id>/tracking", methods=["GET", "POST"])
@allow("quality.read")
def tracking(plan_id):
    """The tracking sheet: typed measures with owner, due date and state, beside the complaint
    summaries' improvements and the rectifications."""
    plan = _plan(plan_id)
    if request.method == "GET":
        return _tracking(plan)
    if not plans.may_edit(current_user):
        abort(403)
    form = MeasureForm()
    form.owner.choices = _owners()
    if form.validate_on_submit():
        try:
            plans.add_measure(current_user, plan.id, title=form.title.data, owner_id=form.owner.data or None,
                              due_on=form.due_on.data, metric=form.metric.data)
        except DomainError as refused:
            show_refusal(form, refused, fallback="title")
        else:
            toast(_("Measure added."))
            return redirect_to(url_for("quality_plan.tracking", plan_id=plan.id))
    return _tracking(plan, form, 422)


@bp.route("/measures/<int:measure_id>", methods=["POST"])
@allow("quality.own")
def measure_step(measure_id):
    """One step of a measure (done, dropped, reopened, voided): its owner or a manager."""
    measure = Measure.get_or_none(Measure.id == measure_id) or abort(404)
    plan = _plan(measure.plan_id)
    action = request.form.get("action", "")
    if action not in MEASURE_TRANSITIONS:
        abort(400)
    form = StepForm(prefix=f"m{measure.id}-{action}")
    if not form.validate_on_submit():
        return _tracking(plan, status=422, opened=(measure.id, action), posted=form)
    try:
        plans.apply_measure(measure.id, action, current_user, int(form.version.data or 0), note=form.note.data)
    except DomainError as refused:
        return _tracking(plan, status=422, opened=(measure.id, action), posted=form,
                         error=show_refusal(form, refused))
    toast(_("%(action)s: done.", action=MEASURE_TRANSITIONS[action].label))
    return redirect_to(url_for("quality_plan.tracking", plan_id=plan.id))


@bp.route("/<int:plan_id>/evaluation")
@allow("quality.read")
def evaluation(plan_id):
    """The year-end evaluation: the year's figures, month by month, and next year's proposed targets."""
    plan = _plan(plan_id)
    following = plans.plan_for(plan.year + 1, plan.department_id)
    return render("quality/plan/evaluation.html", plan=plan, rows=plans.evaluation(plan), following=following)


@bp.route("/<int:plan_id>/evaluation.pdf")
@allow("quality.read")
def evaluation_pdf(plan_id):
    """The year-end evaluation report (年度服务能力执行效果评估报告), printed with its charts."""
    plan = _plan(plan_id)
    return render_pdf("print/plan_evaluation.html", f"年度评价报告-{plan.year}.pdf", plan=plan,
                      rows=plans.evaluation(plan), measures=list(plans.measures(plan).limit(200)), number=f"PJ-{plan.year}-{plan.id}",
                      qr=qr_data_uri(record_url("quality_plan.evaluation", plan_id=plan.id)))


@bp.route("/<int:plan_id>/adopt", methods=["POST"])
@allow("quality.run")
def adopt(plan_id):
    """Next year's plan with the proposed targets."""
    plan = _plan(plan_id)
    form = StepForm()
    try:
        if not form.validate_on_submit():
            raise DomainError(_("Reload the page and try again."))
        created = plans.adopt_proposal(current_user, plan.id)
    except DomainError as refused:
        return render("quality/plan/evaluation.html", status=422, plan=plan, rows=plans.evaluation(plan),
                      following=plans.plan_for(plan.year + 1, plan.department_id), error=str(refused))
    toast(_("Next year's plan made from the proposal."))
    return redirect_to(url_for("quality_plan.show", plan_id=created.id))
