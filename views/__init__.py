"""Blueprints, one per area, and the request pipeline they share."""
import time
import uuid

from flask import abort, g, request, session
from flask_babel import Babel
from flask_login import LoginManager, current_user, logout_user
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx

from models import settings
from models.base import db, is_sqlite

csrf = CSRFProtect()
babel = Babel()
login_manager = LoginManager()

LOCALES = ("zh_Hans", "en")
LANG_PARAM = {"zh": "zh_Hans", "zh_Hans": "zh_Hans", "zh-CN": "zh_Hans", "en": "en"}


def select_locale():
    """?lang= (kept on the account), the account's choice, the session's, Accept-Language."""
    if "locale" in g:
        return g.locale
    chosen = LANG_PARAM.get(request.args.get("lang", "")) if request else None
    if chosen:
        session["locale"] = chosen
        if current_user.is_authenticated and current_user.locale != chosen:
            from models.users import set_locale
            set_locale(current_user, chosen)
    elif current_user.is_authenticated and current_user.locale in LOCALES:
        chosen = current_user.locale
    elif session.get("locale") in LOCALES:
        chosen = session["locale"]
    else:
        best = request.accept_languages.best_match(["zh", "en"])
        chosen = LANG_PARAM.get(best) if best else None
    from flask import current_app
    g.locale = chosen or current_app.config["BABEL_DEFAULT_LOCALE"]
    return g.locale


@login_manager.user_loader
def load_user(user_id):
    """The id is "<pk>:<session_version>": a bumped version or a deactivated
    account ends every open session at its next request."""
    from models.users import User
    try:
        pk, version = (int(part) for part in user_id.split(":"))
    except ValueError:
        return None
    user = User.get_or_none(User.id == pk)
    if user is None or not user.is_active or user.session_version != version:
        return None
    return user


def clear_session():
    """Empty the session; only the chosen language survives (login, logout, expiry)."""
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale


def _check_session_age():
    """Idle timeout and absolute lifetime, both settings."""
    if "_user_id" not in session:
        return
    now = int(time.time())
    idle = settings.get(settings.SESSION_IDLE_MINUTES) * 60
    lifetime = settings.get(settings.SESSION_MAX_HOURS) * 3600
    if now - session.get("seen_at", 0) > idle or now - session.get("login_at", 0) > lifetime:
        logout_user()
        clear_session()
        g.session_expired = True
        return
    # Polls are not activity; and the cookie is written at most once a minute.
    if request.headers.get("X-Poll") != "1" and now - session.get("seen_at", 0) > 60:
        session["seen_at"] = now


#: Pages run only the portal's own files: no inline script, event handler or style (they live in
#: static/js and static/css), no eval (htmx's allowEval is off in the pages' htmx-config), no plugins,
#: and no other site may frame them or receive their forms.
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'",
    "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
))
#: The inspection form's photo field asks for the tablet's camera (capture="environment"); nothing
#: else here needs a device.
PERMISSIONS_POLICY = "camera=(self), microphone=(), geolocation=(), payment=(), usb=()"


def _security_headers(app, response):
    """Every response's browser-side protections, set here and nowhere else."""
    headers = response.headers
    headers["X-Content-Type-Options"] = "nosniff"
    # A default: a page with a secret in its address (a signed answer link) sends a stricter one.
    headers.setdefault("Referrer-Policy", "same-origin")
    headers["X-Frame-Options"] = "DENY"
    headers["Permissions-Policy"] = PERMISSIONS_POLICY
    if response.mimetype != "application/pdf":
        # Chromium shows a PDF in a page it makes inside the PDF's own response, with inline
        # styles and a plugin: this policy there would leave the printed form blank.
        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    # Only for a portal reached over HTTPS (TLS ends at the proxy, so the request cannot tell): told
    # so, a browser would refuse a portal on plain HTTP for the whole max-age.
    if app.config["PUBLIC_URL"].startswith("https://") and app.config["HSTS_MAX_AGE"]:
        headers["Strict-Transport-Security"] = f"max-age={app.config['HSTS_MAX_AGE']}"


def init_app(app):
    from views import access, ui
    from views.errors import register_error_handlers
    from views.templating import register_template_helpers

    Htmx(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    login_manager.session_protection = None  # tablets change networks; sessions are versioned instead

    @app.before_request
    def start_request():
        g.request_id = request.headers.get("X-Request-Id", "")[:32] or uuid.uuid4().hex[:12]
        # Werkzeug limits each multipart text field; a plain form body is held to the
        # same limit here, before anything parses it (uploads may be larger).
        if (request.content_length or 0) > app.config["MAX_FORM_MEMORY_SIZE"] and \
                request.mimetype != "multipart/form-data":
            abort(413)
        if request.endpoint == "health.healthz":
            return None  # the health check connects itself, to answer 503 rather than fail
        db.connect(reuse_if_open=True)
        _check_session_age()

    @app.before_request
    def check_access():
        response = access.enforce()
        if response is None and request.method not in ("GET", "HEAD", "OPTIONS") \
                and not access.csrf_exempt(app, request.endpoint):
            csrf.protect()
        return response

    @app.after_request
    def finish_response(response):
        response.headers["X-Request-Id"] = g.get("request_id", "")
        if request.endpoint != "static":
            # Pages carry personal data: nothing but static files may be cached.
            response.headers.setdefault("Cache-Control", "no-store")
        _security_headers(app, response)
        return ui.add_toast_header(response)

    @app.teardown_request
    def close_db(exc):
        if db.is_closed():
            return
        if is_sqlite():
            # Kept open for this thread's next request: closing the last connection to a
            # WAL database checkpoints it, some 10 ms on every request (make bench).
            if db.in_transaction():
                # A transaction left open is a bug: undo it and start this thread afresh, so
                # the next request's writes begin their own IMMEDIATE transaction.
                app.logger.error("transaction left open by %s", request.path)
                db.rollback()
                db._state.reset()
            return
        db.close()

    register_error_handlers(app)
    register_template_helpers(app)

    from views import (
        admin, audit_log, auth, board, calls, complaints, duty, health, home, incidents, lost_found, mail,
        notifications, procurement, reports, settings_page, visitors,
    )
    for module in (auth, home, admin, settings_page, audit_log, health, notifications, visitors, calls, duty,
                   incidents, mail, lost_found, board, complaints, reports):
        app.register_blueprint(module.bp)
    for blueprint in procurement.blueprints:
        app.register_blueprint(blueprint)
    from views import worktime
    app.register_blueprint(worktime.bp)
    from views import callbacks
    app.register_blueprint(callbacks.bp)
    from views import weekly_archive
    app.register_blueprint(weekly_archive.bp)
    from views import returns
    app.register_blueprint(returns.bp)
    from views import answers
    app.register_blueprint(answers.bp)
    from views import compensations
    app.register_blueprint(compensations.bp)
    from views import home_visits, service_visits
    app.register_blueprint(home_visits.bp)
    app.register_blueprint(service_visits.bp)
    from views import broadcast
    app.register_blueprint(broadcast.bp)
    from views import vehicles
    app.register_blueprint(vehicles.bp)
    from views.quality import plan as quality_plan, training as quality_training
    app.register_blueprint(quality_training.bp)
    app.register_blueprint(quality_plan.bp)
    from views import rooms
    app.register_blueprint(rooms.bp)
    from views.quality import assessments as quality_assessments
    app.register_blueprint(quality_assessments.bp)
    from views import repairs
    app.register_blueprint(repairs.bp)
    from views.quality import inspections as quality_inspections
    app.register_blueprint(quality_inspections.bp)
    from views import documents
    app.register_blueprint(documents.bp)
