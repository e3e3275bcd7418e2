"""Best staff (优秀员工及厂商) and the red/black list (红黑榜预警公示), seed 002 满意度工作 "每月 (4)":
the service manager chooses the period's and the year's best staff from the assessment ranking
(and vendors, by name, where the site has them) and publishes them to everyone; each month the
portal proposes the red/black list — names from fines, staff complaints and assessment results,
each with its reason — which the manager edits and publishes for the notice board. What is
published stays as published."""
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from peewee import JOIN, CharField, DateTimeField, DecimalField, ForeignKeyField, IntegerField, TextField

from models import audit, settings
from models.base import BaseModel, DomainError, utcnow, write_transaction
from models.complaints import STAFF_CATEGORY, Complaint
from models.notifications import N_, notify
from models.numbering import next_number
from models.quality.assessments import (
    BLACK_SCORE, RED_SCORE, SCORED, Assessment, AssessmentPeriod, annual_ranking, period_fines,
)
from models.reports import Period
from models.users import Department, User

audit.name_record_type("award", _l("Best staff"))
audit.name_record_type("red_black_list", _l("Red/black list"))
audit.name_record_type("red_black_entry", _l("Red/black list entry"))
audit.ACTION_LABELS.update({"publish": _l("Published")})

AWARD_KINDS = {"period": _l("Best staff of the period"), "year": _l("Best staff of the year")}
COLOURS = {"red": _l("Red list (praise)"), "black": _l("Black list (warning)")}
SOURCES = {"assessment": _l("Assessment"), "fine": _l("Fine"), "complaint": _l("Staff complaint"),
           "manual": _l("Added by the manager")}
#: Best staff and vendors named for one period or one year: an honour for the few, not a roll.
MAX_AWARDS = 10


class AwardError(DomainError):
    """A refused choice or publication; the message is for the user."""


def _require_manager(actor):
    if "service_manager" not in actor.roles:
        raise AwardError(_l("Only the service manager does this."))


# ---------------------------------------------------------------- best staff

class Award(BaseModel):
    kind = CharField(max_length=8)           # period, year
    period_key = CharField(max_length=8, index=True)  # "2026-11", "2026-Q4" or "2026"
    person = ForeignKeyField(User, null=True, on_delete="RESTRICT", backref="+")
    vendor = CharField(max_length=120, default="")  # a vendor (厂商) by name, instead of a person
    score = DecimalField(max_digits=5, decimal_places=1, null=True)
    reason = TextField(default="")
    chosen_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    created_at = DateTimeField(default=utcnow)
    published_at = DateTimeField(null=True)
    voided_at = DateTimeField(null=True)

    @property
    def name(self):
        return self.person.display_name if self.person_id else self.vendor


def ranked_score(kind, key, person_id):
    """The person's score in the ranking the choice is made from, or None when not ranked there."""
    if kind == "year":
        for person, average, _counted in annual_ranking(int(key)):
            if person.id == person_id:
                return average
        return None
    row = (Assessment.select(Assessment.final_score).join(AssessmentPeriod)
           .where(AssessmentPeriod.key == key, Assessment.person == person_id, Assessment.state.in_(SCORED))
           .order_by(Assessment.id.desc()).first())
    return row.final_score if row else None


def choose(actor, kind, key, *, person_id=None, vendor="", reason=""):
    """Name a best member of staff (from the ranking) or a best vendor (by name) for a period or year."""
    _require_manager(actor)
    vendor = (vendor or "").strip()
    reason = (reason or "").strip()
    if kind not in AWARD_KINDS:
        raise AwardError(_l("Choose the period or the year."), field="kind")
    if not reason:
        raise AwardError(_l("Say why they are chosen."), field="reason")
    if bool(person_id) == bool(vendor):
        raise AwardError(_l("Choose a person from the ranking or type a vendor's name (one of the two)."),
                         field="person")
    with write_transaction():
        score = None
        if person_id:
            score = ranked_score(kind, key, person_id)
            if score is None:
                raise AwardError(_l("Choose from the ranking: this person has no result there."), field="person")
        same = Award.select().where(Award.kind == kind, Award.period_key == key, Award.voided_at.is_null(),
                                    (Award.person == person_id) if person_id else (Award.vendor == vendor))
        if same.exists():
            raise AwardError(_l("Chosen already."), field="person" if person_id else "vendor")
        chosen = Award.select().where(Award.kind == kind, Award.period_key == key, Award.voided_at.is_null())
        if chosen.count() >= MAX_AWARDS:
            raise AwardError(_l("At most %(max)s are chosen for one period or year: withdraw a choice first.",
                                max=MAX_AWARDS), field="person" if person_id else "vendor")
        award = Award.create(kind=kind, period_key=key, person=person_id or None, vendor=vendor, score=score,
                             reason=reason, chosen_by=actor)
        audit.record_create(actor, award)
    return award


def withdraw(actor, award_id):
    """Take back a choice that is not published yet."""
    _require_manager(actor)
    with write_transaction():
        award = Award.get_or_none(Award.id == award_id)
        if award is None or award.voided_at is not None:
            raise AwardError(_l("No such choice."))
        if award.published_at is not None:
            raise AwardError(_l("Published already: what is published stays."))
        Award.update(voided_at=utcnow()).where(Award.id == award.id).execute()
        audit.record_event(actor, "void", award)


PUBLISHED_AWARDS = N_("Best staff of %(period)s: %(names)s")


def publish_awards(actor, kind, key):
    """Publish the choices of a period or year, telling everyone once."""
    _require_manager(actor)
    with write_transaction():
        waiting = list(awards(kind, key).where(Award.published_at.is_null()))
        if not waiting:
            raise AwardError(_l("Nothing chosen to publish."))
        now = utcnow()
        Award.update(published_at=now).where(Award.id.in_([a.id for a in waiting])).execute()
        for award in waiting:
            audit.record_event(actor, "publish", award)
        names = "、".join(a.name for a in awards(kind, key))
        for user in User.select().where(User.is_active == True):  # noqa: E712
            notify(user, PUBLISHED_AWARDS, ("quality_assessments.index", {}), period=key, names=names)
    return len(waiting)


def awards(kind, key):
    return (Award.select(Award, User).join(User, JOIN.LEFT_OUTER, on=(Award.person == User.id))
            .where(Award.kind == kind, Award.period_key == key, Award.voided_at.is_null())
            .order_by(Award.score.desc(nulls="LAST"), Award.id))


def published_awards(limit=12):
    return list(Award.select(Award, User).join(User, JOIN.LEFT_OUTER, on=(Award.person == User.id))
                .where(Award.published_at.is_null(False), Award.voided_at.is_null())
                .order_by(Award.published_at.desc(), Award.score.desc(nulls="LAST"), Award.id).limit(limit))


# ---------------------------------------------------------------- the red/black list

class RedBlackList(BaseModel):
    month = CharField(max_length=7, unique=True)  # "2026-11"
    number = CharField(max_length=20, unique=True)
    state = CharField(max_length=10, default="draft")  # draft, published
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    created_at = DateTimeField(default=utcnow)
    published_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    published_at = DateTimeField(null=True)

    @property
    def is_published(self):
        return self.state == "published"

    def live_entries(self):
        return (RedBlackEntry.select().where(RedBlackEntry.notice == self.id, RedBlackEntry.removed_at.is_null())
                .order_by(RedBlackEntry.colour.desc(), RedBlackEntry.position, RedBlackEntry.id))


class RedBlackEntry(BaseModel):
    notice = ForeignKeyField(RedBlackList, backref="entries", on_delete="CASCADE")
    colour = CharField(max_length=5)  # red, black
    person = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    name = CharField(max_length=80)
    department = CharField(max_length=80, default="")
    reason = TextField()
    source = CharField(max_length=12)
    position = IntegerField(default=0)
    removed_at = DateTimeField(null=True)


def proposals(month):
    """What the portal proposes for a month (a Period): [(colour, person or None, name, department,
    reason, source)] — red: assessment results at or above the red score; black: results below the
    black score, fines of the month, staff complaints of the month. The reasons are the notice's
    own words (it prints in Chinese)."""
    found = []
    periods = AssessmentPeriod.select(AssessmentPeriod.id).where(AssessmentPeriod.ends_on >= month.start,
                                                                 AssessmentPeriod.ends_on < month.end)
    results = (Assessment.select(Assessment, User, Department, AssessmentPeriod)
               .join(User, on=(Assessment.person == User.id))
               .switch(Assessment).join(Department, JOIN.LEFT_OUTER, on=(Assessment.department == Department.id))
               .switch(Assessment).join(AssessmentPeriod)
               .where(Assessment.period.in_(periods), Assessment.state.in_(SCORED))
               .order_by(Assessment.final_score.desc(), User.display_name))
    red, black = Decimal(settings.get(RED_SCORE)), Decimal(settings.get(BLACK_SCORE))
    for row in results:
        department = row.department.name if row.department_id else ""
        if row.final_score >= red:
            found.append(("red", row.person, row.person.display_name, department,
                          f"{row.period.key} 考核得分 {row.final_score} 分，不低于 {red} 分", "assessment"))
        elif row.final_score < black:
            found.append(("black", row.person, row.person.display_name, department,
                          f"{row.period.key} 考核得分 {row.final_score} 分，低于 {black} 分", "assessment"))
    fines = period_fines(month.start, month.end)
    if fines:
        people = {u.id: u for u in User.select(User, Department).join(Department, JOIN.LEFT_OUTER)
                  .where(User.id.in_(list(fines)))}
        for person_id, (total, count) in sorted(fines.items(), key=lambda item: -item[1][0]):
            person = people.get(person_id)
            if person is not None:
                found.append(("black", person, person.display_name,
                              person.department.name if person.department_id else "",
                              f"本月检查失分罚款 {count} 次，共 ¥{total:,.2f}", "fine"))
    start, end = month.utc_range()
    named = {}
    for complaint in (Complaint.select().where(Complaint.category == STAFF_CATEGORY, Complaint.voided_at.is_null(),
                                               Complaint.created_at >= start, Complaint.created_at < end,
                                               Complaint.staff_person != "")
                      .order_by(Complaint.created_at)):
        named.setdefault(complaint.staff_person.strip(), []).append(complaint)
    if named:
        staff = {}
        for user in User.select(User, Department).join(Department, JOIN.LEFT_OUTER).where(User.is_active == True):  # noqa: E712
            for name in (user.display_name, user.username):
                staff.setdefault(name.strip().lower(), user)
        for name, rows in named.items():
            person = staff.get(name.lower())
            numbers = "、".join(c.number for c in rows[:3]) + ("等" if len(rows) > 3 else "")
            found.append(("black", person, person.display_name if person else name,
                          (person.department.name if person and person.department_id else ""),
                          f"本月被顾客投诉 {len(rows)} 次（{numbers}）", "complaint"))
    return found


def red_black_list(month_key):
    return RedBlackList.get_or_none(RedBlackList.month == month_key)


def propose(actor, month_key):
    """Make the month's list (or add what the portal finds now to a draft one): the names the data
    gives, each with its reason; what the manager removed or wrote stays as they left it."""
    _require_manager(actor)
    month = Period.parse("month", month_key)
    with write_transaction():
        notice = red_black_list(month.key)
        if notice is None:
            notice = RedBlackList.create(month=month.key, number=next_number("HB"), created_by=actor)
            audit.record_create(actor, notice)
        elif notice.is_published:
            raise AwardError(_l("Published already: what is published stays."))
        known = {(e.colour, e.name, e.source) for e in notice.entries}
        position = len(known)
        added = 0
        for colour, person, name, department, reason, source in proposals(month):
            if (colour, name, source) in known:
                continue
            position += 1
            entry = RedBlackEntry.create(notice=notice, colour=colour, person=person, name=name,
                                         department=department, reason=reason, source=source, position=position)
            audit.record_create(actor, entry)
            known.add((colour, name, source))
            added += 1
    return notice, added


def _draft_entry(entry_id):
    entry = RedBlackEntry.get_or_none(RedBlackEntry.id == entry_id)
    if entry is None:
        raise AwardError(_l("No such entry."))
    if entry.notice.is_published:
        raise AwardError(_l("Published already: what is published stays."))
    return entry


def edit_entry(actor, entry_id, *, reason=None, remove=False):
    _require_manager(actor)
    with write_transaction():
        entry = _draft_entry(entry_id)
        before = entry.snapshot()
        if remove:
            entry.removed_at = utcnow()
        else:
            reason = (reason or "").strip()
            if not reason:
                raise AwardError(_l("Give the reason for this name."), field="reason")
            entry.reason = reason
        entry.save()
        audit.record_change(actor, entry, before)
    return entry


def add_entry(actor, month_key, *, colour, name, reason, department=""):
    _require_manager(actor)
    name, reason = (name or "").strip(), (reason or "").strip()
    if colour not in COLOURS:
        raise AwardError(_l("Choose red or black."), field="colour")
    if not name:
        raise AwardError(_l("Enter the name."), field="name")
    if not reason:
        raise AwardError(_l("Give the reason for this name."), field="reason")
    with write_transaction():
        notice = red_black_list(month_key)
        if notice is None:
            notice, _added = propose(actor, month_key)
        if notice.is_published:
            raise AwardError(_l("Published already: what is published stays."))
        person = User.get_or_none(User.display_name == name)
        entry = RedBlackEntry.create(notice=notice, colour=colour, person=person, name=name,
                                     department=(department or "").strip(), reason=reason, source="manual",
                                     position=notice.entries.count() + 1)
        audit.record_create(actor, entry)
    return entry


PUBLISHED_LIST = N_("The red/black list of %(month)s is published.")


def publish_list(actor, month_key):
    _require_manager(actor)
    with write_transaction():
        notice = red_black_list(month_key)
        if notice is None:
            raise AwardError(_l("Make the list first."))
        if notice.is_published:
            raise AwardError(_l("Published already: what is published stays."))
        if not notice.live_entries().exists():
            raise AwardError(_l("The list has no names."))
        RedBlackList.update(state="published", published_by=actor, published_at=utcnow()).where(
            RedBlackList.id == notice.id).execute()
        audit.record_event(actor, "publish", notice)
        for user in User.select().where(User.is_active == True):  # noqa: E712
            notify(user, PUBLISHED_LIST, ("quality_assessments.red_black", {"month": month_key}), month=month_key)
    return red_black_list(month_key)


def latest_published_list():
    return (RedBlackList.select().where(RedBlackList.state == "published")
            .order_by(RedBlackList.month.desc()).first())
