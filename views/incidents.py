"""Emergency reports (紧急情况处理登记表) with photos of the scene."""
import os

from flask import Blueprint, abort, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import DateTimeLocalField, MultipleFileField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length

from models.duty import (
    INCIDENT_PHOTO_MAX_MB, INCIDENT_REPORT_MAX_MB, NOTIFIED_PARTIES, DutyError, EmergencyReport, IncidentPhoto,
    create_emergency, resolve_emergency,
)
from models.submissions import submit_once
from models.timezone import local_now, to_utc
from models.uploads import print_data_uri, stored_path
from printing import qr_data_uri
from views.access import allow
from views.fields import CheckboxesField, checked_photos, strip
from views.printing import record_url, render_pdf
from views.ui import PortalForm, redirect_to, render, toast

bp = Blueprint("incidents", __name__)

TEXT = [Length(max=4000)]


class IncidentForm(PortalForm):
    occurred_at = DateTimeLocalField(_l("When it happened"), format="%Y-%m-%dT%H:%M",
                                     validators=[InputRequired(message=_l("Enter when it happened."))])
    place = StringField(_l("Where"), filters=[strip], validators=[DataRequired(), Length(max=200)])
    what = TextAreaField(_l("What happened"), filters=[strip], validators=[DataRequired(), *TEXT])
    notified = CheckboxesField(_l("Who was told"), choices=[SelectChoice(k, v) for k, v in NOTIFIED_PARTIES.items()])
    actions = TextAreaField(_l("Actions taken"), filters=[strip], validators=TEXT)
    casualties = TextAreaField(_l("Casualties and damage"), filters=[strip], validators=TEXT)
    outcome = TextAreaField(_l("Outcome"), filters=[strip], validators=TEXT,
                            description=_l("Leave empty while the event is still going on."))
    photos = MultipleFileField(_l("Photos of the scene"), render_kw={"accept": "image/*"},
                               description=_l("Take them with the tablet's camera or choose them from its files."))



@bp.route("/incidents")
@allow("incidents.report")
def index():
    """Emergency reports, newest first."""
    reports = list(EmergencyReport.select().order_by(EmergencyReport.occurred_at.desc()).limit(200))
    return render("incidents/index.html", reports=reports)


@bp.route("/incidents/new", methods=["GET", "POST"])
@allow("incidents.report")
def new():
    """Write an emergency report; the managers are told at once."""
    form = IncidentForm()
    if request.method == "GET":
        form.occurred_at.data = local_now().replace(tzinfo=None, second=0, microsecond=0)
        return render("incidents/new.html", "form", form=form)
    if earlier := form.earlier_result():
        return redirect_to(earlier)
    valid = form.validate()
    photos = checked_photos(form.photos, INCIDENT_PHOTO_MAX_MB, INCIDENT_REPORT_MAX_MB)
    if not valid or form.photos.errors:
        return render("incidents/new.html", "form", status=422, form=form)

    def create():
        report = create_emergency(current_user, to_utc(form.occurred_at.data), form.place.data, form.what.data,
                                  form.notified.data or [], form.actions.data, form.casualties.data,
                                  form.outcome.data, photos)
        return url_for("incidents.show", report_id=report.id)
    try:
        url, _created = submit_once(form.submission_key.data, current_user, create)
    except DutyError as exc:
        form.what.errors.append(str(exc))
        return render("incidents/new.html", "form", status=422, form=form)
    toast(_("Emergency report saved; the service manager has been told."))
    return redirect_to(url)


def _report_or_404(report_id):
    return EmergencyReport.get_or_none(EmergencyReport.id == report_id) or abort(404)


@bp.route("/incidents/<int:report_id>")
@allow("incidents.report")
def show(report_id):
    """One emergency report with its photos."""
    report = _report_or_404(report_id)
    return render("incidents/show.html", report=report, photos=report.photo_list())


@bp.route("/incidents/<int:report_id>/resolve", methods=["POST"])
@allow("incidents.report")
def resolve(report_id):
    """Record the outcome: the event is resolved."""
    report = _report_or_404(report_id)
    try:
        resolve_emergency(current_user, report, request.form.get("outcome", "").strip()[:4000])
        toast(_("Marked resolved."))
    except DutyError as exc:
        toast(str(exc), "error")
    return redirect_to(url_for("incidents.show", report_id=report.id))


@bp.route("/incidents/photos/<int:photo_id>")
@allow("incidents.report")
def photo(photo_id):
    """A photo (or its thumbnail with ?thumb=1), served only to those who may see reports."""
    item = IncidentPhoto.get_or_none(IncidentPhoto.id == photo_id) or abort(404)
    path = stored_path("incidents", item.stored_name, thumbnail=request.args.get("thumb") == "1")
    if not os.path.isfile(path):
        abort(404)
    return send_file(path, max_age=0)


@bp.route("/incidents/<int:report_id>/report.pdf")
@allow("incidents.report")
def report_pdf(report_id):
    """Print the emergency report with its photos."""
    report = _report_or_404(report_id)
    photos = [print_data_uri("incidents", p.stored_name) for p in report.photo_list()]
    return render_pdf("print/emergency.html", f"紧急情况处理登记表-{report.number}.pdf", report=report,
                      photos=photos, number=report.number,
                      qr=qr_data_uri(record_url("incidents.show", report_id=report.id)))
