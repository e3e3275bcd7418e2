"""In-app notifications: the bell in the navigation with its count, and the outbox that
delivers them on other channels (e-mail now; WeCom, DingTalk… later) after the commit.

notify() only writes rows, in the caller's transaction: a notification whose transaction
rolls back is never delivered, and nothing is queued before the commit. The minute sweep
(tasks/notifications.py) delivers what is due with deliver_pending()."""
import datetime as dt
import json
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlsplit

from flask import current_app, has_app_context, has_request_context, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, TextField
from werkzeug.routing import BuildError

from models import audit, settings
from models.base import BaseModel, utcnow, write_transaction
from models.users import User


def N_(message):
    """Mark a message for translation; it is translated when the recipient reads it."""
    return message


NOTIFICATIONS = _l("Notifications")
RETRY_MINUTES = settings.define(
    "notification_retry_minutes", int, 1, _l("Minutes before a failed e-mail is tried again (doubled each time)"),
    NOTIFICATIONS, minimum=1, maximum=24 * 60)
MAX_ATTEMPTS = settings.define(
    "notification_max_attempts", int, 8, _l("Attempts to send an e-mail before giving up"), NOTIFICATIONS,
    minimum=1, maximum=50)
# Far beyond send_mail's 20 s SMTP timeout: a claim this old means the consumer died mid-send.
CLAIM_LOST_AFTER = dt.timedelta(minutes=10)
# Rows per channel per sweep: a backlog is worked off over a few minutes, not in one long run.
SWEEP_BATCH = 200

audit.name_record_type("notification", _l("Notification"))
audit.ACTION_LABELS.update({
    "delivery_failed": _l("Delivery failed"),
    "delivery_given_up": _l("Delivery given up"),
    "delivery_interrupted": _l("Delivery interrupted"),
})


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

    @property
    def answer_links(self):
        """One-tap answers a message leaving the portal carries: [(label, full address)]."""
        return [link for provider in ANSWER_PROVIDERS for link in provider(self)]

    @classmethod
    def linking_to(cls, endpoint, **args):
        """The condition "opens this page", for finding the notifications about one record."""
        return (cls.endpoint == endpoint) & (cls.endpoint_args == _serialised(args))

    @property
    def link_args(self):
        return json.loads(self.endpoint_args or "{}")

    @classmethod
    def unread_for(cls, user):
        return cls.select().where(cls.user == user, cls.read_at.is_null()).order_by(cls.created_at.desc())

    @classmethod
    def recent_for(cls, user, limit=20):
        return cls.select().where(cls.user == user).order_by(cls.created_at.desc()).limit(limit)


def _serialised(args):
    """One spelling of a link's arguments, so a stored link can be looked up by equality."""
    return json.dumps(args, default=str, sort_keys=True)


def _public_urls():
    """The app's routes bound to PUBLIC_URL: url_for(_external=True) would need SERVER_NAME."""
    public = urlsplit(current_app.config["PUBLIC_URL"])
    return current_app.url_map.bind(public.netloc, script_name=public.path.rstrip("/") or "/",
                                    url_scheme=public.scheme or "http")


def public_url(endpoint, **args):
    """A page's full address under PUBLIC_URL, outside any request (a task's printed QR code)."""
    return _public_urls().build(endpoint, args, force_external=True)


#: provider(notification) -> [(label, full address)]: the areas whose notices can be answered
#: from the message itself (a host's visitor notice) register here; empty for the rest.
ANSWER_PROVIDERS = []


@dataclass(frozen=True)
class Channel:
    """A way out of the portal: whether it is set up, and a person's address on it ("" = none)."""
    configured: Callable[[], bool]
    address: Callable[[User], str]


# Configuration lives on the app: outside one (a model function in a script) no channel is set up.
CHANNELS = {
    "email": Channel(configured=lambda: has_app_context() and bool(current_app.config.get("SMTP_HOST")),
                     address=lambda user: user.email or ""),
}


class NotificationDelivery(BaseModel):
    """One notification on one channel: the outbox row the sweep works from."""
    notification = ForeignKeyField(Notification, backref="deliveries", on_delete="CASCADE")
    channel = CharField(max_length=16)
    # When the sweep should try; NULL once sent, given up or claimed, so the sweep's
    # index holds only the few rows still to send, however many notifications there are.
    due_at = DateTimeField(null=True)
    claimed_at = DateTimeField(null=True, index=True)
    attempts = IntegerField(default=0)
    sent_at = DateTimeField(null=True)
    error = TextField(default="")  # the last failure's reason

    class Meta:
        indexes = ((("channel", "due_at"), False), (("notification", "channel"), True))


def notify(user, message, link=None, **params):
    """Tell a member of staff: the bell at once; each channel that reaches them gets an
    outbox row the sweep delivers after the commit. link is (endpoint, {arguments}) of
    the page the notification opens."""
    endpoint, args = link or ("", {})
    if endpoint and has_app_context():
        _public_urls().build(endpoint, args)  # a mistyped endpoint fails here, at its call site
    with write_transaction():
        note = Notification.create(user=user, message=message, endpoint=endpoint,
                                   endpoint_args=_serialised(args),
                                   params=json.dumps(params, ensure_ascii=False, default=str))
        for name, channel in CHANNELS.items():
            # Decided now: a person without an address never gets a row to rescan, and
            # setting SMTP up later does not mail the whole history.
            if channel.configured() and channel.address(user):
                NotificationDelivery.create(notification=note, channel=name, due_at=note.created_at)
    return note


def mark_read(user, notification_id=None):
    query = Notification.update(read_at=utcnow()).where(Notification.user == user, Notification.read_at.is_null())
    if notification_id is not None:
        query = query.where(Notification.id == notification_id)
    return query.execute()


def deliver_pending(senders, now=None):
    """Deliver what is due on each configured channel; senders maps a channel to
    send(notification, address), which raises on failure. Returns how many were sent.

    Each row is claimed by a conditional update committed before sending, so two sweeps
    never both send it. A consumer killed between the claim and the result leaves the row
    claimed: it is reported in the audit log, not sent again, because the mail may have
    left already and the bell still shows the notification (at most once, never twice)."""
    now = now or utcnow()
    _report_lost_claims(now)
    sent = 0
    for name, send in senders.items():
        if not CHANNELS[name].configured():
            continue  # rows wait until the channel is set up again
        due = (NotificationDelivery.select(NotificationDelivery.id, NotificationDelivery.due_at)
               .where(NotificationDelivery.channel == name, NotificationDelivery.due_at <= now)
               .order_by(NotificationDelivery.due_at).limit(SWEEP_BATCH))
        for row in list(due):
            if _claim(row):
                sent += _attempt(NotificationDelivery.get_by_id(row.id), send)
    return sent


def _claim(row):
    with write_transaction():
        return (NotificationDelivery
                .update(due_at=None, claimed_at=utcnow(), attempts=NotificationDelivery.attempts + 1)
                .where(NotificationDelivery.id == row.id, NotificationDelivery.due_at == row.due_at)
                .execute()) == 1


def _attempt(delivery, send):
    note = delivery.notification
    address = CHANNELS[delivery.channel].address(note.user)
    try:
        if not address:
            raise LookupError(f"{note.user.username} has no {delivery.channel} address any more")
        send(note, address)
    except Exception as exc:  # whatever the channel raised is the reason kept for the admin
        reason = f"{type(exc).__name__}: {exc}"[:1000]
        again = delivery.attempts < settings.get(MAX_ATTEMPTS) and address
        delay = dt.timedelta(minutes=settings.get(RETRY_MINUTES) * 2 ** (delivery.attempts - 1))
        with write_transaction():
            NotificationDelivery.update(claimed_at=None, error=reason,
                                        due_at=utcnow() + delay if again else None).where(
                NotificationDelivery.id == delivery.id).execute()
            audit.record_event(None, "delivery_failed" if again else "delivery_given_up", note, reason=reason,
                               changes={"channel": [None, delivery.channel], "attempts": [None, delivery.attempts]})
        current_app.logger.warning("notification %s by %s failed: %s", note.id, delivery.channel, reason)
        return 0
    with write_transaction():
        NotificationDelivery.update(claimed_at=None, sent_at=utcnow()).where(
            NotificationDelivery.id == delivery.id).execute()
    return 1


def _report_lost_claims(now):
    lost = NotificationDelivery.select().where(NotificationDelivery.claimed_at < now - CLAIM_LOST_AFTER)
    for delivery in lost:
        with write_transaction():
            if NotificationDelivery.update(claimed_at=None).where(
                    NotificationDelivery.id == delivery.id,
                    NotificationDelivery.claimed_at == delivery.claimed_at).execute():
                audit.record_event(None, "delivery_interrupted", delivery.notification,
                                   changes={"channel": [None, delivery.channel]})
