"""Training (培训): the courses, the tablet attendance, the sign-in sheet (培训签到表), a person's
training record, the new staff without induction and the monthly training report (月度检查培训报告)."""
import os

from flask import Blueprint, abort, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.file import FileField
from wtforms import DateTimeLocalField, HiddenField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from models import settings
from models.base import DomainError
from models.quality import training
from models.quality.training import KINDS, STATES, TRANSITIONS, Attendee, Course, CourseMaterial
from models.submissions import submit_once
from models.timezone import to_utc
from models.uploads import stored_path
from models.users import Department, User
from printing import qr_data_uri
from views.access import allow, can
from views.fields import CheckboxesField, WholeNumberField, month_period, show_refusal, strip
from views.printing import record_url, render_pdf
from views.ui import PortalForm, is_htmx, one_page, redirect_to, render, toast

bp = Blueprint("quality_training", __name__, url_prefix="/quality/training")


class CourseForm(PortalForm):
    kind = SelectField(_l("Kind of course"), choices=[SelectChoice(k, v) for k, v in KINDS.items()])
    title = StringField(_l("Title"), filters=[strip], validators=[DataRequired(), Length(max=200)])
    starts_at = DateTimeLocalField(_l("Date and time"), format="%Y-%m-%dT%H:%M",
                                   validators=[DataRequired(message=_l("Enter when the course is held."))])
    minutes = WholeNumberField(_l("Duration (minutes)"), default=60, validators=[Optional()])
    trainer = StringField(_l("Trainer"), filters=[strip], validators=[DataRequired(), Length(max=80)])
    place = StringField(_l("Place"), filters=[strip], validators=[Length(max=120)])
    content = TextAreaField(_l("Content"), filters=[strip], validators=[Length(max=5000)])
    departments = CheckboxesField(_l("Departments that must attend"), coerce=int, validate_choice=False)
    people = SelectMultipleField(_l("People who must attend"), coerce=int, validate_choice=False,
                                 render_kw={"size": 8})
    items = CheckboxesField(_l("Checklist items the course addresses"), coerce=int, validate_choice=False)


class StepForm(PortalForm):
    version = HiddenField()
    note = TextAreaField(_l("Note"), filters=[strip], validators=[Length(max=2000)])


class MaterialForm(PortalForm):
    file = FileField(_l("Material (PDF, photo, Excel or Word)"))


class AddPersonForm(PortalForm):
    person = SelectField(_l("Add a person"), coerce=int, validate_choice=False)


@bp.context_processor
def labels():
    return {"KINDS": KINDS, "STATES": STATES, "score_max": settings.get(training.SCORE_MAX)}


def _staff():
    return list(User.select(User.id, User.display_name).where(User.is_active == True)  # noqa: E712
                .order_by(User.display_name).limit(1000))


@bp.route("")
@allow("quality.own")
def index():
    """The courses (newest first) for those who run training; everyone else their own record."""
    if not can("quality.read"):
        return record(current_user.id)
    state = request.args.get("state", "")
    rows, more_url, page = one_page(training.listing(state if state in STATES else None), "quality_training.index")
    return render("quality/training/index.html", "rows" if page > 1 else None, rows=rows, more_url=more_url,
                  counts=training.counts([c.id for c in rows]), state=state,
                  missing=len([1 for _u, _d, overdue in training.without_induction() if overdue]))


def _course_form_choices(form):
    form.departments.choices = [SelectChoice(d.id, d.name) for d in Department.active_ones()]
    form.people.choices = [SelectChoice(u.id, u.display_name) for u in _staff()]
    form.items.choices = [SelectChoice(i, t) for i, t in training.checklist_items()]


@bp.route("/new", methods=["GET", "POST"])
@allow("quality.department")
def new():
    """Plan a course: when, who trains, where, what, who must attend."""
    form = CourseForm()
    _course_form_choices(form)
    if earlier := form.earlier_result():
        return redirect_to(earlier)
    if form.validate_on_submit():
        def create():
            course = training.create(current_user, kind=form.kind.data, title=form.title.data,
                                     starts_at=to_utc(form.starts_at.data), trainer=form.trainer.data,
                                     place=form.place.data, content=form.content.data,
                                     minutes=form.minutes.data or 60, person_ids=form.people.data or (),
                                     department_ids=form.departments.data or (), item_ids=form.items.data or ())
            return url_for("quality_training.show", course_id=course.id)
        try:
            url, created = submit_once(form.submission_key.data, current_user, create)
        except DomainError as refused:
            show_refusal(form, refused, fallback="people")
        else:
            if created:
                toast(_("Course planned."))
            return redirect_to(url)
    return render("quality/training/new.html", "form", status=422 if form.errors else 200, form=form)


def _course(course_id):
    return Course.get_or_none(Course.id == course_id) or abort(404)


def _show(course, posted=None, status=200, error=None):
    actions = course.actions_for(current_user)
    forms = {name: StepForm(prefix=name, formdata=None, data={"version": course.version}) for name, _t in actions}
    if posted is not None:
        posted.version.data = course.version
        forms[posted._prefix.rstrip("-")] = posted
    add_form = AddPersonForm(formdata=None)
    add_form.person.choices = [SelectChoice(0, "—")] + [SelectChoice(u.id, u.display_name) for u in _staff()]
    return render("quality/training/show.html", status=status, course=course, actions=actions, forms=forms,
                  error=error, attendees=training.attendees(course), topics=training.topics(course),
                  materials=list(course.materials.order_by(CourseMaterial.id)), add_form=add_form,
                  material_form=MaterialForm(formdata=None), may_mark=training.may_manage(current_user, course),
                  opened=posted._prefix.rstrip("-") if posted else None)


@bp.route("/<int:course_id>", methods=["GET", "POST"])
@allow("quality.read")
def show(course_id):
    """One course: its attendance list (tap to mark) and the next steps."""
    course = _course(course_id)
    if request.method == "GET":
        return _show(course)
    action = request.form.get("action", "")
    if action not in TRANSITIONS:
        abort(400)
    form = StepForm(prefix=action)
    if not form.validate_on_submit():
        return _show(course, form, 422)
    try:
        training.apply(course.id, action, current_user, int(form.version.data or 0), note=form.note.data)
    except DomainError as refused:
        return _show(_course(course_id), form, 422, show_refusal(form, refused))
    toast(_("%(action)s: done.", action=TRANSITIONS[action].label))
    return redirect_to(url_for("quality_training.show", course_id=course.id))


def _row(course, person_id, error=None, status=200):
    row = (Attendee.select(Attendee, User).join(User, on=(Attendee.person == User.id))
           .where(Attendee.course == course, Attendee.person == person_id).first()) or abort(404)
    return render("quality/training/show.html", "attendee", status=status, course=course, a=row, row_error=error,
                  may_mark=True)


@bp.route("/<int:course_id>/tap/<int:person_id>", methods=["POST"])
@allow("quality.department")
def tap(course_id, person_id):
    """Mark a person present, or absent again: the row swaps in place."""
    course = _course(course_id)
    try:
        training.toggle(current_user, course.id, person_id)
    except DomainError as refused:
        return _row(course, person_id, str(refused), 422)
    return _row(course, person_id) if is_htmx() else redirect_to(
        url_for("quality_training.show", course_id=course.id))


@bp.route("/<int:course_id>/score/<int:person_id>", methods=["POST"])
@allow("quality.department")
def score(course_id, person_id):
    """The test score or rating of one attendee (empty clears it)."""
    course = _course(course_id)
    text = request.form.get("score", "").strip()
    try:
        if text and not text.isdigit():
            raise DomainError(_("A score between 0 and %(max)s.", max=settings.get(training.SCORE_MAX)))
        training.set_score(current_user, course.id, person_id, int(text) if text else None)
    except DomainError as refused:
        return _row(course, person_id, str(refused), 422)
    return _row(course, person_id) if is_htmx() else redirect_to(
        url_for("quality_training.show", course_id=course.id))


@bp.route("/<int:course_id>/people", methods=["POST"])
@allow("quality.department")
def add_person(course_id):
    """Someone not on the list came: add them."""
    course = _course(course_id)
    form = AddPersonForm()
    form.person.choices = [SelectChoice(u.id, u.display_name) for u in _staff()]
    try:
        if not form.validate_on_submit():
            raise DomainError(_("Reload the page and try again."))
        training.add_person(current_user, course.id, form.person.data)
    except DomainError as refused:
        return _show(course, status=422, error=str(refused))
    toast(_("Added to the list."))
    return redirect_to(url_for("quality_training.show", course_id=course.id))


@bp.route("/<int:course_id>/materials", methods=["POST"])
@allow("quality.department")
def add_material(course_id):
    """Attach a course material."""
    course = _course(course_id)
    form = MaterialForm()
    upload = request.files.get("file")
    try:
        if not form.validate_on_submit():
            raise DomainError(_("Reload the page and try again."))
        training.add_material(current_user, course.id, upload.read() if upload else b"",
                              upload.filename if upload else "")
    except DomainError as refused:
        return _show(course, status=422, error=str(refused))
    toast(_("Material attached."))
    return redirect_to(url_for("quality_training.show", course_id=course.id))


@bp.route("/materials/<int:material_id>")
@allow("quality.own")
def material(material_id):
    """A course material, for those on the course and those who run training."""
    row = CourseMaterial.get_or_none(CourseMaterial.id == material_id) or abort(404)
    if not can("quality.read") and not Attendee.select().where(Attendee.course == row.course_id,
                                                               Attendee.person == current_user.id).exists():
        abort(403)
    path = stored_path("training", row.stored_name)
    if not os.path.exists(path):
        abort(404)
    return send_file(path, download_name=row.original_name, as_attachment=True)


@bp.route("/<int:course_id>/signin.pdf")
@allow("quality.read")
def signin_sheet(course_id):
    """The sign-in sheet (培训签到表): the attendees' names and a signature line each."""
    course = _course(course_id)
    return render_pdf("print/training_signin.html", f"培训签到表-{course.number}.pdf", course=course,
                      attendees=training.attendees(course), topics=training.topics(course), number=course.number,
                      qr=qr_data_uri(record_url("quality_training.show", course_id=course.id)))


@bp.route("/people/<int:person_id>")
@allow("quality.own")
def record(person_id):
    """A person's training record: every course they were to attend, attended or missed."""
    if person_id != current_user.id and not can("quality.read"):
        abort(403)
    person = User.get_or_none(User.id == person_id) or abort(404)
    return render("quality/training/record.html", person=person, rows=training.record_of(person))


@bp.route("/new-staff")
@allow("quality.read")
def new_staff():
    """New staff without an induction, the overdue first."""
    return render("quality/training/new_staff.html", rows=training.without_induction(),
                  days=settings.get(training.INDUCTION_DAYS))


def _report_context():
    period, error = month_period(request.args.get("month", "").strip())
    return period, error, training.monthly_report(period)


@bp.route("/report")
@allow("quality.read")
def report():
    """The monthly training report: the month's findings by checklist item beside the courses."""
    period, error, figures = _report_context()
    return render("quality/training/report.html", status=422 if error else 200, error=error, month=period.key,
                  previous=period.previous().key, following=period.following().key, report=figures)


@bp.route("/report.pdf")
@allow("quality.read")
def report_pdf():
    """The monthly training report (月度检查培训报告), printed."""
    period, _error, figures = _report_context()
    return render_pdf("print/training_report.html", f"月度检查培训报告-{period.key}.pdf", month=period.key,
                      report=figures, number=f"PX-{period.key}",
                      qr=qr_data_uri(record_url("quality_training.report", month=period.key)))
