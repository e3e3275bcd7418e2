"""Rendering helpers: fragment or page, redirects after POST, toasts, forms."""
import json
from urllib.parse import urlsplit

from flask import flash, get_flashed_messages, make_response, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from flask_wtf.i18n import translations as wtforms_translations
from jinja2_fragments.flask import render_block
from wtforms import Form, HiddenField

from models.submissions import new_key, result_of
from views.fields import int_arg


def is_htmx():
    """htmx-flask's request.htmx (views/__init__.py installs it) reads the HX-* request headers."""
    return bool(request.htmx)


def wants_fragment():
    """An htmx request that is not boosted and not a history restore gets the fragment."""
    return is_htmx() and not request.htmx.boosted and not request.htmx.history_restore_request


def render(template, block=None, status=200, **context):
    """The named block for htmx, the whole page otherwise."""
    if block and wants_fragment():
        body = render_block(template, block, **context)
    else:
        body = render_template(template, **context)
    response = make_response(body, status)
    response.vary.add("HX-Request")
    return response


PAGE_ROWS = 50


def one_page(query, endpoint, param="page", **url_values):
    """The ?page= slice of a list that grows with the data, PAGE_ROWS at a time, and the URL of the
    next slice ("show more") when there is one. Returns (rows, more_url, page). A page with two
    such lists names the second one's parameter."""
    page = max(1, int_arg(request.args, param) or 1)
    rows = list(query.offset((page - 1) * PAGE_ROWS).limit(PAGE_ROWS + 1))
    more_url = None
    if len(rows) > PAGE_ROWS:
        rows = rows[:PAGE_ROWS]
        more_url = url_for(endpoint, **(request.args.to_dict() | url_values | {param: page + 1}))
    return rows, more_url, page


def render_fragment(template, block, **context):
    """A piece that only exists inside a page (suggestions, pickers): always the block."""
    response = make_response(render_block(template, block, **context))
    response.vary.add("HX-Request")
    return response


def render_invalid(template, block, **context):
    """An invalid form: the same form with errors beside the fields.
    422 is swapped by our htmx config (static/js/portal.js) and shown by browsers."""
    return render(template, block, status=422, **context)


def redirect_to(url):
    """After a successful POST: HX-Redirect for htmx, 303 for a plain form."""
    if is_htmx():
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, code=303)


def toast(message, level="success"):
    """A short message for the user: shown by the next full page, or, for an htmx
    fragment, carried in the HX-Trigger header to the toast area."""
    flash(str(message), level)


def add_toast_header(response):
    """after_request: a fragment response takes the pending messages with it."""
    if not wants_fragment() or "HX-Redirect" in response.headers or response.status_code >= 300:
        return response
    messages = get_flashed_messages(with_categories=True)
    if messages:
        triggers = json.loads(response.headers.get("HX-Trigger", "{}") or "{}")
        triggers["toast"] = [{"level": level, "message": message} for level, message in messages]
        # ensure_ascii: header values must be Latin-1; the \u escapes are valid JSON.
        response.headers["HX-Trigger"] = json.dumps(triggers, ensure_ascii=True)
    return response


def safe_next(target):
    """Only a path on this site may be a redirect target (no open redirect)."""
    if not target or "\\" in target or any(ord(c) < 32 for c in target):
        return None  # browsers read "/\\host" as "//host" in a raw HX-Redirect
    parts = urlsplit(target)
    if parts.scheme and parts.netloc and parts.netloc != request.host:
        return None
    path = parts.path or "/"
    if not path.startswith("/") or path.startswith("//"):
        return None
    return path + (f"?{parts.query}" if parts.query else "")


class SubForm(Form):
    """A form repeated inside a PortalForm (FormField): WTForms gives it no translations of
    its own, so its built-in messages ("Field cannot be longer than 80 characters.") would
    stay English beside a Chinese field."""

    class Meta:
        def get_translations(self, form):
            return wtforms_translations


class PortalForm(FlaskForm):
    """Every form carries a one-time submission key (see models.submissions)."""

    submission_key = HiddenField(default=new_key)

    def earlier_result(self):
        """The URL of what this very form already created (a double tap, a retry after
        a time-out), checked before validation: the repeat would fail as a duplicate."""
        if self.is_submitted() and self.submission_key.data:
            return result_of(self.submission_key.data)
        return None
