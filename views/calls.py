"""Phone calls at the desk: the log, promised replies, message slips, the staff directory."""

from flask import Blueprint, abort, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from peewee import JOIN
from wtforms import BooleanField, DateTimeLocalField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from models.base import DomainError, utcnow
from models.complaints import can_see, complaint_of_call
from models.calls import CALL_TYPES, OUTCOMES, Call, close_promise, log_call, reply_due_refusal
from models.submissions import submit_once
from models.timezone import day_start_utc, local_now, to_local, to_utc
from models.users import AVAILABILITY, Department, User
from printing import qr_data_uri
from views.access import allow
from views.fields import ChosenIdField, phone, show_refusal, strip
from views.printing import record_url, render_pdf
from views.ui import PortalForm, one_page, redirect_to, render, render_fragment, toast

bp = Blueprint("calls", __name__)


def _staff_choices():
    return [SelectChoice(0, _l("(choose)"))] + [
        SelectChoice(u.id, u.display_name) for u in User.select().where(User.is_active == True)  # noqa: E712
        .order_by(User.display_name)]


class CallForm(PortalForm):
    caller_name = StringField(_l("Caller's name"), filters=[strip], validators=[DataRequired(), Length(max=80)])
    organisation = StringField(_l("Organisation"), filters=[strip], validators=[Length(max=120)])
    phone = StringField(_l("Phone"), filters=[strip], validators=[DataRequired(), Length(max=30), phone],
                        render_kw={"inputmode": "tel"})
    reason = TextAreaField(_l("Reason for the call"), filters=[strip], validators=[DataRequired(), Length(max=2000)])
    call_type = SelectField(_l("Type"), choices=[SelectChoice(k, v) for k, v in CALL_TYPES.items()])
    outcome = SelectField(_l("What was done"), choices=[SelectChoice(k, v) for k, v in OUTCOMES.items()])
    answer_text = TextAreaField(_l("What was said"), filters=[strip], validators=[Length(max=2000)])
    transferred_to = ChosenIdField(_l("Transferred to"))
    transfer_accepted = BooleanField(_l("They accepted the call"))
    message_for = ChosenIdField(_l("Message for"))
    message_text = TextAreaField(_l("Message"), filters=[strip], validators=[Length(max=2000)])
    promiser = ChosenIdField(_l("Who replies"))
    reply_due = DateTimeLocalField(_l("Reply by"), format="%Y-%m-%dT%H:%M", validators=[Optional()])

    def _person(self, field):
        if not field.data or not User.select().where(User.id == field.data).exists():
            raise ValidationError(_l("Choose a person."))

    def validate_answer_text(self, field):
        if self.outcome.data == "answered" and not field.data:
            raise ValidationError(_l("Write what was said."))

    def validate_transferred_to(self, field):
        if self.outcome.data == "transferred":
            self._person(field)

    def validate_transfer_accepted(self, field):
        if self.outcome.data == "transferred" and not field.data:
            raise ValidationError(_l("Check that they can take the call before transferring it."))

    def validate_message_for(self, field):
        if self.outcome.data == "message":
            self._person(field)

    def validate_message_text(self, field):
        if self.outcome.data == "message" and not field.data:
            raise ValidationError(_l("Write the message."))

    def validate_promiser(self, field):
        if self.outcome.data == "promised":
            self._person(field)

    def validate_reply_due(self, field):
        if self.outcome.data != "promised":
            return
        if not field.data:
            raise ValidationError(_l("Say by when the reply was promised."))
        if reason := reply_due_refusal(to_utc(field.data)):
            raise ValidationError(reason)


def _user(user_id):
    return User.get_or_none(User.id == user_id) if user_id else None


def _call_form_page(form, status=200):
    return render("calls/new.html", "form", status=status, form=form, staff=_staff_choices())


@bp.route("/calls")
@allow("calls.desk")
def index():
    """Today's calls (or the calls of any day matching a search), and the promised replies still open."""
    q = request.args.get("q", "").strip()[:60]
    today_start = day_start_utc(local_now().date())
    found = Call.matching(q) if q else Call.select().where(Call.taken_at >= today_start).order_by(
        Call.taken_at.desc(), Call.id.desc())
    calls, more_calls, calls_page = one_page(found, "calls.index", param="calls_page")
    promises, more_promises, page = one_page(Call.promises_open(), "calls.index")
    now = utcnow()
    if calls_page > 1:
        return render_fragment("calls/index.html", "more_calls", calls=calls, more_calls=more_calls, q=q)
    if page > 1:
        return render_fragment("calls/index.html", "more_promises", promises=promises, more_promises=more_promises,
                               now=now)
    return render("calls/index.html", "calls", calls=calls, more_calls=more_calls, promises=promises,
                  more_promises=more_promises, now=now, q=q)


@bp.route("/calls/due")
@allow("home")
def due():
    """My promised replies (every member of staff may have promised one)."""
    promises, more_promises, page = one_page(Call.promises_open().where(Call.promiser == current_user.id), "calls.due")
    if page > 1:
        return render_fragment("calls/due.html", "more_promises", promises=promises, more_promises=more_promises,
                               now=utcnow())
    return render("calls/due.html", promises=promises, more_promises=more_promises, now=utcnow())


@bp.route("/calls/new", methods=["GET", "POST"])
@allow("calls.desk")
def new():
    """Log a call and what was done."""
    form = CallForm()
    if request.method == "GET":
        return _call_form_page(form)
    if earlier := form.earlier_result():
        return redirect_to(earlier)
    if not form.validate():
        return _call_form_page(form, status=422)
    outcome = form.outcome.data

    def create():
        call = log_call(
            current_user, caller_name=form.caller_name.data, organisation=form.organisation.data,
            phone=form.phone.data, reason=form.reason.data, call_type=form.call_type.data, outcome=outcome,
            answer_text=form.answer_text.data if outcome == "answered" else "",
            transferred_to=_user(form.transferred_to.data) if outcome == "transferred" else None,
            transfer_accepted=form.transfer_accepted.data if outcome == "transferred" else False,
            message_for=_user(form.message_for.data) if outcome == "message" else None,
            message_text=form.message_text.data if outcome == "message" else "",
            promiser=_user(form.promiser.data) if outcome == "promised" else None,
            reply_due=to_utc(form.reply_due.data) if outcome == "promised" else None)
        return url_for("calls.show", call_id=call.id)
    try:
        url, _created = submit_once(form.submission_key.data, current_user, create)
    except DomainError as refused:
        if top := show_refusal(form, refused):
            form.outcome.errors.append(top)
        return _call_form_page(form, status=422)
    toast(_("Call logged."))
    return redirect_to(url)


def _call_for_viewer(call_id):
    """The call, for the desk or the people it names; nobody else reads a caller's details."""
    call = Call.get_or_none(Call.id == call_id) or abort(404)
    if not (current_user.can("calls.desk") or current_user.id in (call.promiser_id, call.message_for_id,
                                                                  call.transferred_to_id)):
        abort(403)
    return call


@bp.route("/calls/<int:call_id>")
@allow("home")
def show(call_id):
    """One call; the promiser closes the promise here."""
    call = _call_for_viewer(call_id)
    complaint = complaint_of_call(call.id)
    return render("calls/show.html", call=call, complaint=complaint,
                  complaint_visible=complaint is not None and can_see(current_user, complaint))


@bp.route("/calls/<int:call_id>/close", methods=["POST"])
@allow("home")
def close(call_id):
    """Close a promised reply with a note of what was replied."""
    call = _call_for_viewer(call_id)
    try:
        close_promise(current_user, call, request.form.get("reply_note", "")[:2000])
        toast(_("Promise kept and closed."))
    except DomainError as refused:
        toast(str(refused), "error")
    return redirect_to(url_for("calls.show", call_id=call.id))


@bp.route("/calls/<int:call_id>/slip.pdf")
@allow("home")
def slip(call_id):
    """Print the phone message slip."""
    call = _call_for_viewer(call_id)
    return render_pdf("print/message_slip.html", f"电话留言单-{call.id}.pdf", call=call,
                      number=f"DH-{to_local(call.taken_at):%Y%m%d}-{call.id:04d}",
                      qr=qr_data_uri(record_url("calls.show", call_id=call.id)))


@bp.route("/directory")
@allow("calls.desk")
def directory():
    """Who can be reached on which extension, and whether they are in. Never private numbers."""
    q = request.args.get("q", "").strip()[:40]
    query = (User.select(User.id, User.display_name, User.extension, User.availability, Department.name)
             .join(Department, JOIN.LEFT_OUTER, on=(User.department == Department.id))
             .where(User.is_active == True).order_by(Department.name, User.display_name))  # noqa: E712
    if q:
        query = query.where(User.name_matches(q) | Department.name ** f"%{q}%")
    return render("calls/directory.html", "rows", people=list(query), q=q, availability=AVAILABILITY)
