"""The stock ledger (物资台账): items with their balance, every movement in (from a goods
receipt, see orders.py) and out (office supplies handed out at the desk), never below zero."""
import unicodedata

from flask_babel import lazy_gettext as _l
from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField

from models import audit
from models.base import BaseModel, is_postgres, utcnow, write_transaction
from models.procurement.chain import ProcurementError
from models.users import Department, User

for _type, _label in (("stock_item", _l("Stock item")), ("stock_move", _l("Stock movement"))):
    audit.name_record_type(_type, _label)
audit.ACTION_LABELS["issue"] = _l("Issued from stock")


class StockItem(BaseModel):
    """A line of the stock ledger (物资台账): the balance is kept with every movement."""
    name = CharField(max_length=80)
    spec = CharField(max_length=120, default="")
    unit = CharField(max_length=12)
    balance = IntegerField(default=0)

    class Meta:
        indexes = ((("name", "spec", "unit"), True),)

    def __str__(self):
        return f"{self.name} {self.spec}".strip()

    def moves(self):
        return (StockMove.select(StockMove, User).join(User, on=(StockMove.actor == User.id))
                .where(StockMove.item == self).order_by(StockMove.at.desc(), StockMove.id.desc()))


def _item_key(text):
    """Names compared as people read them: without spaces, case or full-width differences."""
    return "".join(unicodedata.normalize("NFKC", text or "").split()).casefold()


class StockMove(BaseModel):
    item = ForeignKeyField(StockItem, backref="move_rows", on_delete="RESTRICT")
    at = DateTimeField(default=utcnow, index=True)
    qty_in = IntegerField(default=0)
    qty_out = IntegerField(default=0)
    balance_after = IntegerField()
    # delivery: in, from this goods receipt note (the field is added by orders.py, which defines receipts)
    taken_by = CharField(max_length=80, default="")  # out: who took it
    department = ForeignKeyField(Department, null=True, on_delete="SET NULL")
    actor = ForeignKeyField(User, on_delete="RESTRICT")  # who recorded it
    note = CharField(max_length=200, default="")


def _locked(query):
    """Row lock on PostgreSQL; SQLite's IMMEDIATE write transaction already serialises writers."""
    return query.for_update() if is_postgres() else query


#: The receipt's choice of a stock item that is not in the ledger yet.
NEW_ITEM = "new"


def _stock_item_for(line, choice, actor):
    """The ledger item a received order line goes to: the one logistics chose (in the line's
    unit), or a new one, created once from the line."""
    if choice is None:
        choice = line.default_stock_item() or NEW_ITEM
        choice = choice if choice == NEW_ITEM else choice.id
    if choice == NEW_ITEM:
        item, created = StockItem.get_or_create(name=line.item_name, spec=line.spec, unit=line.unit)
        if created:
            audit.record_create(actor, item)
        return item
    item = StockItem.get_or_none(StockItem.id == choice)
    if item is None:
        raise ProcurementError(_l("Choose an item from the stock list."), f"stock-{line.id}")
    if item.unit != line.unit:
        raise ProcurementError(_l("%(item)s is counted in %(unit)s, these goods in %(line_unit)s: choose another "
                                  "item or a new one.", item=str(item), unit=item.unit, line_unit=line.unit),
                               f"stock-{line.id}")
    return item


def _stock_in(item, quantity, delivery, actor, note):
    item = _locked(StockItem.select().where(StockItem.id == item.id)).get()
    balance = item.balance + quantity
    StockItem.update(balance=balance).where(StockItem.id == item.id).execute()
    return StockMove.create(item=item, qty_in=quantity, balance_after=balance, delivery=delivery, actor=actor,
                            note=note[:200])


def issue(actor, *, item_id, quantity, taken_by, department_id=None, note=""):
    """Office supplies handed out at the front desk, from the same ledger; never below zero."""
    if not isinstance(quantity, int) or quantity <= 0:
        raise ProcurementError(_l("Enter a whole number greater than 0."), "quantity")
    with write_transaction():
        item = _locked(StockItem.select().where(StockItem.id == item_id)).first()
        if item is None:
            raise ProcurementError(_l("Choose an item from the stock list."), "item")
        if quantity > item.balance:
            raise ProcurementError(_l("Only %(n)s %(unit)s in stock.", n=item.balance, unit=item.unit), "quantity")
        balance = item.balance - quantity
        changed = (StockItem.update(balance=balance)
                   .where(StockItem.id == item.id, StockItem.balance == item.balance).execute())
        if not changed:
            raise ProcurementError(_l("The stock changed meanwhile; look at the balance again."), "quantity")
        move = StockMove.create(item=item, qty_out=quantity, balance_after=balance, taken_by=taken_by,
                                department=department_id or None, actor=actor, note=(note or "")[:200])
        audit.record_event(actor, "issue", item, changes={"balance": [item.balance, balance]},
                           reason=f"{taken_by} ×{quantity}")
    return move


def stock_items():
    return StockItem.select().order_by(StockItem.name, StockItem.spec)


def recent_issues(limit=30):
    return (StockMove.select(StockMove, StockItem).join(StockItem)
            .where(StockMove.qty_out > 0).order_by(StockMove.at.desc(), StockMove.id.desc()).limit(limit))
