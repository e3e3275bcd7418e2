"""Requisitions: my list and approval inbox, a new requisition, amending one, and the printed forms."""
from decimal import Decimal

from flask import Blueprint, abort, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import FieldList, FormField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, ValidationError

from models import procurement
from models.procurement import orders, requisitions
from models.procurement.orders import RETURN_KINDS, Delivery, ReturnRecord
from models.procurement.requisitions import MAX_LINES, PURCHASE_METHODS, STATES, Requisition
from models.base import DomainError
from models.money import money
from models.submissions import submit_once
from models.users import Department
from printing import qr_data_uri
from views.access import allow
from views.fields import AmountField, DayField, WholeNumberField, rule, strip
from views.printing import record_url, render_pdf
from views.templating import NAV_COUNTS
from views.ui import PortalForm, SubForm, redirect_to, render, toast

bp = Blueprint("procurement", __name__)

NAV_COUNTS["procurement.index"] = requisitions.inbox_count


# ---------------------------------------------------------------- the requisition form

class LineForm(SubForm):
    item_name = StringField(_l("Item name"), filters=[strip], validators=[Length(max=80)])
    spec = StringField(_l("Specification / model"), filters=[strip], validators=[Length(max=120)])
    quantity = WholeNumberField(_l("Quantity"), validators=[rule(requisitions.check_quantity)],
                                render_kw={"inputmode": "numeric"})
    unit = StringField(_l("Unit"), filters=[strip], validators=[Length(max=12)],
                       render_kw={"placeholder": _l("e.g. box")})
    unit_price = AmountField(_l("Estimated unit price (CNY)"), validators=[rule(requisitions.check_price)],
                             render_kw={"inputmode": "decimal"})
    needed_on = DayField(_l("Date needed"), validators=[rule(requisitions.check_needed_on)])
    purpose = StringField(_l("Used for"), filters=[strip], validators=[Length(max=200)])

    def is_blank(self):
        return not any((self.item_name.data, self.spec.data, self.unit.data, self.purpose.data,
                        self.quantity.raw_data and self.quantity.raw_data[0].strip(),
                        self.unit_price.raw_data and self.unit_price.raw_data[0].strip()))

    def validate(self, extra_validators=None):
        if self.is_blank():
            return True  # an empty line is left out, not refused
        ok = super().validate(extra_validators)
        checks = [(self.item_name, not self.item_name.data, _l("Name the item.")),
                  (self.quantity, self.quantity.data is None and not self.quantity.errors,
                   _l("Enter the quantity.")),
                  (self.unit, not self.unit.data, _l("Enter the unit.")),
                  (self.unit_price, self.unit_price.data is None and not self.unit_price.errors,
                   _l("Enter the estimated unit price.")),
                  (self.needed_on, self.needed_on.data is None and not self.needed_on.errors,
                   _l("Enter the date needed."))]
        for field, failed, message in checks:
            if failed:
                field.errors = list(field.errors) + [message]
                ok = False
        return ok

    def values(self):
        return {"item_name": self.item_name.data, "spec": self.spec.data or "", "quantity": self.quantity.data,
                "unit": self.unit.data, "unit_price": self.unit_price.data, "needed_on": self.needed_on.data,
                "purpose": self.purpose.data or ""}


def _add_line(form):
    """One more empty line, up to what one requisition sheet holds."""
    if len(form.lines) >= MAX_LINES:
        toast(_("A requisition has at most %(count)d items: split it in two.", count=MAX_LINES), "error")
    else:
        form.lines.append_entry()


class RequisitionForm(PortalForm):
    department = SelectField(_l("Department"), coerce=int, validate_choice=False)
    lines = FieldList(FormField(LineForm), min_entries=1, max_entries=MAX_LINES)
    note = TextAreaField(_l("Remarks"), filters=[strip], validators=[Length(max=2000)])
    version = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.department.choices = [SelectChoice(0, _l("Choose…"))] + [
            SelectChoice(d.id, d.name) for d in Department.active_ones()]

    def validate_department(self, field):
        if not field.data or not Department.get_or_none(Department.id == field.data, Department.active == True):  # noqa: E712
            raise ValidationError(_l("Choose the department."))

    def line_values(self):
        return [entry.form.values() for entry in self.lines if not entry.form.is_blank()]

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if ok and not self.line_values():
            self.lines[0].form.item_name.errors = [_l("Add at least one item.")]
            return False
        return ok

    def estimated_total(self):
        total = Decimal("0")
        for line in self.line_values():
            if line["quantity"] and line["unit_price"] is not None:
                total += money(line["unit_price"] * line["quantity"])
        return money(total)


def requisition_or_404(requisition_id):
    requisition = Requisition.get_or_none(Requisition.id == requisition_id)
    if requisition is None:
        abort(404)
    if not requisitions.may_view(requisition, current_user):
        abort(403)
    return requisition


def _form_page(form, requisition=None, status=200):
    return render("procurement/edit.html", "form", status=status, form=form, requisition=requisition,
                  total=form.estimated_total())


@bp.context_processor
def labels():
    return {"STATES": STATES, "PURCHASE_METHODS": PURCHASE_METHODS, "RETURN_KINDS": RETURN_KINDS,
            "step_label": procurement.step_label}


@bp.route("/procurement")
@allow("procurement.request")
def index():
    """The requisitions I may see, and those waiting for my approval."""
    state = request.args.get("state", "open")
    q = request.args.get("q", "").strip()[:40]
    rows = requisitions.listing(current_user, state=state, q=q).limit(300)
    late = list(orders.late_orders()) if current_user.can("procurement.manage") else []
    return render("procurement/index.html", "rows", rows=rows, state=state, q=q,
                  waiting=requisitions.inbox(current_user), late=late)


@bp.route("/procurement/new", methods=["GET", "POST"])
@allow("procurement.request")
def new():
    """Fill a purchase requisition (物资采购申请表): save as a draft or submit it."""
    form = RequisitionForm(data=None if request.method == "POST" else {"department": current_user.department_id or 0})
    if earlier := form.earlier_result():
        return redirect_to(earlier)
    if request.method == "POST" and request.form.get("add_line"):
        _add_line(form)
        return _form_page(form)
    if not form.validate_on_submit():
        return _form_page(form, status=422 if request.method == "POST" else 200)
    submit_now = request.form.get("action") == "submit"

    def create():
        requisition = requisitions.create(current_user, department_id=form.department.data,
                                         lines=form.line_values(), note=form.note.data or "", submit=submit_now)
        return url_for("procurement.show", requisition_id=requisition.id)

    try:
        url, created = submit_once(form.submission_key.data, current_user, create)
    except DomainError as refused:
        form.department.errors = [str(refused)] if refused.field == "department" else []
        if refused.field != "department":
            form.note.errors = [str(refused)]
        return _form_page(form, status=422)
    if created:
        toast(_("Requisition submitted for approval.") if submit_now else _("Requisition saved as a draft."))
    return redirect_to(url)


@bp.route("/procurement/<int:requisition_id>/edit", methods=["GET", "POST"])
@allow("procurement.request")
def edit(requisition_id):
    """Amend a draft, or a requisition returned by an approver, and (re)submit it."""
    requisition = requisition_or_404(requisition_id)
    if requisition.requester_id != current_user.id or not requisition.editable:
        toast(_("Only the requester changes a draft or a returned requisition."), "error")
        return redirect_to(url_for("procurement.show", requisition_id=requisition.id))
    if request.method == "GET":
        data = {"department": requisition.department_id, "note": requisition.note, "version": requisition.version,
                "lines": [{"item_name": l.item_name, "spec": l.spec, "quantity": l.quantity, "unit": l.unit,
                           "unit_price": l.unit_price, "needed_on": l.needed_on, "purpose": l.purpose}
                          for l in requisition.lines_list()]}
        form = RequisitionForm(data=data)
        return _form_page(form, requisition)
    form = RequisitionForm()
    if request.form.get("add_line"):
        _add_line(form)
        return _form_page(form, requisition)
    if not form.validate_on_submit():
        return _form_page(form, requisition, status=422)
    try:
        version = int(form.version.data or "")
        requisition = procurement.apply(current_user, requisition.id, version, "amend",
                                        department_id=form.department.data, lines=form.line_values(),
                                        note=form.note.data or "")
        if request.form.get("action") == "submit":
            procurement.apply(current_user, requisition.id, requisition.version, "submit")
            toast(_("Requisition submitted for approval."))
        else:
            toast(_("Changes saved."))
    except ValueError:
        form.note.errors = [_("Reload the page and try again.")]
        return _form_page(form, requisition, status=422)
    except DomainError as refused:
        form.note.errors = [str(refused)]
        return _form_page(form, requisition, status=422)
    return redirect_to(url_for("procurement.show", requisition_id=requisition.id))


# ---------------------------------------------------------------- printed forms

@bp.route("/procurement/<int:requisition_id>.pdf")
@allow("procurement.request")
def requisition_pdf(requisition_id):
    """Print the purchase requisition (物资采购申请表): every approval round, and the signature boxes."""
    requisition = requisition_or_404(requisition_id)
    return render_pdf("print/requisition.html", f"物资采购申请表-{requisition.number}.pdf",
                      requisition=requisition, lines=requisition.lines_list(),
                      progress=requisitions.chain_progress(requisition), number=requisition.number,
                      history=requisition.approval_history(), states=STATES, methods=PURCHASE_METHODS,
                      qr=qr_data_uri(record_url("procurement.show", requisition_id=requisition.id)))


@bp.route("/procurement/receipts/<int:delivery_id>.pdf")
@allow("procurement.request")
def receipt_pdf(delivery_id):
    """Print a goods receipt note (入库单)."""
    delivery = Delivery.get_or_none(Delivery.id == delivery_id, Delivery.receipt_number.is_null(False))
    if delivery is None:
        abort(404)
    order = delivery.order
    requisition = requisition_or_404(order.requisition_id)
    returns = {r.order_line_id: r for r in ReturnRecord.select().where(ReturnRecord.delivery == delivery)}
    return render_pdf("print/goods_receipt.html", f"入库单-{delivery.receipt_number}.pdf", delivery=delivery,
                      order=order, requisition=requisition, lines=delivery.lines_list(), returns=returns,
                      kinds=RETURN_KINDS, number=delivery.receipt_number, total=delivery.accepted_value(),
                      qr=qr_data_uri(record_url("procurement.show", requisition_id=requisition.id)))


@bp.route("/procurement/returns/<int:return_id>.pdf")
@allow("procurement.request")
def return_pdf(return_id):
    """Print a return note (退货单) for goods going back to the supplier, returned or exchanged."""
    record = ReturnRecord.get_or_none(ReturnRecord.id == return_id) or abort(404)
    delivery = record.delivery
    requisition = requisition_or_404(delivery.order.requisition_id)
    return render_pdf("print/return_note.html", f"退货单-{record.number}.pdf", record=record, delivery=delivery,
                      order=delivery.order, requisition=requisition, kinds=RETURN_KINDS, number=record.number,
                      qr=qr_data_uri(record_url("procurement.show", requisition_id=requisition.id)))
