"""Importing a sales/warranty list (CSV or XLSX) for the 30-day and warranty callbacks.

A file whose columns are wrong is refused whole. Otherwise each row is checked on its
own: the good rows are kept (in one transaction), the bad ones are listed with their
spreadsheet row number and what is wrong, so the user fixes just those and imports
them again. A row that was imported before is skipped and said so."""
import csv
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from models import audit
from models.base import DomainError, write_transaction
from models.callbacks import REASONS, Sale, TimeRanges, sale_targets, too_late
from models.complaints import Customer
from models.phones import normalise_phone
from models.settings import InvalidSetting

MAX_ROWS = 5000

#: column -> (label for the user, the header texts accepted for it, required)
COLUMNS = {
    "name": (_l("Customer name"), ("客户姓名", "姓名", "客户", "customer name", "customer", "name"), True),
    "phone": (_l("Phone"), ("电话", "联系电话", "手机", "手机号", "phone", "telephone", "mobile"), True),
    "product": (_l("Product"), ("产品", "产品名称", "商品", "商品名称", "product"), True),
    "sale_date": (_l("Sale date"), ("销售日期", "购买日期", "售出日期", "sale date", "date of sale", "purchase date"),
                  True),
    "warranty_end": (_l("Warranty end"), ("保修截止", "保修截止日期", "保修到期", "质保到期", "质保截止",
                                         "warranty end", "warranty ends", "warranty end date"), False),
    "window": (_l("Agreed callback time"), ("约定回访时间", "回访时间段", "约定时间", "agreed callback time",
                                           "callback window", "agreed time"), False),
}
#: The headers of the template offered for download (Chinese, as the sales desk writes them).
TEMPLATE_HEADERS = ["客户姓名", "电话", "产品", "销售日期", "保修截止", "约定回访时间"]

DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日")


class ImportRefused(DomainError):
    """The whole file is refused (the message belongs beside the file field)."""

    def __init__(self, message, field="file"):
        super().__init__(message, field)


@dataclass
class ImportReport:
    filename: str
    kept: list = field(default_factory=list)     # (row number, Sale, [notes])
    errors: list = field(default_factory=list)   # (row number, [messages])
    skipped: list = field(default_factory=list)  # (row number, message)

    @property
    def total(self):
        return len(self.kept) + len(self.errors) + len(self.skipped)


def _normal_header(text):
    return re.sub(r"\s+", " ", str(text or "").replace("\ufeff", "")).strip().strip(":：*").strip().lower()


def _header_map(headers):
    """column -> index; ImportRefused naming what is missing, unknown or doubled."""
    accepted = {alias.lower(): key for key, (_, aliases, _) in COLUMNS.items() for alias in aliases}
    found, unknown, doubled = {}, [], []
    for index, header in enumerate(headers):
        text = _normal_header(header)
        if not text:
            continue
        key = accepted.get(text)
        if key is None:
            unknown.append(str(header).strip())
        elif key in found:
            doubled.append(str(header).strip())
        else:
            found[key] = index
    missing = [str(label) for key, (label, _, required) in COLUMNS.items() if required and key not in found]
    problems = []
    if missing:
        problems.append(str(_l("missing columns: %(names)s", names="、".join(missing))))
    if unknown:
        problems.append(str(_l("columns not known: %(names)s", names="、".join(unknown))))
    if doubled:
        problems.append(str(_l("columns given twice: %(names)s", names="、".join(doubled))))
    if problems:
        raise ImportRefused(_l("The file's columns are not those of a sales list (%(problems)s). Nothing was "
                               "imported. The first row must name the columns as in the template.",
                               problems="; ".join(problems)))
    return found


def read_rows(filename, data):
    """[(row number, [cells])] including the header row as row 1."""
    is_zip = data[:4] == b"PK\x03\x04"
    name = (filename or "").lower()
    if name.endswith(".xlsx") or is_zip:
        return _read_xlsx(data)
    if name.endswith((".csv", ".txt")) or not name:
        return _read_csv(data)
    raise ImportRefused(_l("Choose a CSV or XLSX file."))


def _read_csv(data):
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportRefused(_l("The file could not be read as text (save it as CSV UTF-8 or XLSX)."))
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return [(number, row) for number, row in enumerate(csv.reader(io.StringIO(text), dialect), start=1)]


def _read_xlsx(data):
    from openpyxl import load_workbook
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise ImportRefused(_l("The file could not be read as an XLSX workbook.")) from None
    try:
        sheet = book.worksheets[0]
        rows = []
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            if number > MAX_ROWS + 1:
                raise ImportRefused(_l("The file has more than %(n)d rows; split it.", n=MAX_ROWS))
            rows.append((number, ["" if v is None else v for v in row]))
        return rows
    finally:
        book.close()


def _text(value):
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a phone number typed into a number cell
    return str(value).strip() if value is not None else ""


def parse_date(value):
    """A date from a cell: a real date, or text like 2026-10-01, 2026/10/1, 2026年10月1日."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _text(value)
    text = re.split(r"[ T]", text, maxsplit=1)[0] if re.match(r"^\d{4}\D", text) else text
    for fmt in DATE_FORMATS:
        try:
            day = dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        if 2000 <= day.year <= 2100:
            return day
    return None


def _check_row(cells, columns):
    """(values, errors) for one data row."""
    def cell(key):
        index = columns.get(key)
        return cells[index] if index is not None and index < len(cells) else ""

    errors, values = [], {}
    values["name"] = _text(cell("name"))
    if not values["name"]:
        errors.append(_l("The customer name is empty."))
    elif len(values["name"]) > 80:
        errors.append(_l("The customer name is longer than 80 characters."))
    try:
        values["phone"] = normalise_phone(_text(cell("phone")))
    except ValueError as exc:
        errors.append(_l("Phone: %(problem)s", problem=exc))
    values["product"] = _text(cell("product"))
    if not values["product"]:
        errors.append(_l("The product is empty."))
    elif len(values["product"]) > 120:
        errors.append(_l("The product is longer than 120 characters."))
    raw_sale = cell("sale_date")
    values["sale_date"] = parse_date(raw_sale)
    if values["sale_date"] is None:
        errors.append(_l("Sale date “%(text)s” is not a date like 2026-10-01.", text=_text(raw_sale)))
    raw_end = cell("warranty_end")
    values["warranty_end"] = None
    if _text(raw_end):
        values["warranty_end"] = parse_date(raw_end)
        if values["warranty_end"] is None:
            errors.append(_l("Warranty end “%(text)s” is not a date like 2027-10-01.", text=_text(raw_end)))
        elif values["sale_date"] and values["warranty_end"] <= values["sale_date"]:
            errors.append(_l("The warranty ends before the sale date."))
    try:
        values["window"] = TimeRanges(_text(cell("window")))
    except InvalidSetting as exc:
        errors.append(_l("Agreed callback time: %(problem)s", problem=exc))
    return values, errors


def import_sales(actor, filename, data, now=None):
    """Check every row, keep the good ones, list the bad ones. ImportRefused for a wrong file."""
    rows = read_rows(filename, data)
    rows = [(n, cells) for n, cells in rows if any(_text(c) for c in cells)]
    if not rows:
        raise ImportRefused(_l("The file is empty."))
    if len(rows) > MAX_ROWS + 1:
        raise ImportRefused(_l("The file has more than %(n)d rows; split it.", n=MAX_ROWS))
    columns = _header_map(rows[0][1])
    report = ImportReport(filename=filename)
    seen = {}
    checked = []
    for number, cells in rows[1:]:
        values, errors = _check_row(cells, columns)
        if not errors:
            key = (values["phone"], values["product"].lower(), values["sale_date"])
            if key in seen:
                errors.append(_l("The same customer, product and sale date as row %(row)d.", row=seen[key]))
            else:
                seen[key] = number
        if errors:
            report.errors.append((number, errors))
        else:
            checked.append((number, values))
    if not checked and not report.errors:
        raise ImportRefused(_l("The file has the column names but no rows."))
    with write_transaction():
        for number, values in checked:
            customer = Customer.get_or_none(Customer.phone == values["phone"])
            if customer is None:
                customer = Customer.create(name=values["name"], phone=values["phone"],
                                           callback_window=str(values["window"]) or None)
                audit.record_create(actor, customer)
            elif values["window"] and str(values["window"]) != (customer.callback_window or ""):
                before = customer.snapshot()
                customer.callback_window = str(values["window"])
                customer.save()
                audit.record_change(actor, customer, before)
            existing = (Sale.select().where(Sale.customer == customer, Sale.sale_date == values["sale_date"],
                                            Sale.product == values["product"]).first())
            if existing is not None:
                report.skipped.append((number, _l("Imported before (%(when)s); left as it was.",
                                                  when=existing.imported_at.date().isoformat())))
                continue
            sale = Sale.create(customer=customer, product=values["product"], sale_date=values["sale_date"],
                               warranty_end=values["warranty_end"], source=(filename or "")[:200],
                               imported_by=actor)
            audit.record_create(actor, sale)
            notes = [_l("%(reason)s: the date (%(day)s) has passed; no callback.", reason=REASONS[reason],
                        day=day.isoformat())
                     for reason, day in sale_targets(sale.sale_date, sale.warranty_end) if too_late(day, now)]
            report.kept.append((number, sale, notes))
        audit.record_event(actor, "import", record_type="sale",
                           changes={"file": [None, filename], "kept": [None, len(report.kept)],
                                    "errors": [None, len(report.errors)], "skipped": [None, len(report.skipped)]})
    return report
