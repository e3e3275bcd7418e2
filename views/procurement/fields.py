"""Validators of the procurement forms (the fields themselves are shared: views.fields)."""
from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

from models.procurement import suppliers as register

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
