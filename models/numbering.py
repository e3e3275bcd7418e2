"""Document numbers (编号): one counter per form type and year, no gaps, no duplicates."""
from peewee import CharField, IntegerField

from models.base import BaseModel, db
from models.timezone import local_now


class Counter(BaseModel):
    doc_type = CharField(max_length=8)
    year = IntegerField()
    value = IntegerField(default=0)

    class Meta:
        indexes = ((("doc_type", "year"), True),)


def next_number(doc_type):
    """Allocate the next number, e.g. TS-2026-000123.

    Call it inside the transaction that creates the record: the upsert takes the
    counter row's lock until that transaction ends, so concurrent allocations queue
    and a rolled-back record gives its number back (no gap)."""
    year, number = next_value(doc_type)
    return f"{doc_type}-{year}-{number:06d}"


def next_value(doc_type):
    """(year, n) of the next number, for a form whose number is written its own way
    (发文编号 通知〔2026〕12号); the same counter, lock and transaction rule as next_number."""
    assert db.in_transaction(), "allocate a document number inside the record's transaction"
    year = local_now().year
    cursor = (Counter.insert(doc_type=doc_type, year=year, value=1)
              .on_conflict(conflict_target=[Counter.doc_type, Counter.year],
                           update={Counter.value: Counter.value + 1})
              .returning(Counter.value)
              .execute())
    return year, next(iter(cursor)).value
