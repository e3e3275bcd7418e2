"""Facility repairs (报修): report a fault (the hall desk's quick form, tablet-sized), the repairs
list, one repair and its next steps, the month's repair ledger (维修登记表) with the quality pass
rate, printed and exported."""
import os

from flask import Blueprint, abort, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import FieldList, FormField, HiddenField, MultipleFileField, RadioField, SelectField, StringField, \
    TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from models import repairs
from models.base import DomainError
from models.procurement.stock import StockItem
from models.repairs import STATES, TRANSITIONS, URGENCY, Repair, RepairPhoto
from models.submissions import submit_once
from models.uploads import stored_path
from models.users import User
from printing import qr_data_uri
from views.access import allow, can
from views.exports import table_download
from views.fields import WholeNumberField, checked_photos, month_period, show_refusal, strip
from views.printing import record_url, render_pdf
from views.ui import PortalForm, SubForm, one_page, redirect_to, render, toast

bp = Blueprint("repairs", __name__, url_prefix="/repairs")

MATERIAL_ROWS = 3


class ReportForm(PortalForm):
    place = StringField(_l("Where"), filters=[strip], validators=[DataRequired(message=_l("Say where the fault is.")),
                                                                  Length(max=120)],
                        render_kw={"placeholder": _l("e.g. Hall, east entrance")})
    what = TextAreaField(_l("Fault"), filters=[strip],
                         validators=[DataRequired(message=_l("Say what is wrong.")), Length(max=4000)])
    urgency = RadioField(_l("Urgency"), choices=[SelectChoice(k, v) for k, v in URGENCY.items()], default="normal")
    photos = MultipleFileField(_l("Photos"), render_kw={"accept": "image/*"},
                               description=_l("Take them with the tablet's camera or choose them from its files."))


class MaterialForm(SubForm):
    item = SelectField(_l("Material from stock"), coerce=int, validate_choice=False)
    quantity = WholeNumberField(_l("Quantity"), validators=[Optional(), NumberRange(min=1)],
                                render_kw={"inputmode": "numeric"})


class StepForm(PortalForm):
    """One per next step, prefixed with the step's name: the page holds several at once."""
    version = HiddenField()
    assignee = SelectField(_l("Member of staff"), coerce=int, validate_choice=False)
    contractor = StringField(_l("Or an outside contractor"), filters=[strip], validators=[Length(max=80)])
    contractor_phone = StringField(_l("Contractor's phone"), filters=[strip], validators=[Length(max=30)],
                                   render_kw={"inputmode": "tel"})
    work_done = TextAreaField(_l("Repair work"), filters=[strip], validators=[Length(max=4000)])
    materials = FieldList(FormField(MaterialForm), min_entries=MATERIAL_ROWS, max_entries=MATERIAL_ROWS)
    note = TextAreaField(_l("Note"), filters=[strip], validators=[Length(max=4000)])

    def material_pairs(self):
        return [(entry.form.item.data, entry.form.quantity.data) for entry in self.materials
                if entry.form.item.data and entry.form.quantity.data]


@bp.context_processor
def labels():
    return {"STATES": STATES, "URGENCY": URGENCY}



def _manages():
    return can("repairs.manage")


@bp.route("")
@allow("repairs.report")
def index():
    """My faults and what is assigned to me; for logistics every repair, open first."""
    state = request.args.get("state", "open")
    q = request.args.get("q", "").strip()[:40]
    query = repairs.listing()
    if not _manages():
        query = query.where((Repair.reported_by == current_user.id) | (Repair.assignee == current_user.id))
    if state == "open":
        query = query.where(Repair.state.in_(("reported", "assigned", "done", "reopened")))
    elif state in STATES:
        query = query.where(Repair.state == state)
    if q:
        like = f"%{q}%"
        query = query.where(Repair.number ** like | Repair.place ** like | Repair.what ** like)
    rows, more_url, page = one_page(query.order_by(Repair.created_at.desc(), Repair.id.desc()), "repairs.index")
    return render("repairs/index.html", "rows" if page > 1 else "list", rows=rows, more_url=more_url, state=state, q=q,
                  manages=_manages())


@bp.route("/new", methods=["GET", "POST"])
@allow("repairs.report")
def new():
    """Report a fault: where, what, how urgent, photos."""
    form = ReportForm(data={"place": request.args.get("place", "")[:120]} if request.method == "GET" else None)
    if request.method == "GET":
        return render("repairs/new.html", "form", form=form)
    if earlier := form.earlier_result():
        return redirect_to(earlier)
    valid = form.validate()
    photos = checked_photos(form.photos, repairs.PHOTO_MAX_MB, repairs.PHOTOS_MAX_MB)
    if not valid or form.photos.errors:
        return render("repairs/new.html", "form", status=422, form=form)

    def create():
        repair = repairs.report(current_user, place=form.place.data, what=form.what.data, urgency=form.urgency.data,
                                photos=photos)
        return url_for("repairs.show", repair_id=repair.id)
    try:
        url, created = submit_once(form.submission_key.data, current_user, create)
    except DomainError as refused:
        message = show_refusal(form, refused, fallback="what")
        return render("repairs/new.html", "form", status=422, form=form, error=message)
    if created:
        toast(_("Fault reported; logistics will take it up."))
    return redirect_to(url)


def _repair(repair_id):
    repair = repairs.listing().where(Repair.id == repair_id).first() or abort(404)
    if not (_manages() or can("repairs.ledger") or current_user.id in (repair.reported_by_id, repair.assignee_id)):
        abort(404)
    return repair


def _staff_choices():
    return [SelectChoice(0, "—")] + [SelectChoice(u.id, u.display_name) for u in
                                      User.select().where(User.is_active == True).order_by(User.display_name)  # noqa: E712
                                      .limit(500)]


def _stock_choices():
    return [SelectChoice(0, "—")] + [
        SelectChoice(item.id, _("%(item)s (%(n)s %(unit)s in stock)", item=str(item), n=item.balance, unit=item.unit))
        for item in StockItem.select().where(StockItem.balance > 0).order_by(StockItem.name, StockItem.spec).limit(500)]


def _place_refusal(form, refused):
    """A material line's refusal goes beside that line's field; others as show_refusal places them."""
    parts = (refused.field or "").split("-")
    if len(parts) == 3 and parts[0] == "materials" and parts[1].isdigit() and int(parts[1]) < len(form.materials):
        sub = form.materials[int(parts[1])].form
        field = sub[parts[2]] if parts[2] in sub else sub.quantity
        field.errors = [*field.errors, str(refused)]
        return None
    return show_refusal(form, refused)


def _show(repair, posted=None, status=200, error=None):
    actions = repair.actions_for(current_user)
    forms = {}
    for name, _t in actions:
        forms[name] = StepForm(prefix=name, formdata=None, data={"version": repair.version,
                                                                  "assignee": repair.assignee_id or 0})
    if posted is not None:
        posted.version.data = repair.version
        forms[posted._prefix.rstrip("-")] = posted
    staff, stock = _staff_choices(), _stock_choices()
    for name, form in forms.items():
        if TRANSITIONS[name].note_label:
            form.note.label.text = TRANSITIONS[name].note_label
        form.assignee.choices = staff
        for entry in form.materials:
            entry.form.item.choices = stock
    return render("repairs/show.html", status=status, repair=repair, actions=actions, forms=forms, error=error,
                  photos=repair.photo_list(), materials=repair.material_list(),
                  opened=posted._prefix.rstrip("-") if posted else _first_step(forms))


def _first_step(forms):
    """The step shown open: the one the repair waits for, not a correction (reassign, void)."""
    return next((name for name in ("done", "confirm", "assign") if name in forms), None)


@bp.route("/<int:repair_id>", methods=["GET", "POST"])
@allow("repairs.report")
def show(repair_id):
    """One repair and the next steps I may take."""
    repair = _repair(repair_id)
    if request.method == "GET":
        return _show(repair)
    action = request.form.get("action", "")
    if action not in TRANSITIONS:
        abort(400)
    form = StepForm(prefix=action)
    if not form.validate_on_submit():
        return _show(repair, form, 422)
    try:
        version = int(form.version.data or "")
    except ValueError:
        return _show(repair, form, 422, _("Reload the page and try again."))
    try:
        repairs.apply(repair.id, action, current_user, version, assignee_id=form.assignee.data or None,
                      contractor=form.contractor.data, contractor_phone=form.contractor_phone.data,
                      work_done=form.work_done.data, materials=form.material_pairs(), note=form.note.data)
    except DomainError as refused:
        return _show(_repair(repair_id), form, 422, _place_refusal(form, refused))
    toast(_("%(action)s: done.", action=TRANSITIONS[action].label))
    return redirect_to(url_for("repairs.show", repair_id=repair.id))


@bp.route("/photos/<int:photo_id>")
@allow("repairs.report")
def photo(photo_id):
    """A fault's photo (or its thumbnail with ?thumb=1), to those who may see the repair."""
    item = RepairPhoto.get_or_none(RepairPhoto.id == photo_id) or abort(404)
    _repair(item.repair_id)
    path = stored_path("repairs", item.stored_name, thumbnail=request.args.get("thumb") == "1")
    if not os.path.isfile(path):
        abort(404)
    return send_file(path, max_age=0)


def _period():
    return month_period(request.args.get("month", "").strip())


def _quality(period):
    return repairs.quality(period.start, period.end)


@bp.route("/ledger")
@allow("repairs.ledger")
def ledger():
    """The month's repair ledger (维修登记表) and its quality pass rate."""
    period, error = _period()
    rows = repairs.month_ledger(period)
    return render("repairs/ledger.html", status=422 if error else 200, rows=rows,
                  materials=repairs.materials_of(rows), quality=_quality(period), month=period.key, period=period,
                  error=error, previous=period.previous().key, following=period.following().key)


@bp.route("/ledger.pdf")
@allow("repairs.ledger")
def ledger_pdf():
    """Print the month's repair ledger (维修登记表)."""
    period, _error = _period()
    rows = repairs.month_ledger(period)
    return render_pdf("print/repair_ledger.html", f"维修登记表-{period.key}.pdf", rows=rows,
                      materials=repairs.materials_of(rows), quality=_quality(period), month=period.key,
                      number=f"BX-{period.key}", qr=qr_data_uri(record_url("repairs.ledger", month=period.key)))


LEDGER_HEADERS = (_l("Number"), _l("Reported"), _l("Where"), _l("Fault"), _l("Urgency"), _l("Reported by"),
                  _l("Repaired by"), _l("Repair work"), _l("Materials"), _l("Repaired"), _l("Confirmed"),
                  _l("Sent back for repair"), _l("State"))


def ledger_cells(repair, materials):
    from views.templating import local_datetime
    used = "; ".join(f"{m.item} ×{m.quantity}{m.item.unit}" for m in materials)
    return [repair.number, local_datetime(repair.created_at), repair.place, repair.what, str(repair.urgency_label),
            repair.reported_by.display_name, repair.worker_label, repair.work_done, used,
            local_datetime(repair.done_at), local_datetime(repair.confirmed_at), repair.reopen_count,
            str(repair.state_label)]


@bp.route("/ledger.<any(csv, xlsx):fmt>")
@allow("repairs.ledger")
def ledger_export(fmt):
    """The month's repair ledger as CSV or XLSX."""
    period, _error = _period()
    rows = repairs.month_ledger(period)
    materials = repairs.materials_of(rows)
    return table_download(f"维修登记表-{period.key}", LEDGER_HEADERS,
                          [ledger_cells(r, materials.get(r.id, [])) for r in rows], fmt)
