"""The requisition page: where it stands, and each step the person may take now as a form
(submit, withdraw, decide, order, receive, reimburse), applied through the workflow; its files."""
import os

from flask import abort, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField, FieldList, FileField, FormField, HiddenField, SelectField, StringField, TextAreaField
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from models import procurement, settings
from models.procurement import chain as approval_chain
from models.procurement import orders, requisitions
from models.procurement import stock as ledger
from models.procurement.orders import RETURN_KINDS, Delivery, OrderLine, ReturnRecord
from models.procurement.requisitions import PURCHASE_METHODS, Requisition, RequisitionAttachment, SentBackForApproval
from models.procurement.suppliers import Supplier
from models.base import DomainError
from models.money import format_money
from models.uploads import DOCUMENT_TYPES, stored_path
from models.submissions import submit_once
from models.timezone import local_now
from views.access import allow
from views.fields import AmountField, DayField, WholeNumberField, rule, strip, whole_number
from views.ui import PortalForm, SubForm, redirect_to, render, toast
from views.procurement.fields import required
from views.procurement.requisitions import requisition_or_404, bp

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
        self.confirmed_amount.description = _("Leadership approves from ¥%(n)s.", n=format_money(threshold))

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
    return int(value) if whole_number(str(value or "")) else 0


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
            if choice == ledger.NEW_ITEM or whole_number(choice):
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
                   attachments=list(requisition.attachments_list()),
                   attachment_form=attachment_form or AttachmentForm(formdata=None),
                   may_attach=requisitions.may_attach(requisition, current_user))
    context["approvers"], context["approvers_why"] = requisitions.waiting_for(requisition)
    if order is not None:
        context["order_lines"] = order.lines_with_progress()
        context["deliveries"] = list(order.deliveries())
        context["returns"] = list(ReturnRecord.select(ReturnRecord, OrderLine).join(Delivery)
                                  .switch(ReturnRecord).join(OrderLine).where(Delivery.order == order)
                                  .order_by(ReturnRecord.id))
    return render("procurement/show.html", status=status, **context)


@bp.route("/procurement/<int:requisition_id>")
@allow("procurement.request")
def show(requisition_id):
    """The requisition, where it stands in the approval chain, and what I may do now."""
    return _show(requisition_or_404(requisition_id))


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
    return _take_step(requisition_or_404(requisition_id), "submit", "submit", lambda form: {},
                      lambda _r: toast(_("Requisition submitted for approval.")))


@bp.route("/procurement/<int:requisition_id>/withdraw", methods=["POST"])
@allow("procurement.request")
def withdraw(requisition_id):
    """Withdraw a draft or a returned requisition, with a reason (it is kept, voided)."""
    return _take_step(requisition_or_404(requisition_id), "withdraw", "withdraw",
                      lambda form: {"reason": form.withdraw_reason.data},
                      lambda _r: toast(_("Requisition withdrawn.")))


@bp.route("/procurement/<int:requisition_id>/decide", methods=["POST"])
@allow("procurement.request")
def decide(requisition_id):
    """Approve or return the step the requisition waits at (the chain decides who may)."""
    requisition = requisition_or_404(requisition_id)
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
    return _take_step(requisition_or_404(requisition_id), "order", "order",
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
    requisition = requisition_or_404(requisition_id)
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
    requisition = requisition_or_404(requisition_id)
    if requisition.order() is None:
        abort(404)
    done = request.form.get("action") == "reimburse"

    def said(order):
        if done:
            toast(_("Marked reimbursed."))
        elif order.invoice_mismatch:
            toast(_("Saved. The invoice amount differs from the received value."), "warning")
        else:
            toast(_("Saved."))
    return _take_step(requisition, "reimburse", "reimburse",
                      lambda form: dict(form.papers(), reimbursed=done), said)


@bp.route("/procurement/<int:requisition_id>/attachments", methods=["POST"])
@allow("procurement.request")
def attach(requisition_id):
    """Attach a quotation, a specification or a photo to the requisition."""
    requisition = requisition_or_404(requisition_id)
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
    requisition_or_404(item.requisition_id)
    path = stored_path("requisitions", item.stored_name)
    if not os.path.isfile(path):
        abort(404)
    return send_file(path, mimetype=DOCUMENT_TYPES[item.extension], as_attachment=True,
                     download_name=item.filename, max_age=0)
