"""Lost and found: registered when handed in, claimed with an ID check, or disposed of."""
from flask import Blueprint, abort, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import DateTimeLocalField, FileField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from models import settings
from models.desk_items import DeskError, LostItem, claim_lost, dispose_lost, register_lost
from models.duty import INCIDENT_PHOTO_MAX_MB
from models.submissions import submit_once
from models.uploads import UploadError, check_image, stored_path
from models.timezone import local_now, to_utc
from views.access import allow
from views.fields import strip
from views.ui import PortalForm, one_page, redirect_to, render, render_fragment, toast

bp = Blueprint("lost_found", __name__)


class LostForm(PortalForm):
    description = TextAreaField(_l("Description of the item"), filters=[strip],
                                validators=[DataRequired(), Length(max=1000)])
    finder_name = StringField(_l("Finder's name"), filters=[strip], validators=[DataRequired(), Length(max=80)])
    found_at = DateTimeLocalField(_l("When found"), format="%Y-%m-%dT%H:%M",
                                  validators=[InputRequired(message=_l("Enter when it was found."))])
    found_place = StringField(_l("Where found"), filters=[strip], validators=[DataRequired(), Length(max=200)])
    stored_at = StringField(_l("Where it is kept"), filters=[strip], validators=[DataRequired(), Length(max=200)])
    photo = FileField(_l("Photo (optional)"), render_kw={"accept": "image/*"})

    def checked_photo(self):
        """(bytes, format) of an uploaded photo, None without one; errors go beside the field."""
        upload = request.files.get(self.photo.name)
        if not upload or not upload.filename:
            return None
        limit = settings.get(INCIDENT_PHOTO_MAX_MB) * 1024 * 1024
        data = upload.read(limit + 1)
        try:
            image_format, _width, _height = check_image(data, limit)
        except UploadError as exc:
            self.photo.errors.append(str(exc))
            return None
        return data, image_format


@bp.route("/lost-found", methods=["GET", "POST"])
@allow("mail.desk")
def index():
    """Items held, those due for disposal, and the form to register one."""
    form = LostForm()
    if request.method == "GET":
        form.found_at.data = local_now().replace(tzinfo=None, second=0, microsecond=0)
    elif earlier := form.earlier_result():
        return redirect_to(earlier)
    else:
        valid = form.validate()
        photo = form.checked_photo()  # checked even when other fields are wrong: all errors at once
        if valid and not form.photo.errors:
            def create():
                register_lost(current_user, form.description.data, form.finder_name.data,
                              to_utc(form.found_at.data), form.found_place.data, form.stored_at.data, photo=photo)
                return url_for("lost_found.index")
            url, _created = submit_once(form.submission_key.data, current_user, create)
            toast(_("Registered."))
            return redirect_to(url)
    status = 422 if request.method == "POST" else 200
    return _page(form, "form" if request.method == "POST" else None, status)


def _page(form, block=None, status=200, action_error=None):
    """The list and the form; `action_error` = (item id, action, message) keeps a refused
    claim or disposal open with what was typed and the message beside it."""
    held, more_url, page = one_page(LostItem.held(), "lost_found.index")
    due = {item.id for item in LostItem.due_for_disposal().where(LostItem.id.in_([item.id for item in held]))}
    if page > 1 and request.method == "GET":
        return render_fragment("desk/lost_found.html", "more_held", held=held, due=due, more_url=more_url,
                               action_error=None, typed={})
    return render("desk/lost_found.html", block, status=status, form=form, held=held, due=due, more_url=more_url,
                  action_error=action_error, typed=request.form)


@bp.route("/lost-found/<int:item_id>/photo")
@allow("mail.desk")
def photo(item_id):
    """The item's photo (a thumbnail with ?thumb=1)."""
    item = _item_or_404(item_id)
    if not item.photo_name:
        abort(404)
    return send_file(stored_path("lost", item.photo_name, thumbnail=request.args.get("thumb") == "1"), max_age=0)


def _item_or_404(item_id):
    return LostItem.get_or_none(LostItem.id == item_id) or abort(404)


@bp.route("/lost-found/<int:item_id>/claim", methods=["POST"])
@allow("mail.desk")
def claim(item_id):
    """Hand the item to its owner after checking their ID."""
    try:
        claim_lost(current_user, _item_or_404(item_id), request.form.get("claimant", "")[:80],
                   request.form.get("id_checked") == "y")
    except DeskError as exc:
        return _page(LostForm(formdata=None), status=422, action_error=(item_id, "claim", str(exc)))
    toast(_("Handed over to the owner."))
    return redirect_to(url_for("lost_found.index"))


@bp.route("/lost-found/<int:item_id>/dispose", methods=["POST"])
@allow("mail.desk")
def dispose(item_id):
    """Dispose of an item unclaimed past the setting, with a reason."""
    try:
        dispose_lost(current_user, _item_or_404(item_id), request.form.get("reason", "")[:1000])
    except DeskError as exc:
        return _page(LostForm(formdata=None), status=422, action_error=(item_id, "dispose", str(exc)))
    toast(_("Recorded as disposed of."))
    return redirect_to(url_for("lost_found.index"))
