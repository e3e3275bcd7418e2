"""Log in and out, and change one's own password."""
import time

from flask import Blueprint, current_app, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import EqualTo, InputRequired, Length, ValidationError

from models import settings
from models.base import utcnow
from models.users import User, normalise_username, recent_failures, record_login_attempt, set_password
from views import clear_session
from views.access import allow, public
from views.ui import redirect_to, render, render_invalid, safe_next, toast

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[InputRequired(), Length(max=40)],
                           render_kw={"autocomplete": "username", "autocapitalize": "none", "autofocus": True})
    password = PasswordField(_l("Password"), validators=[InputRequired(), Length(max=200)],
                             render_kw={"autocomplete": "current-password"})
    next = HiddenField()


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[InputRequired(), Length(max=200)],
                            render_kw={"autocomplete": "current-password"})
    new = PasswordField(_l("New password"), validators=[InputRequired(), Length(min=8, max=200, message=_l("Use 8 to 200 characters."))],
                        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("New password again"),
                            validators=[InputRequired(), EqualTo("new", _l("The two new passwords differ."))],
                            render_kw={"autocomplete": "new-password"})

    def validate_current(self, field):
        if not current_user.check_password(field.data):
            raise ValidationError(_l("This is not your current password."))

    def validate_new(self, field):
        if field.data == self.current.data:
            raise ValidationError(_l("Choose a password different from the current one."))


def _start_session(user):
    """A fresh session at login: nothing of the anonymous one carries over but the language."""
    clear_session()
    login_user(user)
    now = int(time.time())
    session["login_at"] = now
    session["seen_at"] = now


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    """The login page."""
    form = LoginForm(next=request.args.get("next", ""))
    expired = request.args.get("expired") == "1"
    if request.method == "GET" or not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render("auth/login.html", "form", status=status, form=form, expired=expired)
    username = normalise_username(form.username.data)
    max_failures = settings.get(settings.LOGIN_MAX_FAILURES)
    lock_minutes = settings.get(settings.LOGIN_LOCK_MINUTES)
    failures, first = recent_failures(username, lock_minutes)
    if failures >= max_failures:
        waited = int((utcnow() - first.at).total_seconds() // 60) if first else 0
        wait = max(1, lock_minutes - waited)
        form.username.errors.append(ngettext("Too many failed attempts. Try again in %(num)d minute.",
                                             "Too many failed attempts. Try again in %(num)d minutes.", wait))
        return render_invalid("auth/login.html", "form", form=form)
    user = User.by_username(username)
    if user is None or not user.is_active or not user.check_password(form.password.data):
        record_login_attempt(username, False, request.remote_addr)
        form.password.errors.append(_("Wrong username or password."))
        form.password.data = ""
        return render_invalid("auth/login.html", "form", form=form)
    record_login_attempt(username, True, request.remote_addr)
    _start_session(user)
    current_app.logger.info("login %s", user.username)
    return redirect_to(safe_next(form.next.data) or url_for("home.index"))


@bp.route("/logout", methods=["GET", "POST"])
@public
def logout():
    """Log out (POST); GET asks first, so a link cannot log anyone out."""
    if request.method == "GET":
        return render("auth/logout.html")
    if current_user.is_authenticated:
        user_id = current_user.id
        logout_user()
        clear_session()
        return redirect_to(url_for("auth.login", logged_out=user_id))
    return redirect_to(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@allow("home")
def change_password():
    """Change one's own password (required after a one-time password)."""
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render("auth/password.html", "form", status=status, form=form)
    set_password(current_user, current_user, form.new.data)
    _start_session(User.get_by_id(current_user.id))
    toast(_("Your password was changed."))
    return redirect_to(url_for("home.index"))
