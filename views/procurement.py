"""Procurement: requisitions and the approval inbox, the requisition page with its steps
(approval, order, receiving, reimbursement), the supplier register, the stock ledger,
the approval chain, and the two printed forms."""
import os
from decimal import Decimal, InvalidOperation

from flask import Blueprint, abort, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from peewee import IntegrityError
from wtforms import (
    BooleanField, DateField, DecimalField, FieldList, FileField, FormField, HiddenField, IntegerField,
    SelectField, StringField, TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import TextInput
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from models import procurement, settings
from models.procurement import chain as approval_chain
from models.procurement import orders, requisitions
from models.procurement import stock as ledger
from models.procurement import suppliers as register
from models.procurement.chain import ApprovalStep, DepartmentApprover
from models.procurement.orders import RETURN_KINDS, Delivery, PurchaseOrder, ReturnRecord
from models.procurement.requisitions import (
    PURCHASE_METHODS, STATES, Requisition, RequisitionAttachment, SentBackForApproval
)
from models.procurement.stock import StockItem
from models.procurement.suppliers import Supplier
from models.base import DomainError
from models.uploads import DOCUMENT_TYPES, stored_path
from models.roles import ROLES
from models.submissions import submit_once
from models.timezone import local_now
from models.users import Department, User
from printing import qr_data_uri
from views.access import allow
from views.fields import ChosenIdField, phone, rule, strip
from views.printing import record_url, render_pdf
from views.templating import NAV_COUNTS
from views.ui import PortalForm, SubForm, redirect_to, render, toast

bp = Blueprint("procurement", __name__)

NAV_COUNTS["procurement.index"] = requisitions.inbox_count


# ---------------------------------------------------------------- fields

class WholeNumberField(IntegerField):
    """A count of items: a whole number, with our own message when it is not one."""

    def process_formdata(self, valuelist):
        self.data = None
        if valuelist and valuelist[0].strip():
            try:
                self.data = int(valuelist[0].strip())
            except ValueError:
                raise ValueError(_l("Enter a whole number, like 3.")) from None


def parse_amount(text):
    """An amount in CNY typed by a person ("1,200.50", "¥30" are read too): a Decimal or None
    for empty; ValueError with a message for the user."""
    text = (text or "").strip().replace(",", "").replace("，", "").replace("¥", "").replace("￥", "")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(_l("Enter an amount in yuan, like 12.50.")) from None
    if not value.is_finite() or value.as_tuple().exponent < -2:
        raise ValueError(_l("Enter an amount in yuan with at most 2 decimals, like 12.50."))
    if abs(value) >= Decimal("10000000000"):
        raise ValueError(_l("This amount is too large."))
    return value


class AmountField(DecimalField):
    """An amount in CNY: a number with at most 2 decimal places. A text box (inputmode
    decimal): a number box would silently drop "2,100" as typed from an invoice."""

    widget = TextInput()

    def process_formdata(self, valuelist):
        self.data = None
        self.data = parse_amount(valuelist[0] if valuelist else "")


class DayField(DateField):
    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, format="%Y-%m-%d", **kwargs)

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_l("Enter a date like 2026-11-23.")) from None


def positive(form, field):
    if field.data is not None and field.data <= 0:
        raise ValidationError(_l("Must be greater than 0."))


def not_negative(form, field):
    if field.data is not None and field.data < 0:
        raise ValidationError(_l("Cannot be negative."))


def required(message):
    def check(form, field):
        if field.data is None or field.data == "":
            raise ValidationError(message)
    return check


def tax_id(form, field):
    if field.data:
        try:
            field.data = register.check_tax_id(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


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


class RequisitionForm(PortalForm):
    department = SelectField(_l("Department"), coerce=int, validate_choice=False)
    lines = FieldList(FormField(LineForm), min_entries=1, max_entries=30)
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
                total += procurement.money(line["unit_price"] * line["quantity"])
        return procurement.money(total)


def _requisition_or_404(requisition_id):
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
            "step_label": procurement.step_label, "ROLES": ROLES}


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
        form.lines.append_entry()
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
    requisition = _requisition_or_404(requisition_id)
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
        form.lines.append_entry()
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


# ---------------------------------------------------------------- the requisition page

class AttachmentForm(PortalForm):
    file = FileField(_l("Quotation, specification or photo"), render_kw={
        "accept": ".pdf,.jpg,.jpeg,.png,.xlsx,.docx,application/pdf,image/jpeg,image/png"},
        description=_l("PDF, JPEG or PNG photo, Excel (.xlsx) or Word (.docx)."))


class ActionForm(FlaskForm):
    """A step on the requisition page: it names the version the person saw (a second tap, or
    someone acting meanwhile, is told by the model). A refusal that names a field of the
    model is placed beside this form's field (field_for)."""
    version = HiddenField()
    #: The model's names of fields this form calls otherwise.
    model_fields = {}
    #: A line's fields, as the model names them ("qty-<line id>"): {model's prefix: field of the line}.
    line_fields = {}

    def prepare(self, requisition):
        """Labels and choices that depend on the requisition (also for a form posted back)."""

    def field_for(self, name):
        name = self.model_fields.get(name, name)
        if name and "-" in name and self.line_fields:
            prefix, line_id = name.rsplit("-", 1)
            for entry in self.lines:
                if str(entry.form.line_id.data) == line_id:
                    return getattr(entry.form, self.line_fields.get(prefix, ""), None)
            return None
        return self._fields.get(name) if name else None

    def place(self, refused):
        """The refusal beside the field it names; False when it names none of this form's."""
        field = self.field_for(refused.field)
        if field is None:
            return False
        field.errors = list(field.errors) + [refused.message]
        return True


class WithdrawForm(ActionForm):
    withdraw_reason = TextAreaField(_l("Why is it withdrawn?"), filters=[strip], validators=[Length(max=2000)])
    model_fields = {"reason": "withdraw_reason"}


class DecideForm(ActionForm):
    purchase_method = SelectField(_l("Purchase method"), validate_choice=False,
                                  choices=[SelectChoice("", _l("Choose…"))] + [
                                      SelectChoice(k, v) for k, v in PURCHASE_METHODS.items()])
    budget_checked = BooleanField(_l("Checked against the budget: it fits"))
    confirmed_amount = AmountField(_l("Confirmed amount (CNY)"), render_kw={"inputmode": "decimal"})
    reason = TextAreaField(_l("Remarks; the reason when returning it"), filters=[strip],
                           validators=[Length(max=2000)])

    def prepare(self, requisition):
        threshold = settings.get(approval_chain.LEADERSHIP_THRESHOLD)
        self.confirmed_amount.description = _("Leadership approves from ¥%(n)s.", n=f"{threshold:,.2f}")

    def review(self):
        return {"purchase_method": self.purchase_method.data or "", "budget_checked": self.budget_checked.data,
                "confirmed_amount": self.confirmed_amount.data}


class OrderLineForm(SubForm):
    line_id = HiddenField()
    spec = StringField(_l("Agreed specification"), filters=[strip], validators=[Length(max=120)])
    quantity = WholeNumberField(_l("Quantity"), validators=[required(_l("Enter the quantity.")),
                                                            rule(requisitions.check_quantity)],
                                render_kw={"inputmode": "numeric"})
    unit_price = AmountField(_l("Unit price (CNY)"), validators=[required(_l("Enter the unit price.")),
                                                                 rule(requisitions.check_price)],
                             render_kw={"inputmode": "decimal"})


def _supplier_id(value):
    return int(value) if str(value or "").isdigit() else 0


class OrderForm(ActionForm):
    supplier = SelectField(_l("Supplier"), coerce=_supplier_id, validate_choice=False,
                           validators=[rule(orders.supplier_of)])
    lines = FieldList(FormField(OrderLineForm), max_entries=30)
    delivery_date = DayField(_l("Delivery date"), validators=[required(_l("Enter a date like 2026-11-23.")),
                                                              rule(orders.check_delivery_date)])
    quality_standard = TextAreaField(_l("Quality standard"), filters=[strip], validators=[Length(max=2000)])
    line_fields = {"qty": "quantity", "price": "unit_price"}

    def prepare(self, requisition):
        self.supplier.choices = [SelectChoice(0, _l("Choose…"))] + [
            SelectChoice(s.id, s.name) for s in Supplier.active_ones()]
        by_id = {line.id: line for line in requisition.lines_list()}
        for entry in self.lines:
            entry.form.line = by_id.get(_supplier_id(entry.form.line_id.data))
            if entry.form.line is not None:
                entry.form.quantity.label.text = f"{_('Quantity')} ({entry.form.line.unit})"

    def terms(self):
        return {_supplier_id(e.form.line_id.data): (e.form.spec.data or "", e.form.quantity.data, e.form.unit_price.data)
                for e in self.lines}


class ReceiveLineForm(SubForm):
    line_id = HiddenField()
    accepted = WholeNumberField(_l("Accepted"), default=0, render_kw={"inputmode": "numeric"})
    rejected = WholeNumberField(_l("Rejected"), default=0, render_kw={"inputmode": "numeric"})
    kind = SelectField(_l("Rejected goods"), validate_choice=False,
                       choices=[SelectChoice(k, v) for k, v in RETURN_KINDS.items()])
    reason = StringField(_l("Reason for rejecting"), filters=[strip], validators=[Length(max=2000)])
    stock_item = SelectField(_l("Into the stock item"), validate_choice=False)


class ReceiveForm(ActionForm):
    received_on = DayField(_l("Delivered on"), validators=[required(_l("Enter a date like 2026-11-23.")),
                                                           rule(orders.check_received_on)])
    lines = FieldList(FormField(ReceiveLineForm), max_entries=30)
    receive_note = StringField(_l("Note"), filters=[strip], validators=[Length(max=2000)])
    line_fields = {"accepted": "accepted", "reason": "reason", "kind": "kind", "stock": "stock_item"}

    def prepare(self, requisition):
        by_id = {line.id: line for line in requisition.order().lines_list()}
        for entry in self.lines:
            line = entry.form.line = by_id.get(_supplier_id(entry.form.line_id.data))
            if line is None:
                continue
            items = line.stock_choices()
            choices = [SelectChoice(str(i.id), _("%(item)s · in stock %(n)s %(unit)s", item=str(i), n=i.balance,
                                                 unit=i.unit)) for i in items]
            # A new item is offered unless the ledger has this very item already.
            if not any(i.name == line.item_name and i.spec == line.spec for i in items):
                choices.append(SelectChoice(ledger.NEW_ITEM, _("New stock item: %(item)s",
                                                               item=f"{line.item_name} {line.spec}".strip())))
            entry.form.stock_item.choices = choices

    def inspection(self):
        lines, stock_items = {}, {}
        for entry in self.lines:
            line_id, form = _supplier_id(entry.form.line_id.data), entry.form
            lines[line_id] = (form.accepted.data or 0, form.rejected.data or 0, form.reason.data or "",
                              form.kind.data or "exchange")
            choice = form.stock_item.data or ""
            if choice == ledger.NEW_ITEM or choice.isdigit():
                stock_items[line_id] = choice if choice == ledger.NEW_ITEM else int(choice)
        return lines, stock_items


class ReimburseForm(ActionForm):
    invoice_number = StringField(_l("Invoice number"), filters=[strip], validators=[Length(max=40)])
    invoice_amount = AmountField(_l("Invoice amount (CNY)"), render_kw={"inputmode": "decimal"})
    contract_checked = BooleanField(_l("Contract checked"))
    invoice_checked = BooleanField(_l("Invoice checked"))
    receipt_checked = BooleanField(_l("Goods receipt note checked"))
    reimburse_note = TextAreaField(_l("Note (explain a difference)"), filters=[strip], validators=[Length(max=2000)])
    model_fields = {"note": "reimburse_note"}

    def prepare(self, requisition):
        self.contract_checked.label.text = _("Contract %(number)s checked", number=requisition.order().number)

    def papers(self):
        return {"invoice_number": self.invoice_number.data or "", "invoice_amount": self.invoice_amount.data,
                "contract_checked": self.contract_checked.data, "invoice_checked": self.invoice_checked.data,
                "receipt_checked": self.receipt_checked.data, "note": self.reimburse_note.data or ""}


#: The form of each of the page's steps (TRANSITIONS[action].form); "amend" is a link to the edit page.
ACTION_FORMS = {"submit": ActionForm, "withdraw": WithdrawForm, "decide": DecideForm, "order": OrderForm,
                "receive": ReceiveForm, "reimburse": ReimburseForm}


def _blank_form(name, requisition):
    """The step's form as the page first offers it."""
    data = {"version": requisition.version}
    if name == "decide" and requisition.step.review:
        data["confirmed_amount"] = requisition.amount_for_approval
    elif name == "order":
        data["lines"] = [{"line_id": l.id, "spec": l.spec, "quantity": l.quantity, "unit_price": l.unit_price}
                         for l in requisition.lines_list()]
    elif name == "receive":
        data.update(received_on=local_now().date(), lines=[
            {"line_id": l.id, "accepted": l.outstanding(), "rejected": 0, "kind": "exchange",
             "stock_item": str(default.id) if (default := l.default_stock_item()) else ledger.NEW_ITEM}
            for l in requisition.order().lines_list() if l.outstanding()])
    elif name == "reimburse":
        order = requisition.order()
        data.update(invoice_number=order.invoice_number, invoice_amount=order.invoice_amount,
                    contract_checked=order.contract_checked, invoice_checked=order.invoice_checked,
                    receipt_checked=order.receipt_checked, reimburse_note=order.reimburse_note)
    form = ACTION_FORMS[name](formdata=None, data=data)
    form.prepare(requisition)
    return form


def _show(requisition, status=200, posted=None, error=None, attachment_form=None):
    """The page; `posted`: (form name, the form as posted back with its errors), `error`: a
    refusal that names no field, shown above the steps."""
    requisition = Requisition.get_by_id(requisition.id)
    order = requisition.order()
    actions = dict(requisition.actions_for(current_user))
    forms = {t.form: _blank_form(t.form, requisition) for t in actions.values() if t.form in ACTION_FORMS}
    if posted and posted[0] in forms:
        forms[posted[0]] = posted[1]
    context = dict(requisition=requisition, lines=requisition.lines_list(), events=list(requisition.events()),
                   progress=requisitions.chain_progress(requisition), order=order, actions=actions, forms=forms,
                   open_form=posted[0] if posted else None, action_error=error,
                   manager=current_user.can("procurement.manage"), today=local_now().date(),
                   attachments=list(requisition.attachments.order_by(RequisitionAttachment.id)),
                   attachment_form=attachment_form or AttachmentForm(formdata=None),
                   may_attach=requisitions.may_attach(requisition, current_user))
    context["approvers"], context["approvers_why"] = requisitions.waiting_for(requisition)
    if order is not None:
        context["order_lines"] = order.lines_list()
        context["deliveries"] = list(order.deliveries())
        context["returns"] = list(ReturnRecord.select().join(Delivery).where(Delivery.order == order)
                                  .order_by(ReturnRecord.id))
    return render("procurement/show.html", status=status, **context)


@bp.route("/procurement/<int:requisition_id>")
@allow("procurement.request")
def show(requisition_id):
    """The requisition, where it stands in the approval chain, and what I may do now."""
    return _show(_requisition_or_404(requisition_id))


def _take_step(requisition, name, action, changes, done):
    """Apply `action` with what the step's form parsed, `changes(form)`; the page again with
    the form as typed and the message beside its field when refused. `done(result)` says
    what happened (a toast) before the redirect back to the requisition."""
    form = ACTION_FORMS[name]()
    form.prepare(requisition)
    url = url_for("procurement.show", requisition_id=requisition.id)
    if not form.validate_on_submit():
        return _show(requisition, 422, (name, form))
    try:
        version = int(form.version.data or "")
    except ValueError:
        return _show(requisition, 422, (name, form), _("Reload the page and try again."))
    try:
        result = procurement.apply(current_user, requisition.id, version, action, **changes(form))
    except SentBackForApproval as sent_back:
        toast(sent_back.message, "warning")
        return redirect_to(url)
    except DomainError as refused:
        return _show(requisition, 422, (name, form), None if form.place(refused) else refused.message)
    done(result)
    return redirect_to(url)


@bp.route("/procurement/<int:requisition_id>/submit", methods=["POST"])
@allow("procurement.request")
def submit(requisition_id):
    """Send a draft or an amended requisition into the approval chain."""
    return _take_step(_requisition_or_404(requisition_id), "submit", "submit", lambda form: {},
                      lambda _r: toast(_("Requisition submitted for approval.")))


@bp.route("/procurement/<int:requisition_id>/withdraw", methods=["POST"])
@allow("procurement.request")
def withdraw(requisition_id):
    """Withdraw a draft or a returned requisition, with a reason (it is kept, voided)."""
    return _take_step(_requisition_or_404(requisition_id), "withdraw", "withdraw",
                      lambda form: {"reason": form.withdraw_reason.data},
                      lambda _r: toast(_("Requisition withdrawn.")))


@bp.route("/procurement/<int:requisition_id>/decide", methods=["POST"])
@allow("procurement.request")
def decide(requisition_id):
    """Approve or return the step the requisition waits at (the chain decides who may)."""
    requisition = _requisition_or_404(requisition_id)
    decision = request.form.get("decision", "")
    if decision not in ("approve", "reject"):
        return _show(requisition, 422, ("decide", DecideForm()), _("Unknown action."))
    return _take_step(requisition, "decide", decision,
                      lambda form: dict(reason=form.reason.data, **(form.review() if decision == "approve" else {})),
                      lambda _r: toast(_("Approved.") if decision == "approve" else _("Returned to the requester.")))


@bp.route("/procurement/<int:requisition_id>/order", methods=["POST"])
@allow("procurement.manage")
def order(requisition_id):
    """Place the purchase order (contract) with a supplier from the register."""
    return _take_step(_requisition_or_404(requisition_id), "order", "order",
                      lambda form: dict(supplier_id=form.supplier.data, delivery_date=form.delivery_date.data,
                                        quality_standard=form.quality_standard.data or "", lines=form.terms()),
                      lambda _r: toast(_("Purchase order placed.")))


def _received(delivery):
    if delivery.receipt_number:
        toast(_("Goods receipt note %(number)s made; the goods are in the stock ledger.",
                number=delivery.receipt_number))
    else:
        toast(_("Inspection recorded; nothing was accepted."))


@bp.route("/procurement/<int:requisition_id>/receive", methods=["POST"])
@allow("procurement.manage")
def receive(requisition_id):
    """Record one delivery's acceptance inspection, line by line."""
    requisition = _requisition_or_404(requisition_id)
    if requisition.order() is None:
        abort(404)

    def changes(form):
        lines, stock_items = form.inspection()
        return dict(received_on=form.received_on.data, lines=lines, stock_items=stock_items,
                    note=form.receive_note.data or "")
    return _take_step(requisition, "receive", "receive", changes, _received)


@bp.route("/procurement/returns/<int:return_id>/resolve", methods=["POST"])
@allow("procurement.manage")
def resolve_return(return_id):
    """The supplier took rejected goods back."""
    record = ReturnRecord.get_or_none(ReturnRecord.id == return_id)
    if record is None:
        abort(404)
    orders.resolve_return(record.id, current_user, request.form.get("resolution", "")[:500])
    toast(_("Return %(number)s is done.", number=record.number))
    requisition = record.delivery.order.requisition
    return redirect_to(url_for("procurement.show", requisition_id=requisition.id))


@bp.route("/procurement/<int:requisition_id>/reimburse", methods=["POST"])
@allow("procurement.manage")
def reimburse(requisition_id):
    """Check off contract, invoice and receipt note; mark reimbursed."""
    done = request.form.get("action") == "reimburse"

    def said(order):
        if done:
            toast(_("Marked reimbursed."))
        elif order.invoice_mismatch:
            toast(_("Saved. The invoice amount differs from the received value."), "warning")
        else:
            toast(_("Saved."))
    return _take_step(_requisition_or_404(requisition_id), "reimburse", "reimburse",
                      lambda form: dict(form.papers(), reimbursed=done), said)


@bp.route("/procurement/<int:requisition_id>/attachments", methods=["POST"])
@allow("procurement.request")
def attach(requisition_id):
    """Attach a quotation, a specification or a photo to the requisition."""
    requisition = _requisition_or_404(requisition_id)
    form = AttachmentForm()
    if earlier := form.earlier_result():
        return redirect_to(earlier)
    upload = request.files.get(form.file.name)

    def store():
        requisitions.attach(current_user, requisition, upload.filename if upload else "",
                           upload.read() if upload else b"")
        return url_for("procurement.show", requisition_id=requisition.id) + "#attachments"

    try:
        url, _created = submit_once(form.submission_key.data, current_user, store)
    except DomainError as refused:
        form.file.errors = [str(refused)]
        return _show(requisition, status=422, attachment_form=form)
    toast(_("File attached."))
    return redirect_to(url)


@bp.route("/procurement/attachments/<int:attachment_id>")
@allow("procurement.request")
def attachment(attachment_id):
    """A requisition's file, for those who may see the requisition, under the name it was given."""
    item = RequisitionAttachment.get_or_none(RequisitionAttachment.id == attachment_id) or abort(404)
    _requisition_or_404(item.requisition_id)
    path = stored_path("requisitions", item.stored_name)
    if not os.path.isfile(path):
        abort(404)
    return send_file(path, mimetype=DOCUMENT_TYPES[item.extension], as_attachment=True,
                     download_name=item.filename, max_age=0)


# ---------------------------------------------------------------- printed forms

@bp.route("/procurement/<int:requisition_id>.pdf")
@allow("procurement.request")
def requisition_pdf(requisition_id):
    """Print the purchase requisition (物资采购申请表): every approval round, and the signature boxes."""
    requisition = _requisition_or_404(requisition_id)
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
    requisition = _requisition_or_404(order.requisition_id)
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
    requisition = _requisition_or_404(delivery.order.requisition_id)
    return render_pdf("print/return_note.html", f"退货单-{record.number}.pdf", record=record, delivery=delivery,
                      order=delivery.order, requisition=requisition, kinds=RETURN_KINDS, number=record.number,
                      qr=qr_data_uri(record_url("procurement.show", requisition_id=requisition.id)))


# ---------------------------------------------------------------- suppliers

class SupplierForm(PortalForm):
    name = StringField(_l("Supplier name"), filters=[strip], validators=[DataRequired(), Length(max=120)])
    tax_id = StringField(_l("Unified social credit code"), filters=[strip],
                         validators=[DataRequired(), Length(max=30), tax_id],
                         description=_l("18 characters, as on the business licence (统一社会信用代码)."),
                         render_kw={"autocapitalize": "characters", "autocomplete": "off", "spellcheck": "false"})
    contact = StringField(_l("Contact person"), filters=[strip], validators=[Optional(), Length(max=80)])
    phone = StringField(_l("Phone"), filters=[strip], validators=[Optional(), Length(max=30), phone],
                        render_kw={"inputmode": "tel"})
    address = StringField(_l("Address"), filters=[strip], validators=[Optional(), Length(max=200)])
    note = TextAreaField(_l("Note"), filters=[strip], validators=[Length(max=1000)])

    def values(self):
        return {"name": self.name.data, "tax_id": self.tax_id.data, "contact": self.contact.data or "",
                "phone": self.phone.data or "", "address": self.address.data or "", "note": self.note.data or ""}


def _duplicate_supplier(form, supplier_id=None):
    same_name = Supplier.get_or_none(Supplier.name == form.name.data)
    if same_name and same_name.id != supplier_id:
        form.name.errors = list(form.name.errors) + [_("This supplier is in the register already.")]
    same_tax = Supplier.get_or_none(Supplier.tax_id == form.tax_id.data)
    if same_tax and same_tax.id != supplier_id:
        form.tax_id.errors = list(form.tax_id.errors) + [
            _("%(name)s has this code already.", name=same_tax.name)]
    return bool(form.name.errors or form.tax_id.errors)


@bp.route("/suppliers", methods=["GET", "POST"])
@allow("procurement.manage")
def suppliers():
    """The supplier register, and a new supplier."""
    form = SupplierForm()
    rows = Supplier.active_ones()
    if earlier := form.earlier_result():
        return redirect_to(earlier)
    if not form.validate_on_submit() or _duplicate_supplier(form):
        status = 422 if request.method == "POST" else 200
        return render("procurement/suppliers.html", "form", status=status, form=form, rows=rows)

    def create():
        register.save_supplier(current_user, **form.values())
        return url_for("procurement.suppliers")

    try:
        url, created = submit_once(form.submission_key.data, current_user, create)
    except IntegrityError:
        _duplicate_supplier(form)
        return render("procurement/suppliers.html", "form", status=422, form=form, rows=rows)
    if created:
        toast(_("Supplier added."))
    return redirect_to(url)


@bp.route("/suppliers/<int:supplier_id>", methods=["GET", "POST"])
@allow("procurement.manage")
def supplier(supplier_id):
    """Change a supplier's details."""
    row = Supplier.get_or_none(Supplier.id == supplier_id)
    if row is None:
        abort(404)
    form = SupplierForm(obj=row if request.method == "GET" else None)
    if not form.validate_on_submit() or _duplicate_supplier(form, row.id):
        status = 422 if request.method == "POST" else 200
        orders = PurchaseOrder.select().where(PurchaseOrder.supplier == row).order_by(PurchaseOrder.created_at.desc())
        return render("procurement/supplier.html", "form", status=status, form=form, supplier=row, orders=orders)
    register.save_supplier(current_user, row.id, **form.values())
    toast(_("Supplier saved."))
    return redirect_to(url_for("procurement.suppliers"))


# ---------------------------------------------------------------- stock

class IssueForm(PortalForm):
    item = ChosenIdField(_l("Item"))
    quantity = WholeNumberField(_l("Quantity"), validators=[required(_l("Enter the quantity.")), positive],
                                render_kw={"inputmode": "numeric"})
    taken_by = StringField(_l("Taken by"), filters=[strip], validators=[DataRequired(), Length(max=80)])
    department = SelectField(_l("Department"), coerce=int, validate_choice=False)
    note = StringField(_l("Note"), filters=[strip], validators=[Length(max=200)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.department.choices = [SelectChoice(0, _l("(none)"))] + [
            SelectChoice(d.id, d.name) for d in Department.active_ones()]

    def validate_item(self, field):
        if not field.data or not StockItem.get_or_none(StockItem.id == field.data):
            raise ValidationError(_l("Choose an item from the stock list."))


def _stock_page(form, status=200):
    return render("procurement/stock.html", "issue", status=status, form=form,
                  items=list(ledger.stock_items()), issues=list(ledger.recent_issues()),
                  may_issue=current_user.can("stock.issue"))


@bp.route("/stock")
@allow("stock.view")
def stock():
    """The stock ledger (物资台账): balances, and office supplies handed out."""
    form = IssueForm(data={"item": request.args.get("item", type=int)})
    return _stock_page(form)


@bp.route("/stock/issue", methods=["POST"])
@allow("stock.issue")
def issue():
    """Hand out office supplies: out of the ledger, with who took what; never more than the balance."""
    form = IssueForm()
    if earlier := form.earlier_result():
        return redirect_to(earlier)
    if not form.validate_on_submit():
        return _stock_page(form, 422)

    def create():
        ledger.issue(current_user, item_id=form.item.data, quantity=form.quantity.data,
                          taken_by=form.taken_by.data, department_id=form.department.data or None,
                          note=form.note.data or "")
        return url_for("procurement.stock")

    try:
        url, created = submit_once(form.submission_key.data, current_user, create)
    except DomainError as refused:
        getattr(form, refused.field or "quantity").errors = [str(refused)]
        return _stock_page(form, 422)
    if created:
        toast(_("Issued."))
    return redirect_to(url)


@bp.route("/stock/<int:item_id>")
@allow("stock.view")
def stock_item(item_id):
    """One item's ledger: every movement in and out with the balance after it."""
    item = StockItem.get_or_none(StockItem.id == item_id)
    if item is None:
        abort(404)
    return render("procurement/stock_item.html", item=item, moves=list(item.moves().limit(500)))


# ---------------------------------------------------------------- the approval chain (admin)

class StepForm(PortalForm):
    step_id = HiddenField()
    label = StringField(_l("Step name"), filters=[strip], validators=[Length(max=80)],
                        description=_l("Leave empty for a default step to keep its translated name."))
    role = SelectField(_l("Approver role"), choices=[SelectChoice(k, v) for k, v in ROLES.items()])
    position = WholeNumberField(_l("Sequence (smaller first)"), validators=[required(_l("Enter a number.")),
                                                                           not_negative])
    own_department = BooleanField(_l("The approver belongs to the requisition's department"))
    review = BooleanField(_l("Logistics review (purchase method, budget, confirmed amount)"))
    min_amount = AmountField(_l("Applies from this amount (CNY)"), validators=[Optional(), not_negative],
                             description=_l("Empty: every requisition passes this step."))
    threshold_setting = BooleanField(_l("Applies from the leadership threshold setting"))
    fallback_role = SelectField(
        _l("Next level up"), default="leadership",
        choices=[SelectChoice("", _l("(nobody)"))] + [SelectChoice(k, v) for k, v in ROLES.items()],
        description=_l("Approves when the requester is the step's only approver (a department's only head), "
                       "and is told and may approve when the step waits longer than the escalation setting."))
    active = BooleanField(_l("In use"), default=True)

    def validate_label(self, field):
        step = ApprovalStep.get_or_none(ApprovalStep.id == int(self.step_id.data)) if (
            self.step_id.data or "").isdigit() else None
        if not field.data and not (step and step.key in approval_chain.DEFAULT_STEP_LABELS):
            raise ValidationError(_l("Name the step."))


class ApproverForm(PortalForm):
    department = SelectField(_l("Department"), coerce=int, validate_choice=False)
    step = SelectField(_l("Step"), coerce=int, validate_choice=False)
    user = SelectField(_l("Approver"), coerce=int, validate_choice=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.department.choices = [SelectChoice(d.id, d.name) for d in Department.active_ones()]
        self.step.choices = [SelectChoice(s.id, procurement.step_label(s)) for s in approval_chain.chain()]
        self.user.choices = [SelectChoice(u.id, u.display_name) for u in
                             User.select().where(User.is_active == True).order_by(User.display_name)]  # noqa: E712


def _chain_page(step_form=None, approver_form=None, status=200, block=None):
    return render("procurement/chain.html", block, status=status, steps=approval_chain.chain(include_inactive=True),
                  named=list(approval_chain.department_approvers()), step_form=step_form or StepForm(),
                  approver_form=approver_form or ApproverForm(),
                  threshold=settings.get(approval_chain.LEADERSHIP_THRESHOLD),
                  escalate_hours=settings.get(approval_chain.ESCALATE_HOURS))


@bp.route("/procurement/chain", methods=["GET"])
@allow("procurement.chain")
def chain():
    """The approval chain as data: steps, amount tiers, and departments' own approvers."""
    step = ApprovalStep.get_or_none(ApprovalStep.id == request.args.get("step", type=int))
    form = StepForm(obj=step, data={"step_id": step.id}) if step else StepForm(data={"position": 40})
    return _chain_page(step_form=form)


@bp.route("/procurement/chain/step", methods=["POST"])
@allow("procurement.chain")
def save_step():
    """Add a step to the chain or change one."""
    form = StepForm()
    if not form.validate_on_submit():
        return _chain_page(step_form=form, status=422, block="step_form")
    step_id = int(form.step_id.data) if (form.step_id.data or "").isdigit() else None
    approval_chain.save_step(current_user, step_id, label=form.label.data or "", role=form.role.data,
                          position=form.position.data, own_department=form.own_department.data,
                          review=form.review.data, min_amount=form.min_amount.data,
                          threshold_setting=form.threshold_setting.data, active=form.active.data,
                          fallback_role=form.fallback_role.data)
    toast(_("Approval chain saved."))
    return redirect_to(url_for("procurement.chain"))


@bp.route("/procurement/chain/approvers", methods=["POST"])
@allow("procurement.chain")
def add_approver():
    """Name a department's own approver for a step."""
    form = ApproverForm()
    if not form.validate_on_submit():
        return _chain_page(approver_form=form, status=422, block="approver_form")
    approval_chain.name_department_approver(current_user, form.department.data, form.step.data, form.user.data)
    toast(_("Approver named."))
    return redirect_to(url_for("procurement.chain"))


@bp.route("/procurement/chain/approvers/<int:approver_id>/remove", methods=["POST"])
@allow("procurement.chain")
def remove_approver(approver_id):
    """Stop a department's named approver (the step's role approves again)."""
    if not DepartmentApprover.get_or_none(DepartmentApprover.id == approver_id):
        abort(404)
    approval_chain.remove_department_approver(current_user, approver_id)
    toast(_("Approver removed."))
    return redirect_to(url_for("procurement.chain"))
