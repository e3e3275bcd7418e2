"""The duty desk: the day's log, the manager's signature, the shift handover."""

from flask import Blueprint, abort, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import BooleanField, DateTimeLocalField, HiddenField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from models.base import DomainError
from models.duty import (
    ENTRY_KINDS, SHIFTS, DutyDay, DutyEntry, DutyError, Handover, add_entry, current_shift, handover_blockers,
    matching_entries, occurred_refusal, open_day, prepare_handover, record_outcome, sign_day, sign_incoming,
    sign_outgoing, start_handover,
)
from models.submissions import submit_once
from models.timezone import local_now, to_local, to_utc
from models.users import User
from printing import qr_data_uri
from views.access import allow
from views.fields import int_arg, show_refusal, strip, whole_number
from views.printing import record_url, render_pdf
from views.ui import PAGE_ROWS, PortalForm, one_page, redirect_to, render, render_fragment, toast

bp = Blueprint("duty", __name__)

TEXT = [Length(max=2000)]


class EntryForm(PortalForm):
    occurred_at = DateTimeLocalField(_l("Time of the event"), format="%Y-%m-%dT%H:%M",
                                     validators=[InputRequired(message=_l("Enter the time of the event."))])
    kind = SelectField(_l("Kind of event"), choices=[SelectChoice(k, v) for k, v in ENTRY_KINDS.items()])
    what = TextAreaField(_l("What happened (objectively)"), filters=[strip], validators=[DataRequired(), *TEXT])
    handling = TextAreaField(_l("How it was handled"), filters=[strip], validators=TEXT)
    outcome = TextAreaField(_l("Final outcome"), filters=[strip], validators=TEXT,
                            description=_l("Can be filled in later, also by the next shift."))
    major = BooleanField(_l("Major event (needs an outcome before the handover)"))
    corrects = HiddenField()

    def validate_occurred_at(self, field):
        if field.data and (refused := occurred_refusal(to_utc(field.data))):
            raise ValidationError(refused)


class OutcomeForm(PortalForm):
    outcome = TextAreaField(_l("Final outcome"), filters=[strip], validators=[DataRequired(), *TEXT])


def _day_or_404(day_id):
    return DutyDay.get_or_none(DutyDay.id == day_id) or abort(404)


def _day_page(day, form=None, status=200):
    if form is None:
        form = EntryForm(occurred_at=local_now().replace(tzinfo=None, second=0, microsecond=0))
        corrected = DutyEntry.get_or_none(DutyEntry.id == int_arg(request.args, "corrects"))
        if corrected is not None:
            form.corrects.data = corrected.id
            form.kind.data = corrected.kind
            form.what.data = _("Correction of the entry of %(time)s: ", time=to_local(corrected.occurred_at)
                               .strftime("%Y-%m-%d %H:%M"))
    entries = list(day.entries())
    handover = Handover.get_or_none(Handover.day == day)
    return render("duty/day.html", "log", status=status, day=day, entries=entries, form=form,
                  handover=handover, shifts=SHIFTS)


@bp.route("/duty")
@allow("duty.log")
def today():
    """The log of the shift under way."""
    date, shift = current_shift()
    return _day_page(open_day(current_user, date, shift))


@bp.route("/duty/<int:day_id>")
@allow("duty.log")
def day_page(day_id):
    """One day's (shift's) log."""
    return _day_page(_day_or_404(day_id))


@bp.route("/duty/days")
@allow("duty.log")
def days():
    """Earlier pages of the log, 50 at a time; the newest unsigned ones first for the manager
    (a manager away for weeks leaves a long tail: it shows how many, the rest are in the days).
    ?q= finds entries of any day by their text instead."""
    q = request.args.get("q", "").strip()[:60]
    if q:
        found, more_url, page = one_page(matching_entries(q), "duty.days")
        return render("duty/days.html", "more_found" if page > 1 else "found", found=found, more_url=more_url, q=q)
    recent, more_url, page = one_page(DutyDay.select().order_by(DutyDay.date.desc(), DutyDay.shift.desc(),
                                                                DutyDay.id.desc()), "duty.days")
    if page > 1:
        return render_fragment("duty/days.html", "more_days", recent=recent, more_url=more_url)
    unsigned, unsigned_total = [], 0
    if current_user.can("duty.sign"):
        unsigned = list(DutyDay.unsigned().limit(PAGE_ROWS))
        unsigned_total = len(unsigned) if len(unsigned) < PAGE_ROWS else DutyDay.unsigned().count()
    return render("duty/days.html", "found", unsigned=unsigned, unsigned_total=unsigned_total, recent=recent,
                  more_url=more_url, q=q)


@bp.route("/duty/<int:day_id>/entries", methods=["POST"])
@allow("duty.log")
def new_entry(day_id):
    """Log an event on this page."""
    day = _day_or_404(day_id)
    form = EntryForm()
    if earlier := form.earlier_result():
        return redirect_to(earlier)
    if day.is_signed:  # a page opened before the manager signed it
        toast(_("This day's log is signed and can no longer be changed. "
                "Write a correction in today's log that refers to the entry."), "error")
        return redirect_to(url_for("duty.today"))
    if not form.validate():
        return _day_page(day, form, status=422)
    occurred = to_utc(form.occurred_at.data)
    corrects = DutyEntry.get_or_none(DutyEntry.id == int_arg({"corrects": form.corrects.data or ""}, "corrects"))

    def create():
        add_entry(current_user, day, occurred, form.kind.data, form.what.data, form.handling.data,
                  form.outcome.data, form.major.data, corrects=corrects)
        return url_for("duty.day_page", day_id=day.id)
    try:
        url, _created = submit_once(form.submission_key.data, current_user, create)
    except DomainError as refused:
        if top := show_refusal(form, refused):
            form.what.errors.append(top)
        return _day_page(day, form, status=422)
    toast(_("Entry logged."))
    return redirect_to(url)


@bp.route("/duty/entries/<int:entry_id>/outcome", methods=["POST"])
@allow("duty.log")
def entry_outcome(entry_id):
    """Fill in the final outcome of an entry."""
    entry = DutyEntry.get_or_none(DutyEntry.id == entry_id) or abort(404)
    form = OutcomeForm()
    if not form.validate():
        toast(_("Write the outcome first."), "error")
        return redirect_to(url_for("duty.day_page", day_id=entry.day_id))
    try:
        record_outcome(current_user, entry, form.outcome.data)
    except DutyError as exc:
        toast(str(exc), "error")
    return redirect_to(url_for("duty.day_page", day_id=entry.day_id))


@bp.route("/duty/<int:day_id>/sign", methods=["POST"])
@allow("duty.sign")
def sign(day_id):
    """The service manager signs the day's log."""
    day = _day_or_404(day_id)
    try:
        sign_day(current_user, day)
        toast(_("The log is signed."))
    except DutyError as exc:
        toast(str(exc), "error")
    return redirect_to(url_for("duty.day_page", day_id=day.id))


@bp.route("/duty/<int:day_id>/sheet.pdf")
@allow("duty.log")
def day_sheet(day_id):
    """Print the day sheet (值班日志)."""
    day = _day_or_404(day_id)
    return render_pdf("print/duty_day.html", f"值班日志-{day.date.isoformat()}.pdf", day=day,
                      entries=list(day.entries()), number=f"ZB-{day.date:%Y%m%d}-{day.shift[0].upper()}",
                      handovers=list(day.handovers_with_people()),
                      qr=qr_data_uri(record_url("duty.day_page", day_id=day.id)))


# --- handover -------------------------------------------------------------------------

class IncomingForm(PortalForm):
    fit = BooleanField(_l("I am fit to take over this shift"))
    replacement = SelectField(_l("Replacement (when you are not fit)"), coerce=int, validate_choice=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.replacement.choices = [SelectChoice(0, _l("(none)"))] + [
            SelectChoice(u.id, u.display_name) for u in User.active_with_role("front_desk")]


@bp.route("/duty/<int:day_id>/handover", methods=["POST"])
@allow("duty.log")
def begin_handover(day_id):
    """The outgoing person starts preparing the handover."""
    day = _day_or_404(day_id)
    handover = start_handover(current_user, day)
    return redirect_to(url_for("duty.handover", handover_id=handover.id))


def _handover_or_404(handover_id):
    return Handover.get_or_none(Handover.id == handover_id) or abort(404)


def _handover_page(handover, errors=None, status=200, incoming_form=None):
    return render("duty/handover.html", "handover", status=status, handover=handover, items=handover.items(),
                  blockers=handover_blockers(handover), errors=errors or {},
                  incoming_form=incoming_form or IncomingForm())


@bp.route("/duty/handover/<int:handover_id>", methods=["GET", "POST"])
@allow("duty.log")
def handover(handover_id):
    """Prepare the handover (outgoing person) and see what blocks it."""
    handover = _handover_or_404(handover_id)
    if request.method == "GET":
        return _handover_page(handover)
    errors, counts = {}, {}
    open_items = request.form.get("open_items", "").strip()
    instructions = request.form.get("instructions", "").strip()
    for name, text in (("open_items", open_items), ("instructions", instructions)):
        if len(text) > 4000:
            errors[name] = _("At most %(n)d characters.", n=4000)
    for item in handover.items():
        raw = request.form.get(f"count-{item.id}", "").strip()
        note = request.form.get(f"note-{item.id}", "").strip()[:200]
        if raw == "":
            counts[item.id] = (None, note)
        elif whole_number(raw) and int(raw) <= 9999:
            counts[item.id] = (int(raw), note)
        else:
            errors[f"count-{item.id}"] = _("Enter a whole number (0 or more).")
    if errors:
        return _handover_page(handover, errors, status=422)
    try:
        prepare_handover(current_user, handover, open_items, instructions, counts)
    except DutyError as exc:
        toast(str(exc), "error")
        return _handover_page(handover, status=422)
    toast(_("Preparation saved."))
    return redirect_to(url_for("duty.handover", handover_id=handover.id))


@bp.route("/duty/handover/<int:handover_id>/sign-out", methods=["POST"])
@allow("duty.log")
def handover_sign_out(handover_id):
    """The outgoing person signs."""
    handover = _handover_or_404(handover_id)
    try:
        sign_outgoing(current_user, handover)
        toast(_("Signed. Now the incoming person logs in with their own account and signs."))
    except DutyError as exc:
        toast(str(exc), "error")
    return redirect_to(url_for("duty.handover", handover_id=handover.id))


@bp.route("/duty/handover/<int:handover_id>/sign-in", methods=["POST"])
@allow("duty.log")
def handover_sign_in(handover_id):
    """The incoming person checks face to face and signs (or names a replacement)."""
    handover = _handover_or_404(handover_id)
    form = IncomingForm()
    replacement = User.get_or_none(User.id == form.replacement.data, User.is_active == True)  # noqa: E712
    try:
        sign_incoming(current_user, handover, form.fit.data, replacement)
    except DutyError as exc:
        toast(str(exc), "error")
        return redirect_to(url_for("duty.handover", handover_id=handover.id))
    toast(_("Handover complete.") if handover.completed else _("The replacement has been named."))
    return redirect_to(url_for("duty.handover", handover_id=handover.id))


@bp.route("/duty/handover/<int:handover_id>/sheet.pdf")
@allow("duty.log")
def handover_sheet(handover_id):
    """Print the handover sheet (交接班记录)."""
    handover = _handover_or_404(handover_id)
    return render_pdf("print/handover.html", f"交接班记录-{handover.id}.pdf", handover=handover,
                      items=handover.items(), number=f"JB-{handover.day.date:%Y%m%d}-{handover.id}",
                      qr=qr_data_uri(record_url("duty.handover", handover_id=handover.id)))


