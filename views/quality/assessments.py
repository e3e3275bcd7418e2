"""Quality assessments (考核): my assessment and those I rate, the periods with their ranking,
best staff, the red/black list (红黑榜), the weights, and the printed assessment form and notice."""
from flask import Blueprint, abort, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from models.base import DomainError
from models.quality import assessments, awards
from models.quality.assessments import DIMENSIONS, DIMENSIONS_ZH, SOURCES, STATES, TRANSITIONS, Assessment
from models.quality.awards import AWARD_KINDS, COLOURS
from models.reports import Period
from models.timezone import local_now
from printing import qr_data_uri
from views.access import allow, can
from views.fields import WholeNumberField, show_refusal, strip
from views.printing import record_url, render_pdf
from views.templating import NAV_COUNTS
from views.ui import PortalForm, redirect_to, render, toast

bp = Blueprint("quality_assessments", __name__, url_prefix="/quality/assessments")

NAV_COUNTS["quality_assessments.index"] = assessments.waiting_count


class OpenForm(PortalForm):
    key = StringField(_l("Period"), filters=[strip], validators=[Length(max=8)],
                      description=_l("Like 2026-11 (monthly) or 2026-Q4 (quarterly); empty: the present one."))


class StepForm(PortalForm):
    """One per next step, prefixed with the step's name: the page holds several at once."""
    version = HiddenField()
    performance = WholeNumberField(DIMENSIONS["performance"], render_kw={"inputmode": "numeric"})
    attitude = WholeNumberField(DIMENSIONS["attitude"], render_kw={"inputmode": "numeric"})
    skills = WholeNumberField(DIMENSIONS["skills"], render_kw={"inputmode": "numeric"})
    teamwork = WholeNumberField(DIMENSIONS["teamwork"], render_kw={"inputmode": "numeric"})
    comment = TextAreaField(_l("Comment"), filters=[strip], validators=[Length(max=2000)])
    note = TextAreaField(_l("Reason"), filters=[strip], validators=[Length(max=2000)])


class WeightsForm(PortalForm):
    performance = WholeNumberField(DIMENSIONS["performance"])
    attitude = WholeNumberField(DIMENSIONS["attitude"])
    skills = WholeNumberField(DIMENSIONS["skills"])
    teamwork = WholeNumberField(DIMENSIONS["teamwork"])
    self_share = WholeNumberField(SOURCES["self_share"])
    superior_share = WholeNumberField(SOURCES["superior_share"])
    customer_share = WholeNumberField(SOURCES["customer_share"])


class AwardForm(PortalForm):
    kind = HiddenField()
    key = HiddenField()
    person = SelectField(_l("Member of staff (from the ranking)"), coerce=int, validate_choice=False)
    vendor = StringField(_l("Or a vendor's name"), filters=[strip], validators=[Length(max=120)])
    reason = TextAreaField(_l("Why"), filters=[strip], validators=[Length(max=1000)])


class EntryForm(PortalForm):
    reason = TextAreaField(_l("Reason"), filters=[strip], validators=[Length(max=1000)])


class AddEntryForm(PortalForm):
    colour = SelectField(_l("List"), choices=[SelectChoice(k, v) for k, v in COLOURS.items()])
    name = StringField(_l("Name"), filters=[strip], validators=[Length(max=80)])
    department = StringField(_l("Department"), filters=[strip], validators=[Length(max=80)])
    reason = TextAreaField(_l("Reason"), filters=[strip], validators=[Length(max=1000)])


@bp.context_processor
def labels():
    return {"STATES": STATES, "DIMENSIONS": DIMENSIONS, "AWARD_KINDS": AWARD_KINDS, "COLOURS": COLOURS,
            "SOURCE_LABELS": awards.SOURCES, "MAX_AWARDS": awards.MAX_AWARDS}


def _this_month():
    return Period.containing("month", local_now().date())


@bp.route("/")
@allow("quality.own")
def index():
    """My assessments, those waiting on my rating, the periods, best staff and the red/black list."""
    open_form = OpenForm(formdata=None) if can("quality.run") else None
    return render("quality_assessments/index.html", mine=assessments.mine(current_user),
                  to_rate=assessments.to_rate(current_user), periods=assessments.periods(), open_form=open_form,
                  published=awards.published_awards(), red_black=awards.latest_published_list(),
                  month=_this_month().key, previous_month=_this_month().previous().key,
                  year=local_now().year)


@bp.route("/periods", methods=["POST"])
@allow("quality.run")
def open_period():
    """Open a period: one assessment per member of staff."""
    form = OpenForm()
    if form.validate_on_submit():
        try:
            row = assessments.open_period(current_user, form.key.data or None)
        except DomainError as refused:
            show_refusal(form, refused, fallback="key")
        else:
            toast(_("Period %(key)s opened.", key=row.key))
            return redirect_to(url_for("quality_assessments.period", period_id=row.id))
    return render("quality_assessments/index.html", status=422, mine=assessments.mine(current_user),
                  to_rate=assessments.to_rate(current_user), periods=assessments.periods(), open_form=form,
                  published=awards.published_awards(), red_black=awards.latest_published_list(),
                  month=_this_month().key, previous_month=_this_month().previous().key, year=local_now().year)


def _period(period_id):
    return assessments.AssessmentPeriod.get_or_none(assessments.AssessmentPeriod.id == period_id) or abort(404)


def _award_form(kind, key, ranked, form=None):
    form = form or AwardForm(formdata=None, data={"kind": kind, "key": key})
    form.person.choices = [SelectChoice(0, "—")] + [SelectChoice(person.id, f"{person.display_name} · {score}")
                                                     for person, score in ranked]
    return form


def _render_period(row, award_form=None, status=200, error=None):
    overall = assessments.overall_ranking(row)
    return render("quality_assessments/period.html", status=status, row=row,
                  rows=assessments.period_rows(row, current_user),
                  ranking=assessments.ranking(row, current_user), error=error,
                  awards=list(awards.awards("period", row.key)),
                  award_form=_award_form("period", row.key, [(a.person, a.final_score) for _r, a in overall],
                                         award_form) if can("quality.run") else None)


@bp.route("/periods/<int:period_id>")
@allow("quality.read")
def period(period_id):
    """A period: its assessments and the ranking per department; the manager chooses best staff."""
    return _render_period(_period(period_id))


@bp.route("/periods/<int:period_id>/close", methods=["POST"])
@allow("quality.run")
def close_period(period_id):
    """Close the period: the acknowledged assessments are archived."""
    row = _period(period_id)
    try:
        assessments.close_period(current_user, row.id)
    except DomainError as refused:
        return _render_period(row, status=422, error=str(refused))
    toast(_("Period %(key)s closed.", key=row.key))
    return redirect_to(url_for("quality_assessments.period", period_id=row.id))


@bp.route("/year/<int:year>")
@allow("quality.read")
def year(year):
    """The year's ranking (the average of each person's results) and the best staff of the year."""
    if not 2000 <= year <= 2100:
        abort(404)
    ranked = assessments.annual_ranking(year)
    return render("quality_assessments/year.html", year=year, ranked=ranked,
                  awards=list(awards.awards("year", str(year))),
                  award_form=_award_form("year", str(year), [(p, s) for p, s, _c in ranked])
                  if can("quality.run") else None)


@bp.route("/awards", methods=["POST"])
@allow("quality.run")
def choose_award():
    """Choose a best member of staff or vendor for a period or a year."""
    form = AwardForm()
    kind, key = form.kind.data, form.key.data or ""
    if kind not in AWARD_KINDS:
        abort(400)
    back = _award_target(kind, key)
    if form.validate_on_submit():
        try:
            awards.choose(current_user, kind, key, person_id=form.person.data or None, vendor=form.vendor.data,
                          reason=form.reason.data)
        except DomainError as refused:
            error = show_refusal(form, refused, fallback="reason")
            toast(error or str(refused), "error")
        else:
            toast(_("Chosen: publish when the choice is complete."))
    return redirect_to(back)


def _award_target(kind, key):
    if kind == "year":
        return url_for("quality_assessments.year", year=int(key) if key.isdigit() else local_now().year)
    row = assessments.AssessmentPeriod.get_or_none(assessments.AssessmentPeriod.key == key) or abort(404)
    return url_for("quality_assessments.period", period_id=row.id)


@bp.route("/awards/<int:award_id>/withdraw", methods=["POST"])
@allow("quality.run")
def withdraw_award(award_id):
    """Take back a choice not published yet."""
    award = awards.Award.get_or_none(awards.Award.id == award_id) or abort(404)
    try:
        awards.withdraw(current_user, award.id)
    except DomainError as refused:
        toast(str(refused), "error")
    return redirect_to(_award_target(award.kind, award.period_key))


@bp.route("/awards/publish", methods=["POST"])
@allow("quality.run")
def publish_awards():
    """Publish the chosen best staff to everyone."""
    kind, key = request.form.get("kind", ""), request.form.get("key", "")
    if kind not in AWARD_KINDS:
        abort(400)
    back = _award_target(kind, key)
    try:
        count = awards.publish_awards(current_user, kind, key)
    except DomainError as refused:
        toast(str(refused), "error")
    else:
        toast(_("%(count)s published; everyone is told.", count=count))
    return redirect_to(back)


def _assessment(assessment_id):
    row = assessments.listing().where(Assessment.id == assessment_id).first()
    if row is None or not assessments.can_see(current_user, row):
        abort(404)
    return row


def _show(row, posted=None, status=200, error=None):
    actions = row.actions_for(current_user)
    forms = {name: StepForm(prefix=name, formdata=None, data={"version": row.version}) for name, _t in actions}
    if posted is not None:
        posted.version.data = row.version
        forms[posted._prefix.rstrip("-")] = posted
    figure = None
    if row.customer_score is None and row.is_live:
        figure = assessments.customer_figure(row.person, row.period.period)
    return render("quality_assessments/show.html", status=status, a=row, actions=actions, forms=forms, error=error,
                  figure=figure, opened=posted._prefix.rstrip("-") if posted else None,
                  scale=assessments.settings.get(assessments.SCALE_MAX))


@bp.route("/<int:assessment_id>", methods=["GET", "POST"])
@allow("quality.own")
def show(assessment_id):
    """One assessment: the ratings, the customer figure, the result and the next steps I may take."""
    row = _assessment(assessment_id)
    if request.method == "GET":
        return _show(row)
    action = request.form.get("action", "")
    if action not in TRANSITIONS:
        abort(400)
    form = StepForm(prefix=action)
    if not form.validate_on_submit():
        return _show(row, form, 422)
    try:
        version = int(form.version.data or "")
    except ValueError:
        return _show(row, form, 422, _("Reload the page and try again."))
    ratings = {d: getattr(form, d).data for d in DIMENSIONS}
    try:
        result = assessments.apply(row.id, action, current_user, version, ratings=ratings,
                                   comment=form.comment.data, note=form.note.data)
    except DomainError as refused:
        return _show(_assessment(assessment_id), form, 422, show_refusal(form, refused))
    toast(_("%(action)s: done.", action=TRANSITIONS[action].label))
    return redirect_to(url_for("quality_assessments.show", assessment_id=result.id))


@bp.route("/<int:assessment_id>.pdf")
@allow("quality.own")
def form_pdf(assessment_id):
    """The assessment form (考核表) with the ratings and the signature lines."""
    row = _assessment(assessment_id)
    return render_pdf("print/assessment.html", f"考核表-{row.number}.pdf", a=row, number=row.number,
                      dimensions=DIMENSIONS_ZH, scale=assessments.settings.get(assessments.SCALE_MAX),
                      qr=qr_data_uri(record_url("quality_assessments.show", assessment_id=row.id)))


@bp.route("/weights", methods=["GET", "POST"])
@allow("quality.weights")
def weights():
    """The weights of the four dimensions and of the three sources (each adding up to 100)."""
    form = WeightsForm(data=assessments.current_weights() if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            assessments.set_weights(current_user, {name: form[name].data for name in assessments.DEFAULT_WEIGHTS})
        except DomainError as refused:
            show_refusal(form, refused, fallback="performance")
        else:
            toast(_("Weights saved: periods opened from now on use them."))
            return redirect_to(url_for("quality_assessments.weights"))
    return render("quality_assessments/weights.html", status=422 if form.errors else 200, form=form)


# ---------------------------------------------------------------- the red/black list

def _month(month):
    try:
        return Period.parse("month", month)
    except ValueError:
        abort(404)


def _red_black_page(month, notice, add_form=None, status=200, error=None):
    editable = can("quality.run") and (notice is None or not notice.is_published)
    return render("quality_assessments/red_black.html", status=status, month=month, notice=notice,
                  entries=list(notice.live_entries()) if notice else [], editable=editable, error=error,
                  add_form=(add_form or AddEntryForm(formdata=None)) if editable else None,
                  entry_forms={} if not editable or notice is None else {
                      e.id: EntryForm(prefix=f"e{e.id}", formdata=None, data={"reason": e.reason})
                      for e in notice.live_entries()},
                  previous=month.previous().key, following=month.following().key)


@bp.route("/red-black/<month>")
@allow("quality.own")
def red_black(month):
    """The month's red/black list: published for everyone; the manager's draft to edit."""
    period = _month(month)
    notice = awards.red_black_list(period.key)
    if notice is not None and not notice.is_published and not can("quality.run"):
        notice = None
    return _red_black_page(period, notice)


def _back(month):
    return redirect_to(url_for("quality_assessments.red_black", month=month))


@bp.route("/red-black/<month>/propose", methods=["POST"])
@allow("quality.run")
def red_black_propose(month):
    """Let the portal propose the names of the month (again: only what is new is added)."""
    period = _month(month)
    try:
        _notice, added = awards.propose(current_user, period.key)
    except DomainError as refused:
        toast(str(refused), "error")
    else:
        toast(_("%(count)s names proposed.", count=added))
    return _back(period.key)


@bp.route("/red-black/<month>/add", methods=["POST"])
@allow("quality.run")
def red_black_add(month):
    """Add a name the data does not give."""
    period = _month(month)
    form = AddEntryForm()
    if form.validate_on_submit():
        try:
            awards.add_entry(current_user, period.key, colour=form.colour.data, name=form.name.data,
                             reason=form.reason.data, department=form.department.data)
        except DomainError as refused:
            error = show_refusal(form, refused, fallback="reason")
            return _red_black_page(period, awards.red_black_list(period.key), form, 422, error)
        toast(_("Name added."))
        return _back(period.key)
    return _red_black_page(period, awards.red_black_list(period.key), form, 422)


@bp.route("/red-black/entries/<int:entry_id>", methods=["POST"])
@allow("quality.run")
def red_black_entry(entry_id):
    """Change an entry's reason, or take the name off the list."""
    entry = awards.RedBlackEntry.get_or_none(awards.RedBlackEntry.id == entry_id) or abort(404)
    form = EntryForm(prefix=f"e{entry.id}")
    try:
        if request.form.get("remove"):
            awards.edit_entry(current_user, entry.id, remove=True)
            toast(_("Name taken off the list."))
        elif form.validate_on_submit():
            awards.edit_entry(current_user, entry.id, reason=form.reason.data)
            toast(_("Reason saved."))
    except DomainError as refused:
        toast(str(refused), "error")
    return _back(entry.notice.month)


@bp.route("/red-black/<month>/publish", methods=["POST"])
@allow("quality.run")
def red_black_publish(month):
    """Publish the list: everyone is told, and it prints for the notice board."""
    period = _month(month)
    try:
        awards.publish_list(current_user, period.key)
    except DomainError as refused:
        return _red_black_page(period, awards.red_black_list(period.key), status=422, error=str(refused))
    toast(_("The red/black list is published."))
    return _back(period.key)


@bp.route("/red-black/<month>.pdf")
@allow("quality.own")
def red_black_pdf(month):
    """The red/black list warning notice (红黑榜预警公示) for the notice board."""
    period = _month(month)
    notice = awards.red_black_list(period.key)
    if notice is None or (not notice.is_published and not can("quality.run")):
        abort(404)
    entries = list(notice.live_entries())
    return render_pdf("print/red_black.html", f"红黑榜-{period.key}.pdf", notice=notice, number=notice.number,
                      month=period, red=[e for e in entries if e.colour == "red"],
                      black=[e for e in entries if e.colour == "black"],
                      qr=qr_data_uri(record_url("quality_assessments.red_black", month=period.key)))
