"""Phone calls at the front desk (电话接听) and the replies promised on them."""
import datetime as dt

from flask_babel import lazy_gettext as _l
from peewee import JOIN, BooleanField, CharField, DateTimeField, ForeignKeyField, TextField

from models import audit, fulltext, settings
from models.base import BaseModel, DomainError, starts_with, utcnow, write_transaction
from models.notifications import N_, notify
from models.users import User

CALLS = _l("Phone calls")
PROMISE_REMINDER_MINUTES = settings.define(
    "promise_reminder_minutes", int, 30, _l("Minutes before a promised reply is due to remind the promiser"),
    CALLS, minimum=1, maximum=24 * 60)

CALL_TYPES = {
    "inquiry": _l("Inquiry"),
    "complaint": _l("Complaint"),
    "business": _l("Business"),
    "personal": _l("Personal"),
    "other": _l("Other"),
}
OUTCOMES = {
    "answered": _l("Answered"),
    "transferred": _l("Transferred"),
    "message": _l("Message taken"),
    "promised": _l("Reply promised"),
}

audit.name_record_type("call", _l("Phone call"))


class CallError(DomainError):
    """A rule of the phone calls refused the action."""


class Call(BaseModel):
    # Indexed for the calls search (models.calls.Call.matching).
    caller_name = CharField(max_length=80, index=True)
    organisation = CharField(max_length=120, default="")
    phone = CharField(max_length=30, index=True)
    reason = TextField()
    call_type = CharField(max_length=12)
    outcome = CharField(max_length=12)
    answer_text = TextField(default="")  # answered: what was said
    transferred_to = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    transfer_accepted = BooleanField(default=False)
    message_for = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    message_text = TextField(default="")
    promiser = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    reply_due = DateTimeField(null=True, index=True)
    reply_note = TextField(default="")
    replied_at = DateTimeField(null=True)
    reminded_at = DateTimeField(null=True)
    overdue_reported_at = DateTimeField(null=True)
    taken_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    taken_at = DateTimeField(default=utcnow, index=True)
    anonymised_at = DateTimeField(null=True)  # see models.privacy

    class Meta:
        # Open promises (promised, not replied, by due time) without scanning every call; the
        # calls the retention sweep has not anonymised yet, oldest first.
        indexes = ((("outcome", "replied_at", "reply_due"), False), (("anonymised_at", "taken_at"), False))

    @property
    def type_label(self):
        return CALL_TYPES.get(self.call_type, self.call_type)

    @property
    def outcome_label(self):
        return OUTCOMES.get(self.outcome, self.outcome)

    @property
    def is_complaint(self):
        return self.call_type == "complaint"

    @classmethod
    def promises_open(cls):
        """Promised replies not given yet, soonest due first, with who promised each."""
        return (cls.select(cls, User).join(User, JOIN.LEFT_OUTER, on=(cls.promiser == User.id))
                .where(cls.outcome == "promised", cls.replied_at.is_null())
                .order_by(cls.reply_due, cls.id))

    @classmethod
    def matching(cls, q):
        """Calls of any day whose reason holds the words typed, or whose caller's name or number starts
        with them; the newest first."""
        q = q.strip()
        return (cls.select().where(fulltext.matches("call", q) | starts_with(cls.caller_name, q)
                                   | starts_with(cls.phone, q))
                .order_by(cls.taken_at.desc(), cls.id.desc()))

    def complaint_prefill(self):
        """What a complaint intake takes over from this call (the hand-over point)."""
        return {"name": self.caller_name, "phone": self.phone, "organisation": self.organisation,
                "channel": "phone", "content": self.reason, "call_id": self.id}


fulltext.register("call", 2, Call, Call.reason)


def reply_due_refusal(reply_due):
    """Why a promised reply cannot be due then (naive UTC), or None. The form asks it too,
    so the desk sees it together with the form's other errors."""
    if reply_due is not None and reply_due <= utcnow():
        return _l("The promised reply must be due in the future.")
    return None


def log_call(actor, *, caller_name, organisation, phone, reason, call_type, outcome, answer_text="",
             transferred_to=None, transfer_accepted=False, message_for=None, message_text="", promiser=None,
             reply_due=None):
    if call_type not in CALL_TYPES or outcome not in OUTCOMES:
        raise CallError(_l("Choose the type and what was done from the lists."), field="outcome")
    for field, person in (("transferred_to", transferred_to), ("message_for", message_for), ("promiser", promiser)):
        if person is not None and not person.is_active:
            raise CallError(_l("%(name)s is deactivated; choose someone else.", name=person.display_name),
                            field=field)
    if outcome == "promised" and (late := reply_due_refusal(reply_due)):
        raise CallError(late, field="reply_due")
    with write_transaction():
        call = Call.create(caller_name=caller_name, organisation=organisation, phone=phone, reason=reason,
                           call_type=call_type, outcome=outcome, answer_text=answer_text,
                           transferred_to=transferred_to, transfer_accepted=transfer_accepted,
                           message_for=message_for, message_text=message_text, promiser=promiser,
                           reply_due=reply_due, taken_by=actor)
        fulltext.index(call)
        audit.record_create(actor, call)
    if outcome == "message" and message_for is not None:
        notify(message_for, N_("Phone message from %(caller)s (%(phone)s): %(text)s"),
               link=("calls.show", {"call_id": call.id}), about=call, caller=caller_name, phone=phone,
               text=message_text[:120])
    if outcome == "promised" and promiser is not None and promiser.id != (actor.id if actor else None):
        notify(promiser, N_("A reply to %(caller)s was promised in your name."),
               link=("calls.show", {"call_id": call.id}), about=call, caller=caller_name)
    if call_type == "complaint":
        from models.duty import log_system_event
        log_system_event("complaint_call", f"投诉来电：{caller_name}（{phone}）{reason[:100]}", "calls", about=call)
    return call


def close_promise(actor, call, note):
    if not note.strip():
        raise CallError(_l("Write what was replied."), field="reply_note")
    with write_transaction():
        call = Call.get_by_id(call.id)
        if call.outcome != "promised" or call.replied_at is not None:
            raise CallError(_l("This promise is already closed."))
        before = call.snapshot()
        call.reply_note = note.strip()
        call.replied_at = utcnow()
        call.save()
        audit.record_change(actor, call, before)
    return call


def sweep_promises(now=None):
    """Remind the promiser before the deadline; tell the service managers once it is
    missed. Each step is marked, so a missed run is caught up and a repeat does nothing."""
    now = now or utcnow()
    done = 0
    soon = now + dt.timedelta(minutes=settings.get(PROMISE_REMINDER_MINUTES))
    # Each mark commits with the messages it stands for: a sweep killed in between
    # leaves the call unmarked, and the next run sends them.
    for call in Call.promises_open().where(Call.reminded_at.is_null(), Call.reply_due <= soon, Call.reply_due > now):
        with write_transaction():
            if Call.update(reminded_at=now).where(Call.id == call.id, Call.reminded_at.is_null()).execute():
                if call.promiser_id:
                    # Due within minutes: after the quiet hours it would come too late to keep the promise.
                    notify(call.promiser, N_("Reply due soon to %(caller)s (%(phone)s)."), link=("calls.show", {"call_id": call.id}),
                           urgent=True, about=call, caller=call.caller_name, phone=call.phone)
                done += 1
    for call in Call.promises_open().where(Call.overdue_reported_at.is_null(), Call.reply_due <= now):
        with write_transaction():
            if Call.update(overdue_reported_at=now).where(Call.id == call.id,
                                                           Call.overdue_reported_at.is_null()).execute():
                who = call.promiser.display_name if call.promiser_id else "—"
                for manager in User.active_with_role("service_manager"):
                    notify(manager, N_("Missed promise: %(who)s did not reply to %(caller)s in time."),
                           link=("calls.show", {"call_id": call.id}), urgent=True, about=call, who=who,
                           caller=call.caller_name)
                done += 1
    return done
