"""Things that pass the front desk: mail and parcels (邮件收发), lost and found (失物招领)."""
import datetime as dt

from flask_babel import lazy_gettext as _l
from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, TextField

from models import audit, settings
from models.base import BaseModel, DomainError, utcnow, write_transaction
from models.notifications import N_, notify
from models.users import User

DESK = _l("Mail and lost property")
MAIL_UNCOLLECTED_DAYS = settings.define(
    "mail_uncollected_days", int, 3, _l("Days before uncollected mail is listed and the recipient reminded"), DESK,
    minimum=1, maximum=60)
LOST_UNCLAIMED_DAYS = settings.define(
    "lost_unclaimed_days", int, 90, _l("Days before unclaimed lost property may be disposed of"), DESK,
    minimum=7, maximum=3650)

CARRIERS = ["顺丰速运", "中国邮政", "EMS", "京东物流", "中通快递", "圆通速递", "韵达快递", "申通快递"]
SIZES = {"letter": _l("Letter"), "small": _l("Small parcel"), "large": _l("Large parcel")}

audit.name_record_type("mail_item", _l("Mail item"))
audit.name_record_type("lost_item", _l("Lost property"))


class DeskError(DomainError):
    """A rule of the mail and lost-property desk refused the action."""


class MailItem(BaseModel):
    incoming = BooleanField(default=True)
    carrier = CharField(max_length=40)
    tracking_number = CharField(max_length=60, default="")
    recipient = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    recipient_name = CharField(max_length=80)  # a tenant, or the staff member's name as written
    sender_name = CharField(max_length=80, default="")
    size = CharField(max_length=10, default="small")
    registered_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    registered_at = DateTimeField(default=utcnow, index=True)
    collected_by_name = CharField(max_length=80, default="")
    collected_at = DateTimeField(null=True)
    handed_over_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    reminded_at = DateTimeField(null=True)
    anonymised_at = DateTimeField(null=True)  # see models.privacy

    @property
    def size_label(self):
        return SIZES.get(self.size, self.size)

    @classmethod
    def waiting(cls):
        return (cls.select().where(cls.incoming == True, cls.collected_at.is_null())  # noqa: E712
                .order_by(cls.registered_at))

    @classmethod
    def overdue(cls, now=None):
        cutoff = (now or utcnow()) - dt.timedelta(days=settings.get(MAIL_UNCOLLECTED_DAYS))
        return cls.waiting().where(cls.registered_at < cutoff)


def register_mail(actor, incoming, carrier, tracking_number, recipient_name, recipient=None, sender_name="",
                  size="small"):
    with write_transaction():
        item = MailItem.create(incoming=incoming, carrier=carrier, tracking_number=tracking_number,
                               recipient=recipient, recipient_name=recipient_name, sender_name=sender_name,
                               size=size, registered_by=actor)
        audit.record_create(actor, item)
    if incoming and recipient is not None:
        notify(recipient, N_("A %(carrier)s item is waiting for you at the front desk."), link=("mail.index", {}),
               carrier=carrier)
    return item


def collect_mail(actor, item, collected_by_name):
    if not collected_by_name.strip():
        raise DeskError(_l("Write who collected it."))
    with write_transaction():
        item = MailItem.get_by_id(item.id)
        if item.collected_at is not None:
            raise DeskError(_l("This item was collected already."))
        before = item.snapshot()
        item.collected_by_name = collected_by_name.strip()
        item.collected_at = utcnow()
        item.handed_over_by = actor
        item.save()
        audit.record_change(actor, item, before)
    return item


def remind_uncollected(now=None):
    """The sweep: remind each recipient of overdue mail once; a repeated run sends nothing more."""
    reminded = 0
    for item in MailItem.overdue(now).where(MailItem.reminded_at.is_null(), MailItem.recipient.is_null(False)):
        with write_transaction():
            claimed = (MailItem.update(reminded_at=utcnow())
                       .where(MailItem.id == item.id, MailItem.reminded_at.is_null()).execute())
            if claimed:
                notify(item.recipient, N_("Reminder: a %(carrier)s item has been waiting for you at the front "
                                          "desk since %(date)s."), link=("mail.index", {}), carrier=item.carrier,
                       date=item.registered_at.date().isoformat())
                reminded += 1
    return reminded


class LostItem(BaseModel):
    description = TextField()
    finder_name = CharField(max_length=80)
    found_at = DateTimeField()
    found_place = CharField(max_length=200)
    stored_at = CharField(max_length=200)
    photo_name = CharField(max_length=80, default="")  # stored under a name the portal chose
    registered_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    registered_at = DateTimeField(default=utcnow)
    claimant_name = CharField(max_length=80, default="")
    claimant_id_checked = BooleanField(default=False)
    claimed_at = DateTimeField(null=True)
    handed_over_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    disposed_at = DateTimeField(null=True)
    disposal_reason = TextField(default="")
    anonymised_at = DateTimeField(null=True)  # see models.privacy

    @property
    def open(self):
        return self.claimed_at is None and self.disposed_at is None

    @classmethod
    def held(cls):
        return cls.select().where(cls.claimed_at.is_null(), cls.disposed_at.is_null()).order_by(cls.found_at)

    @classmethod
    def due_for_disposal(cls, now=None):
        cutoff = (now or utcnow()) - dt.timedelta(days=settings.get(LOST_UNCLAIMED_DAYS))
        return cls.held().where(cls.found_at < cutoff)


def register_lost(actor, description, finder_name, found_at, found_place, stored_at, photo=None):
    """`photo` is (bytes, format) already checked by models.uploads.check_image."""
    photo_name = ""
    if photo is not None:
        from models.uploads import store_image
        photo_name = store_image("lost", *photo).name
    with write_transaction():
        item = LostItem.create(description=description, finder_name=finder_name, found_at=found_at,
                               found_place=found_place, stored_at=stored_at, photo_name=photo_name,
                               registered_by=actor)
        audit.record_create(actor, item)
    return item


def claim_lost(actor, item, claimant_name, id_checked):
    if not claimant_name.strip():
        raise DeskError(_l("Write the claimant's name."))
    if not id_checked:
        raise DeskError(_l("Check the claimant's ID before handing the item over."))
    with write_transaction():
        item = LostItem.get_by_id(item.id)
        if not item.open:
            raise DeskError(_l("This item is no longer held."))
        before = item.snapshot()
        item.claimant_name = claimant_name.strip()
        item.claimant_id_checked = True
        item.claimed_at = utcnow()
        item.handed_over_by = actor
        item.save()
        audit.record_change(actor, item, before)
    return item


def dispose_lost(actor, item, reason, now=None):
    if not reason.strip():
        raise DeskError(_l("Write the reason for disposal."))
    with write_transaction():
        item = LostItem.get_by_id(item.id)
        if not item.open:
            raise DeskError(_l("This item is no longer held."))
        if not LostItem.due_for_disposal(now).where(LostItem.id == item.id).exists():
            raise DeskError(_l("Only items unclaimed for %(n)d days may be disposed of.",
                               n=settings.get(LOST_UNCLAIMED_DAYS)))
        before = item.snapshot()
        item.disposed_at = utcnow()
        item.disposal_reason = reason.strip()
        item.save()
        audit.record_change(actor, item, before)
    return item
