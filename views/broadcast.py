"""The broadcast station (/broadcast): the broadcaster's screen (what is due now and next, with the
approved text in Chinese and Russian, recorded done or missed), the scripts and their approval,
the programme, the log the supervisor checks, and the printed day programme and month log."""
import datetime as dt
import hashlib

from flask import Blueprint, abort, make_response, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from models import broadcast, settings
from models.base import DomainError
from models.broadcast import KINDS, OUTCOMES, SCRIPT_KINDS, STATES, STATUS, TRANSITIONS, VARIANTS, Script
from models.submissions import submit_once
from models.timezone import local_now
from printing import qr_data_uri
from views.access import allow
from views.fields import month_period, show_refusal, strip
from views.printing import record_url, render_pdf
from views.ui import PortalForm, is_htmx, one_page, redirect_to, render, render_fragment, toast, wants_fragment

bp = Blueprint("broadcast", __name__, url_prefix="/broadcast")


@bp.context_processor
def labels():
    return {"KINDS": KINDS, "STATES": STATES, "STATUS": STATUS, "VARIANTS": VARIANTS, "OUTCOMES": OUTCOMES,
            "TRANSITIONS": TRANSITIONS}


# ---------------------------------------------------------------- the broadcaster's screen

class RecordForm(PortalForm):
    slot = IntegerField(validators=[DataRequired()])
    outcome = HiddenField(validators=[DataRequired()])
    reason = TextAreaField(_l("Why it was missed"), filters=[strip], validators=[Length(max=500)])


def _screen(status=200, failed=None, error=None):
    """The screen, or its on-air part for the poll and for htmx posts. `failed` is the posted form
    that was refused: its text stays in its slot's field, its message beside it."""
    now = local_now()
    entries, due, following, behind = broadcast.now_and_next()
    context = dict(entries=entries, due=due, following=following, behind=behind, now=now, failed=failed,
                   error=error, refresh=settings.get(broadcast.SCREEN_REFRESH_SECONDS),
                   variant=broadcast.variant_for(now.date()), form=RecordForm(formdata=None))
    etag = _etag()
    return render("broadcast/screen.html", "on_air", status=status, etag=etag, **context), etag


def _etag():
    # The same in every worker process (hash() is salted per process).
    return hashlib.sha1(broadcast.screen_tag().encode()).hexdigest()[:20]


@bp.route("")
@allow("broadcast.air")
def index():
    """The broadcaster's screen: polled, answered 304 while nothing changed."""
    etag = _etag()
    if wants_fragment() and request.if_none_match.contains_weak(etag):
        response = make_response("", 304)
    else:
        response, etag = _screen()
    response.set_etag(etag)
    response.vary.add("HX-Request")
    return response


@bp.route("/record", methods=["POST"])
@allow("broadcast.air")
def record():
    """Record a slot of today as broadcast, or missed with the reason."""
    form = RecordForm()
    if not form.validate_on_submit():
        response, _etag = _screen(422, form, _("Reload the page and try again."))
        return response
    try:
        broadcast.record(current_user, form.slot.data, form.outcome.data, form.reason.data)
    except DomainError as refused:
        message = str(refused) if refused.field != "reason" else None
        if refused.field == "reason":
            form.reason.errors = [str(refused)]
        response, _etag = _screen(422, form, message)
        return response
    toast(_("Recorded: %(outcome)s.", outcome=OUTCOMES[form.outcome.data]))
    if is_htmx():
        response, _etag = _screen()
        return response
    return redirect_to(url_for("broadcast.index"))


# ---------------------------------------------------------------- scripts

class ScriptForm(PortalForm):
    kind = SelectField(_l("For"), choices=[SelectChoice(k, v) for k, v in SCRIPT_KINDS.items()])
    title = StringField(_l("Title"), filters=[strip], validators=[DataRequired(), Length(max=80)])
    title_ru = StringField(_l("Title in Russian"), filters=[strip], validators=[Length(max=80)])
    vendor = StringField(_l("Vendor (for a promotion)"), filters=[strip], validators=[Length(max=80)])
    text_zh = TextAreaField(_l("Chinese text"), filters=[strip], validators=[Length(max=4000)])
    text_ru = TextAreaField(_l("Russian text"), filters=[strip], validators=[Length(max=4000)])


class VersionForm(PortalForm):
    seq = HiddenField()
    text_zh = TextAreaField(_l("Chinese text"), filters=[strip], validators=[Length(max=4000)])
    text_ru = TextAreaField(_l("Russian text"), filters=[strip], validators=[Length(max=4000)])


class DecideForm(PortalForm):
    version = HiddenField()
    note = TextAreaField(_l("What to change"), filters=[strip], validators=[Length(max=2000)])


@bp.route("/scripts")
@allow("broadcast.air")
def scripts():
    """The scripts, the version on air and what waits for approval."""
    page_rows, more_url, page = one_page(broadcast.script_list(), "broadcast.scripts")
    rows = broadcast.scripts(page_rows)
    if page > 1:
        return render_fragment("broadcast/scripts.html", "more_scripts", rows=rows, more_url=more_url)
    return render("broadcast/scripts.html", rows=rows, more_url=more_url)


@bp.route("/scripts/new", methods=["GET", "POST"])
@allow("broadcast.air")
def new_script():
    """Write a new script in Chinese and Russian; it waits for the supervisor's approval."""
    form = ScriptForm(data={"kind": request.args["kind"]} if request.args.get("kind") in SCRIPT_KINDS else None)
    if earlier := form.earlier_result():
        return redirect_to(earlier)
    if form.validate_on_submit():
        def create():
            script = broadcast.create_script(current_user, kind=form.kind.data, title=form.title.data,
                                             title_ru=form.title_ru.data, vendor=form.vendor.data,
                                             text_zh=form.text_zh.data, text_ru=form.text_ru.data)
            return url_for("broadcast.script", script_id=script.id)
        try:
            url, created = submit_once(form.submission_key.data, current_user, create)
        except DomainError as refused:
            show_refusal(form, refused, fallback="title")
        else:
            if created:
                toast(_("Script saved: it goes on air once the supervisor approves it."))
            return redirect_to(url)
    return render("broadcast/new_script.html", "form", status=422 if form.errors else 200, form=form)


def _script_page(script, edit=None, decide=None, status=200, error=None):
    versions = list(script.versions.order_by(broadcast.ScriptVersion.seq.desc()))
    latest = versions[0] if versions else None
    if edit is None:
        edit = VersionForm(formdata=None, data={"seq": latest.seq if latest else 0,
                                                "text_zh": latest.text_zh if latest else "",
                                                "text_ru": latest.text_ru if latest else ""})
    pending = next((v for v in versions if v.state == "pending"), None)
    forms = {}
    if pending is not None:
        for name, _t in pending.actions_for(current_user):
            forms[name] = DecideForm(prefix=name, formdata=None, data={"version": pending.version})
        if decide is not None:
            forms[decide._prefix.rstrip("-")] = decide
    on_air = next((v for v in versions if v.state == "approved"), None)
    return render("broadcast/script.html", status=status, script=script, versions=versions, on_air=on_air,
                  pending=pending, edit=edit, forms=forms, error=error)


@bp.route("/scripts/<int:script_id>")
@allow("broadcast.air")
def script(script_id):
    """One script: the text on air, the version waiting, the history; edit or approve."""
    row = Script.get_or_none(Script.id == script_id) or abort(404)
    return _script_page(row)


@bp.route("/scripts/<int:script_id>/versions", methods=["POST"])
@allow("broadcast.air")
def edit_script(script_id):
    """A new version of the text: it waits for approval, the approved one stays on air."""
    row = Script.get_or_none(Script.id == script_id) or abort(404)
    form = VersionForm()
    if not form.validate_on_submit():
        return _script_page(row, edit=form, status=422)
    try:
        seen = int(form.seq.data or "0")
    except ValueError:
        seen = -1
    try:
        broadcast.edit_script(current_user, row.id, seen, text_zh=form.text_zh.data, text_ru=form.text_ru.data)
    except DomainError as refused:
        return _script_page(row, edit=form, status=422, error=show_refusal(form, refused))
    toast(_("New version saved: it goes on air once the supervisor approves it."))
    return redirect_to(url_for("broadcast.script", script_id=row.id))


@bp.route("/versions/<int:version_id>", methods=["POST"])
@allow("broadcast.edit")
def decide(version_id):
    """Approve a version for broadcast, or return it with what to change."""
    version = broadcast.ScriptVersion.get_or_none(broadcast.ScriptVersion.id == version_id) or abort(404)
    action = request.form.get("action", "")
    if action not in TRANSITIONS:
        abort(400)
    form = DecideForm(prefix=action)
    if not form.validate_on_submit():
        return _script_page(version.script, decide=form, status=422)
    try:
        seen = int(form.version.data or "")
    except ValueError:
        return _script_page(version.script, decide=form, status=422, error=_("Reload the page and try again."))
    try:
        broadcast.apply(version.id, action, current_user, seen, note=form.note.data)
    except DomainError as refused:
        return _script_page(version.script, decide=form, status=422, error=show_refusal(form, refused))
    toast(_("%(action)s: done.", action=TRANSITIONS[action].label))
    return redirect_to(url_for("broadcast.script", script_id=version.script_id))


# ---------------------------------------------------------------- the programme

class SlotForm(PortalForm):
    variant = SelectField(_l("Days"), choices=[SelectChoice(k, v) for k, v in VARIANTS.items()])
    starts = StringField(_l("Starts at"), filters=[strip], validators=[DataRequired(), Length(max=5)],
                         render_kw={"placeholder": "09:30", "inputmode": "numeric"})
    ends = StringField(_l("Ends at"), filters=[strip], validators=[DataRequired(), Length(max=5)],
                       render_kw={"placeholder": "09:40", "inputmode": "numeric"})
    kind = SelectField(_l("What plays"), choices=[SelectChoice(k, v) for k, v in KINDS.items()])
    title = StringField(_l("Title"), filters=[strip], validators=[Length(max=80)],
                        description=_l("The music's name, or blank to use the script's title."))
    script = SelectField(_l("Script"), coerce=int, validate_choice=False,
                         description=_l("For a welcome, weather, greeting, reminder or farewell line."))


class VoidForm(PortalForm):
    reason = StringField(_l("Reason"), filters=[strip], validators=[Length(max=200)])


def _variant():
    value = request.values.get("variant", "")
    return value if value in VARIANTS else "weekday"


def _programme_page(form=None, status=200):
    variant = _variant()
    form = form or SlotForm(formdata=None, data={"variant": variant})
    choices = [SelectChoice(0, "—")] + [SelectChoice(s.id, f"{s.number} · {s.title}") for s, _on, _new in
                                         broadcast.scripts() if s.kind != broadcast.ROTATING]
    form.script.choices = choices
    return render("broadcast/programme.html", status=status, variant=variant, slots=broadcast.current_slots(variant),
                  form=form, script_choices=choices, today=local_now().date(), void_form=VoidForm(formdata=None))


@bp.route("/programme")
@allow("broadcast.read")
def programme():
    """The daily programme (播音程序表), weekday and holiday variants."""
    return _programme_page()


@bp.route("/programme/lines", methods=["POST"])
@allow("broadcast.edit")
def add_line():
    """The supervisor adds a line to a variant's programme."""
    form = SlotForm()
    if not form.validate_on_submit():
        return _programme_page(form, 422)
    try:
        broadcast.add_slot(current_user, variant=form.variant.data, starts=form.starts.data, ends=form.ends.data,
                           kind=form.kind.data, title=form.title.data, script_id=form.script.data or None)
    except DomainError as refused:
        show_refusal(form, refused, fallback="starts")
        return _programme_page(form, 422)
    toast(_("Added to the programme."))
    return redirect_to(url_for("broadcast.programme", variant=form.variant.data))


@bp.route("/slots/<int:slot_id>/void", methods=["POST"])
@allow("broadcast.edit")
def void_slot(slot_id):
    """Take a line out of the programme (kept for the days it played)."""
    slot = broadcast.ProgrammeSlot.get_or_none(broadcast.ProgrammeSlot.id == slot_id) or abort(404)
    form = VoidForm()
    try:
        broadcast.void_slot(current_user, slot.id, form.reason.data if form.validate_on_submit() else "")
    except DomainError as refused:
        toast(str(refused), "error")
    else:
        toast(_("Taken out of the programme."))
    return redirect_to(url_for("broadcast.programme", variant=slot.variant))


def _day():
    text = request.args.get("day", "").strip()
    if text:
        try:
            return dt.date.fromisoformat(text), None
        except ValueError:
            return local_now().date(), _("Enter a date like 2026-11-23.")
    return local_now().date(), None


@bp.route("/programme.pdf")
@allow("broadcast.read")
def programme_pdf():
    """The day's programme (播音程序表) with the approved texts in Chinese and Russian."""
    day, _error = _day()
    entries = broadcast.day_programme(day)
    return render_pdf("print/broadcast_programme.html", f"播音程序表-{day.isoformat()}.pdf", day=day,
                      entries=entries, variant=broadcast.variant_for(day), number=f"GB-{day.isoformat()}",
                      qr=qr_data_uri(record_url("broadcast.programme", variant=broadcast.variant_for(day))))


# ---------------------------------------------------------------- the log

@bp.route("/log")
@allow("broadcast.read")
def log():
    """The broadcast log: a month's days with what was done, missed and not recorded; one day in full."""
    period, error = month_period(request.args.get("month", "").strip())
    days = broadcast.month_log(period)
    day, day_error = _day()
    shown = next((entries for d, entries in days if d == day), None)
    if shown is None and days:
        day, shown = days[-1]
    return render("broadcast/log.html", status=422 if error or day_error else 200, period=period,
                  rows=[(d, broadcast.summary(entries)) for d, entries in days], day=day, entries=shown or [],
                  error=error or day_error, previous=period.previous().key, following=period.following().key,
                  variant=broadcast.variant_for(day))


@bp.route("/log.pdf")
@allow("broadcast.read")
def log_pdf():
    """The broadcast log of a month (播音记录), every slot of every day."""
    period, _error = month_period(request.args.get("month", "").strip())
    days = broadcast.month_log(period)
    return render_pdf("print/broadcast_log.html", f"播音记录-{period.key}.pdf", period=period, days=days,
                      totals=broadcast.summary([e for _d, entries in days for e in entries]),
                      number=f"GB-{period.key}", qr=qr_data_uri(record_url("broadcast.log", month=period.key)))
