"""Phone numbers as the desk meets them: Chinese mobiles, landlines with area code, and
international numbers with + (the trade centre's Russian customers' +7), read and checked by
phonenumbers, the library that keeps every country's numbering plan up to date.

Stored form: a Chinese number as it is dialled inside China, digits only ("13800138000",
"02162345678"); any other country's in E.164 ("+79123456789"). That is the form the portal has
always stored, so existing rows, the unique customer numbers and the prefix and suffix searches
keep matching, and the digits a clerk types are the digits stored."""
import re

import phonenumbers
from flask_babel import lazy_gettext as _l

SEPARATORS = re.compile(r"[\s\-()（）]")
HOME_REGION = "CN"
PHONE_HELP = _l("Mobile (11 digits), landline with area code (010-12345678) or international (+…)")


def _parsed(text):
    """The phonenumbers number of what was typed, or None when it is no valid number."""
    compact = SEPARATORS.sub("", (text or "").strip())
    if compact.startswith("00"):  # dialled from China: 007… is +7…
        compact = "+" + compact[2:]
    try:
        number = phonenumbers.parse(compact, HOME_REGION)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def normalise_phone(text):
    """The number in its stored form; ValueError with a message the user can act on."""
    number = _parsed(text)
    if number is None:
        raise ValueError(_l("Enter a mobile number (11 digits), a landline with area code, "
                            "or an international number starting with +."))
    if phonenumbers.region_code_for_number(number) == HOME_REGION:
        return re.sub(r"\D", "", phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(stored):
    """A stored number grouped for reading: "138 0013 8000", "021 6234 5678", "+7 912 345-67-89".
    Anything phonenumbers cannot read (an old row, a blanked one) is shown as it is."""
    number = _parsed(stored)
    if number is None:
        return stored or ""
    if phonenumbers.region_code_for_number(number) == HOME_REGION:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
