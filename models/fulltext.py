"""Full-text search in Chinese (complaints, calls, the duty log, documents) from a bigram index.

Chinese has no spaces between words, so the text is indexed by every pair of neighbouring characters
(bigram). A query is covered by non-overlapping bigrams (空调漏水 -> 空调 + 漏水; an odd length overlaps
at the end: 空调漏 -> 空调 + 调漏) and a record matches when every one is in its text: "空调漏水" finds
"会议室空调又漏水了" as a clerk expects, while characters scattered over the text (空…调…漏…水) do not.
Records holding the exact phrase come first.

Why not the databases' own full-text search: PostgreSQL's pg_trgm ignores CJK characters in a C.UTF-8
database (ours) and both it and SQLite's FTS5 trigram tokenizer need three characters, where Chinese
words are mostly two. One table with a B-tree primary key works the same on both backends.
"""
import io
import unicodedata

from peewee import BigIntegerField, CompositeKey, IntegerField, SmallIntegerField, fn

from models.base import BaseModel, db, is_sqlite

#: Records a search looks at, at most, the newest first: a search finds a case, not a statistic.
SEARCH_LIMIT = 500
#: How far the grams of a query are counted to tell the rare from the common: at 1 M complaints a
#: common gram has tens of thousands of records, and 10 000 tells them apart (2 000 did not: the
#: sentence of the perf figures took 124 ms on SQLite instead of 12, 30 000 cost PostgreSQL more).
RARE = 10_000
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


def cover(term):
    """Non-overlapping bigrams covering the term, the last one overlapping when its length is odd."""
    pairs = [term[i:i + 2] for i in range(0, len(term) - 1, 2)]
    if len(term) % 2 and len(term) > 1:
        pairs.append(term[-2:])
    return pairs


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


def _rarest_first(code, pairs):
    """The grams ordered by how many records hold them (counted up to RARE), [] when one is in no
    record. The search walks the first gram's records and looks the others up, so the rarest first
    makes "会议室空调又漏水了" read the records of 漏水了's rarer grams, not every 会议."""
    count = (f"(SELECT COUNT(*) FROM (SELECT 1 FROM text_gram WHERE gram = {db.param} AND kind = {db.param} "
             f"LIMIT {RARE}) AS g{{}})")
    row = db.execute_sql("SELECT " + ", ".join(count.format(i) for i in range(len(pairs))),
                         [value for gram in pairs for value in (gram, code)]).fetchone()
    if not all(row):
        return []
    return [gram for _n, gram in sorted(zip(row, pairs), key=lambda pair: pair[0])]


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
    pairs = list(dict.fromkeys(_code(p) for word in words for p in cover(word)))
    if len(pairs) > 1:
        pairs = _rarest_first(source.code, pairs)
    if not pairs:
        return []
    first, *others = pairs
    query = (TextGram.select(TextGram.record_id)
             .where(TextGram.gram == first, TextGram.kind == source.code)
             .order_by(TextGram.record_id.desc()).limit(limit))
    for gram in others:
        other = TextGram.alias()
        query = query.where(fn.EXISTS(other.select(other.record_id).where(
            other.gram == gram, other.kind == source.code, other.record_id == TextGram.record_id)))
    ids = [row[0] for row in query.tuples()]
    if not ids:
        return []
    model = source.model
    exact, near = [], []
    texts = {record.id: normalise(source.text_of(record))
             for record in model.select(model.id, *source.fields).where(model.id.in_(ids))}
    for record_id in ids:
        text = texts.get(record_id)
        if text is None:
            continue
        # The text decides, not the index: an edit may leave a gram behind, never a wrong match.
        if all(pair in text for word in words for pair in cover(word)) and all(w in text for w in words
                                                                               if len(w) == 1):
            (exact if all(w in text for w in words) else near).append(record_id)
    return exact + near
