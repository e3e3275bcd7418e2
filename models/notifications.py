"""In-app notifications: the bell in the navigation with its count."""
import json

from flask_babel import gettext
from peewee import CharField, DateTimeField, ForeignKeyField, TextField

from models.base import BaseModel, utcnow
from models.users import User


def N_(message):
    """Mark a message for translation; it is translated when the recipient reads it."""
    return message


class Notification(BaseModel):
    user = ForeignKeyField(User, backref="notifications", on_delete="CASCADE")
    message = TextField()  # an English msgid marked with N_(), translated on display
    params = TextField(default="{}")
    url = CharField(max_length=500, default="")
    created_at = DateTimeField(default=utcnow, index=True)
    read_at = DateTimeField(null=True)
    emailed_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("user", "read_at"), False),)

    @property
    def text(self):
        return gettext(self.message, **json.loads(self.params or "{}"))

    @classmethod
    def unread_for(cls, user):
        return cls.select().where(cls.user == user, cls.read_at.is_null()).order_by(cls.created_at.desc())

    @classmethod
    def recent_for(cls, user, limit=20):
        return cls.select().where(cls.user == user).order_by(cls.created_at.desc()).limit(limit)


#: Called with each new notification: tasks.notifications queues its e-mail here, so the
#: model needs no import of the tasks.
AFTER_NOTIFY = []


def notify(user, message, url="", **params):
    """Tell a member of staff: the bell at once, and an e-mail by a task where SMTP is set up."""
    note = Notification.create(user=user, message=message, url=url,
                               params=json.dumps(params, ensure_ascii=False, default=str))
    for listener in AFTER_NOTIFY:
        listener(note)
    return note


def mark_read(user, notification_id=None):
    query = Notification.update(read_at=utcnow()).where(Notification.user == user, Notification.read_at.is_null())
    if notification_id is not None:
        query = query.where(Notification.id == notification_id)
    return query.execute()
