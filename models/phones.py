"""Phone numbers as the desk meets them: Chinese mobiles, landlines with area code,
and international numbers with +."""
import re

from flask_babel import lazy_gettext as _l

SEPARATORS = re.compile(r"[\s\-()（）]")
MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^0\d{2,3}\d{7,8}$")
INTERNATIONAL = re.compile(r"^\+[1-9]\d{6,14}$")
PHONE_HELP = _l("Mobile (11 digits), landline with area code (010-12345678) or international (+…)")


def normalise_phone(text):
    """The number without separators; ValueError with a message the user can act on."""
    compact = SEPARATORS.sub("", (text or "").strip())
    if compact.startswith("+86"):
        compact = compact[3:]
    if compact.startswith("0086"):
        compact = compact[4:]
    if MOBILE.match(compact) or LANDLINE.match(compact) or INTERNATIONAL.match(compact):
        return compact
    raise ValueError(_l("Enter a mobile number (11 digits), a landline with area code, "
                        "or an international number starting with +."))
