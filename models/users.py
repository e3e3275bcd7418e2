"""Staff accounts, departments, roles, passwords and login throttling."""
import datetime as dt
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from peewee import JOIN, BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, fn

from models.base import BaseModel, utcnow, write_transaction
from models.pinyin import PinyinNamed
from models.roles import ROLES, has_permission

_hasher = PasswordHasher()


class Department(BaseModel):
    name = CharField(max_length=80, unique=True)
    active = BooleanField(default=True)
    # The department's group robots: its notices (a complaint assigned, an urgent repair) are
    # posted there (models.notifications.notify_department).
    wecom_webhook = CharField(max_length=500, default="")
    dingtalk_webhook = CharField(max_length=500, default="")
    dingtalk_secret = CharField(max_length=200, default="")
    feishu_webhook = CharField(max_length=500, default="")
    feishu_secret = CharField(max_length=200, default="")

    audit_exclude = ("dingtalk_secret", "feishu_secret")
    audit_masked = ("wecom_webhook", "dingtalk_webhook", "feishu_webhook")

    def __str__(self):
        return self.name

    @classmethod
    def active_ones(cls):
        return cls.select().where(cls.active == True).order_by(cls.name)  # noqa: E712


class User(UserMixin, PinyinNamed):
    pinyin_source = "display_name"
    username = CharField(max_length=40, unique=True)
    display_name = CharField(max_length=80)
    department = ForeignKeyField(Department, null=True, backref="users", on_delete="SET NULL")
    is_active = BooleanField(default=True)
    locale = CharField(max_length=10, null=True)
    password_hash = CharField(max_length=255)
    must_change_password = BooleanField(default=False)
    # Bumped to end every open session of this user (password change, admin action).
    session_version = IntegerField(default=0)
    extension = CharField(max_length=20, default="")
    mobile = CharField(max_length=30, default="")  # private: never shown to the front desk
    availability = CharField(max_length=12, default="available")
    email = CharField(max_length=120, default="")  # notifications are mailed here when SMTP is set up
    # A person's robots (a WeCom, DingTalk or Feishu group of their own), set by an admin; which
    # notices go where, each person chooses (models.notifications.NotificationChoice).
    wecom_webhook = CharField(max_length=500, default="")
    dingtalk_webhook = CharField(max_length=500, default="")
    dingtalk_secret = CharField(max_length=200, default="")
    feishu_webhook = CharField(max_length=500, default="")
    feishu_secret = CharField(max_length=200, default="")
    created_at = DateTimeField(default=utcnow)
    last_login_at = DateTimeField(null=True)

    audit_exclude = ("password_hash", "session_version", "last_login_at", "availability", "dingtalk_secret",
                     "feishu_secret")
    audit_masked = ("wecom_webhook", "dingtalk_webhook", "feishu_webhook")

    def __str__(self):
        return self.display_name

    # Flask-Login: the id carries the session version, so bumping it logs out everywhere.
    def get_id(self):
        return f"{self.id}:{self.session_version}"

    def snapshot(self):
        values = super().snapshot()
        values["roles"] = ", ".join(self.roles)
        return values

    @property
    def roles(self):
        if not hasattr(self, "_roles"):
            self._roles = [r.role for r in self.role_rows.order_by(UserRole.id)]
        return self._roles

    @property
    def primary_role(self):
        return self.roles[0] if self.roles else None

    def can(self, permission):
        return self.is_active and has_permission(self.roles, permission)

    def check_password(self, password):
        try:
            return _hasher.verify(self.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    @classmethod
    def by_username(cls, username):
        return cls.get_or_none(cls.username == normalise_username(username))

    @classmethod
    def active_with_role(cls, role):
        return (cls.select().join(UserRole).where(UserRole.role == role, cls.is_active == True)  # noqa: E712
                .order_by(cls.display_name))

    @classmethod
    def listing(cls, q=None, include_inactive=True):
        query = cls.select(cls, Department).join(Department, join_type=JOIN.LEFT_OUTER).order_by(cls.username)
        if q:
            query = query.where(cls.username ** f"%{q}%" | cls.name_matches(q))
        if not include_inactive:
            query = query.where(cls.is_active == True)  # noqa: E712
        return with_roles(list(query))


AVAILABILITY = {
    "available": _l("Available"),
    "busy": _l("Busy"),
    "meeting": _l("In a meeting"),
    "away": _l("Out of the office"),
    "leave": _l("On leave"),
}


def set_availability(user, availability):
    if availability not in AVAILABILITY:
        raise ValueError(availability)
    User.update(availability=availability).where(User.id == user.id).execute()
    user.availability = availability


class UserRole(BaseModel):
    user = ForeignKeyField(User, backref="role_rows", on_delete="CASCADE")
    role = CharField(max_length=32)

    class Meta:
        indexes = ((("user", "role"), True),)


class LoginAttempt(BaseModel):
    username = CharField(max_length=40, index=True)
    at = DateTimeField(default=utcnow, index=True)
    success = BooleanField()
    ip = CharField(max_length=64, default="")


# audit, settings and submissions refer to User, so they are imported once it exists.
from models import audit  # noqa: E402


def with_roles(users):
    """Load the roles of many users in one query (a list page would otherwise ask per row)."""
    roles = {}
    rows = UserRole.select().where(UserRole.user.in_([u.id for u in users])).order_by(UserRole.id)
    for row in rows:
        roles.setdefault(row.user_id, []).append(row.role)
    for user in users:
        user._roles = roles.get(user.id, [])
    return users


def normalise_username(username):
    return (username or "").strip().lower()


def hash_password(password):
    return _hasher.hash(password)


def generate_password():
    """A one-time password that is easy to read aloud and type on a tablet."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3))


def _set_roles(user, roles):
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles: {', '.join(sorted(unknown))}")
    UserRole.delete().where(UserRole.user == user).execute()
    for role in dict.fromkeys(roles):
        UserRole.create(user=user, role=role)
    user._roles = list(dict.fromkeys(roles))


def create_user(actor, username, display_name, roles, password, department=None, must_change_password=False,
                **fields):
    """A new account; `fields` are further User columns (extension, mobile, email, locale)."""
    with write_transaction():
        user = User.create(
            username=normalise_username(username), display_name=display_name.strip(), department=department,
            password_hash=hash_password(password), must_change_password=must_change_password, **fields,
        )
        _set_roles(user, roles)
        audit.record_create(actor, user)
    return user


def update_user(actor, user, roles, **fields):
    """Change an account's details and roles. Deactivating ends its sessions."""
    with write_transaction():
        before = user.snapshot()
        for name, value in fields.items():
            setattr(user, name, value)
        if before["is_active"] and not user.is_active:
            user.session_version += 1
        user.save()
        _set_roles(user, roles)
        audit.record_change(actor, user, before)
    return user


def set_password(actor, user, password, must_change=False):
    with write_transaction():
        user.password_hash = hash_password(password)
        user.must_change_password = must_change
        user.session_version += 1
        user.save()
        audit.record_event(actor, "password_set", user)


def end_sessions(actor, user):
    with write_transaction():
        User.update(session_version=User.session_version + 1).where(User.id == user.id).execute()
        audit.record_event(actor, "sessions_ended", user)


def set_locale(user, locale):
    User.update(locale=locale).where(User.id == user.id).execute()
    user.locale = locale


def recent_failures(username, window_minutes, now=None):
    since = (now or utcnow()) - dt.timedelta(minutes=window_minutes)
    last_success = (LoginAttempt.select(fn.MAX(LoginAttempt.at))
                    .where(LoginAttempt.username == username, LoginAttempt.success == True)  # noqa: E712
                    .scalar())
    if last_success and last_success > since:
        since = last_success
    query = LoginAttempt.select().where(
        LoginAttempt.username == username, LoginAttempt.success == False, LoginAttempt.at > since,  # noqa: E712
    )
    return query.count(), query.order_by(LoginAttempt.at).first()


def record_login_attempt(username, success, ip):
    with write_transaction():
        LoginAttempt.create(username=normalise_username(username)[:40], success=success, ip=ip or "")
        if success:
            User.update(last_login_at=utcnow()).where(User.username == normalise_username(username)).execute()
