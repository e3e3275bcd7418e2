"""Quality part 1 (服务质量): the overview, the checklist, inspections with their findings,
fines and the bonus fund (with the fine notice and the monthly ledger), rectifications with
the weekly tracking sheet, and the third-time proposals the service manager decides."""
import datetime as dt
import os

from flask import Blueprint, abort, current_app, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import BooleanField, FileField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from models import settings
from models.base import DomainError
from models.money import Money
from models.quality import checklists, fines, inspections, rectifications
from models.quality.checklists import ChecklistItem
from models.quality.fines import DECISIONS, Fine, StaffProposal
from models.quality.inspections import KINDS, Finding, Inspection, scope
from models.quality.rectifications import Rectification
from models.reports import Period
from models.submissions import submit_once
from models.timezone import local_now
from models.uploads import UploadError, check_image, print_data_uri, stored_path
from models.users import Department, User
from printing import qr_data_uri
from views.access import allow
from views.exports import table_download
from views.fields import AmountField, DayField, WholeNumberField, month_period, show_refusal, strip
from views.printing import record_url, render_pdf
from views.ui import PortalForm, one_page, redirect_to, render, render_fragment, toast

bp = Blueprint("quality", __name__, url_prefix="/quality")

#: Rectifications the weekly page shows; the printed sheet has them all.
WEEK_SHOWN = 200
#: The other parts of the area, linked from the overview once they are there.
OTHER_PARTS = [("quality_assessments.index", _l("Assessments")), ("quality_training.index", _l("Training")),
               ("quality_plan.index", _l("Service-capability plan"))]


# Forms

class InspectionForm(PortalForm):
    kind = SelectField(_l("Kind of inspection"), choices=[SelectChoice(k, v) for k, v in KINDS.items()],
                       validate_choice=False)
    department = SelectField(_l("Department inspected"), coerce=int, validate_choice=False,
                             description=_l("A special check or floor walk may cover the whole store (no department)."))
    inspected_on = DayField(_l("Day of the inspection"),
                            validators=[InputRequired(message=_l("Enter a date like 2026-11-23."))])
    notes = TextAreaField(_l("Notes"), filters=[strip], validators=[Length(max=2000)])


class FindingForm(PortalForm):
    item = SelectField(_l("Checklist item"), coerce=int, validate_choice=False)
    person = SelectField(_l("Responsible person"), coerce=int, validate_choice=False)
    points_lost = StringField(_l("Points lost"), filters=[strip], validators=[DataRequired(), Length(max=10)],
                              render_kw={"inputmode": "decimal"})
    seen = TextAreaField(_l("What was seen"), filters=[strip], validators=[DataRequired(), Length(max=2000)])
    photo = FileField(_l("Photo (optional)"), render_kw={"accept": "image/*", "capture": "environment"})

    def checked_photo(self):
        """(bytes, format) of an uploaded photo, None without one; errors go beside the field."""
        upload = request.files.get(self.photo.name)
        if not upload or not upload.filename:
            return None
        limit = settings.get(inspections.PHOTO_MAX_MB) * 1024 * 1024
        try:
            image_format, _w, _h = check_image(upload.read(limit + 1), limit)
        except UploadError as exc:
            self.photo.errors = [*self.photo.errors, str(exc)]
            return None
        upload.seek(0)
        return upload.read(limit + 1), image_format


class StepForm(PortalForm):
    version = HiddenField()
    note = TextAreaField(_l("Note"), filters=[strip], validators=[Length(max=5000)])


class CorrectForm(PortalForm):
    version = HiddenField()
    amount = AmountField(_l("Corrected amount (yuan)"), validators=[InputRequired(message=_l("Enter an amount."))],
                         render_kw={"inputmode": "decimal"},
                         description=_l("0 cancels the fine. The old notice stays on file, marked as replaced."))
    reason = TextAreaField(_l("Reason for the correction"), filters=[strip], validators=[DataRequired(),
                                                                                          Length(max=2000)])


class PayoutForm(PortalForm):
    department = SelectField(_l("Department"), coerce=int, validate_choice=False)
    person = SelectField(_l("Paid to"), coerce=int, validate_choice=False)
    amount = AmountField(_l("Amount (yuan)"), validators=[InputRequired(message=_l("Enter an amount."))],
                         render_kw={"inputmode": "decimal"})
    reason = TextAreaField(_l("Reason"), filters=[strip], validators=[DataRequired(), Length(max=2000)])


class DecideForm(PortalForm):
    version = HiddenField()
    decision = RadioField(_l("Decision"), choices=[SelectChoice(k, v) for k, v in DECISIONS.items()],
                          validators=[InputRequired(message=_l("Choose a decision."))])
    note = TextAreaField(_l("Note on the decision"), filters=[strip], validators=[DataRequired(), Length(max=2000)])


class ChecklistForm(PortalForm):
    version = HiddenField()
    title = StringField(_l("Checklist item"), filters=[strip], validators=[DataRequired(), Length(max=200)])
    points = StringField(_l("Points"), filters=[strip], validators=[DataRequired(), Length(max=10)],
                         render_kw={"inputmode": "decimal"})
    department = SelectField(_l("Department"), coerce=int, validate_choice=False)
    post = StringField(_l("Post"), filters=[strip], validators=[Length(max=60)])
    position = WholeNumberField(_l("Order"), validators=[Optional()])
    active = BooleanField(_l("In use"), default=True)


@bp.context_processor
def labels():
    return {"KINDS": KINDS, "INSPECTION_STATES": inspections.STATES, "RECT_STATES": rectifications.STATES,
            "FINE_STATES": fines.FINE_STATES, "quality_scope": scope(current_user)[0]
            if current_user.is_authenticated else None}


def _departments(blank=None):
    choices = [SelectChoice(0, blank)] if blank else []
    return choices + [SelectChoice(d.id, d.name) for d in Department.active_ones()]


def _version(form):
    try:
        return int(form.version.data or "")
    except ValueError:
        return None


# Overview

@bp.route("")
@allow("quality.own")
def index():
    """The overview: today's floor walk, open rectifications, this month's fines and fund per
    department (for those who see departments), and what is mine."""
    kind, value = scope(current_user)
    today = local_now().date()
    period = Period.containing("month", today)
    open_items = list(rectifications.visible_rectifications(current_user)
                      .where(Rectification.state.in_(rectifications.OPEN_STATES)).limit(20))
    departments = None
    if kind != "own":
        departments = fines.month_by_department(period.start, period.end, None if kind == "all" else [value])
    mine = list(fines.listing().where(Fine.person == current_user.id, Fine.voided_at.is_null(),
                                      Fine.issued_on >= period.start, Fine.issued_on < period.end))
    parts = [(endpoint, label) for endpoint, label in OTHER_PARTS if endpoint in current_app.view_functions]
    return render("quality/index.html", walk=inspections.todays_floor_walk(), open_items=open_items,
                  departments=departments, mine=mine, month=period.key, today=today, parts=parts,
                  proposals=fines.open_proposals().count() if current_user.can("quality.run") else 0,
                  walk_hour=settings.get(inspections.FLOOR_WALK_HOUR),
                  can_start=current_user.can("quality.department"))


# Inspections

@bp.route("/inspections")
@allow("quality.own")
def inspection_list():
    """Inspections I may see, newest first, filtered by kind."""
    kind = request.args.get("kind", "")
    query = inspections.visible_inspections(current_user)
    if kind in KINDS:
        query = query.where(Inspection.kind == kind)
    rows, more, _page = one_page(query, "quality.inspection_list")
    return render("quality/inspections.html", "rows", rows=rows, more=more, kind=kind)


def _inspection_form(form):
    form.department.choices = _departments(blank="—")
    if not current_user.can("quality.run"):  # a head: their own department's self-check
        form.kind.choices = [SelectChoice("self", KINDS["self"])]
        form.department.choices = [c for c in form.department.choices if c.value == current_user.department_id]
    return form


@bp.route("/inspections/new", methods=["GET", "POST"])
@allow("quality.department")
def inspection_new():
    """Start an inspection; ?kind=floor_walk starts today's floor walk."""
    form = _inspection_form(InspectionForm())
    if request.method == "GET":
        form.kind.data = request.args.get("kind") if request.args.get("kind") in KINDS else "self"
        form.inspected_on.data = local_now().date()
        form.department.data = 0 if form.kind.data == "floor_walk" else (current_user.department_id or 0)
    if earlier := form.earlier_result():
        return redirect_to(earlier)
    if form.validate_on_submit():
        def start():
            inspection = inspections.create(current_user, kind=form.kind.data, department_id=form.department.data or None,
                                            inspected_on=form.inspected_on.data, notes=form.notes.data)
            return url_for("quality.inspection", inspection_id=inspection.id)
        try:
            url, created = submit_once(form.submission_key.data, current_user, start)
        except DomainError as refused:
            show_refusal(form, refused, fallback="kind")
        else:
            if created:
                toast(_("Inspection started: add what you find."))
            return redirect_to(url)
    return render("quality/inspection_new.html", status=422 if form.errors else 200, form=form)


def _load_inspection(inspection_id):
    inspection = inspections.listing().where(Inspection.id == inspection_id).first() or abort(404)
    if not inspections.can_see(current_user, inspection):
        abort(404)
    return inspection


def _finding_form(inspection, form=None):
    form = form or FindingForm(formdata=None)
    form.item.choices = [SelectChoice(0, "—")] + [
        SelectChoice(i.id, f"{i.title}（{i.points.normalize()}）" + (f" · {i.post}" if i.post else ""))
        for i in checklists.items_for(inspection.department_id)]
    people = User.select().where(User.is_active == True, User.department.is_null(False))  # noqa: E712
    if inspection.department_id:
        people = people.where(User.department == inspection.department_id)
    form.person.choices = [SelectChoice(0, "—")] + [SelectChoice(u.id, u.display_name)
                                                    for u in people.order_by(User.display_name).limit(500)]
    return form


def _show_inspection(inspection, finding_form=None, step=None, status=200, error=None):
    actions = inspection.actions_for(current_user)
    forms = {name: StepForm(prefix=name, formdata=None, data={"version": inspection.version}) for name, _t in actions}
    if step is not None:
        step.version.data = inspection.version
        forms[step._prefix.rstrip("-")] = step
    findings = list(inspection.live_findings())
    fined = {f.finding_id: f for f in Fine.select().where(Fine.finding.in_([x.id for x in findings]))}
    rects = {r.finding_id: r for r in Rectification.select().where(Rectification.finding.in_([x.id for x in findings]))}
    editable = inspection.may_edit(current_user)
    return render("quality/inspection.html", status=status, inspection=inspection, findings=findings, fined=fined,
                  rects=rects, actions=actions, forms=forms, error=error, editable=editable,
                  finding_form=_finding_form(inspection, finding_form) if editable else None,
                  opened=step._prefix.rstrip("-") if step else None)


@bp.route("/inspections/<int:inspection_id>", methods=["GET", "POST"])
@allow("quality.own")
def inspection(inspection_id):
    """One inspection, its findings, and the next step (complete, void)."""
    record = _load_inspection(inspection_id)
    if request.method == "GET":
        return _show_inspection(record)
    action = request.form.get("action", "")
    if action not in inspections.TRANSITIONS:
        abort(400)
    form = StepForm(prefix=action)
    if not form.validate_on_submit():
        return _show_inspection(record, step=form, status=422)
    version = _version(form)
    if version is None:
        return _show_inspection(record, step=form, status=422, error=_("Reload the page and try again."))
    try:
        inspections.apply(record.id, action, current_user, version, note=form.note.data)
    except DomainError as refused:
        return _show_inspection(_load_inspection(inspection_id), step=form, status=422,
                                error=show_refusal(form, refused))
    toast(_("%(action)s: done.", action=inspections.TRANSITIONS[action].label))
    return redirect_to(url_for("quality.inspection", inspection_id=record.id))


@bp.route("/inspections/<int:inspection_id>/findings", methods=["POST"])
@allow("quality.department")
def finding_add(inspection_id):
    """Add a point lost to a draft inspection."""
    record = _load_inspection(inspection_id)
    form = _finding_form(record, FindingForm())
    valid = form.validate_on_submit()
    photo = form.checked_photo()  # checked even when other fields are wrong: all errors at once
    if earlier := form.earlier_result():
        return redirect_to(earlier)
    if valid and not form.photo.errors:
        def add():
            inspections.add_finding(current_user, record.id, item_id=form.item.data or None,
                                    person_id=form.person.data or None, points_lost=form.points_lost.data,
                                    seen=form.seen.data, photo=photo)
            return url_for("quality.inspection", inspection_id=record.id) + "#findings"
        try:
            url, created = submit_once(form.submission_key.data, current_user, add)
        except DomainError as refused:
            error = show_refusal(form, refused)
            return _show_inspection(record, finding_form=form, status=422, error=error)
        if created:
            toast(_("Finding recorded."))
        return redirect_to(url)
    return _show_inspection(record, finding_form=form, status=422)


@bp.route("/findings/<int:finding_id>/remove", methods=["POST"])
@allow("quality.department")
def finding_remove(finding_id):
    """Take back a finding of a draft."""
    finding = Finding.get_or_none(Finding.id == finding_id) or abort(404)
    record = _load_inspection(finding.inspection_id)
    try:
        inspections.remove_finding(current_user, finding.id)
    except DomainError as refused:
        return _show_inspection(record, status=422, error=str(refused))
    toast(_("Finding taken back."))
    return redirect_to(url_for("quality.inspection", inspection_id=record.id))


@bp.route("/findings/<int:finding_id>/photo")
@allow("quality.own")
def finding_photo(finding_id):
    """A finding's photo (?thumb=1 its thumbnail), to those who see the inspection."""
    finding = Finding.get_or_none(Finding.id == finding_id) or abort(404)
    _load_inspection(finding.inspection_id)
    if not finding.photo:
        abort(404)
    path = stored_path("quality", finding.photo, thumbnail=request.args.get("thumb") == "1")
    if not os.path.isfile(path):
        abort(404)
    return send_file(path, max_age=0)


# Fines and the bonus fund

def _payout_form(form=None):
    form = form or PayoutForm(formdata=None)
    form.department.choices = _departments(blank="—")
    form.person.choices = [SelectChoice(0, "—")] + [
        SelectChoice(u.id, f"{u.display_name}（{u.department.name}）") for u in
        User.select(User, Department).join(Department).where(User.is_active == True)  # noqa: E712
        .order_by(Department.name, User.display_name).limit(1000)]
    return form


def _fines_page(period, error=None, payout_form=None, status=200):
    kind, value = scope(current_user)
    query = fines.visible_fines(current_user).where(Fine.issued_on >= period.start, Fine.issued_on < period.end)
    rows, more, _page = one_page(query, "quality.fine_list")
    departments = None
    if kind != "own":
        departments = fines.month_by_department(period.start, period.end, None if kind == "all" else [value])
    return render("quality/fines.html", "rows", status=status, rows=rows, more=more, month=period.key, error=error,
                  previous=period.previous().key, following=period.following().key, departments=departments,
                  payout_form=_payout_form(payout_form) if current_user.can("quality.run") else None)


@bp.route("/fines")
@allow("quality.own")
def fine_list():
    """The month's fines I may see; per department the fines and the bonus fund."""
    period, error = month_period(request.args.get("month", "").strip())
    return _fines_page(period, error, status=422 if error else 200)


@bp.route("/fund/payout", methods=["POST"])
@allow("quality.run")
def payout():
    """Pay from a department's bonus fund to a named person."""
    form = PayoutForm()
    period, _error = month_period("")
    if earlier := form.earlier_result():
        return redirect_to(earlier)
    if form.validate_on_submit():
        def pay():
            fines.payout(current_user, department_id=form.department.data or None, person_id=form.person.data or None,
                         amount=form.amount.data, reason=form.reason.data)
            return url_for("quality.fine_list")
        try:
            url, created = submit_once(form.submission_key.data, current_user, pay)
        except DomainError as refused:
            error = show_refusal(form, refused, fallback="department")
            return _fines_page(period, error, form, status=422)
        if created:
            toast(_("Payout recorded."))
        return redirect_to(url)
    return _fines_page(period, payout_form=form, status=422)


def _load_fine(fine_id):
    fine = fines.listing().where(Fine.id == fine_id).first() or abort(404)
    if not fines.can_see_fine(current_user, fine):
        abort(404)
    return fine


def _fine_context(fine):
    finding = (Finding.select(Finding, ChecklistItem, Inspection)
               .join(ChecklistItem, on=(Finding.item == ChecklistItem.id))
               .switch(Finding).join(Inspection, on=(Finding.inspection == Inspection.id))
               .where(Finding.id == fine.finding_id).first() if fine.finding_id else None)
    if finding is None and fine.corrects_id:  # a correction: the fault is the replaced fine's
        original = fine
        while finding is None and original.corrects_id:
            original = Fine.get_by_id(original.corrects_id)
            if original.finding_id:
                finding = (Finding.select(Finding, ChecklistItem, Inspection)
                           .join(ChecklistItem, on=(Finding.item == ChecklistItem.id))
                           .switch(Finding).join(Inspection, on=(Finding.inspection == Inspection.id))
                           .where(Finding.id == original.finding_id).first())
    return finding


@bp.route("/fines/<int:fine_id>", methods=["GET", "POST"])
@allow("quality.own")
def fine(fine_id):
    """One fine: the fault, the amount and how it was reckoned; the manager corrects it."""
    record = _load_fine(fine_id)
    form = CorrectForm(formdata=None, data={"version": record.version}) if current_user.can("quality.run") else None
    status, error = 200, None
    if request.method == "POST":
        if not current_user.can("quality.run"):
            abort(403)
        form = CorrectForm()
        if form.validate_on_submit():
            try:
                new = fines.correct(current_user, record.id, _version(form) or 0, amount=form.amount.data,
                                    reason=form.reason.data)
            except DomainError as refused:
                error = show_refusal(form, refused)
            else:
                toast(_("Fine corrected."))
                return redirect_to(url_for("quality.fine", fine_id=new.id if new else record.id))
        status = 422
    corrections = list(Fine.select().where(Fine.corrects == record.id))
    return render("quality/fine.html", status=status, fine=record, finding=_fine_context(record), form=form,
                  error=error, corrections=corrections,
                  replaced=Fine.get_by_id(record.corrects_id) if record.corrects_id else None)


@bp.route("/fines/<int:fine_id>/notice.pdf")
@allow("quality.own")
def fine_notice(fine_id):
    """The fine notice (处罚通知单) for the person to sign; once printed, a fine changes only by a correction."""
    record = _load_fine(fine_id)
    finding = _fine_context(record)
    if record.state == "issued":
        fines.mark_printed(record)
    photo = print_data_uri("quality", finding.photo, 600) if finding and finding.photo else None
    return render_pdf("print/quality_fine.html", f"处罚通知单-{record.number}.pdf", fine=record, finding=finding,
                      number=record.number, photo=photo,
                      replaced=Fine.get_by_id(record.corrects_id) if record.corrects_id else None,
                      point_value=settings.get(fines.POINT_VALUE),
                      qr=qr_data_uri(record_url("quality.fine", fine_id=record.id)))


def _ledger_department():
    kind, value = scope(current_user)
    wanted = request.args.get("department_id", "")
    department_id = int(wanted) if wanted.isascii() and wanted.isdecimal() and len(wanted) < 10 else None
    if kind != "all":
        department_id = value if kind == "department" else current_user.department_id
    if department_id is None:
        department_id = current_user.department_id or Department.active_ones().first().id
    return Department.get_or_none(Department.id == department_id) or abort(404)


@bp.route("/ledger.<fmt>")
@allow("quality.department")
def ledger(fmt):
    """The month's fines and bonus fund of a department: printed (pdf) or a spreadsheet (csv, xlsx)."""
    if fmt not in ("pdf", "csv", "xlsx"):
        abort(404)
    period, _error = month_period(request.args.get("month", "").strip())
    department = _ledger_department()
    book = fines.ledger(period.start, period.end, department.id)
    name = f"罚款及奖励基金台账-{department.name}-{period.key}"
    if fmt == "pdf":
        return render_pdf("print/quality_ledger.html", f"{name}.pdf", book=book, department=department,
                          month=period.key, number=f"QL-{period.key}-{department.id}",
                          qr=qr_data_uri(record_url("quality.fine_list", month=period.key)))
    headers = [_("Kind"), _("Number"), _("Date"), _("Person"), _("Amount (yuan)"), _("Reason")]
    rows = [[_("Fine"), f.number, f.issued_on.isoformat(), f.person.display_name, Money(f.amount),
             f.reason or _("%(points)s points × %(multiplier)s", points=f.points.normalize(),
                           multiplier=f.multiplier.normalize())] for f in book["fines"]]
    rows += [[_("Bonus fund"), "", e.on.isoformat(), e.person.display_name if e.person_id else "", Money(e.amount),
              e.reason or (_("No point lost: %(inspection)s %(number)s", inspection=e.inspection.kind_label,
                                number=e.inspection.number) if e.inspection_id else "")]
             for e in book["entries"]]
    return table_download(name, headers, rows, fmt)


# Third-time proposals

@bp.route("/proposals")
@allow("quality.run")
def proposals():
    """Staff at fault the third time: the manager decides reassignment, dismissal or keeping them."""
    return _proposals_page()


def _proposals_page(posted=None, posted_id=None, status=200, error=None):
    rows, more, page = one_page(fines.open_proposals(), "quality.proposals")
    if posted_id is not None and all(p.id != posted_id for p in rows):
        # The decision refused was on a later page: it comes back first, beside its errors.
        rows = list(fines.open_proposals().where(StaffProposal.id == posted_id)) + rows
    findings = {f.id: f for f in (Finding.select(Finding, ChecklistItem, Inspection)
                                  .join(ChecklistItem, on=(Finding.item == ChecklistItem.id))
                                  .switch(Finding).join(Inspection, on=(Finding.inspection == Inspection.id))
                                  .where(Finding.id.in_([p.finding_id for p in rows])))}
    forms = {p.id: (posted if p.id == posted_id else DecideForm(prefix=f"p{p.id}", formdata=None,
                                                              data={"version": p.version})) for p in rows}
    if page > 1 and posted is None:
        return render_fragment("quality/proposals.html", "more_proposals", rows=rows, findings=findings,
                               forms=forms, more=more)
    decided = list(StaffProposal.select(StaffProposal, User).join(User, on=(StaffProposal.person == User.id))
                   .where(StaffProposal.state == "decided").order_by(StaffProposal.decided_at.desc()).limit(20))
    return render("quality/proposals.html", status=status, rows=rows, findings=findings, forms=forms, error=error,
                  decided=decided, more=more)


@bp.route("/proposals/<int:proposal_id>", methods=["POST"])
@allow("quality.run")
def proposal_decide(proposal_id):
    """Decide one proposal with a note."""
    proposal = StaffProposal.get_or_none(StaffProposal.id == proposal_id) or abort(404)
    form = DecideForm(prefix=f"p{proposal.id}")
    if form.validate_on_submit():
        try:
            fines.decide(current_user, proposal.id, _version(form) or 0, decision=form.decision.data,
                         note=form.note.data)
        except DomainError as refused:
            return _proposals_page(form, proposal.id, 422, show_refusal(form, refused))
        toast(_("Decision recorded."))
        return redirect_to(url_for("quality.proposals"))
    return _proposals_page(form, proposal.id, 422)


# Rectifications

@bp.route("/rectifications")
@allow("quality.own")
def rectification_list():
    """Rectifications I may see: open ones first (overdue marked), or all."""
    state = request.args.get("state", "open")
    query = rectifications.visible_rectifications(current_user)
    if state == "open":
        query = query.where(Rectification.state.in_(rectifications.OPEN_STATES))
    elif state in rectifications.STATES:
        query = query.where(Rectification.state == state)
    rows, more, _page = one_page(query, "quality.rectification_list")
    return render("quality/rectifications.html", "rows", rows=rows, more=more, state=state,
                  today=local_now().date(), week=rectifications.week_of(local_now().date())[0])


def _load_rectification(rectification_id):
    item = rectifications.listing().where(Rectification.id == rectification_id).first() or abort(404)
    if not rectifications.can_see(current_user, item):
        abort(404)
    return item


def _show_rectification(item, posted=None, status=200, error=None):
    actions = item.actions_for(current_user)
    forms = {name: StepForm(prefix=name, formdata=None, data={"version": item.version}) for name, _t in actions}
    if posted is not None:
        posted.version.data = item.version
        forms[posted._prefix.rstrip("-")] = posted
    for name, transition in actions:
        if transition.note_label:
            forms[name].note.label.text = transition.note_label
    return render("quality/rectification.html", status=status, item=item, actions=actions, forms=forms, error=error,
                  opened=posted._prefix.rstrip("-") if posted else None, today=local_now().date())


@bp.route("/rectifications/<int:rectification_id>", methods=["GET", "POST"])
@allow("quality.own")
def rectification(rectification_id):
    """One rectification: close it with what was done; the inspector verifies or reopens it."""
    item = _load_rectification(rectification_id)
    if request.method == "GET":
        return _show_rectification(item)
    action = request.form.get("action", "")
    if action not in rectifications.TRANSITIONS:
        abort(400)
    form = StepForm(prefix=action)
    if not form.validate_on_submit():
        return _show_rectification(item, form, 422)
    version = _version(form)
    if version is None:
        return _show_rectification(item, form, 422, _("Reload the page and try again."))
    try:
        rectifications.apply(item.id, action, current_user, version, note=form.note.data)
    except DomainError as refused:
        return _show_rectification(_load_rectification(rectification_id), form, 422, show_refusal(form, refused))
    toast(_("%(action)s: done.", action=rectifications.TRANSITIONS[action].label))
    return redirect_to(url_for("quality.rectification", rectification_id=item.id))


def _week():
    text = request.args.get("week", "")
    try:
        day = dt.date.fromisoformat(text) if text else local_now().date()
    except ValueError:
        return rectifications.week_of(local_now().date())[0], _("Enter a date like 2026-11-23.")
    return rectifications.week_of(day)[0], None


@bp.route("/rectifications/weekly")
@allow("quality.own")
def weekly():
    """The weekly rectification tracking sheet (每周问题整改跟进表): open and closed items by department."""
    start, error = _week()
    sheet = rectifications.weekly_sheet(current_user, start, limit=WEEK_SHOWN + 1)
    shown = sum(len(rows) for _name, rows in sheet)
    if shown > WEEK_SHOWN:  # drop the one beyond, from the last department
        sheet[-1][1].pop()
        if not sheet[-1][1]:
            sheet.pop()
    return render("quality/weekly.html", status=422 if error else 200, error=error, start=start,
                  end=start + dt.timedelta(days=6), sheet=sheet, cut=shown > WEEK_SHOWN, shown=WEEK_SHOWN,
                  previous=start - dt.timedelta(days=7), following=start + dt.timedelta(days=7),
                  today=local_now().date())


@bp.route("/rectifications/weekly.pdf")
@allow("quality.own")
def weekly_pdf():
    """The weekly rectification tracking sheet, printed."""
    start, _error = _week()
    return render_pdf("print/quality_weekly.html", f"每周问题整改跟进表-{start.isoformat()}.pdf", start=start,
                      end=start + dt.timedelta(days=6), sheet=rectifications.weekly_sheet(current_user, start),
                      number=f"ZG-{start.isoformat()}", today=local_now().date(),
                      qr=qr_data_uri(record_url("quality.weekly", week=start.isoformat())))


# The checklist

def _checklist_form(form=None, item=None):
    if form is None:
        data = {"version": item.version, "title": item.title, "points": str(item.points.normalize()),
                "department": item.department_id or 0, "post": item.post, "position": item.position,
                "active": item.active} if item else None
        form = ChecklistForm(formdata=None, data=data)
    form.department.choices = _departments(blank=_("Every department"))
    return form


def _save_checklist(form, item=None):
    try:
        saved = checklists.save_item(current_user, title=form.title.data, points=form.points.data,
                                     department_id=form.department.data or None, post=form.post.data,
                                     active=form.active.data, position=form.position.data or 0,
                                     item_id=item.id if item else None,
                                     version=(_version(form) if item else None))
    except DomainError as refused:
        return None, show_refusal(form, refused, fallback="title")
    return saved, None


@bp.route("/checklist", methods=["GET", "POST"])
@allow("quality.checklist")
def checklist():
    """The checklist (顾客满意度考核评分表): items with their points, by department and post."""
    form = _checklist_form(ChecklistForm() if request.method == "POST" else None)
    error = None
    if request.method == "POST":
        if earlier := form.earlier_result():
            return redirect_to(earlier)
        if form.validate_on_submit():
            def add():
                saved, refusal = _save_checklist(form)
                if saved is None:
                    raise DomainError(refusal or _("Check the fields marked."))
                return url_for("quality.checklist")
            try:
                url, created = submit_once(form.submission_key.data, current_user, add)
            except DomainError as refused:
                error = None if form.errors else str(refused)
            else:
                if created:
                    toast(_("Checklist item added."))
                return redirect_to(url)
    return render("quality/checklist.html", status=422 if request.method == "POST" else 200, form=form,
                  items=list(checklists.listing().limit(1000)), error=error)


@bp.route("/checklist/<int:checklist_item_id>", methods=["GET", "POST"])
@allow("quality.checklist")
def checklist_item(checklist_item_id):
    """Change a checklist item (its points, post, whether it is in use)."""
    item = ChecklistItem.get_or_none(ChecklistItem.id == checklist_item_id) or abort(404)
    form = _checklist_form(ChecklistForm() if request.method == "POST" else None, item)
    error = None
    if request.method == "POST" and form.validate_on_submit():
        saved, error = _save_checklist(form, item)
        if saved is not None:
            toast(_("Checklist item saved."))
            return redirect_to(url_for("quality.checklist"))
    return render("quality/checklist_item.html", status=422 if request.method == "POST" else 200, form=form,
                  item=item, error=error)
