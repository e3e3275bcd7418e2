"""Form fields and validators shared by every area."""
import datetime as dt

from flask_babel import gettext as _
from wtforms import IntegerField, SelectMultipleField, ValidationError, widgets

from models.base import DomainError
from models.phones import normalise_phone


class CheckboxesField(SelectMultipleField):
    """Several choices as a column of large checkboxes (touch friendly)."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def phone(form, field):
    """Validate and normalise a phone field (empty is left to Optional/InputRequired)."""
    if field.data:
        try:
            field.data = normalise_phone(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


def rule(check):
    """A model's rule as a form validator: the model says it once (raising DomainError), the
    form shows its message beside the field with everything else that is wrong."""
    def validate(form, field):
        if field.data is not None and not field.errors:
            try:
                check(field.data)
            except DomainError as refused:
                raise ValidationError(refused.message) from None
    return validate


def strip(value):
    """A filter for text fields: names and notes are trimmed; a field missing from
    the request reads as empty text, not None."""
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else value


class ChosenIdField(IntegerField):
    """The id picked from a list of people or records; nothing picked reads as None
    (and the form's own rule says whether a choice was needed)."""

    def process_formdata(self, valuelist):
        text = valuelist[0].strip() if valuelist else ""
        self.data = int(text) if text.isdigit() and int(text) > 0 else None


def day_arg(args, name, errors):
    """A YYYY-MM-DD filter from the query string; a bad one is noted in `errors`."""
    text = args.get(name, "")
    if not text:
        return None
    try:
        value = dt.datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        value = None
    if value is None or not 2000 <= value.year <= 2100:
        errors[name] = _("Enter a date like 2026-11-23.")
        return None
    return value


def int_arg(args, name, default=None):
    """A positive id or page number from the query string; anything else reads as the default."""
    text = args.get(name, "")
    if text.isdigit() and 0 < len(text) <= 9:
        return int(text)
    return default
