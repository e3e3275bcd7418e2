"""One-tap answers (一键回复): the links a host's visitor notice carries out of the portal
(e-mail, WeCom, DingTalk, Feishu), which answer the front desk without logging in.

A link holds a token signed with the app's secret under its own salt, naming the visit, the
host, the answer and when the link expires. A link answers only a visit not answered yet, and
the answer is written by visitors.apply under the version the link's check read: a replayed
link, a second link of the same message or two taps at once answer once, decided by the visit
itself. Nothing else is answered this way: approvals and anything touching money open the
portal after login."""
import datetime as dt
import time
from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer

from models import audit, settings, visitors
from models.base import DomainError, write_transaction
from models.notifications import ANSWER_PROVIDERS, public_url
from models.timezone import to_local
from models.users import User
from models.visitors import HOST_ANSWERS, VISITORS, Visit

LINK_HOURS = settings.define(
    "answer_link_hours", int, 2, _l("Hours a one-tap answer link in a host's visitor message stays valid"),
    VISITORS, minimum=1, maximum=24)
# Its own salt: a token signed for another purpose of the same secret never passes for an answer.
SALT = "visitor-one-tap-answer"
#: The notice whose links answer: the one telling a host that a visitor waits (and its reminder).
ANSWERED_ENDPOINT = "visitors.host_answer"

audit.ACTION_LABELS["answered_by_link"] = _l("Answered from a message link")


class LinkRefused(DomainError):
    """The link may not answer. `status` is the page's HTTP status; `host` and `visit` are known
    when the signature held (the page then speaks the host's language and names the visitor)."""

    def __init__(self, message, status=403, host=None, visit=None):
        super().__init__(message)
        self.status, self.host, self.visit = status, host, visit


@dataclass(frozen=True)
class Question:
    """What a valid link asks: this host answers this visit with this answer, until expires_at."""
    visit: Visit
    host: User
    answer: str
    expires_at: int  # seconds since the epoch

    @property
    def answer_label(self):
        return HOST_ANSWERS[self.answer]

    @property
    def expires_local(self):
        return to_local(_from_epoch(self.expires_at))


def _from_epoch(seconds):
    """Naive UTC, as every stored time."""
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).replace(tzinfo=None)


def _serializer():
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def token_for(visit, answer):
    """The signed token of one answer to one visit, valid for the set hours from now."""
    expires = int(time.time()) + settings.get(LINK_HOURS) * 3600
    return _serializer().dumps([visit.id, visit.host_id, answer, expires])


def links_for(note):
    """The notice's one-tap answers, [(label, full address)] in the current language: only for the
    host of a visitor still waiting for a first answer (a notice sent late carries none)."""
    if note.endpoint != ANSWERED_ENDPOINT:
        return []
    visit = Visit.get_or_none(Visit.id == note.link_args.get("visit_id"))
    if visit is None or visit.host_id != note.user_id or _closed(visit):
        return []
    return [(str(label), public_url("answers.reply", visit_id=visit.id, token=token_for(visit, answer)))
            for answer, label in HOST_ANSWERS.items()]


ANSWER_PROVIDERS.append(links_for)


def _closed(visit):
    """Why the visit takes no answer from a link any more, or None: answered already (a link
    answers once), else no longer waiting."""
    if visit.host_answer:
        return _l("You have already answered: %(answer)s (%(time)s).", answer=visit.host_answer_label,
                  time=visit.host_answer_time)
    if visit.state == "on_site":
        return _l("%(name)s is already with you (since %(time)s).", name=visit.visitor_name,
                  time=to_local(visit.on_site_since).strftime("%H:%M"))
    if visit.state == "left":
        return _l("%(name)s has already left (%(time)s).", name=visit.visitor_name,
                  time=to_local(visit.left_at).strftime("%H:%M") if visit.left_at else "—")
    return None


INVALID = _l("This link is not valid: it may have been cut short or changed.")


def question(visit_id, token):
    """What the link asks, or LinkRefused saying why it cannot be used: the signature first, then
    the expiry (an expired link says so, whatever became of the visit), then use and state."""
    try:
        visit_in_token, host_id, answer, expires = _serializer().loads(token)
    except (BadSignature, TypeError, ValueError):
        raise LinkRefused(INVALID) from None
    visit = Visit.get_or_none(Visit.id == visit_id)
    host = User.get_or_none(User.id == host_id)
    if (visit_in_token != visit_id or visit is None or host is None or visit.host_id != host.id
            or answer not in HOST_ANSWERS or not isinstance(expires, int)):
        raise LinkRefused(INVALID)
    if not host.is_active:
        raise LinkRefused(INVALID, host=host)
    if time.time() > expires:
        raise LinkRefused(_l("This link expired at %(time)s.", time=to_local(_from_epoch(expires)).strftime("%H:%M")),
                          status=410, host=host, visit=visit)
    if closed := _closed(visit):
        raise LinkRefused(closed, status=410, host=host, visit=visit)
    return Question(visit=visit, host=host, answer=answer, expires_at=expires)


def answer(visit_id, token):
    """Answer as the link says, once: the visit's answer (through visitors.apply, which tells the
    desk) and the audit entry commit together. Returns the answered visit."""
    with write_transaction():
        asked = question(visit_id, token)
        try:
            # Under the version question() read: of two taps at once, the second finds it changed.
            visit = visitors.apply(asked.host, visit_id, "answer", version=asked.visit.version, reply=asked.answer)
        except DomainError as refused:
            # Said as the visit now stands ("you have already answered"), read after the winner's commit.
            raise LinkRefused(_closed(Visit.get_by_id(visit_id)) or refused.message, status=410, host=asked.host,
                              visit=asked.visit) from None
        audit.record_event(asked.host, "answered_by_link", visit, changes={"host_answer": [None, asked.answer]})
    return visit
