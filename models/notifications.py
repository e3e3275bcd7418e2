"""In-app notifications: the bell in the navigation with its count."""
import json
from urllib.parse import urlsplit

from flask import current_app, has_app_context, has_request_context, url_for
from flask_babel import gettext
from peewee import CharField, DateTimeField, ForeignKeyField, TextField
from werkzeug.routing import BuildError

from models.base import BaseModel, utcnow
from models.users import User


def N_(message):
    """Mark a message for translation; it is translated when the recipient reads it."""
    return message


class Notification(BaseModel):
    user = ForeignKeyField(User, backref="notifications", on_delete="CASCADE")
    message = TextField()  # an English msgid marked with N_(), translated on display
    params = TextField(default="{}")
    # The path itself, as versions before endpoints were stored wrote it; read for those rows only.
    stored_url = CharField(column_name="url", max_length=500, default="")
    endpoint = CharField(max_length=100, default="")
    endpoint_args = TextField(default="{}")
    created_at = DateTimeField(default=utcnow, index=True)
    read_at = DateTimeField(null=True)
    emailed_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("user", "read_at"), False),)

    @property
    def text(self):
        return gettext(self.message, **json.loads(self.params or "{}"))

    @property
    def url(self):
        """The path it opens: url_for in a request, else the path under PUBLIC_URL."""
        if not self.endpoint:
            return self.stored_url
        args = json.loads(self.endpoint_args or "{}")
        try:
            if has_request_context():
                return url_for(self.endpoint, **args)
            return _public_urls().build(self.endpoint, args)
        except BuildError:
            return ""  # a page a later release removed: the notification opens the home page

    @property
    def public_url(self):
        """The full address for a message that leaves the portal (PUBLIC_URL + path)."""
        if self.endpoint and self.url:
            return _public_urls().build(self.endpoint, json.loads(self.endpoint_args or "{}"), force_external=True)
        return current_app.config["PUBLIC_URL"].rstrip("/") + (self.stored_url or "/")

    @classmethod
    def unread_for(cls, user):
        return cls.select().where(cls.user == user, cls.read_at.is_null()).order_by(cls.created_at.desc())

    @classmethod
    def recent_for(cls, user, limit=20):
        return cls.select().where(cls.user == user).order_by(cls.created_at.desc()).limit(limit)


def _public_urls():
    """The app's routes bound to PUBLIC_URL: url_for(_external=True) would need SERVER_NAME."""
    public = urlsplit(current_app.config["PUBLIC_URL"])
    return current_app.url_map.bind(public.netloc, script_name=public.path.rstrip("/") or "/",
                                    url_scheme=public.scheme or "http")


def notify(user, message, link=None, **params):
    """Tell a member of staff: the bell at once, and an e-mail by a task where SMTP is set up.
    link is (endpoint, {arguments}) of the page the notification opens."""
    endpoint, args = link or ("", {})
    if endpoint and has_app_context():
        _public_urls().build(endpoint, args)  # a mistyped endpoint fails here, at its call site
    note = Notification.create(user=user, message=message, endpoint=endpoint,
                               endpoint_args=json.dumps(args, default=str),
                               params=json.dumps(params, ensure_ascii=False, default=str))
    if user.email and current_app.config.get("SMTP_HOST"):
        from tasks.notifications import email_notification
        email_notification(note.id)
    return note


def mark_read(user, notification_id=None):
    query = Notification.update(read_at=utcnow()).where(Notification.user == user, Notification.read_at.is_null())
    if notification_id is not None:
        query = query.where(Notification.id == notification_id)
    return query.execute()
