"""Full-text search in Chinese (complaints, calls, the duty log, documents) from a bigram index.

Chinese has no spaces between words, so the text is indexed by every pair of neighbouring characters
(bigram). A query is read as words of two characters (空调漏水 -> 空调 + 漏水) and, when its length is odd, one
of three, wherever it stands (卫生间漏水 -> 卫生 + 间漏 + 漏水, or 卫生间 + 漏水: its bigrams 卫生 + 生间
+ 漏水); a record matches when its text holds every word of one reading: "空调漏水" finds "会议室空调又
漏水了" as a clerk expects, "卫生间漏水" finds "卫生间水管漏水", while characters scattered over the
text (空…调…漏…水) do not. Records holding the exact phrase come first.

Why not the databases' own full-text search: PostgreSQL's pg_trgm ignores CJK characters in a C.UTF-8
database (ours) and both it and SQLite's FTS5 trigram tokenizer need three characters, where Chinese
words are mostly two. One table with a B-tree primary key works the same on both backends.
"""
import io
import unicodedata
from itertools import islice, product

from peewee import BigIntegerField, CompositeKey, IntegerField, SmallIntegerField, fn

from models.base import BaseModel, db, is_sqlite

#: Records a search looks at, at most, the newest first: a search finds a case, not a statistic.
SEARCH_LIMIT = 500
#: How far the grams of a query are counted to tell the rare from the common: at 1 M complaints a
#: common gram has tens of thousands of records, and 10 000 tells them apart (2 000 did not: the
#: sentence of the perf figures took 124 ms on SQLite instead of 12, 30 000 cost PostgreSQL more).
RARE = 10_000
#: Readings of a query looked up at most (a long odd word has several, and so has each word).
MAX_READINGS = 6
#: Rows written per statement when a whole table is indexed.
BATCH = 5000


class TextGram(BaseModel):
    """One bigram of one record's text. The primary key is the only index: a search reads a gram's
    records in order of id, and an edit deletes the grams it no longer has by their key."""
    gram = BigIntegerField()
    kind = SmallIntegerField()
    record_id = IntegerField()

    class Meta:
        primary_key = CompositeKey("gram", "kind", "record_id")

    @classmethod
    def create_table(cls, safe=True, **options):
        # SQLite keeps the rows in the key's B-tree itself instead of a table plus an index of it.
        cls._meta.without_rowid = is_sqlite()
        super().create_table(safe=safe, **options)

    @classmethod
    def fill_created_table(cls):
        for name in SOURCES:
            fill(name)


class Source:
    """A searchable text: the model, a small code stored in each gram, and the fields read as its text."""

    def __init__(self, code, model, fields):
        self.code, self.model, self.fields = code, model, fields

    def text_of(self, record):
        return " ".join(getattr(record, field.name) or "" for field in self.fields)


SOURCES = {}


def register(name, code, model, *fields):
    """Called by each area for its model: `name` keys the searches, `code` is stored (never change it)."""
    SOURCES[name] = Source(code, model, fields)


def normalise(text):
    """Full-width forms folded (ＡＢ１ -> ab1), case folded, and everything not a letter or digit a
    space: a bigram never spans punctuation."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    return "".join(c if c.isalnum() else " " for c in text)


def _code(pair):
    return (ord(pair[0]) << 21) | ord(pair[1])


def grams(text):
    """Every bigram of the text, as the numbers stored."""
    found = set()
    for word in normalise(text).split():
        found.update(_code(word[i:i + 2]) for i in range(len(word) - 1))
    return found


def terms(query):
    return normalise(query).split()


def only_single_characters(query):
    """True when the text search cannot look the query up: each of its words is one character."""
    words = terms(query)
    return bool(words) and all(len(word) == 1 for word in words)


def readings(term):
    """The bigrams of each way to read the term as words of two characters and at most one of three
    (the only one for an even length; (length - 1) / 2 of them for an odd one)."""
    if len(term) < 2:
        return [[]]
    if len(term) % 2 == 0:
        return [[term[i:i + 2] for i in range(0, len(term), 2)]]
    return [[term[i:i + 2] for i in range(0, k, 2)] + [term[k:k + 2], term[k + 1:k + 3]]
            + [term[i:i + 2] for i in range(k + 3, len(term), 2)] for k in range(0, len(term) - 2, 2)]


def index(record, before=None):
    """Bring the record's grams in step with its text, in the caller's transaction; `before` is the
    text it had when this is an edit (grams are deleted by their key, so the old text names them)."""
    source = _source_of(record)
    new = grams(source.text_of(record))
    old = grams(before) if before is not None else set()
    gone = list(old - new)
    for start in range(0, len(gone), 300):
        TextGram.delete().where(TextGram.kind == source.code, TextGram.record_id == record.id,
                                TextGram.gram.in_(gone[start:start + 300])).execute()
    _insert([(gram, source.code, record.id) for gram in new - old])


def text_of(record):
    """The text a record is searched by (an edit passes it to index() as `before`)."""
    return _source_of(record).text_of(record)


def _source_of(record):
    for source in SOURCES.values():
        if isinstance(record, source.model):
            return source
    raise LookupError(type(record).__name__)


def _insert(rows):
    for start in range(0, len(rows), BATCH):
        (TextGram.insert_many(rows[start:start + BATCH], fields=[TextGram.gram, TextGram.kind, TextGram.record_id])
         .on_conflict_ignore().execute())


def fill(name):
    """Index every record of a source (a database older than the index, records loaded in bulk). The
    grams go to a scratch table first and into the index sorted by its key: written in the key's
    order, the B-tree grows at one end instead of being rewritten all over (minutes at a million)."""
    source = SOURCES[name]
    model = source.model
    with db.atomic():
        db.execute_sql("CREATE TEMPORARY TABLE text_gram_load (gram BIGINT, kind SMALLINT, record_id INTEGER)")
        rows = []
        for record in model.select(model.id, *source.fields).order_by(model.id).iterator():
            rows.extend((gram, source.code, record.id) for gram in grams(source.text_of(record)))
            if len(rows) >= BATCH * 20:
                _load(rows)
                rows = []
        _load(rows)
        db.execute_sql("INSERT INTO text_gram (gram, kind, record_id) SELECT gram, kind, record_id "
                       "FROM text_gram_load ORDER BY gram, kind, record_id ON CONFLICT DO NOTHING")
        db.execute_sql("DROP TABLE text_gram_load")


def _load(rows):
    # Straight to the driver: building a million-row INSERT through peewee's query builder takes
    # longer than writing it.
    cursor = db.cursor()
    if is_sqlite():
        cursor.executemany("INSERT INTO text_gram_load VALUES (?, ?, ?)", rows)
    else:
        cursor.copy_from(io.StringIO("".join(f"{g}\t{k}\t{r}\n" for g, k, r in rows)), "text_gram_load")


def _counts(code, pairs):
    """How many records hold each gram, counted up to RARE: the search walks the rarest gram's records
    and looks the others up, so "会议室空调又漏水了" reads the records of 调又, not every 会议."""
    count = (f"(SELECT COUNT(*) FROM (SELECT 1 FROM text_gram WHERE gram = {db.param} AND kind = {db.param} "
             f"LIMIT {RARE}) AS g{{}})")
    row = db.execute_sql("SELECT " + ", ".join(count.format(i) for i in range(len(pairs))),
                         [value for gram in pairs for value in (gram, code)]).fetchone()
    return dict(zip(pairs, row))


def _holding_all(code, pairs, limit):
    """The newest records holding every gram, walked from the rarest."""
    first, *others = pairs
    query = (TextGram.select(TextGram.record_id)
             .where(TextGram.gram == first, TextGram.kind == code)
             .order_by(TextGram.record_id.desc()).limit(limit))
    for gram in others:
        other = TextGram.alias()
        query = query.where(fn.EXISTS(other.select(other.record_id).where(
            other.gram == gram, other.kind == code, other.record_id == TextGram.record_id)))
    return [row[0] for row in query.tuples()]


def matches(name, query):
    """A condition for the source's model: its id is among the search's. The ids come as a list, so
    that "id IN (…)" ORed with a list's other searches lets each use its own index; never an empty one:
    SQLite answers an OR from indexes only when every branch has one, and "IN ()" has none (1.7 s
    at a million complaints)."""
    return SOURCES[name].model.id.in_(search(name, query) or [0])


def search(name, query, limit=SEARCH_LIMIT):
    """The ids of the records whose text holds every term of the query (see the module's docstring),
    those holding the terms exactly first, each group newest first. Terms of one character are
    checked in the text but cannot be looked up: a query of such terms only finds nothing."""
    source = SOURCES[name]
    words = terms(query)
    choices = list(islice(product(*(readings(word) for word in words)), MAX_READINGS))
    combinations = [list(dict.fromkeys(_code(pair) for reading in choice for pair in reading)) for choice in choices]
    combinations = [pairs for pairs in combinations if pairs]
    if not combinations:
        return []
    counts = _counts(source.code, list(dict.fromkeys(gram for pairs in combinations for gram in pairs)))
    ids = set()
    for pairs in combinations:
        if all(counts[gram] for gram in pairs):
            ids.update(_holding_all(source.code, sorted(pairs, key=counts.get), limit))
    ids = sorted(ids, reverse=True)[:limit]
    if not ids:
        return []
    model = source.model
    texts = {record.id: normalise(source.text_of(record))
             for record in model.select(model.id, *source.fields).where(model.id.in_(ids))}
    exact, near = [], []
    for record_id in ids:
        text = texts.get(record_id)
        # The text decides, not the index: an edit may leave a gram behind, never a wrong match.
        if text is not None and all(_holds(text, word) for word in words):
            (exact if all(word in text for word in words) else near).append(record_id)
    return exact + near


def _holds(text, word):
    if len(word) == 1:
        return word in text
    return any(all(pair in text for pair in reading) for reading in readings(word))
