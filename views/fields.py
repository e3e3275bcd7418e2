"""Form fields and validators shared by every area."""
import datetime as dt
from decimal import Decimal, InvalidOperation

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import DateField, DecimalField, IntegerField, SelectMultipleField, ValidationError, widgets
from wtforms.widgets import TextInput

from models import settings
from models.base import DomainError
from models.phones import normalise_phone
from models.reports import Period
from models.timezone import local_now
from models.uploads import UploadError, check_image


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
        self.data = int(text) if whole_number(text) and int(text) > 0 else None


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


def whole_number(text):
    """Is `text` a whole number a person typed (ASCII digits)? str.isdigit() alone also admits
    "²" or "٣", which int() then refuses: a 500 instead of a message."""
    return bool(text) and text.isascii() and text.isdecimal()


def month_period(text):
    """The month a page was asked for ("2026-11"), or this month when none was; with the
    message for the field when the text is no month."""
    if not text:
        return Period.containing("month", local_now().date()), None
    try:
        return Period.parse("month", text), None
    except ValueError:
        return Period.containing("month", local_now().date()), _("Enter a month like 2026-11.")


def int_arg(args, name, default=None):
    """A positive id or page number from the query string; anything else reads as the default."""
    text = args.get(name, "")
    if whole_number(text) and len(text) <= 9 and int(text) > 0:
        return int(text)
    return default


def show_refusal(form, refusal, fallback=None):
    """Put a model's refusal (a DomainError) where the user looks: beside the field it
    names (or the `fallback` field of a form with no place at its top), or, when it names
    none the form has, return its text for the form's top.
    So a view never repeats a model's rule just to place the message."""
    name = refusal.field if refusal.field and refusal.field in form else fallback
    field = form[name] if name else None
    if field is None:
        return str(refusal)
    field.errors = [*field.errors, str(refusal)]
    return None


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
    text = text.removesuffix("元").strip()  # "1500元", as people write it
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


def checked_photos(field, photo_max_mb, all_max_mb):
    """The photos uploaded in a file field, each checked by its content against the setting
    photo_max_mb, all together against all_max_mb: [(name, bytes, format, width, height)];
    what is refused is named beside the field."""
    per_photo = settings.get(photo_max_mb) * 1024 * 1024
    per_report = settings.get(all_max_mb) * 1024 * 1024
    photos, total = [], 0
    for upload in request.files.getlist(field.name):
        if not upload or not upload.filename:
            continue
        data = upload.read(per_photo + 1)
        total += len(data)
        try:
            image_format, width, height = check_image(data, per_photo)
        except UploadError as exc:
            field.errors.append(f"{upload.filename}: {exc}")
            continue
        photos.append((upload.filename, data, image_format, width, height))
    if total > per_report:
        field.errors.append(_("The photos together are larger than %(mb)d MB.", mb=per_report // (1024 * 1024)))
    return photos
