"""Error pages in the layout; fragments and toasts for htmx; a request id on every 500."""
from urllib.parse import quote

from flask import current_app, g, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from views.access import login_redirect
from views.ui import is_htmx


def _messages():
    return {
        400: _("The request could not be understood. Please try again."),
        403: _("You do not have permission to open this page."),
        404: _("This page does not exist. It may have been moved."),
        405: _("That action is not possible here."),
        413: _("What you sent is too large. Shorten the text or choose a smaller file."),
        500: _("Something went wrong on our side. Nothing was saved; please try again."),
    }


def error_response(code, message=None):
    message = message or _messages().get(code) or _messages()[500]
    if is_htmx():
        # htmx does not swap error responses; app.js shows this in a toast and the
        # form keeps everything typed. Header values must be Latin-1: URL-quote it.
        response = current_app.response_class(message, status=code, mimetype="text/plain")
        response.headers["X-Error-Message"] = quote(message)
        return response
    return render_template("errors/error.html", code=code, message=message), code


def register_error_handlers(app):
    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        if not current_user.is_authenticated:
            return login_redirect()
        return error_response(400, _("This form has expired. Reload the page and submit it again; "
                                     "what you typed is kept."))

    @app.errorhandler(HTTPException)
    def http_error(exc):
        if exc.code in (301, 302, 303, 307, 308):
            return exc
        return error_response(exc.code, _messages().get(exc.code, exc.description))

    @app.errorhandler(Exception)
    def server_error(exc):
        current_app.logger.exception("request %s failed: %s %s", g.get("request_id"), request.method, request.path)
        try:
            from models.base import db
            if db.in_transaction():
                db.rollback()
        except Exception:  # noqa: BLE001  the page must still render
            pass
        return error_response(500)
