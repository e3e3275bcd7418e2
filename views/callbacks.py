"""Callbacks: today's queue with the standard script, recording the outcome, the sales-list
import, the monthly figures and the printed callback record."""
from flask import Blueprint, abort, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import FileField, HiddenField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from models import callbacks, settings
from models.base import DomainError, utcnow
from models.callbacks import OUTCOMES, REASONS
from models.complaints import STATES
from models.home_visits import month_count
from models.sales_import import COLUMNS, TEMPLATE_HEADERS, ImportRefused, import_sales
from models.settings import InvalidSetting
from models.submissions import submit_once
from printing import qr_data_uri
from views.access import allow
from views.exports import table_download
from views.fields import month_period, show_refusal, strip
from views.printing import record_url, render_pdf
from views.ui import PortalForm, one_page, redirect_to, render, render_fragment, toast

bp = Blueprint("callbacks", __name__)

class OutcomeForm(PortalForm):
    outcome = RadioField(_l("Outcome of the call"), choices=[SelectChoice(k, v) for k, v in OUTCOMES.items()],
                         validators=[InputRequired(message=_l("Choose the outcome of the call."))])
    note = TextAreaField(_l("Suggestions, or what the customer is not satisfied with"), filters=[strip],
                         validators=[Length(max=5000)],
                         description=_l("Required when the customer is not satisfied: it goes to the complaint."))
    version = HiddenField()


class WindowForm(PortalForm):
    window = StringField(_l("Agreed callback time"), filters=[strip], validators=[Length(max=100)],
                         description=_l("Local time, e.g. “19:00-20:30”; several separated by commas. "
                                        "Empty: any time outside quiet hours."))


class ImportForm(PortalForm):
    file = FileField(_l("Sales list (CSV or XLSX)"), render_kw={"accept": ".csv,.xlsx"})


@bp.context_processor
def labels():
    return {"REASONS": REASONS, "OUTCOMES": OUTCOMES, "COMPLAINT_STATES": STATES}


def _callback(callback_id):
    callback = callbacks.get_with_links(callback_id)
    if callback is None:
        abort(404)
    return callback


@bp.route("/callbacks")
@allow("callbacks.work")
def index():
    """Today's callbacks: VIP first, then by time; overdue ones stand out."""
    now = utcnow()
    # An imported sales list or a week away leaves thousands due: the queue is paged.
    rows, more_url, page = one_page(callbacks.queue(now), "callbacks.index")
    if page > 1:
        return render_fragment("callbacks/index.html", "more_rows", rows=rows, more_url=more_url, now=now)
    return render("callbacks/index.html", rows=rows, more_url=more_url, upcoming=list(callbacks.upcoming(now)),
                  upcoming_shown=callbacks.UPCOMING_SHOWN, done=list(callbacks.done_today(now)),
                  figures=callbacks.today_figures(now), now=now)


def _show(callback, form=None, window_form=None, status=200, error=None):
    form = form or OutcomeForm(data={"version": callback.version})
    window_form = window_form or WindowForm(data={"window": callback.customer.callback_window or ""},
                                            prefix="w")
    return render("callbacks/show.html", "outcome", status=status, callback=callback, form=form,
                  window_form=window_form, error=error, attempts=list(callback.attempt_log()), now=utcnow(),
                  result_note=callbacks.reported_result(callback))


@bp.route("/callbacks/<int:callback_id>", methods=["GET", "POST"])
@allow("callbacks.work")
def show(callback_id):
    """One callback: the script beside the outcome form, and every try so far."""
    callback = _callback(callback_id)
    if request.method == "GET":
        return _show(callback)
    form = OutcomeForm()
    if earlier := form.earlier_result():
        return redirect_to(earlier)
    if not form.validate_on_submit():
        return _show(callback, form=form, status=422)
    try:
        version = int(form.version.data or "")
    except ValueError:
        return _show(callback, form=form, status=422, error=_("Reload the page and try again."))

    def record():
        callbacks.apply(current_user, callback.id, form.outcome.data, version, note=form.note.data)
        return url_for("callbacks.index")

    try:
        url, created = submit_once(form.submission_key.data, current_user, record)
    except DomainError as refused:
        return _show(_callback(callback_id), form=form, status=422, error=show_refusal(form, refused))
    if created:
        toast(_("Callback %(number)s: %(outcome)s recorded.", number=callback.number,
                outcome=OUTCOMES[form.outcome.data]))
    return redirect_to(url)


@bp.route("/callbacks/<int:callback_id>/window", methods=["POST"])
@allow("callbacks.work")
def window(callback_id):
    """Note the time the customer agreed to be called; open callbacks move into it."""
    callback = _callback(callback_id)
    window_form = WindowForm(prefix="w")
    if window_form.validate_on_submit():
        try:
            callbacks.set_window(current_user, callback.customer, window_form.window.data)
        except InvalidSetting as exc:
            window_form.window.errors = [str(exc)]
        else:
            toast(_("Agreed callback time saved."))
            return redirect_to(url_for("callbacks.show", callback_id=callback.id))
    return _show(callback, window_form=window_form, status=422)


@bp.route("/callbacks/<int:callback_id>.pdf")
@allow("callbacks.work")
def record_pdf(callback_id):
    """The callback record (回访记录表) as an A4 PDF."""
    callback = _callback(callback_id)
    return render_pdf("print/callback_record.html", f"回访记录表-{callback.number}.pdf", callback=callback,
                      attempts=list(callback.attempt_log()), number=callback.number,
                      complaint_states=STATES,
                      qr=qr_data_uri(record_url("callbacks.show", callback_id=callback.id)))


@bp.route("/callbacks/import", methods=["GET", "POST"])
@allow("callbacks.work")
def import_list():
    """Import a sales/warranty list: good rows kept, bad rows listed by row number."""
    form = ImportForm()
    report, refused = None, None
    if request.method == "POST" and form.validate_on_submit():
        upload = request.files.get(form.file.name)
        if not upload or not upload.filename:
            form.file.errors = [_("Choose the file to import.")]
        else:
            limit_mb = settings.get(callbacks.IMPORT_MAX_MB)
            data = upload.read(limit_mb * 1024 * 1024 + 1)
            if len(data) > limit_mb * 1024 * 1024:
                form.file.errors = [_("The file is larger than %(mb)d MB.", mb=limit_mb)]
            else:
                try:
                    report = import_sales(current_user, upload.filename, data)
                except ImportRefused as exc:
                    refused = str(exc)
                    form.file.errors = [refused]
                else:
                    from tasks.callbacks import schedule_callbacks_now
                    schedule_callbacks_now()
    status = 422 if form.file.errors or (request.method == "POST" and form.errors) else 200
    columns = [(label, aliases[0], required) for label, aliases, required in COLUMNS.values()]
    return render("callbacks/import.html", "form", status=status, form=ImportForm() if report else form,
                  report=report, columns=columns)


@bp.route("/callbacks/import/template.<fmt>")
@allow("callbacks.work")
def import_template(fmt):
    """An empty sales list with the right columns and one example row."""
    if fmt not in ("csv", "xlsx"):
        abort(404)
    example = ["张三", "13800138000", "滚筒洗衣机 XQG100", "2026-10-20", "2029-10-20", "09:00-11:30, 19:00-20:30"]
    return table_download("sales-list-template", TEMPLATE_HEADERS, [example], fmt)




@bp.route("/callbacks/stats")
@allow("callbacks.stats")
def stats():
    """Callbacks per month: due, done, on time, satisfied, and the pass rate against the target."""
    text = request.args.get("month", "").strip()
    period, error = month_period(text)
    start, end = period.utc_range()
    every = callbacks.callback_stats_by_reason(start, end)
    figures = every[None]
    by_reason = [(label, every[reason]) for reason, label in REASONS.items()]
    return render("callbacks/stats.html", status=422 if error else 200, figures=figures, by_reason=by_reason,
                  month=period.key, error=error, typed=text,
                  previous=period.previous().key, following=period.following().key,
                  target=settings.get(callbacks.PASS_TARGET), home_visits=month_count(period))
