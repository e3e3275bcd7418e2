"""Admin: staff accounts and departments, their robots, the messages that failed to leave, and what
the portal holds about a person (PIPL requests)."""
from flask import Blueprint, abort, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from peewee import IntegrityError
from wtforms import BooleanField, HiddenField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.utils import unset_value
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from models import audit, privacy
from models.base import masked_address, readable, write_transaction
from models.notifications import (
    CHANNELS, ROBOTS, DepartmentDelivery, NotificationDelivery, secret_problem, webhook_problem,
)
from models.roles import ROLES
from models.submissions import submit_once
from models.users import (
    Department, User, create_user, end_sessions, generate_password, normalise_username, set_password, update_user,
)
from views.access import allow
from views.exports import table_download
from views.fields import CheckboxesField, phone, strip
from views.templating import local_datetime
from views.ui import PortalForm, one_page, redirect_to, render, render_fragment, render_invalid, toast

bp = Blueprint("admin", __name__, url_prefix="/admin")

LOCALE_CHOICES = [SelectChoice("", _l("As the browser says")), SelectChoice("zh_Hans", "简体中文"),
                  SelectChoice("en", "English")]


def _webhook(channel):
    def validate(form, field):
        if field.data and (problem := webhook_problem(channel, field.data)):
            raise ValidationError(problem)
    return validate


def _secret(channel):
    def validate(form, field):
        if field.data and (problem := secret_problem(channel, field.data)):
            raise ValidationError(problem)
        if field.data and not form[f"{channel}_webhook"].data:
            raise ValidationError(_l("Paste the webhook address too: the secret belongs to it."))
    return validate


ADDRESS = {"autocapitalize": "none", "autocomplete": "off", "spellcheck": "false", "inputmode": "url"}


class WebhookField(StringField):
    """A robot's webhook: its access token is a password, so the stored address is shown masked
    (host and last 4 characters), and the masked text sent back unchanged keeps it."""

    def process(self, formdata, data=unset_value, extra_filters=None):
        self.stored = data if isinstance(data, str) else ""
        super().process(formdata, data, extra_filters)
        if formdata is not None and self.stored and self.data == masked_address(self.stored):
            self.data = self.stored

    def _value(self):
        return masked_address(self.data) if self.data and self.data == self.stored else super()._value()


class SecretField(PasswordField):
    """A robot's signing secret: never shown back; left empty, the stored one stays with its webhook
    (RobotsForm.robot_values)."""

    def process(self, formdata, data=unset_value, extra_filters=None):
        self.stored = data if isinstance(data, str) else ""
        super().process(formdata, data, extra_filters)
        if self.stored:
            self.render_kw = dict(self.render_kw or {}, placeholder=_("Saved; left empty, it stays"))


SECRET = {"autocapitalize": "none", "autocomplete": "new-password", "spellcheck": "false"}


class RobotsForm(PortalForm):
    """The group robots' webhooks (a person's own, or a department's), as the robot's settings show them."""
    wecom_webhook = WebhookField(_l("WeCom group robot webhook"), filters=[strip],
                                validators=[Optional(), Length(max=500), _webhook("wecom")],
                                description=ROBOTS["wecom"].example, render_kw=ADDRESS)
    dingtalk_webhook = WebhookField(_l("DingTalk robot webhook"), filters=[strip],
                                   validators=[Optional(), Length(max=500), _webhook("dingtalk")],
                                   description=ROBOTS["dingtalk"].example, render_kw=ADDRESS)
    dingtalk_secret = SecretField(_l("DingTalk signing secret (加签)"), filters=[strip],
                                  validators=[Optional(), Length(max=200), _secret("dingtalk")],
                                  description=_l("Only when the robot signs its messages."), render_kw=SECRET)
    feishu_webhook = WebhookField(_l("Feishu bot webhook"), filters=[strip],
                                 validators=[Optional(), Length(max=500), _webhook("feishu")],
                                 description=ROBOTS["feishu"].example, render_kw=ADDRESS)
    feishu_secret = SecretField(_l("Feishu signing secret (签名校验)"), filters=[strip],
                                validators=[Optional(), Length(max=200), _secret("feishu")],
                                description=_l("Only when the bot checks signatures."), render_kw=SECRET)

    def robot_values(self):
        values = {name: self[name].data or "" for name in ROBOT_FIELDS}
        for channel in ("dingtalk", "feishu"):
            webhook, secret = self[f"{channel}_webhook"], self[f"{channel}_secret"]
            # The secret belongs to its robot: kept while the webhook stays, gone with it.
            values[secret.name] = secret.data or (secret.stored if webhook.data == webhook.stored else "")
        return values


ROBOT_FIELDS = ("wecom_webhook", "dingtalk_webhook", "dingtalk_secret", "feishu_webhook", "feishu_secret")


class UserForm(RobotsForm):
    display_name = StringField(_l("Display name"), filters=[strip], validators=[DataRequired(), Length(max=80)])
    department = SelectField(_l("Department"), coerce=int, validate_choice=False)
    roles = CheckboxesField(_l("Roles"), choices=[SelectChoice(key, label) for key, label in ROLES.items()])
    extension = StringField(_l("Extension"), filters=[strip],
                            validators=[Optional(), Length(max=20),
                                        Regexp(r"^[0-9#*\-]+$", message=_l("Digits only."))])
    mobile = StringField(_l("Mobile (private)"), filters=[strip], validators=[Optional(), Length(max=30), phone])
    email = StringField(_l("E-mail (for notifications)"), filters=[strip],
                        validators=[Optional(), Length(max=120),
                                    Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Enter an e-mail address."))],
                        render_kw={"inputmode": "email", "autocapitalize": "none"})
    locale = SelectField(_l("Language"), choices=LOCALE_CHOICES)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.department.choices = [SelectChoice(0, _l("(none)"))] + [
            SelectChoice(d.id, d.name) for d in Department.active_ones()]

    def validate_roles(self, field):
        if not field.data:
            raise ValidationError(_l("Choose at least one role."))

    def validate_department(self, field):
        if field.data and not Department.get_or_none(Department.id == field.data):
            raise ValidationError(_l("Choose a department from the list."))

    def values(self):
        return {
            "display_name": self.display_name.data,
            "department": self.department.data or None,
            "extension": self.extension.data or "",
            "mobile": self.mobile.data or "",
            "email": self.email.data or "",
            "locale": self.locale.data or None,
        } | self.robot_values()


class NewUserForm(UserForm):
    username = StringField(_l("Username"), filters=[strip], validators=[
        DataRequired(), Length(min=2, max=40),
        Regexp(r"^[A-Za-z0-9._-]+$", message=_l("Letters, digits, dot, dash and underscore only.")),
    ], render_kw={"autocapitalize": "none", "autocomplete": "off"})
    password = PasswordField(_l("Password"), validators=[Optional(), Length(min=8, max=200)],
                             description=_l("Leave empty to generate a one-time password."),
                             render_kw={"autocomplete": "new-password"})

    field_order = ("username", "display_name", "department", "roles", "extension", "mobile", "email", "locale",
                   "password")

    def validate_username(self, field):
        if User.by_username(field.data):
            raise ValidationError(_l("This username is taken."))


class EditUserForm(UserForm):
    is_active = BooleanField(_l("Active (may log in)"))


class DepartmentForm(PortalForm):
    name = StringField(_l("Department name"), filters=[strip], validators=[DataRequired(), Length(max=80)])

    def validate_name(self, field):
        if Department.get_or_none(Department.name == field.data):
            raise ValidationError(_l("This department exists already."))


@bp.route("/users")
@allow("users.manage")
def users():
    """All staff accounts, searchable."""
    q = request.args.get("q", "").strip()[:80]
    rows = User.listing(q=q)
    return render("admin/users.html", "rows", rows=rows, q=q)


@bp.route("/users/new", methods=["GET", "POST"])
@allow("users.manage")
def new_user():
    """Create a staff account."""
    form = NewUserForm()
    if earlier := form.earlier_result():
        return redirect_to(earlier)
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render("admin/user_new.html", "form", status=status, form=form)
    password = form.password.data or generate_password()

    def create():
        user = create_user(current_user, form.username.data, form.display_name.data, form.roles.data, password,
                           must_change_password=not form.password.data, **_without(form.values(), "display_name"))
        return url_for("admin.edit_user", user_id=user.id)

    try:
        url, created = submit_once(form.submission_key.data, current_user, create)
    except IntegrityError:
        form.username.errors.append(_("This username is taken."))
        return render_invalid("admin/user_new.html", "form", form=form)
    if created:
        if form.password.data:
            toast(_("Account %(username)s created.", username=normalise_username(form.username.data)))
        else:
            toast(_("Account %(username)s created. One-time password: %(password)s — give it to the person; "
                    "they choose their own at the first login.",
                    username=normalise_username(form.username.data), password=password), "info")
    return redirect_to(url)


def _without(values, *keys):
    return {k: v for k, v in values.items() if k not in keys}


def _get_user(user_id):
    user = User.get_or_none(User.id == user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@allow("users.manage")
def edit_user(user_id):
    """Edit an account: details, roles, active flag."""
    user = _get_user(user_id)
    form = EditUserForm(obj=user, data={"department": user.department_id or 0, "roles": user.roles,
                                        "locale": user.locale or ""}
                        if request.method == "GET" else None)
    if request.method == "POST" and form.validate_on_submit():
        if user.id == current_user.id and (not form.is_active.data or "admin" not in form.roles.data):
            form.roles.errors.append(_("You cannot remove your own administrator role or deactivate yourself."))
        else:
            update_user(current_user, user, form.roles.data, is_active=form.is_active.data, **form.values())
            toast(_("Saved."))
            return redirect_to(url_for("admin.edit_user", user_id=user.id))
    status = 422 if request.method == "POST" else 200
    return render("admin/user_edit.html", "form", status=status, form=form, user=user)


@bp.route("/users/<int:user_id>/end-sessions", methods=["POST"])
@allow("users.manage")
def end_user_sessions(user_id):
    """Log the user out everywhere."""
    user = _get_user(user_id)
    end_sessions(current_user, user)
    toast(_("%(name)s is logged out everywhere.", name=user.display_name))
    if user.id == current_user.id:
        return redirect_to(url_for("auth.login"))
    return redirect_to(url_for("admin.edit_user", user_id=user.id))


@bp.route("/users/<int:user_id>/reset-password", methods=["POST"])
@allow("users.manage")
def reset_password(user_id):
    """Give the user a one-time password; their sessions end."""
    user = _get_user(user_id)
    password = generate_password()
    set_password(current_user, user, password, must_change=True)
    toast(_("New one-time password for %(username)s: %(password)s", username=user.username, password=password),
          "info")
    return redirect_to(url_for("admin.edit_user", user_id=user.id))


@bp.route("/departments", methods=["GET", "POST"])
@allow("users.manage")
def departments():
    """Departments: list and add."""
    form = DepartmentForm()
    if earlier := form.earlier_result():
        return redirect_to(earlier)
    if request.method == "POST" and form.validate_on_submit():
        def create():
            with write_transaction():
                department = Department.create(name=form.name.data)
                audit.record_create(current_user, department)
            return url_for("admin.departments")
        try:
            url, _created = submit_once(form.submission_key.data, current_user, create)
        except IntegrityError:
            form.name.errors.append(_("This department exists already."))
        else:
            toast(_("Department %(name)s added.", name=form.name.data))
            return redirect_to(url)
    rows = list(Department.select().order_by(Department.name))
    status = 422 if request.method == "POST" else 200
    return render("admin/departments.html", "form", status=status, form=form, rows=rows)


@bp.route("/departments/<int:department_id>/toggle", methods=["POST"])
@allow("users.manage")
def toggle_department(department_id):
    """Retire a department (it stays on old records) or bring it back."""
    department = Department.get_or_none(Department.id == department_id) or abort(404)
    with write_transaction():
        before = department.snapshot()
        department.active = not department.active
        department.save()
        audit.record_change(current_user, department, before)
    return redirect_to(url_for("admin.departments"))


class SubjectSearchForm(PortalForm):
    # Posted, never in the URL: a phone number or a name would stay in access logs and browser history.
    q = StringField(_l("Phone number or full name"), filters=[strip], validators=[Length(max=80)])


class SubjectExportForm(PortalForm):
    q = HiddenField(filters=[strip])
    fmt = SelectField(_l("Format"), choices=[SelectChoice("xlsx", "Excel (.xlsx)"), SelectChoice("csv", "CSV")])


class SubjectAnonymiseForm(PortalForm):
    q = HiddenField(filters=[strip])
    # "kind:id" of each record ticked as the person's: re-checked against the search in the model.
    records = SelectMultipleField(choices=[], validate_choice=False)
    reason = StringField(_l("Why (the person's request, its date)"), filters=[strip],
                         validators=[DataRequired(), Length(max=200)])

    def chosen(self):
        chosen = {}
        for value in self.records.data or ():
            key, _sep, record_id = value.partition(":")
            if key in privacy.KINDS_BY_KEY and record_id.isdigit():
                chosen.setdefault(key, []).append(int(record_id))
        return chosen


def _subject_page(q, search_form=None, anonymise_form=None, status=200):
    found = []
    search_form = search_form or SubjectSearchForm(formdata=None, q=q)
    if q and not search_form.errors:
        try:
            found = privacy.find_subject(q)
        except privacy.PrivacyError as refused:
            search_form.q.errors = [str(refused)]
    # A refused anonymisation keeps what was ticked; a new search ticks what its number found.
    ticked = set(anonymise_form.records.data or ()) if anonymise_form else None
    anonymise_form = anonymise_form or SubjectAnonymiseForm(formdata=None, q=q)
    return render("admin/personal_data.html", "subject", status=status, q=q, found=found,
                  search_form=search_form, anonymise_form=anonymise_form,
                  export_form=SubjectExportForm(formdata=None, q=q), ticked=ticked)


@bp.route("/personal-data")
@allow("privacy.manage")
def personal_data():
    """个人信息查询: everything the portal holds about a phone number or a name."""
    return _subject_page("")


@bp.route("/personal-data", methods=["POST"])
@allow("privacy.manage")
def find_personal_data():
    """The search, posted so that the number or name stays out of the URL."""
    form = SubjectSearchForm()
    if not form.validate_on_submit():
        return _subject_page(form.q.data or "", search_form=form, status=422)
    return _subject_page(form.q.data or "", search_form=form)


@bp.route("/personal-data/export", methods=["POST"])
@allow("privacy.manage")
def export_personal_data():
    """Hand over everything the portal holds under the number or name, as a spreadsheet; audited."""
    form = SubjectExportForm()
    q = (form.q.data or "")[:80]
    if not form.validate_on_submit():
        return _subject_page(q, status=422)
    try:
        found = list(privacy.export_subject(q))
    except privacy.PrivacyError:
        return _subject_page(q, status=422)
    privacy.record_export(current_user, found)
    headers = [_("Area"), _("Record"), _("When"), _("Name"), _("Phone"), _("Other details"), _("Status")]
    rows = []
    for part in found:
        for record in part.rows:
            reference, when, name, number, details = part.kind.summary(record)
            rows.append([str(part.kind.label), reference, local_datetime(when), readable(name), readable(number),
                         " · ".join(readable(value) for value in details if value), _subject_status(part, record)])
    return table_download(_("Personal data"), headers, rows, form.fmt.data)


def _subject_status(part, record):
    if part.is_open(record):
        return _("Kept: still open or active")
    return _("Anonymised") if part.anonymised_at(record) else ""


@bp.route("/personal-data/anonymise", methods=["POST"])
@allow("privacy.manage")
def anonymise_personal_data():
    """Anonymise the records ticked as the person's, on their request, with the reason; audited."""
    form = SubjectAnonymiseForm()
    q = (form.q.data or "")[:80]
    if not form.validate_on_submit():
        return _subject_page(q, anonymise_form=form, status=422)
    try:
        anonymised, kept = privacy.anonymise_records(current_user, q, form.chosen(), form.reason.data)
    except privacy.PrivacyError as refused:
        form.reason.errors = [*form.reason.errors, str(refused)]
        return _subject_page(q, anonymise_form=form, status=422)
    toast(_("%(n)d records anonymised; %(kept)d kept (still open, or on the watchlist).", n=anonymised, kept=kept))
    return _subject_page(q)


@bp.route("/departments/<int:department_id>/robots", methods=["GET", "POST"])
@allow("users.manage")
def department_robots(department_id):
    """A department's group robots: its notices (a complaint assigned, an urgent repair) are posted there."""
    department = Department.get_or_none(Department.id == department_id) or abort(404)
    form = RobotsForm(obj=department)
    if request.method == "POST" and form.validate_on_submit():
        with write_transaction():
            before = department.snapshot()
            for name, value in form.robot_values().items():
                setattr(department, name, value)
            department.save()
            audit.record_change(current_user, department, before)
        toast(_("Saved."))
        return redirect_to(url_for("admin.departments"))
    status = 422 if request.method == "POST" else 200
    return render("admin/department_robots.html", "form", status=status, form=form, department=department)


@bp.route("/deliveries")
@allow("users.manage")
def deliveries():
    """Messages that did not leave (retrying, given up, interrupted), with the reason, newest first."""
    people, more_people, page = one_page(NotificationDelivery.failing(), "admin.deliveries")
    robots, more_robots, robot_page = one_page(DepartmentDelivery.failing(), "admin.deliveries", param="robots_page")
    context = {"people": people, "more_people": more_people, "robots": robots, "more_robots": more_robots,
               "channels": CHANNELS}
    if page > 1:
        return render_fragment("admin/deliveries.html", "people_rows", **context)
    if robot_page > 1:
        return render_fragment("admin/deliveries.html", "robot_rows", **context)
    return render("admin/deliveries.html", **context)
