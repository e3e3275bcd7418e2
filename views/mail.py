"""Mail and parcels at the front desk: registered in, collected or sent out."""
from flask import Blueprint, abort, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError

from models.desk_items import CARRIERS, SIZES, DeskError, MailItem, collect_mail, register_mail
from models.submissions import submit_once
from models.users import User
from views.access import allow
from views.fields import strip
from views.ui import PortalForm, one_page, redirect_to, render, render_fragment, toast

bp = Blueprint("mail", __name__)


class MailForm(PortalForm):
    direction = RadioField(_l("Direction"), default="in",
                           choices=[SelectChoice("in", _l("Incoming mail")), SelectChoice("out", _l("Outgoing mail"))])
    carrier = StringField(_l("Carrier"), filters=[strip], validators=[DataRequired(), Length(max=40)],
                          render_kw={"list": "carriers"})
    tracking_number = StringField(_l("Tracking number"), filters=[strip], validators=[Length(max=60)],
                                  render_kw={"autocapitalize": "characters"})
    recipient = SelectField(_l("Recipient (staff)"), coerce=int, validate_choice=False)
    recipient_name = StringField(_l("Recipient or addressee"), filters=[strip], validators=[Length(max=80)],
                                 description=_l("A tenant's or visitor's name; filled in for staff."))
    sender_name = StringField(_l("Sender"), filters=[strip], validators=[Length(max=80)])
    size = SelectField(_l("Size"), choices=[SelectChoice(k, v) for k, v in SIZES.items()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.recipient.choices = [SelectChoice(0, _l("(not staff)"))] + [
            SelectChoice(u.id, u.display_name) for u in User.select().where(User.is_active == True)  # noqa: E712
            .order_by(User.display_name)]

    def validate_recipient_name(self, field):
        if not field.data and not self.recipient.data:
            raise ValidationError(_l("Name the recipient: choose a staff member or write a name."))

    def validate_recipient(self, field):
        if field.data and not User.get_or_none(User.id == field.data, User.is_active == True):  # noqa: E712
            raise ValidationError(_l("Choose an active staff member."))


@bp.route("/mail", methods=["GET", "POST"])
@allow("mail.desk")
def index():
    """Waiting items, overdue ones first, and the form to register one."""
    form = MailForm()
    if request.method == "POST":
        if earlier := form.earlier_result():
            return redirect_to(earlier)
        if form.validate():
            recipient = User.get_or_none(User.id == form.recipient.data) if form.recipient.data else None

            def create():
                register_mail(current_user, form.direction.data == "in", form.carrier.data,
                              form.tracking_number.data, form.recipient_name.data or recipient.display_name,
                              recipient=recipient, sender_name=form.sender_name.data, size=form.size.data)
                return url_for("mail.index")
            url, _created = submit_once(form.submission_key.data, current_user, create)
            toast(_("Registered."))
            return redirect_to(url)
    waiting, more_url, page = one_page(MailItem.waiting(), "mail.index")
    overdue_ids = {item.id for item in MailItem.overdue().where(MailItem.id.in_([m.id for m in waiting]))}
    if page > 1:
        return render_fragment("desk/mail.html", "more_waiting", waiting=waiting, overdue_ids=overdue_ids,
                               more_url=more_url)
    recent = list(MailItem.select().where((MailItem.incoming == False) | MailItem.collected_at.is_null(False))  # noqa: E712
                  .order_by(MailItem.registered_at.desc()).limit(30))
    status = 422 if request.method == "POST" else 200
    return render("desk/mail.html", "form" if request.method == "POST" else None, status=status, form=form,
                  waiting=waiting, overdue_ids=overdue_ids, more_url=more_url, recent=recent, carriers=CARRIERS)


@bp.route("/mail/<int:item_id>/collect", methods=["POST"])
@allow("mail.desk")
def collect(item_id):
    """Hand an item over: who collected it, when, from whom."""
    item = MailItem.get_or_none(MailItem.id == item_id) or abort(404)
    try:
        collect_mail(current_user, item, request.form.get("collected_by", "")[:80])
        toast(_("Handed over."))
    except DeskError as exc:
        toast(str(exc), "error")
    return redirect_to(url_for("mail.index"))
