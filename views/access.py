"""Who may reach which endpoint: views declare, `enforce` decides, in one place."""
from flask import abort, current_app, g, redirect, request, url_for
from flask_login import current_user

from models.roles import has_permission, roles_allowed

PUBLIC = "public"


def allow(permission):
    """Declare the permission a view needs (a key of models.roles.PERMISSIONS)."""
    roles_allowed(permission)  # fail at import time on a typo

    def mark(view):
        view.permission = permission
        return view
    return mark


def public(view):
    """Declare a view open to everyone, logged in or not."""
    view.permission = PUBLIC
    return view


def signed_link(view):
    """Declare a view opened from a signed link in a message (a host's one-tap answer): open to
    everyone, and its POST takes no CSRF token, because the signed token in its URL is the proof
    and the person arriving from the message has no session to hold one."""
    view.permission = PUBLIC
    view.csrf_exempt = True
    return view


def csrf_exempt(app, endpoint):
    return getattr(app.view_functions.get(endpoint), "csrf_exempt", False)


def declared_permission(app, endpoint):
    if endpoint == "static":
        return PUBLIC
    view = app.view_functions.get(endpoint)
    return getattr(view, "permission", None)


def can(permission):
    """For templates and views: may the current user do this?"""
    if permission == PUBLIC:
        return True
    return current_user.is_authenticated and current_user.can(permission)


def login_redirect():
    """Send the user to log in and back to the page they were on afterwards.
    For an htmx request the page is the one in the browser, not the fragment URL."""
    from views.ui import is_htmx, safe_next
    target = request.htmx.current_url if is_htmx() else request.full_path
    login_url = url_for("auth.login", next=safe_next(target) or None, expired="1" if g.get("session_expired") else None)
    if is_htmx():
        response = current_app.response_class(status=401)
        response.headers["HX-Redirect"] = login_url
        return response
    return redirect(login_url)


def enforce():
    """before_request: deny undeclared endpoints, require login, check the permission."""
    if request.endpoint is None:
        return None  # a 404 follows
    permission = declared_permission(current_app, request.endpoint)
    if permission is None:
        current_app.logger.error("endpoint %s declares no permission", request.endpoint)
        abort(403)
    if permission == PUBLIC:
        return None
    if not current_user.is_authenticated:
        return login_redirect()
    if current_user.must_change_password and request.endpoint not in ("auth.change_password", "auth.logout"):
        from views.ui import redirect_to
        return redirect_to(url_for("auth.change_password"))
    if not has_permission(current_user.roles, permission):
        abort(403)
    return None
