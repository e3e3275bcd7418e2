"""In-app notifications: the bell in the navigation with its count, and the outbox that
delivers them on other channels (e-mail, WeCom, DingTalk, Feishu) after the commit.

notify() only writes rows, in the caller's transaction: a notification whose transaction
rolls back is never delivered, and nothing is queued before the commit. Each person chooses,
per kind of notice, the channels beyond the bell (NotificationChoice); a department's group
robots get that department's notices (notify_department). What is not urgent waits for the end
of the quiet hours. The minute sweep (tasks/notifications.py) delivers what is due with
deliver_pending()."""
import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Callable
from urllib.parse import parse_qs, urlsplit

from flask import current_app, has_app_context, has_request_context, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, TextField
from werkzeug.routing import BuildError

from models import audit, settings
from models.base import BaseModel, readable, utcnow, write_transaction
from models.daytimes import TimeRanges
from models.personal_copies import remember
from models.users import Department, User


def N_(message):
    """Mark a message for translation; it is translated when the recipient reads it."""
    return message


NOTIFICATIONS = _l("Notifications")
RETRY_MINUTES = settings.define(
    "notification_retry_minutes", int, 1,
    _l("Minutes before a failed message (e-mail, WeCom, DingTalk, Feishu) is tried again (doubled each time)"),
    NOTIFICATIONS, minimum=1, maximum=24 * 60)
MAX_ATTEMPTS = settings.define(
    "notification_max_attempts", int, 8, _l("Attempts to send a message before giving up"), NOTIFICATIONS,
    minimum=1, maximum=50)
QUIET_HOURS = settings.define(
    "notification_quiet_hours", TimeRanges, TimeRanges("22:00-08:00"),
    _l("Quiet hours: messages that are not urgent wait until they end"), NOTIFICATIONS,
    help=_l("Local time, start-end, e.g. “22:00-08:00”; empty: none. The bell shows everything at once, and "
            "urgent notices (a visitor waiting, an urgent repair, an escalation) are sent at once."))
# Far beyond the SMTP and robot timeouts (20 s, 10 s): a claim this old means the consumer died mid-send.
CLAIM_LOST_AFTER = dt.timedelta(minutes=10)
# Rows per channel per sweep: a backlog is worked off over a few minutes, not in one long run.
SWEEP_BATCH = 200

audit.name_record_type("notification", _l("Notification"))
audit.name_record_type("notification_choice", _l("Notification channels"))
audit.ACTION_LABELS.update({
    "delivery_failed": _l("Delivery failed"),
    "delivery_given_up": _l("Delivery given up"),
    "delivery_interrupted": _l("Delivery interrupted"),
    "delivery_unanswered": _l("Delivery unanswered: outcome unknown"),
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
        return _text(self.message, self.params)

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
    def locale(self):
        """The language a message leaving the portal is written in (None: the site's)."""
        return self.user.locale

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


def _text(msgid, params):
    """The notice in the reader's language, an anonymised name or number in it included."""
    return gettext(msgid, **{key: readable(value) for key, value in json.loads(params or "{}").items()})


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


# The kinds of notice a person routes, by the area of the page the notice opens: one table
# here rather than a kind at each of the many notify() calls. An area not named is "other".
KINDS = {
    "visitors": _l("Visitors at the front desk"),
    "desk": _l("Mail and phone messages"),
    "complaints": _l("Complaints and callbacks"),
    "repairs": _l("Repairs, emergencies and the duty log"),
    "approvals": _l("Approvals: purchases, compensations, trips, broadcasts"),
    "other": _l("Reminders and everything else"),
}
KIND_OF_AREA = {
    "visitors": "visitors", "mail": "desk", "calls": "desk",
    "complaints": "complaints", "callbacks": "complaints", "home_visits": "complaints", "service_visits": "complaints",
    "repairs": "repairs", "incidents": "repairs", "duty": "repairs",
    "procurement": "approvals", "compensations": "approvals", "vehicles": "approvals", "broadcast": "approvals",
}


def kind_of(endpoint):
    return KIND_OF_AREA.get((endpoint or "").split(".")[0], "other")


@dataclass(frozen=True)
class Webhook:
    """A group robot's address: the webhook URL its group settings show, and the signing
    secret when the robot has signing ("加签", "签名校验") turned on."""
    url: str
    secret: str = ""


@dataclass(frozen=True)
class Robot:
    """What a robot's webhook looks like, to check what an admin pastes: the path and the
    query key of the vendor's webhook (any host: private deployments have their own)."""
    path: str
    key: str
    example: str


ROBOTS = {
    "wecom": Robot(r"/cgi-bin/webhook/send/?", "key", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…"),
    "dingtalk": Robot(r"/robot/send/?", "access_token", "https://oapi.dingtalk.com/robot/send?access_token=…"),
    "feishu": Robot(r"/open-apis/bot/v2/hook/[A-Za-z0-9._~-]+/?", "", "https://open.feishu.cn/open-apis/bot/v2/hook/…"),
}


def webhook_problem(channel, url):
    """Why `url` is not a webhook of that channel's robots, for the admin; None when it is."""
    robot = ROBOTS[channel]
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    if (parts.scheme != "https" or not parts.hostname or not re.fullmatch(robot.path, parts.path)
            or (robot.key and not query.get(robot.key, [""])[0])):
        return _l("Paste the robot's webhook address, like %(example)s", example=robot.example)
    return None


def secret_problem(channel, secret):
    """Why `secret` is not a signing secret of that channel's robots; None when it is (or empty)."""
    if secret and not re.fullmatch(r"SEC[0-9a-fA-F]{8,}" if channel == "dingtalk" else r"[0-9A-Za-z]{8,}", secret):
        return (_l("The signing secret starts with SEC, as the robot's settings show it.") if channel == "dingtalk"
                else _l("Paste the signing secret as the robot's settings show it."))
    return None


def _webhook(channel):
    def address(owner):
        url = getattr(owner, f"{channel}_webhook", "")
        return Webhook(url, getattr(owner, f"{channel}_secret", "")) if url else None
    return address


@dataclass(frozen=True)
class Channel:
    """A way out of the portal: whether it is set up, the address of a person (or of a
    department's group robot) on it (falsy = none), and the server an address is reached
    through (a robot's webhook; for e-mail the one SMTP server every address shares)."""
    label: object
    configured: Callable[[], bool]
    address: Callable[[object], object]
    server: Callable[[object], str] = lambda webhook: webhook.url


class Unreachable(Exception):
    """A sender could not reach the server (refused, no such host, no connection in time):
    nothing left, so the message is tried again later."""


class Unanswered(Exception):
    """The message was sent but no answer came in time: it may have arrived, so it is not sent
    again (never twice; the bell has it)."""


# Configuration lives on the app: outside one (a model function in a script) no channel is set up.
CHANNELS = {
    "email": Channel(_l("E-mail"),
                     configured=lambda: has_app_context() and bool(current_app.config.get("SMTP_HOST")),
                     address=lambda owner: getattr(owner, "email", ""), server=lambda address: "smtp"),
    "wecom": Channel(_l("WeCom"), configured=has_app_context, address=_webhook("wecom")),
    "dingtalk": Channel(_l("DingTalk"), configured=has_app_context, address=_webhook("dingtalk")),
    "feishu": Channel(_l("Feishu"), configured=has_app_context, address=_webhook("feishu")),
}


def reaching(user):
    """The channels beyond the bell that can reach this person now: set up, with an address."""
    return [name for name, channel in CHANNELS.items() if channel.configured() and channel.address(user)]


class NotificationChoice(BaseModel):
    """The channels a person chose for one kind of notice; the bell always shows it. Without
    a row, every channel that reaches them (as before channels were chosen)."""
    user = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    kind = CharField(max_length=16)
    channels = CharField(max_length=100, default="")  # channel names, comma-separated

    class Meta:
        indexes = ((("user", "kind"), True),)


def choices_for(user):
    """{kind: [channel]} the person's messages go to, over the channels that reach them now."""
    available = reaching(user)
    # Most people have no channel but the bell: no query for them on every notice.
    stored = {row.kind: row.channels.split(",") for row in
              NotificationChoice.select().where(NotificationChoice.user == user)} if available else {}
    return {kind: [c for c in available if c in stored.get(kind, available)] for kind in KINDS}


def choose_channels(user, chosen):
    """Store a person's choice ({kind: [channel]}); the change is audited."""
    before = choices_for(user)
    with write_transaction():
        for kind in KINDS:
            channels = ",".join(c for c in CHANNELS if c in chosen.get(kind, ()))
            NotificationChoice.insert(user=user, kind=kind, channels=channels).on_conflict(
                conflict_target=[NotificationChoice.user, NotificationChoice.kind],
                update={NotificationChoice.channels: channels}).execute()
        after = choices_for(user)
        changes = {kind: [",".join(before[kind]), ",".join(after[kind])]
                   for kind in KINDS if before[kind] != after[kind]}
        if changes:
            audit.record_event(user, "update", record_type="notification_choice", changes=changes)


def _due(now, urgent):
    """When a new message should go: at once if urgent, else after the quiet hours."""
    return now if urgent else settings.get(QUIET_HOURS).first_moment_outside(now)


class Outbox(BaseModel):
    """What every outbox row holds: a message on one channel, and where its sending stands."""
    channel = CharField(max_length=16)
    # When the sweep should try; NULL once sent, given up or claimed, so the sweep's
    # index holds only the few rows still to send, however many notifications there are.
    due_at = DateTimeField(null=True)
    claimed_at = DateTimeField(null=True, index=True)
    attempts = IntegerField(default=0)
    sent_at = DateTimeField(null=True)
    error = TextField(default="")  # the last failure's reason (as the channel said it, or a msgid of ours)
    urgent = BooleanField(default=False)  # sent in quiet hours too, retries included

    @property
    def state(self):
        """Where a failed row stands, for the admin: retrying, being sent, interrupted, unanswered
        (both: it may have left, not sent again) or given up."""
        if self.due_at is not None:
            return "retrying"
        if self.claimed_at is not None:
            return "sending"
        return {INTERRUPTED: "interrupted", UNANSWERED: "unanswered"}.get(self.error, "given_up")

    @property
    def reason(self):
        """The last failure as the admin reads it: the channel's own words, or ours translated."""
        return gettext(self.error) if self.error in (INTERRUPTED, UNANSWERED) else self.error

    @classmethod
    def failing(cls):
        """Rows whose last try failed and that are not sent: retrying, given up, interrupted or unanswered."""
        return cls.with_owner().where(cls.error != "", cls.sent_at.is_null()).order_by(cls.id.desc())


class NotificationDelivery(Outbox):
    """One notification on one channel: the outbox row the sweep works from."""
    notification = ForeignKeyField(Notification, backref="deliveries", on_delete="CASCADE")

    class Meta:
        indexes = ((("channel", "due_at"), False), (("notification", "channel"), True))

    @classmethod
    def with_owner(cls):
        return cls.select(cls, Notification, User).join(Notification).join(User)

    @property
    def message(self):
        return self.notification

    @property
    def owner(self):
        return self.notification.user

    @property
    def audited(self):
        return self.notification


class DepartmentDelivery(Outbox):
    """A department's notice to one of its group robots: nobody's bell, and not one person's.
    `key` names the event, so a notice told twice (a repeated sweep, a loop over the
    department's people) is one row, sent once."""
    department = ForeignKeyField(Department, backref="+", on_delete="CASCADE")
    key = CharField(max_length=120)
    msgid = TextField()  # an English msgid marked with N_(), translated when sent
    params = TextField(default="{}")
    endpoint = CharField(max_length=100, default="")
    endpoint_args = TextField(default="{}")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("channel", "due_at"), False), (("department", "key", "channel"), True))

    @classmethod
    def with_owner(cls):
        return cls.select(cls, Department).join(Department)

    @property
    def message(self):
        return self

    @property
    def owner(self):
        return self.department

    @property
    def audited(self):
        return self.department

    # What a sender reads of a message (as of a Notification): the site's language, no answers.
    locale = None
    answer_links = ()

    @property
    def text(self):
        return _text(self.msgid, self.params)

    @property
    def public_url(self):
        if self.endpoint:
            return public_url(self.endpoint, **json.loads(self.endpoint_args or "{}"))
        return current_app.config["PUBLIC_URL"]


OUTBOXES = (NotificationDelivery, DepartmentDelivery)
for _outbox in OUTBOXES:
    # The admin's list of failures (Outbox.failing): only unsent rows, the few still due and the
    # failed, not every message ever sent.
    _outbox.add_index(_outbox.index(_outbox.id, name=f"{_outbox._meta.table_name}_unsent").where(
        _outbox.sent_at.is_null()))
INTERRUPTED = N_("The consumer stopped while sending: the message may have left, so it is not sent again.")
UNANSWERED = N_("Sent, but no answer came in time: the message may have arrived, so it is not sent again.")


def notify(user, message, link=None, *, urgent=False, about=(), **params):
    """Tell a member of staff: the bell at once; each channel they chose for this kind of
    notice gets an outbox row the sweep delivers after the commit (at once if urgent, else
    after the quiet hours). link is (endpoint, {arguments}) of the page the notification opens;
    about names the record(s) whose personal data the params copy (a visit, a call, a customer),
    so anonymising the record blanks them here too (models.personal_copies)."""
    endpoint, args = link or ("", {})
    if endpoint and has_app_context():
        _public_urls().build(endpoint, args)  # a mistyped endpoint fails here, at its call site
    with write_transaction():
        note = Notification.create(user=user, message=message, endpoint=endpoint,
                                   endpoint_args=_serialised(args),
                                   params=json.dumps(params, ensure_ascii=False, default=str))
        remember(note, about)
        # Decided now: a person without an address never gets a row to rescan, and setting
        # SMTP up later does not mail the whole history.
        channels = choices_for(user)[kind_of(endpoint)]
        due = _due(note.created_at, urgent)
        for name in channels:
            NotificationDelivery.create(notification=note, channel=name, due_at=due, urgent=urgent)
    return note


def notify_department(department_id, key, message, link=None, *, urgent=False, about=(), **params):
    """Post a department's notice to the group robots an admin set for it, once per `key`
    (the event: "complaint 12 assigned, version 3"), in the caller's transaction; about as
    for notify()."""
    department = Department.get_or_none(Department.id == department_id) if department_id else None
    if department is None:
        return 0
    endpoint, args = link or ("", {})
    now = utcnow()
    rows = [dict(department=department, key=key[:120], channel=name, msgid=message, endpoint=endpoint,
                 endpoint_args=_serialised(args), params=json.dumps(params, ensure_ascii=False, default=str),
                 created_at=now, due_at=_due(now, urgent), urgent=urgent)
            for name, channel in CHANNELS.items()
            if name in ROBOTS and channel.configured() and channel.address(department)]
    if rows:
        with write_transaction():
            DepartmentDelivery.insert_many(rows).on_conflict_ignore().execute()
            if about:
                for delivery in DepartmentDelivery.select(DepartmentDelivery.id).where(
                        DepartmentDelivery.department == department, DepartmentDelivery.key == key[:120]):
                    remember(delivery, about)
    return len(rows)


def mark_read(user, notification_id=None):
    query = Notification.update(read_at=utcnow()).where(Notification.user == user, Notification.read_at.is_null())
    if notification_id is not None:
        query = query.where(Notification.id == notification_id)
    return query.execute()


def deliver_pending(senders, now=None):
    """Deliver what is due on each configured channel, urgent messages first; senders maps a
    channel to send(notification, address), which raises on failure. Returns how many were sent.

    Each row is claimed by a conditional update committed before sending, so two sweeps
    never both send it. A consumer killed between the claim and the result leaves the row
    claimed: it is reported in the audit log, not sent again, because the mail may have
    left already and the bell still shows the notification (at most once, never twice).
    A server that did not answer (Unreachable, Unanswered) is not asked again in this sweep:
    its other rows stay due, untried, instead of each waiting out the timeout in turn."""
    now = now or utcnow()
    due = []
    for outbox in OUTBOXES:
        _report_lost_claims(outbox, now)
        for name in senders:
            if not CHANNELS[name].configured():
                continue  # rows wait until the channel is set up again
            due.extend(outbox.with_owner().where(outbox.channel == name, outbox.due_at <= now)
                       .order_by(outbox.urgent.desc(), outbox.due_at).limit(SWEEP_BATCH))
    silent = set()
    sent = 0
    for row in sorted(due, key=lambda row: (not row.urgent, row.due_at)):
        channel = CHANNELS[row.channel]
        address = channel.address(row.owner)
        server = (row.channel, channel.server(address)) if address else None
        if server in silent or not _claim(type(row), row):
            continue
        row.attempts += 1  # as the claim counted it
        delivered, answered = _attempt(row, senders[row.channel], address)
        sent += delivered
        if not answered:
            silent.add(server)
    return sent


def _claim(outbox, row):
    with write_transaction():
        return (outbox.update(due_at=None, claimed_at=utcnow(), attempts=outbox.attempts + 1)
                .where(outbox.id == row.id, outbox.due_at == row.due_at).execute()) == 1


def _attempt(delivery, send, address):
    """Send one claimed row to `address`: (1 if sent else 0, whether its server answered)."""
    outbox = type(delivery)
    try:
        if not address:
            raise LookupError(f"{delivery.owner} has no {delivery.channel} address any more")
        send(delivery.message, address)
    except Unanswered as exc:
        reason = f"{type(exc).__name__}: {exc}"[:1000]
        with write_transaction():
            outbox.update(claimed_at=None, error=UNANSWERED).where(outbox.id == delivery.id).execute()
            audit.record_event(None, "delivery_unanswered", delivery.audited, reason=reason,
                               changes={"channel": [None, delivery.channel], "attempts": [None, delivery.attempts]})
        current_app.logger.warning("%s %s by %s unanswered: %s", outbox.__name__, delivery.id, delivery.channel,
                                   reason)
        return 0, False
    except Exception as exc:  # whatever the channel raised is the reason kept for the admin
        reason = f"{type(exc).__name__}: {exc}"[:1000]
        again = delivery.attempts < settings.get(MAX_ATTEMPTS) and address
        delay = dt.timedelta(minutes=settings.get(RETRY_MINUTES) * 2 ** (delivery.attempts - 1))
        with write_transaction():
            outbox.update(claimed_at=None, error=reason,
                          due_at=_due(utcnow() + delay, delivery.urgent) if again else None).where(
                outbox.id == delivery.id).execute()
            audit.record_event(None, "delivery_failed" if again else "delivery_given_up", delivery.audited,
                               reason=reason,
                               changes={"channel": [None, delivery.channel], "attempts": [None, delivery.attempts]})
        current_app.logger.warning("%s %s by %s failed: %s", outbox.__name__, delivery.id, delivery.channel, reason)
        return 0, not isinstance(exc, Unreachable)
    with write_transaction():
        outbox.update(claimed_at=None, sent_at=utcnow()).where(outbox.id == delivery.id).execute()
    return 1, True


def _report_lost_claims(outbox, now):
    for delivery in outbox.select().where(outbox.claimed_at < now - CLAIM_LOST_AFTER):
        with write_transaction():
            if outbox.update(claimed_at=None, error=INTERRUPTED).where(
                    outbox.id == delivery.id, outbox.claimed_at == delivery.claimed_at).execute():
                audit.record_event(None, "delivery_interrupted", delivery.audited,
                                   changes={"channel": [None, delivery.channel]})
