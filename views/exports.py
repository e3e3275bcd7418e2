"""Tables as CSV and XLSX downloads (openpyxl), one way for every register."""
import csv
import io
from urllib.parse import quote

from flask import make_response
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from models.money import XLSX_FORMAT, Money


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _inert(value):
    """Text a visitor typed must not become a live formula in the spreadsheet."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def table_download(filename, headers, rows, fmt):
    """`rows` are lists of plain values, an amount as models.money.Money; fmt is "csv" or "xlsx".
    An amount is a number in the sheet (shown as 1,234.50) and plain digits in the CSV."""
    rows = [[_inert(value) for value in row] for row in rows]
    if fmt == "xlsx":
        book = Workbook()
        sheet = book.active
        sheet.append([str(h) for h in headers])
        for row in rows:
            sheet.append(row)
            for cell, value in zip(sheet[sheet.max_row], row):
                if isinstance(value, Money):
                    cell.number_format = XLSX_FORMAT
        for index, header in enumerate(headers, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = max(10, len(str(header)) * 2 + 4)
        buffer = io.BytesIO()
        book.save(buffer)
        body, mimetype = buffer.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([str(h) for h in headers])
        writer.writerows(rows)
        # The BOM lets Excel on a Chinese desktop open the UTF-8 file without mojibake.
        body, mimetype = "\ufeff" + buffer.getvalue(), "text/csv; charset=utf-8"
    response = make_response(body)
    response.headers["Content-Type"] = mimetype
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}.{fmt}"
    return response
