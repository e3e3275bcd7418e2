"""Every page stays bounded as the data grows: each GET route of the portal, asked by someone
who may see it, over tables holding thousands of rows, answers within a query budget and a
size budget.

The rows are tests/test_access.py's one-of-each records, each table then multiplied by
copying its rows (children keep their parents, so one customer gets thousands of complaints,
one stock item thousands of moves, one complaint a long timeline). No list of routes or
tables is kept here: a new route or a new table is covered the day it is added. A page that
needs more than the budget lists its rows without paging, or loads a row's neighbours one by one."""
import datetime as dt

import pytest
import time_machine
from peewee import (
    CharField, DateField, DateTimeField, ForeignKeyField, IntegerField, IntegrityError, TextField,
)
from playhouse.test_utils import count_queries

from models import all_models, fulltext
from models.base import db
from models.broadcast import MAX_SLOTS
from models.procurement.requisitions import MAX_ATTACHMENTS, MAX_LINES
from models.quality.awards import MAX_AWARDS
from models.quality.inspections import MAX_FINDINGS
from models.rooms import MAX_ACTION_ITEMS, MAX_GUESTS, PREPARATION
from models.roles import ROLES
from tasks import huey
from tests.test_access import NOW, endpoints, record_url, seed_records
from views.access import PUBLIC, declared_permission

#: Statements one request may send, whatever the data; the busiest pages today need about 20
#: (session, user, navigation counts, the page's own queries, a paged list and its count).
QUERY_BUDGET = 40
#: Bytes of one HTML answer: a page of 50 rows with the layout is some 60 KB.
SIZE_BUDGET = 300_000
#: Pages that must list everything, and why: the size budget does not hold them (the query budget does).
WHOLE_LISTS = {
    "visitors.roll_call": "the evacuation roll call names everyone on site, or it is no roll call",
}
#: Rows each table is grown to. A record's own rows (its lines, its timeline, its photos) grow to what
#: one record holds at most or at the very least in a long life — the seeded parents are few, so these
#: totals are per record — and a few tables stay at the size a real site has.
ROWS = 2000
ROWS_OF = {"department": 40, "user": 300,
           "requisition_line": MAX_LINES, "order_line": MAX_LINES, "delivery_line": MAX_LINES,
           "requisition_attachment": MAX_ATTACHMENTS, "requisition_event": 100,
           "complaint_event": 300, "complaint_pause": 50, "callback_attempt": 20, "home_visit_reminder": 20,
           "return_event": 50, "compensation_event": 50, "compensation_recovery": 20, "service_visit_event": 50,
           "duty_entry": 300, "handover": 4, "handover_item": 100, "incident_photo": 20,
           "delivery": MAX_LINES, "return_record": MAX_LINES, "finding": MAX_FINDINGS,
           "document_reviewer": 10, "document_version": 30, "document_event": 200, "document_recipient": 300,
           # A period holds one assessment per member of staff (as many as "user") and its few corrections.
           "assessment": 300,
           # Best staff of one period or year: awards.choose refuses more than MAX_AWARDS.
           "award": MAX_AWARDS,
           # A booking's preparation is one item per kind (UNIQUE booking, kind); its invited visitors and
           # its minutes' action items are capped by the model (MAX_GUESTS, MAX_ACTION_ITEMS refuse one more).
           "prep_item": len(PREPARATION), "booking_guest": MAX_GUESTS, "action_item": MAX_ACTION_ITEMS,
           # A broadcast programme's lines (add_slot refuses more than MAX_SLOTS); a script is rewritten a few
           # dozen times in its life, not thousands, and its page lists every version.
           "programme_slot": MAX_SLOTS, "script_version": 30}
#: Kept as seeded: the configuration, not data (a copied setting or counter would be a second one of
#: the same key; copied approval steps or tiers a chain of thousands), and what would hand the copied
#: users roles they were never given.
NOT_GROWN = {"setting", "counter", "submission_key", "user_role", "work_weekday", "approval_step",
             "compensation_tier"}
#: Derived from the grown tables, as a database older than them gets them: the text index of the
#: copied complaints, calls, duty-log entries and documents.
DERIVED = {"text_gram": lambda: [fulltext.fill(name) for name in fulltext.SOURCES]}


def _unique_sets(model):
    sets = [(field,) for field in model._meta.sorted_fields if field.unique and not field.primary_key]
    for index in model._meta.indexes:
        names, unique = index if isinstance(index, tuple) else (None, False)
        if unique and names:
            sets.append(tuple(model._meta.fields[name] for name in names))
    return sets


def _varied(field, value, copy):
    """The value of a unique column in the copy-th copy of a row."""
    if isinstance(field, (CharField, TextField)):
        suffix = f"~{copy}"
        limit = getattr(field, "max_length", None) or 255
        return (value or "")[:limit - len(suffix)] + suffix
    if isinstance(field, DateTimeField):
        # Microseconds: copies of rows a whole slot apart (a room's half-hours) must not meet.
        return value - dt.timedelta(microseconds=copy) if value else value
    if isinstance(field, DateField):
        return value - dt.timedelta(days=copy) if value else value
    if isinstance(field, IntegerField) and not isinstance(field, ForeignKeyField):
        return (value or 0) + copy * 1000
    return None


def grow(model, rows_wanted):
    """Copy the table's rows until it holds about rows_wanted; False when a unique key cannot be varied.
    A table whose unique key is its parents (one row per parent) keeps its seeded rows."""
    seeded = list(model.select().dicts())
    if not seeded or len(seeded) >= rows_wanted:
        return True
    varied = []
    for unique in _unique_sets(model):
        if all(isinstance(f, ForeignKeyField) and not f.null for f in unique):
            # One per parent (a purchase order per requisition, a read receipt per document and reader):
            # copies would need new parents.
            return True
        field = next((f for f in unique if not isinstance(f, ForeignKeyField)
                      and isinstance(f, (CharField, TextField, DateField, DateTimeField, IntegerField))), None)
        field = field or next((f for f in unique if f.null), None)  # an optional link: the copies go without
        if field is None:
            return False
        varied.append(field)
    pk = model._meta.primary_key.name
    copies = []
    for copy in range(1, rows_wanted // len(seeded) + 1):
        for row in seeded:
            clone = {name: value for name, value in row.items() if name != pk}
            for field in varied:
                clone[field.name] = _varied(field, row[field.name], copy)
            copies.append(clone)
    try:
        with db.atomic():
            for start in range(0, len(copies), 200):
                model.insert_many(copies[start:start + 200]).execute()
    except IntegrityError:
        return False  # a constraint the model does not declare (a partial index): keep the seeded rows
    return True


@pytest.fixture
def person(make_user):
    """Someone holding every role, in the department that owns the seeded records: every route is theirs."""
    return make_user("person", *sorted(ROLES), department="客服部")


@pytest.fixture
def grown(app, make_user, person, printing_stub):
    with time_machine.travel(NOW, tick=False):
        records = seed_records(app, make_user, person)
        with app.app_context():
            kept = [model._meta.table_name for model in all_models()
                    if model._meta.table_name not in NOT_GROWN | DERIVED.keys()
                    and not grow(model, ROWS_OF.get(model._meta.table_name, ROWS))]
            for derive in DERIVED.values():
                derive()
        yield records, kept


@pytest.fixture
def printing_stub(monkeypatch):
    class Document:
        def __init__(self, **kwargs):
            pass

        def write_pdf(self, **kwargs):
            return b"%PDF-1.7\n%stub\n%%EOF\n"
    monkeypatch.setattr("printing.HTML", Document)


def test_the_tables_are_grown(app, grown):
    """The budget means something only over grown tables: name those that could not be."""
    _records, kept = grown
    assert not kept, f"tables left at their seeded size: {kept}"


@pytest.fixture
def queued():
    """What a page queues waits in the queue, as in production: its work is the consumer's, not the page's."""
    huey.immediate = False
    yield
    huey.flush()
    huey.immediate = True


#: The searches of the lists, by text and by pinyin: the routes alone are requested without one.
SEARCHES = ["/complaints?state=all&q=投诉", "/calls?q=咨询", "/duty/days?q=值班", "/documents/archive?q=通知",
            "/visitors/hosts?host_q=zw", "/directory?q=zw", "/customers?q=zw", "/visitors/watchlist?q=zw",
            "/visitors/suggest?visitor_name=zw"]


def test_every_page_stays_within_its_budgets(app, client, auth, grown, queued):
    records, _kept = grown
    auth.login("person")
    over = []
    with time_machine.travel(NOW, tick=False):
        for rule in sorted(endpoints(app), key=lambda rule: rule.rule):
            if declared_permission(app, rule.endpoint) == PUBLIC or "GET" not in rule.methods:
                continue
            url = record_url(app, rule, records)
            with count_queries() as counter:
                response = client.get(url)
            size = len(response.data)
            html = response.mimetype == "text/html"
            if response.status_code != 200:
                over.append(f"{url}: {response.status_code}")
            elif counter.count > QUERY_BUDGET or (html and size > SIZE_BUDGET and rule.endpoint not in WHOLE_LISTS):
                over.append(f"{url}: {counter.count} queries, {size // 1000} KB")
        for url in SEARCHES:
            with count_queries() as counter:
                response = client.get(url)
            if response.status_code != 200 or counter.count > QUERY_BUDGET or len(response.data) > SIZE_BUDGET:
                over.append(f"{url}: {response.status_code}, {counter.count} queries, {len(response.data) // 1000} KB")
    assert not over, "over budget:\n" + "\n".join(over)
