"""Where the portal copied a record's personal data into other text: a notice's parameters (the
bell's, a department robot's) and the lines it writes into the duty log ("黑名单访客登记：{name}").
Anonymising the record (models.privacy) follows these links and blanks the copies as well; a link
names the record, so a namesake's notices are never touched."""
import json

from peewee import CharField, IntegerField

from models.base import BaseModel


class PersonalCopy(BaseModel):
    record_type = CharField(max_length=40)  # the record whose data was copied (a visit, a call, a customer)
    record_id = IntegerField()
    holder_type = CharField(max_length=40)  # what holds the copy (a notification, a duty-log entry)
    holder_id = IntegerField()

    class Meta:
        indexes = ((("record_type", "record_id"), False),)

    @classmethod
    def fill_created_table(cls):
        """A database from before these links: its notices are linked by the page they open (a
        visit's, a call's, or a complaint's or callback's, which name its customer). Older duty-log
        lines and the front desk's notices open no such page, so they stay as they were written."""
        from models.callbacks import Callback
        from models.calls import Call
        from models.complaints import Complaint, Customer
        from models.notifications import DepartmentDelivery, Notification
        from models.visitors import Visit
        pages = {"visitors.show": ("visit_id", Visit, None), "visitors.host_answer": ("visit_id", Visit, None),
                 "calls.show": ("call_id", Call, None), "complaints.show": ("complaint_id", Customer, Complaint),
                 "callbacks.show": ("callback_id", Customer, Callback)}
        for holder in (Notification, DepartmentDelivery):
            for endpoint, (arg, model, via) in pages.items():
                rows = []
                for holder_id, args in holder.select(holder.id, holder.endpoint_args).where(
                        holder.endpoint == endpoint).tuples().iterator():
                    record_id = json.loads(args or "{}").get(arg)
                    if isinstance(record_id, int):
                        rows.append((holder_id, record_id))
                for start in range(0, len(rows), 500):
                    batch = dict(rows[start:start + 500])
                    owners = ({record_id: customer_id for record_id, customer_id in via.select(
                        via.id, via.customer).where(via.id.in_(list(set(batch.values())))).tuples()}
                              if via else {record_id: record_id for record_id in batch.values()})
                    links = [{"record_type": model.record_type(), "record_id": owners[record_id],
                              "holder_type": holder.record_type(), "holder_id": holder_id}
                             for holder_id, record_id in batch.items() if record_id in owners]
                    if links:
                        cls.insert_many(links).execute()


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
