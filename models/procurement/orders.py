"""Purchase orders (采购合同), receiving inspection (到货验收) with its goods receipt notes (入库单),
returns and exchanges (退换货), and reimbursement (报销): the effects of the requisition's
"order", "receive" and "reimburse" transitions (requisitions.apply runs them)."""
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from peewee import BooleanField, CharField, DateField, DateTimeField, ForeignKeyField, IntegerField, TextField, fn

from models import audit
from models.base import BaseModel, utcnow, write_transaction
from models.notifications import N_, notify
from models.numbering import next_number
from models.money import MoneyField, money
from models.procurement.chain import ProcurementError
from models.procurement.requisitions import (
    Outcome, Requisition, RequisitionLine, _link, check_price, check_quantity, effect, missing_approvals, sent_back,
    shortfall_text,
)
from models.procurement.stock import StockItem, StockMove, _item_key, _stock_in, _stock_item_for
from models.procurement.suppliers import Supplier
from models.timezone import local_now
from models.users import User

RETURN_KINDS = {"exchange": _l("Exchange (replacement expected)"), "return": _l("Return (no replacement)")}

for _type, _label in (("purchase_order", _l("Purchase order")), ("delivery", _l("Delivery inspection")),
                      ("return_record", _l("Return or exchange"))):
    audit.name_record_type(_type, _label)
audit.ACTION_LABELS["resolve"] = _l("Resolved")


class PurchaseOrder(BaseModel):
    number = CharField(max_length=20, unique=True)
    requisition = ForeignKeyField(Requisition, unique=True, backref="orders", on_delete="RESTRICT")
    supplier = ForeignKeyField(Supplier, on_delete="RESTRICT")
    delivery_date = DateField()
    quality_standard = TextField(default="")
    total = MoneyField(default=Decimal("0"))  # computed from the lines
    created_by = ForeignKeyField(User, on_delete="RESTRICT")
    created_at = DateTimeField(default=utcnow)
    # Reimbursement (报销): the three papers checked off, the invoice, then reimbursed.
    invoice_number = CharField(max_length=40, default="")
    invoice_amount = MoneyField(null=True)
    contract_checked = BooleanField(default=False)
    invoice_checked = BooleanField(default=False)
    receipt_checked = BooleanField(default=False)
    reimburse_note = TextField(default="")
    reimbursed_at = DateTimeField(null=True)
    reimbursed_by = ForeignKeyField(User, null=True, on_delete="SET NULL")

    def lines_list(self):
        if not hasattr(self, "_lines"):
            self._lines = list(OrderLine.select().where(OrderLine.order == self).order_by(OrderLine.id))
        return self._lines

    def deliveries(self):
        return (Delivery.select(Delivery, User).join(User, on=(Delivery.inspected_by == User.id))
                .where(Delivery.order == self).order_by(Delivery.received_on, Delivery.id))

    def is_late(self, today=None):
        """Not completely delivered and past the agreed delivery date."""
        today = today or local_now().date()
        return self.requisition.state == "ordered" and today > self.delivery_date

    def lines_with_progress(self):
        """The lines, each knowing what was accepted and cancelled so far: three queries, however many
        lines and deliveries (always read afresh, unlike lines_list)."""
        lines = list(OrderLine.select().where(OrderLine.order == self).order_by(OrderLine.id))
        ids = [line.id for line in lines]
        accepted = dict(DeliveryLine.select(DeliveryLine.order_line, fn.SUM(DeliveryLine.accepted))
                        .where(DeliveryLine.order_line.in_(ids)).group_by(DeliveryLine.order_line).tuples())
        cancelled = dict(ReturnRecord.select(ReturnRecord.order_line, fn.SUM(ReturnRecord.quantity))
                         .where(ReturnRecord.order_line.in_(ids), ReturnRecord.kind == "return")
                         .group_by(ReturnRecord.order_line).tuples())
        for line in lines:
            line._progress = (accepted.get(line.id) or 0, cancelled.get(line.id) or 0)
        return lines

    def received_value(self):
        return money(sum((line.accepted() * line.unit_price for line in self.lines_with_progress()), Decimal("0")))

    @property
    def invoice_mismatch(self):
        return self.invoice_amount is not None and money(self.invoice_amount) != self.received_value()


class OrderLine(BaseModel):
    order = ForeignKeyField(PurchaseOrder, backref="lines", on_delete="CASCADE")
    requisition_line = ForeignKeyField(RequisitionLine, null=True, on_delete="SET NULL")
    item_name = CharField(max_length=80)
    spec = CharField(max_length=120, default="")  # the agreed specification
    quantity = IntegerField()
    unit = CharField(max_length=12)
    unit_price = MoneyField()
    # The stock ledger's item these goods go to, chosen by logistics at the first receipt.
    stock_item = ForeignKeyField(StockItem, null=True, on_delete="RESTRICT")

    @property
    def amount(self):
        return money(self.unit_price * self.quantity)

    def stock_choices(self):
        """The ledger's items these goods may go to: those counted in the same unit."""
        return [item for item in StockItem.select().where(StockItem.unit == self.unit)
                .order_by(StockItem.name, StockItem.spec)]

    def default_stock_item(self, choices=None):
        """What the receipt offers first: the item chosen before; else the one with the same
        name and specification; else the oldest with the same name (the agreed wording of a
        specification varies, the goods do not); None: a new item."""
        if self.stock_item_id:
            return self.stock_item
        choices = self.stock_choices() if choices is None else choices
        same_name = [i for i in choices if _item_key(i.name) == _item_key(self.item_name)]
        exact = [i for i in same_name if _item_key(i.spec) == _item_key(self.spec)]
        return (exact or sorted(same_name, key=lambda i: i.id) or [None])[0]

    def accepted(self):
        if hasattr(self, "_progress"):
            return self._progress[0]
        return sum((row.accepted for row in DeliveryLine.select(DeliveryLine.accepted)
                    .where(DeliveryLine.order_line == self)), 0)

    def cancelled(self):
        """Rejected and returned without replacement: no longer expected from the supplier."""
        if hasattr(self, "_progress"):
            return self._progress[1]
        return sum((r.quantity for r in ReturnRecord.select().where(ReturnRecord.order_line == self,
                                                                       ReturnRecord.kind == "return")), 0)

    def outstanding(self):
        return max(self.quantity - self.accepted() - self.cancelled(), 0)


def late_orders(today=None):
    """Orders past their agreed delivery date with goods still expected, the latest first."""
    today = today or local_now().date()
    return (PurchaseOrder.select(PurchaseOrder, Requisition, Supplier).join(Requisition)
            .switch(PurchaseOrder).join(Supplier)
            .where(Requisition.state == "ordered", PurchaseOrder.delivery_date < today)
            .order_by(PurchaseOrder.delivery_date))


def check_delivery_date(day):
    """Rules the forms show beside the field too (views.fields.rule); each raises ProcurementError."""
    if day < local_now().date():
        raise ProcurementError(_l("The delivery date cannot be in the past."))


def supplier_of(supplier_id):
    """The supplier an order goes to: one in the register, not voided."""
    supplier = Supplier.get_or_none(Supplier.id == supplier_id, Supplier.voided_at.is_null())
    if supplier is None:
        raise ProcurementError(_l("Choose a supplier from the register."), "supplier")
    return supplier


def check_received_on(day):
    if day > local_now().date():
        raise ProcurementError(_l("A delivery cannot be received in the future."))


def _as_field(check, value, field_name):
    """A rule's refusal, naming the field of the form it concerns."""
    try:
        check(value)
    except ProcurementError as refused:
        raise ProcurementError(refused.message, field_name) from None


@effect("order")
def _ordered(requisition, actor, *, supplier_id, delivery_date, quality_standard="", lines=None):
    """The purchase order (contract) for an approved requisition. `lines`: {requisition line id:
    (agreed spec, quantity, unit price)}, the requisition's own for a line not given.

    A contract is not signed for more than was approved: an order total above it is not
    placed, and the requisition goes back to the steps that total needs."""
    lines = lines or {}
    supplier = supplier_of(supplier_id)
    _as_field(check_delivery_date, delivery_date, "delivery_date")
    agreed = []
    for line in requisition.lines_list():
        spec, quantity, unit_price = lines.get(line.id, (line.spec, line.quantity, line.unit_price))
        _as_field(check_quantity, quantity, f"qty-{line.id}")
        _as_field(check_price, unit_price, f"price-{line.id}")
        agreed.append((line, spec or "", quantity, money(unit_price)))
    total = money(sum((price * quantity for _, _, quantity, price in agreed), Decimal("0")))
    missing = missing_approvals(requisition, total)
    if missing:
        terms = "; ".join(f"{line.item_name} {spec} ×{quantity}{line.unit} @{price}"
                          for line, spec, quantity, price in agreed)
        why = shortfall_text(total, requisition.amount_for_approval, missing)
        return sent_back(requisition, "over_order", total, missing, f"{supplier.name} · {terms} · {total}",
                         _l("The order was not placed: %(why)s It went back for approval; place the order "
                            "once it is approved.", why=why), "order")
    order = PurchaseOrder.create(number=next_number("HT"), requisition=requisition, supplier=supplier,
                                 delivery_date=delivery_date, quality_standard=quality_standard or "",
                                 created_by=actor, total=total)
    for line, spec, quantity, price in agreed:
        OrderLine.create(order=order, requisition_line=line, item_name=line.item_name, spec=spec,
                         quantity=quantity, unit=line.unit, unit_price=price)
    audit.record_create(actor, order)

    def tell(stored):
        notify(stored.requester, N_("Requisition %(number)s was ordered from %(supplier)s"), _link(stored),
               number=stored.number, supplier=supplier.name)
    return Outcome(event={"note": f"{order.number} · {supplier.name} · {order.total}"}, tell=tell, result=order)


# ---------------------------------------------------------------- receiving, returns

class Delivery(BaseModel):
    """One delivery's acceptance inspection; accepted goods give it a goods receipt note number (入库单)."""
    order = ForeignKeyField(PurchaseOrder, backref="delivery_rows", on_delete="RESTRICT")
    receipt_number = CharField(max_length=20, null=True, unique=True)
    received_on = DateField()
    late = BooleanField(default=False)  # delivered after the agreed date
    inspected_by = ForeignKeyField(User, on_delete="RESTRICT")
    note = TextField(default="")
    created_at = DateTimeField(default=utcnow)

    def lines_list(self):
        return list(DeliveryLine.select(DeliveryLine, OrderLine).join(OrderLine)
                    .where(DeliveryLine.delivery == self).order_by(DeliveryLine.id))

    def accepted_value(self):
        return money(sum((d.accepted * d.order_line.unit_price for d in self.lines_list()), Decimal("0")))


# The ledger's movement in names the goods receipt it came with; the ledger (stock.py) comes
# first, as the order lines name its items, so receiving adds this link to it.
StockMove._meta.add_field("delivery", ForeignKeyField(Delivery, null=True, on_delete="RESTRICT"))


class DeliveryLine(BaseModel):
    delivery = ForeignKeyField(Delivery, backref="lines", on_delete="CASCADE")
    order_line = ForeignKeyField(OrderLine, on_delete="RESTRICT")
    accepted = IntegerField(default=0)
    rejected = IntegerField(default=0)
    reject_reason = TextField(default="")


class ReturnRecord(BaseModel):
    """Rejected goods returned to or exchanged with the supplier (退换货)."""
    number = CharField(max_length=20, unique=True)
    delivery = ForeignKeyField(Delivery, on_delete="RESTRICT")
    order_line = ForeignKeyField(OrderLine, on_delete="RESTRICT")
    supplier = ForeignKeyField(Supplier, on_delete="RESTRICT")
    kind = CharField(max_length=10, default="exchange")
    quantity = IntegerField()
    reason = TextField()
    state = CharField(max_length=10, default="open")  # open → done (the supplier took the goods back)
    created_at = DateTimeField(default=utcnow)
    resolved_at = DateTimeField(null=True)
    resolved_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    resolution = TextField(default="")


@effect("receive")
def _received(requisition, actor, *, received_on, lines, note="", stock_items=None):
    """Inspect one delivery. `lines`: {order line id: (accepted, rejected, reason, kind)};
    `stock_items`: {order line id: the stock item id the goods go to, or NEW_ITEM}, each
    line's default_stock_item() when not given.

    Accepted goods get a goods receipt note and go into the stock ledger; rejected ones
    open a return/exchange record. When nothing is outstanding the requisition is received."""
    stock_items = stock_items or {}
    order = requisition.order()
    _as_field(check_received_on, received_on, "received_on")
    order_lines = {line.id: line for line in order.lines_list()}
    checked = {}
    for line_id, (accepted, rejected, reason, kind) in lines.items():
        line = order_lines.get(line_id)
        if line is None:
            continue
        if accepted < 0 or rejected < 0:
            raise ProcurementError(_l("Quantities cannot be negative."), f"accepted-{line_id}")
        if accepted + rejected > line.outstanding():
            raise ProcurementError(_l("%(item)s: more than the %(n)s still expected.", item=line.item_name,
                                      n=line.outstanding()), f"accepted-{line_id}")
        if rejected and not (reason or "").strip():
            raise ProcurementError(_l("%(item)s: say why goods were rejected.", item=line.item_name),
                                   f"reason-{line_id}")
        if rejected and kind not in RETURN_KINDS:
            raise ProcurementError(_l("%(item)s: return or exchange?", item=line.item_name), f"kind-{line_id}")
        if accepted or rejected:
            checked[line_id] = (accepted, rejected, (reason or "").strip(), kind)
    if not checked:
        raise ProcurementError(_l("Enter what was accepted or rejected."))
    accepted_any = any(a for a, _, _, _ in checked.values())
    delivery = Delivery.create(order=order, received_on=received_on, inspected_by=actor, note=note or "",
                               late=received_on > order.delivery_date,
                               receipt_number=next_number("RK") if accepted_any else None)
    for line_id, (accepted, rejected, reason, kind) in checked.items():
        line = order_lines[line_id]
        DeliveryLine.create(delivery=delivery, order_line=line, accepted=accepted, rejected=rejected,
                            reject_reason=reason)
        if accepted:
            item = _stock_item_for(line, stock_items.get(line_id), actor)
            if line.stock_item_id != item.id:
                OrderLine.update(stock_item=item).where(OrderLine.id == line.id).execute()
            _stock_in(item, accepted, delivery, actor, f"{delivery.receipt_number} · {order.supplier.name}")
        if rejected:
            record = ReturnRecord.create(number=next_number("TH"), delivery=delivery, order_line=line,
                                         supplier=order.supplier, kind=kind, quantity=rejected, reason=reason)
            audit.record_create(actor, record)
    audit.record_create(actor, delivery)
    if not all(line.outstanding() == 0 for line in order_lines.values()):
        return Outcome({Requisition.state: "ordered"}, {"note": delivery.receipt_number or ""}, result=delivery)

    def tell(stored):
        notify(stored.requester, N_("The goods of requisition %(number)s have arrived"), _link(stored),
               number=stored.number)
    return Outcome(event={"note": delivery.receipt_number or ""}, tell=tell, result=delivery)


def resolve_return(return_id, actor, resolution):
    """The supplier took the rejected goods back (and, for an exchange, a replacement is on its way)."""
    with write_transaction():
        record = ReturnRecord.get_or_none(ReturnRecord.id == return_id)
        if record is None:
            raise ProcurementError(_l("No such return record."))
        changed = (ReturnRecord.update(state="done", resolved_at=utcnow(), resolved_by=actor,
                                       resolution=(resolution or "").strip())
                   .where(ReturnRecord.id == return_id, ReturnRecord.state == "open").execute())
        if changed:
            audit.record_event(actor, "resolve", record, reason=resolution or None)
    return ReturnRecord.get_by_id(return_id)


def returns():
    return (ReturnRecord.select(ReturnRecord, Supplier).join(Supplier)
            .order_by(ReturnRecord.state != "open", ReturnRecord.created_at.desc()))


# ---------------------------------------------------------------- reimbursement

@effect("reimburse")
def _reimbursed(requisition, actor, *, invoice_number, invoice_amount, contract_checked, invoice_checked,
                receipt_checked, note="", reimbursed=False):
    """Check off contract, invoice and receipt note (saved as they are, the requisition stays
    received); `reimbursed` marks it reimbursed. An invoice that differs from the received
    value needs an explanation first; one above what was approved is not reimbursed: it is
    kept, and the requisition goes back to the steps that amount needs."""
    order = requisition.order()
    before = order.snapshot()
    order.invoice_number = (invoice_number or "").strip()
    order.invoice_amount = money(invoice_amount) if invoice_amount is not None else None
    order.contract_checked, order.invoice_checked = bool(contract_checked), bool(invoice_checked)
    order.receipt_checked = bool(receipt_checked)
    order.reimburse_note = (note or "").strip()
    missing = []
    if reimbursed:
        if not order.invoice_number:
            raise ProcurementError(_l("Enter the invoice number."), "invoice_number")
        if order.invoice_amount is None:
            raise ProcurementError(_l("Enter the invoice amount."), "invoice_amount")
        if not (order.contract_checked and order.invoice_checked and order.receipt_checked):
            raise ProcurementError(_l("Check off the contract, the invoice and the receipt note first."),
                                   "receipt_checked")
        if order.invoice_mismatch and not order.reimburse_note:
            raise ProcurementError(_l("The invoice differs from the received value: explain the difference."),
                                   "note")
        missing = missing_approvals(requisition, order.invoice_amount)
        if not missing:
            order.reimbursed_at, order.reimbursed_by = utcnow(), actor
    order.save()
    audit.record_change(actor, order, before)
    if missing:
        why = shortfall_text(order.invoice_amount, requisition.amount_for_approval, missing)
        return sent_back(requisition, "over_invoice", order.invoice_amount, missing,
                         f"{order.invoice_number} · {order.reimburse_note}".strip(" ·"),
                         _l("Not reimbursed: %(why)s It went back for approval; reimburse it once it is approved.",
                            why=why), "invoice_amount")
    if not reimbursed:
        return Outcome({Requisition.state: "received"}, None, result=order)
    return Outcome(event={"note": f"{order.invoice_number} · {order.invoice_amount}"}, result=order)
