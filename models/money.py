"""Money, one way everywhere: amounts are yuan as Decimal rounded to the cent, shown as
1,234.50 on pages, printed forms and messages (the `money` filter), and written into
spreadsheets as numbers in the same look, so a sheet still adds them up."""
from decimal import ROUND_HALF_UP, Decimal

from peewee import DecimalField

CENT = Decimal("0.01")
#: The spreadsheet's number format for an amount: what format_money writes.
XLSX_FORMAT = "#,##0.00"


def money(value):
    """An amount rounded half up to the cent, as it is stored; None counts as nothing."""
    return Decimal(str(value) if isinstance(value, float) else (value if value is not None else 0)).quantize(
        CENT, rounding=ROUND_HALF_UP)


def format_money(value, blank=""):
    """1234.5 → "1,234.50": thousands grouped, two decimals, the same in Chinese and English
    (the currency is said by the column or the label: 元, ¥, CNY). Nothing to show: blank."""
    if value is None or value == "":
        return blank
    return f"{money(value):,.2f}"


class Money(Decimal):
    """A spreadsheet cell holding an amount: exports write it as a number in XLSX_FORMAT."""

    def __new__(cls, value):
        return super().__new__(cls, money(value))


def MoneyField(**kwargs):  # noqa: N802  (a field factory, read like a class)
    """A stored amount: yuan with two decimals, rounded as money() rounds."""
    return DecimalField(max_digits=12, decimal_places=2, auto_round=True, **kwargs)
