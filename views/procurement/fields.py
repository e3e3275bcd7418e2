"""Fields of the procurement forms: counts, amounts in CNY, days, and their validators."""
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from wtforms import DateField, DecimalField, IntegerField
from wtforms.widgets import TextInput
from wtforms.validators import ValidationError

from models.procurement import suppliers as register

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
