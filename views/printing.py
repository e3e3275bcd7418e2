"""The views' side of printing (printing.py makes the PDF): the record's own address for
its QR code, and the PDF as the response."""
from urllib.parse import quote

from flask import make_response, request, url_for

from printing import pdf_bytes


def record_url(endpoint, **values):
    return url_for(endpoint, _external=True, **values)


def render_pdf(template, filename, **context):
    return pdf_response(pdf_bytes(template, request.host_url, **context), filename)


def pdf_response(data, filename):
    """PDF bytes as a response, shown inline."""
    response = make_response(data)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(filename)}"
    return response
