"""Official A4 forms as PDF (WeasyPrint). One font configuration and one parsed print
stylesheet serve every render: the CJK font subsetting is the main cost of a form."""
import mimetypes
import os
from functools import lru_cache
from urllib.parse import quote, urlsplit

import segno
from flask import current_app, make_response, render_template, request, url_for
from flask_babel import force_locale
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse


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


def record_url(endpoint, **values):
    return url_for(endpoint, _external=True, **values)


def pdf_bytes(template, **context):
    """Render templates/print/<template> to A4 PDF bytes (needs a request context: the
    static files are fetched by URL)."""
    context.setdefault("company_name", current_app.config["COMPANY_NAME"])
    with force_locale("zh_Hans"):  # forms print in Chinese, whatever the screen's language
        html = render_template(template, **context)
    document = HTML(string=html, base_url=request.host_url,
                    url_fetcher=StaticOnlyFetcher(current_app.static_folder, request.host_url))
    return document.write_pdf(stylesheets=[_print_css()], font_config=_fonts())


def render_pdf(template, filename, **context):
    return pdf_response(pdf_bytes(template, **context), filename)


def pdf_response(data, filename):
    """PDF bytes as a response, shown inline."""
    response = make_response(data)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(filename)}"
    return response
