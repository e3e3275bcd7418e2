"""Personal data under the PIPL (个人信息保护法): how long each kind is kept, and what the
portal holds about one person, to show it, hand it over or anonymise it on request.

Anonymising overwrites the personal fields with ANONYMISED and stamps anonymised_at in the
same transaction; the row stays, so numbers (编号), counts and reports are unchanged, and a
page or printed form shows the marker where the name or number was. The record's own audit
entries lose those values too: an audit trail that kept them would keep the person, and so do the
copies the portal made of them in notices and duty-log lines (models.personal_copies)."""
import datetime as dt
import json
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from peewee import fn

from models import audit, fulltext, settings
from models.audit import AuditEntry
from models.base import ANONYMISED, DomainError, utcnow, write_transaction
from models.callbacks import Callback
from models.calls import Call
from models.compensations import Compensation
from models.complaints import OPEN_STATES as COMPLAINTS_OPEN, Complaint, Customer
from models.desk_items import LostItem, MailItem
from models.duty import DutyEntry
from models.home_visits import OPEN_STATES as HOME_VISITS_OPEN, HomeVisit
from models.notifications import DepartmentDelivery, Notification
from models.personal_copies import copies_of
from models.phones import normalise_phone
from models.pinyin import PinyinNamed
from models.returns import OPEN_STATES as RETURNS_OPEN, GoodsReturn
from models.service_visits import OPEN_STATES as SERVICE_VISITS_OPEN, ServiceVisit
from models.visitors import Appointment, Visit, WatchlistEntry

PRIVACY = _l("Personal data")
VISITOR_DAYS = settings.define(
    "visitor_data_retention_days", int, 30,
    _l("Days a visitor's phone number, ID number and car plate are kept after the visit"), PRIVACY,
    minimum=1, maximum=3650)
CALLER_DAYS = settings.define(
    "caller_phone_retention_days", int, 30, _l("Days a caller's phone number is kept after the call"), PRIVACY,
    minimum=1, maximum=3650)
CLAIMANT_DAYS = settings.define(
    "lost_claimant_retention_days", int, 90,
    _l("Days the name of who claimed lost property is kept after the hand-over"), PRIVACY,
    minimum=1, maximum=3650)
MAIL_DAYS = settings.define(
    "mail_data_retention_days", int, 30,
    _l("Days the names on mail and parcels (recipient, sender, who collected it) are kept after the hand-over"),
    PRIVACY, minimum=1, maximum=3650)

#: Rows the sweep anonymises per transaction: short write transactions, whatever the backlog.
SWEEP_BATCH = 500
#: Rows of each kind the subject search shows: a person, not a crowd.
SUBJECT_ROWS = 100

audit.ACTION_LABELS.update({"anonymised": _l("Anonymised"), "personal_data_export": _l("Personal data exported")})
audit.name_record_type("personal_data", _l("Personal data"))


class PrivacyError(DomainError):
    """A request about personal data was refused."""


def _customer_open(now):
    """A customer whose complaint, callback, home visit, return or repair visit is still open."""
    open_work = [Callback.select(Callback.customer).where(Callback.state == "due"),
                 Complaint.select(Complaint.customer).where(Complaint.state.in_(COMPLAINTS_OPEN)),
                 HomeVisit.select(HomeVisit.customer).where(HomeVisit.state.in_(HOME_VISITS_OPEN)),
                 GoodsReturn.select(GoodsReturn.customer).where(GoodsReturn.state.in_(RETURNS_OPEN)),
                 ServiceVisit.select(ServiceVisit.customer).where(ServiceVisit.state.in_(SERVICE_VISITS_OPEN))]
    condition = Customer.id.in_(open_work[0])
    for query in open_work[1:]:
        condition |= Customer.id.in_(query)
    return condition


@dataclass(frozen=True)
class Kind:
    """One kind of record holding personal data, or (of_customer) a customer's records, which hold
    none of their own and are listed so the person sees everything kept about them."""
    key: str
    label: object
    model: type
    personal: tuple = ()  # fields an anonymisation on request overwrites
    names: tuple = ()  # fields a search by name matches exactly
    phones: tuple = ()  # fields a search by phone number matches exactly
    is_open: object = None  # now -> condition of the records exempt while it holds (open work, the watchlist)
    retained: tuple = ()  # fields the retention sweep overwrites (none: kept until asked)
    retention: str = None  # the setting with the days
    age: object = None  # the model field the days count from
    endpoint: object = None  # record -> (endpoint, values) of its page
    #: record -> (reference, when (UTC), name, phone, [other personal or identifying values])
    summary: object = None
    of_customer: bool = False

    def open_records(self, now):
        return self.model.select(self.model.id).where(self.is_open(now))


def _of_customer(key, label, model, endpoint):
    return Kind(key, label, model, of_customer=True, endpoint=endpoint,
                summary=lambda r: (r.number, r.created_at, "", "", []))


KINDS = [
    Kind("visit", _l("Visitor register"), Visit, personal=("visitor_name", "phone", "id_number", "car_plate"),
         names=("visitor_name",), phones=("phone",), is_open=lambda now: Visit.state != "left",
         retained=("phone", "id_number", "car_plate"), retention=VISITOR_DAYS, age=Visit.arrived_at,
         endpoint=lambda r: ("visitors.show", {"visit_id": r.id}),
         summary=lambda r: (r.number, r.arrived_at, r.visitor_name, r.phone,
                            [r.organisation, r.id_number, r.car_plate])),
    Kind("appointment", _l("Appointments"), Appointment, personal=("visitor_name", "phone"),
         names=("visitor_name",), phones=("phone",),
         is_open=lambda now: (Appointment.visit.is_null() & Appointment.cancelled_at.is_null()
                              & (Appointment.starts_at > now)),
         retained=("phone",), retention=VISITOR_DAYS, age=Appointment.starts_at,
         summary=lambda r: (f"#{r.id}", r.starts_at, r.visitor_name, r.phone, [r.organisation])),
    Kind("call", _l("Phone calls"), Call, personal=("caller_name", "phone"), names=("caller_name",),
         phones=("phone",), is_open=lambda now: (Call.outcome == "promised") & Call.replied_at.is_null(),
         retained=("phone",), retention=CALLER_DAYS, age=Call.taken_at,
         endpoint=lambda r: ("calls.show", {"call_id": r.id}),
         summary=lambda r: (f"#{r.id}", r.taken_at, r.caller_name, r.phone, [r.organisation])),
    # The claimant's ID is checked at the hand-over, not written down: the name is what is kept.
    Kind("lost_item", _l("Lost and found"), LostItem, personal=("claimant_name", "finder_name"),
         names=("claimant_name", "finder_name"), phones=(),
         is_open=lambda now: LostItem.claimed_at.is_null() & LostItem.disposed_at.is_null(),
         retained=("claimant_name",), retention=CLAIMANT_DAYS, age=LostItem.claimed_at,
         summary=lambda r: (f"#{r.id}", r.found_at, r.claimant_name, "", [r.finder_name, r.description[:60]])),
    # Who a letter or parcel was for, from and collected by: kept a short while after the hand-over.
    Kind("mail_item", _l("Mail and parcels"), MailItem, personal=("recipient_name", "sender_name", "collected_by_name"),
         names=("recipient_name", "sender_name", "collected_by_name"), phones=(),
         is_open=lambda now: (MailItem.incoming == True) & MailItem.collected_at.is_null(),  # noqa: E712
         retained=("recipient_name", "sender_name", "collected_by_name"), retention=MAIL_DAYS,
         age=fn.COALESCE(MailItem.collected_at, MailItem.registered_at),
         summary=lambda r: (f"#{r.id}", r.registered_at, r.recipient_name, "",
                            [r.sender_name, r.collected_by_name, r.carrier, r.tracking_number])),
    Kind("customer", _l("Customers"), Customer, personal=("name", "phone", "address"), names=("name",),
         phones=("phone",), is_open=_customer_open,
         endpoint=lambda r: ("complaints.customer", {"customer_id": r.id}),
         summary=lambda r: (f"#{r.id}", r.created_at, r.name, r.phone, [r.organisation, r.address])),
    Kind("watchlist_entry", _l("Watchlist"), WatchlistEntry, personal=("name", "phone", "id_number"),
         names=("name",), phones=("phone",), is_open=lambda now: WatchlistEntry.active == True,  # noqa: E712
         summary=lambda r: (f"#{r.id}", r.created_at, r.name, r.phone, [r.id_number, r.reason[:60]])),
    _of_customer("complaint", _l("Complaints"), Complaint,
                 lambda r: ("complaints.show", {"complaint_id": r.id})),
    _of_customer("callback", _l("Callbacks"), Callback, lambda r: ("callbacks.show", {"callback_id": r.id})),
    _of_customer("home_visit", _l("Home visits"), HomeVisit, lambda r: ("home_visits.show", {"visit_id": r.id})),
    _of_customer("service_visit", _l("Repair visits"), ServiceVisit,
                 lambda r: ("service_visits.show", {"visit_id": r.id})),
    _of_customer("goods_return", _l("Returns"), GoodsReturn, lambda r: ("returns.show", {"record_id": r.id})),
    _of_customer("compensation", _l("Advance compensation"), Compensation,
                 lambda r: ("compensations.show", {"compensation_id": r.id})),
]
KINDS_BY_KEY = {kind.key: kind for kind in KINDS}


def _holds(value):
    return bool(value) and not value.startswith(ANONYMISED)


def _overwrite(kind, ids, fields, actor, reason, now):
    """Overwrite `fields` of these records with the marker, stamp them, and scrub the values from
    their audit entries and from the copies made of them (notices, duty-log lines); one audit entry
    per record names what went (never its value), and why. Returns how many records lost something."""
    model = kind.model
    columns = [model._meta.fields[name] for name in fields]
    held = {row.id: {name: getattr(row, name) for name in fields if _holds(getattr(row, name))}
            for row in model.select(model.id, *columns).where(model.id.in_(ids))}
    for name, field in zip(fields, columns):
        holding_ids = [record_id for record_id, values in held.items() if name in values]
        if not holding_ids:
            continue
        if model is Customer and name == "phone":
            # The number is unique: each customer's marker carries the row's id.
            for customer in Customer.select().where(Customer.id.in_(holding_ids)):
                customer.phone = f"{ANONYMISED}-{customer.id}"
                customer.save()  # phone_reversed follows
        else:
            model.update({field: ANONYMISED}).where(model.id.in_(holding_ids)).execute()
    if issubclass(model, PinyinNamed):
        # The search keys spell the name: they go with it (last: a customer's save() recomputes them).
        named = [record_id for record_id, values in held.items() if model.pinyin_source in values]
        if named:
            model.update(name_pinyin="", name_initials="").where(model.id.in_(named)).execute()
    model.update(anonymised_at=now).where(model.id.in_(ids)).execute()
    blanked = set(fields) | ({"phone_reversed"} if model is Customer else set())
    _scrub_audit(model.record_type(), ids,
                 lambda name, value: ANONYMISED if value not in (None, "") and name in blanked else value)
    _scrub_copies(model.record_type(), {record_id: set(values.values()) for record_id, values in held.items()})
    entries = [{"actor": actor, "action": "anonymised", "record_type": model.record_type(), "record_id": record_id,
                "changes": json.dumps({name: [None, ANONYMISED] for name in values}, ensure_ascii=False),
                "reason": reason, "at": now}
               for record_id, values in held.items() if values]
    if entries:
        AuditEntry.insert_many(entries).execute()
    return len(entries)


def _scrub_audit(record_type, ids, scrub):
    """Each value in these records' audit entries becomes scrub(field, value) (the entries stay)."""
    entries = AuditEntry.select(AuditEntry.id, AuditEntry.changes).where(
        AuditEntry.record_type == record_type, AuditEntry.record_id.in_(ids), AuditEntry.action != "anonymised")
    for entry in entries:
        changes = json.loads(entry.changes or "{}")
        scrubbed = {name: [scrub(name, value) for value in change] if isinstance(change, list) else change
                    for name, change in changes.items()}
        if scrubbed != changes:
            AuditEntry.update(changes=json.dumps(scrubbed, ensure_ascii=False)).where(
                AuditEntry.id == entry.id).execute()


def _blanked(text, values):
    """The text with each of the values in it replaced by the marker, the longest first (a number
    inside a longer one goes with it); a value of one character only where it is the whole text."""
    if not isinstance(text, str):
        return text
    for value in sorted(values, key=len, reverse=True):
        if len(value) > 1 or text == value:
            text = text.replace(value, ANONYMISED)
    return text


def _scrub_params(model):
    def scrub(holders):
        for row in model.select(model.id, model.params).where(model.id.in_(list(holders))):
            params = json.loads(row.params or "{}")
            blanked = {key: _blanked(value, holders[row.id]) for key, value in params.items()}
            if blanked != params:
                model.update(params=json.dumps(blanked, ensure_ascii=False)).where(model.id == row.id).execute()
    return scrub


def _scrub_duty_entries(holders):
    texts = ("what", "handling", "outcome")
    for entry in DutyEntry.select().where(DutyEntry.id.in_(list(holders))):
        values = holders[entry.id]
        before = fulltext.text_of(entry)
        changed = {DutyEntry._meta.fields[name]: _blanked(getattr(entry, name), values) for name in texts}
        if any(value != getattr(entry, field.name) for field, value in changed.items()):
            DutyEntry.update(changed).where(DutyEntry.id == entry.id).execute()
            fulltext.index(DutyEntry.get_by_id(entry.id), before)
        _scrub_audit(DutyEntry.record_type(), [entry.id], lambda _name, value: _blanked(value, values))


#: What each kind of copy holder blanks: {holder_id: {values}} -> None.
COPY_HOLDERS = {
    Notification.record_type(): _scrub_params(Notification),
    DepartmentDelivery.record_type(): _scrub_params(DepartmentDelivery),
    DutyEntry.record_type(): _scrub_duty_entries,
}


def _scrub_copies(record_type, values):
    """The values the records held become the marker wherever the portal copied them (a namesake's
    copies are not linked to these records, so they stay)."""
    for holder_type, holders in copies_of(record_type, values).items():
        COPY_HOLDERS[holder_type]({holder_id: set().union(*(values[record_id] for record_id in record_ids))
                                   for holder_id, record_ids in holders.items()})


def sweep_retention(now=None):
    """The nightly sweep: each kind's retained fields of closed records older than its setting's
    days are anonymised and marked, batch by batch, each batch in one transaction. Marked
    records are not looked at again, so a second run changes nothing."""
    now = now or utcnow()
    done = 0
    for kind in KINDS:
        if not kind.retention:
            continue
        cutoff = now - dt.timedelta(days=settings.get(kind.retention))
        model = kind.model
        due = (model.select(model.id)
               .where(model.anonymised_at.is_null(), kind.age < cutoff, model.id.not_in(kind.open_records(now)))
               .order_by(model.id).limit(SWEEP_BATCH))
        # Stored text, as the portal's own duty-log entries are: the archive reads Chinese.
        reason = f"保存期满{settings.get(kind.retention)}天（个人信息保存期限设置）"
        while True:
            with write_transaction():
                ids = [record_id for (record_id,) in due.tuples()]
                if not ids:
                    break
                done += _overwrite(kind, ids, kind.retained, None, reason, now)
    return done


#: Why a record was found: by the number typed, by the name typed, or by a name that the number's
#: own records carry, on a record whose number the sweep has anonymised already.
BY_PHONE, BY_NAME, BY_NAME_OF_NUMBER = "phone", "name", "name_of_number"


@dataclass
class Found:
    """What a subject search found of one kind: the rows shown, whether there are more, which of
    them are exempt from anonymising (open, or on the watchlist), and why each was found."""
    kind: Kind
    rows: list
    more: bool
    open_ids: set
    reasons: dict  # record id -> (BY_…, the name or number it was found by)

    def is_open(self, record):
        return record.id in self.open_ids

    def may_anonymise(self, record):
        """Closed, and still holding something of the person (the sweep leaves the names)."""
        return not self.is_open(record) and any(_holds(getattr(record, name)) for name in self.kind.personal)

    def ticked(self, record):
        """Ticked to anonymise at first: what the number found. A name may be a namesake's, so the
        admin ticks those they know are the person's."""
        return self.may_anonymise(record) and self.reasons[record.id][0] == BY_PHONE

    @staticmethod
    def anonymised_at(record):
        """When the record was anonymised (a customer's records have no mark of their own)."""
        return getattr(record, "anonymised_at", None)


def _any(conditions):
    if not conditions:
        return None
    condition = conditions[0]
    for other in conditions[1:]:
        condition |= other
    return condition


def _phone_of(text):
    try:
        return normalise_phone(text)
    except ValueError:
        return None


def subject_condition(kind, text):
    """The condition matching this person in a kind: the phone number when the text is one,
    else the name exactly (a request names one person; a prefix would take others with it)."""
    model = kind.model
    if kind.of_customer:
        customers = subject_condition(KINDS_BY_KEY["customer"], text)
        return model.customer.in_(Customer.select(Customer.id).where(customers))
    number = _phone_of(text)
    if number:
        return _any([model._meta.fields[name] == number for name in kind.phones])
    return _any([model._meta.fields[name] == text for name in kind.names])


def names_of_number(text):
    """The names the records of this phone number carry (none when the text is a name)."""
    if not _phone_of(text):
        return set()
    names = set()
    for kind in KINDS:
        condition = subject_condition(kind, text)
        if condition is None or kind.of_customer:
            continue
        for name in kind.names:
            field = kind.model._meta.fields[name]
            names |= {value for (value,) in kind.model.select(field).where(condition).distinct().tuples()
                      if _holds(value)}
    return names


def related_condition(kind, names):
    """Records of these names whose own number the sweep anonymised: most likely the same person,
    for the admin to confirm (a record with another number is someone else's)."""
    if not names or not kind.phones or kind.of_customer:
        return None
    model = kind.model
    named = _any([model._meta.fields[name].in_(sorted(names)) for name in kind.names])
    anonymised = _any([model._meta.fields[name].startswith(ANONYMISED) for name in kind.phones])
    return named & anonymised


def _subject_text(text):
    text = (text or "").strip()
    if len(text) < 2 or text.startswith(ANONYMISED):
        raise PrivacyError(_l("Enter a phone number or a full name (at least 2 characters)."), field="q")
    return text


def _reason(kind, record, text, names):
    """Why this record is the person's: (BY_…, the number or the name it was found by)."""
    number = _phone_of(text)
    if not number:
        return BY_NAME, text
    if kind.of_customer or any(getattr(record, name) == number for name in kind.phones):
        return BY_PHONE, text
    return BY_NAME_OF_NUMBER, next(getattr(record, name) for name in kind.names if getattr(record, name) in names)


def _conditions(kind, text, names):
    return [c for c in (subject_condition(kind, text), related_condition(kind, names)) if c is not None]


def find_subject(text, now=None):
    """Everything the portal holds about a phone number or a name, kind by kind (at most
    SUBJECT_ROWS each, newest first), with why each record was found. A number also finds the
    records of the names its records carry whose own number was anonymised already."""
    text, now = _subject_text(text), now or utcnow()
    names = names_of_number(text)
    found = []
    for kind in KINDS:
        condition = _any(_conditions(kind, text, names))
        if condition is None:
            continue
        model = kind.model
        rows = list(model.select().where(condition).order_by(model.id.desc()).limit(SUBJECT_ROWS + 1))
        if not rows:
            continue
        rows, more = rows[:SUBJECT_ROWS], len(rows) > SUBJECT_ROWS
        found.append(Found(kind, rows, more, _open_ids(kind, [row.id for row in rows], now),
                           {row.id: _reason(kind, row, text, names) for row in rows}))
    return found


def _open_ids(kind, ids, now):
    if not kind.is_open:
        return set()
    return {record_id for (record_id,) in kind.open_records(now).where(kind.model.id.in_(ids)).tuples()}


def export_subject(text, now=None):
    """Everything matching the number or the name typed, every row (not the screen's SUBJECT_ROWS):
    Found parts of SUBJECT_ROWS rows at a time, newest first, read page by page."""
    text, now = _subject_text(text), now or utcnow()
    for kind in KINDS:
        condition = subject_condition(kind, text)
        if condition is None:
            continue
        model = kind.model
        page = model.select().where(condition).order_by(model.id.desc()).limit(SUBJECT_ROWS)
        last = None
        while True:
            rows = list(page if last is None else page.where(model.id < last))
            if not rows:
                break
            yield Found(kind, rows, False, _open_ids(kind, [row.id for row in rows], now),
                        {row.id: _reason(kind, row, text, set()) for row in rows})
            last = rows[-1].id


def record_export(actor, found):
    """Audit the hand-over of a subject's data: which records (not the person's name or number)."""
    with write_transaction():
        audit.record_event(actor, "personal_data_export", record_type="personal_data",
                           changes={"records": [None, [f"{f.kind.key}#{row.id}" for f in found for row in f.rows]]})


def anonymise_records(actor, text, chosen, reason, now=None):
    """Anonymise the records the admin ticked as the person's ({kind key: [ids]}), each checked
    again to be among what the search for `text` finds (a form cannot name others), except what is
    open or on the watchlist (kept, and counted). Returns (anonymised, kept)."""
    text, now = _subject_text(text), now or utcnow()
    reason = (reason or "").strip()
    if not reason:
        raise PrivacyError(_l("Write why (e.g. the person's request of 2026-11-23)."), field="reason")
    names = names_of_number(text)
    anonymised = kept = 0
    # One transaction: a request is done for every area or for none.
    with write_transaction():
        for kind in KINDS:
            condition = _any(_conditions(kind, text, names))
            if condition is None or not kind.personal:
                continue
            model = kind.model
            open_ids = {record_id for (record_id,) in kind.open_records(now).where(condition).tuples()}
            kept += len(open_ids)
            wanted = sorted(set(chosen.get(kind.key, ())) - open_ids)
            ids = []
            for start in range(0, len(wanted), SWEEP_BATCH):
                ids += [record_id for (record_id,) in model.select(model.id).where(
                    condition, model.id.in_(wanted[start:start + SWEEP_BATCH])).tuples()]
            for start in range(0, len(ids), SWEEP_BATCH):
                anonymised += _overwrite(kind, ids[start:start + SWEEP_BATCH], kind.personal, actor, reason, now)
    if not anonymised:
        raise PrivacyError(_l("Tick the records that are this person's: nothing was anonymised."), field="reason")
    return anonymised, kept
