"""Where the portal copied a record's personal data into other text: a notice's parameters (the
bell's, a department robot's) and the lines it writes into the duty log ("黑名单访客登记：{name}").
Anonymising the record (models.privacy) follows these links and blanks the copies as well; a link
names the record, so a namesake's notices are never touched."""
from peewee import CharField, IntegerField

from models.base import BaseModel


class PersonalCopy(BaseModel):
    record_type = CharField(max_length=40)  # the record whose data was copied (a visit, a call, a customer)
    record_id = IntegerField()
    holder_type = CharField(max_length=40)  # what holds the copy (a notification, a duty-log entry)
    holder_id = IntegerField()

    class Meta:
        indexes = ((("record_type", "record_id"), False),)


def remember(holder, about):
    """Note that `holder` (a saved row) copies personal data of `about` (a record, or several), in
    the caller's transaction."""
    records = about if isinstance(about, (list, tuple, set)) else [about]
    rows = [{"record_type": record.record_type(), "record_id": record.id, "holder_type": holder.record_type(),
             "holder_id": holder.id} for record in records if record is not None]
    if rows:
        PersonalCopy.insert_many(rows).execute()


def copies_of(record_type, ids):
    """{holder_type: {holder_id: {record_id}}} of the copies of these records."""
    held = {}
    for copy in PersonalCopy.select().where(PersonalCopy.record_type == record_type,
                                            PersonalCopy.record_id.in_(list(ids))):
        held.setdefault(copy.holder_type, {}).setdefault(copy.holder_id, set()).add(copy.record_id)
    return held
