"""The supplier register (供应商名录): each supplier with its unified social credit code, checked."""
from flask_babel import lazy_gettext as _l
from peewee import CharField, TextField

from models import audit
from models.base import VoidableModel, write_transaction

audit.name_record_type("supplier", _l("Supplier"))

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100-2015: no I, O, S, V, Z


USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_tax_id(text):
    """The unified social credit code (统一社会信用代码) in capitals; ValueError with a user message.

    18 characters: registration authority, organisation type, 6-digit region code,
    9-character organisation code and a check character (GB 32100-2015, mod 31)."""
    code = (text or "").strip().upper().replace(" ", "")
    if len(code) != 18:
        raise ValueError(_l("A unified social credit code has 18 characters (this one has %(n)s).", n=len(code)))
    if any(c not in USCC_CHARS for c in code) or not code[2:8].isdigit():
        raise ValueError(_l("This is not a unified social credit code: only digits and capital letters "
                            "(no I, O, S, V, Z), the 3rd to 8th are digits."))
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(code[:17], USCC_WEIGHTS))
    check = (31 - total % 31) % 31
    if USCC_CHARS[check] != code[17]:
        raise ValueError(_l("The last character (check digit) does not match: check the code for a typo."))
    return code


class Supplier(VoidableModel):
    name = CharField(max_length=120, unique=True)
    contact = CharField(max_length=80, default="")
    phone = CharField(max_length=30, default="")
    tax_id = CharField(max_length=18, unique=True)
    address = CharField(max_length=200, default="")
    note = TextField(default="")

    def __str__(self):
        return self.name

    @classmethod
    def active_ones(cls):
        return cls.select().where(cls.voided_at.is_null()).order_by(cls.name)


def save_supplier(actor, supplier_id=None, **fields):
    with write_transaction():
        if supplier_id:
            supplier = Supplier.get_by_id(supplier_id)
            before = supplier.snapshot()
            for name, value in fields.items():
                setattr(supplier, name, value)
            supplier.save()
            audit.record_change(actor, supplier, before)
        else:
            supplier = Supplier.create(**fields)
            audit.record_create(actor, supplier)
    return supplier
