"""Official A4 forms as PDF (WeasyPrint): record -> HTML -> PDF, for the views and the
tasks alike. It needs an app context (the templates, the static folder, the company's
name) but no request: the base URL the static files are fetched from is an argument.
One font configuration and one parsed print stylesheet serve every render: the CJK font
subsetting is the main cost of a form."""
import mimetypes
import os
from functools import lru_cache
from urllib.parse import urlsplit

import segno
from flask import current_app, render_template
from flask_babel import force_locale
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from models.reports import LABELS, bar_chart
from models.timezone import local_now


@lru_cache(maxsize=1)
def _fonts():
    return FontConfiguration()


@lru_cache(maxsize=4)
def _stylesheet(path, mtime):
    return CSS(filename=path, font_config=_fonts())


def _print_css():
    path = os.path.join(current_app.static_folder, "css", "print.css")
    return _stylesheet(path, os.path.getmtime(path))


class StaticOnlyFetcher(URLFetcher):
    """Only the app's own static files and inline data: images may be loaded: text a
    user typed into a form can never make the renderer read a local file or the network."""

    def __init__(self, static_folder, host_url):
        super().__init__(allowed_protocols=("data",))
        self._static_root = os.path.realpath(static_folder)
        self._host_url = host_url

    def fetch(self, url, headers=None):
        if url.startswith("data:"):
            return super().fetch(url, headers)
        path = urlsplit(url).path
        if url.startswith(self._host_url) and path.startswith("/static/"):
            full = os.path.realpath(os.path.join(self._static_root, path[len("/static/"):]))
            if full.startswith(self._static_root + os.sep) and os.path.isfile(full):
                content_type = mimetypes.guess_type(full)[0] or "application/octet-stream"
                return URLFetcherResponse(url, open(full, "rb"), {"Content-Type": content_type})
        raise ValueError(f"refused to fetch {url!r} for a printed form")


def qr_data_uri(url):
    """A QR code pointing back to the record, as an inline SVG image."""
    return segno.make(url, error="m").svg_data_uri(scale=4, border=1)


def pdf_bytes(template, base_url, **context):
    """Render templates/print/<template> to A4 PDF bytes; base_url is the portal's address
    (the request's in a view, PUBLIC_URL in a task): only its /static/ files are fetched."""
    base_url = base_url.rstrip("/") + "/"  # PUBLIC_URL may come without it; the fetcher matches on it
    context.setdefault("company_name", current_app.config["COMPANY_NAME"])
    with force_locale("zh_Hans"):  # forms print in Chinese, whatever the screen's language
        html = render_template(template, **context)
    document = HTML(string=html, base_url=base_url,
                    url_fetcher=StaticOnlyFetcher(current_app.static_folder, base_url))
    return document.write_pdf(stylesheets=[_print_css()], font_config=_fonts())


def report_pdf(period, department, figures, base_url):
    """The printed report (月度统计报告 for a month): printed on the reports page and
    attached to the monthly mail by a task, so it is made here rather than in its view."""
    number = period.key + (f" · {department.name}" if department else "")
    return pdf_bytes("print/report.html", base_url, period=period, department=department, f=figures,
                     chart=bar_chart(figures["chart"]), **LABELS,
                     number=number, built_at=local_now())
