"""Training (培训, seed 000): induction, periodic and special courses, who must attend, the
attendance taken on a tablet (tap each person present), an optional score per attendee, a
person's training record, the new staff still without an induction (and the manager reminded
once per person by a sweep), and the monthly training report (月度检查培训报告) that sets the
month's inspection findings beside the courses that addressed their checklist items."""
import datetime as dt

from flask_babel import lazy_gettext as _l
from peewee import (
    JOIN, BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, IntegrityError, TextField, fn,
)

from models import audit, settings
from models.base import BaseModel, DomainError, Transition, VersionedModel, VoidableModel, db, utcnow, write_transaction
from models.notifications import N_, notify
from models.numbering import next_number
from models.reports import Period
from models.timezone import day_start_utc, local_now
from models.users import Department, User

audit.name_record_type("course", _l("Training course"))
audit.ACTION_LABELS.update({"induction_reminder": _l("Induction missing: manager reminded"),
                            "attendance": _l("Attendance recorded")})

TRAINING = _l("Training")
INDUCTION_DAYS = settings.define(
    "training_induction_days", int, 30, _l("New staff attend an induction within (days)"), TRAINING,
    minimum=1, maximum=365)
NEW_STAFF_DAYS = settings.define(
    "training_new_staff_days", int, 180, _l("Staff count as new for this many days after their account is made"),
    TRAINING, minimum=1, maximum=3650)
SCORE_MAX = settings.define(
    "training_score_max", int, 100, _l("Highest test score of a course"), TRAINING, minimum=1, maximum=1000)

KINDS = {"induction": _l("Induction"), "periodic": _l("Periodic"), "special": _l("Special")}
STATES = {"planned": _l("Planned"), "held": _l("Held, attendance recorded"), "closed": _l("Closed"),
          "voided": _l("Voided")}
MANAGERS = frozenset({"service_manager", "dept_head", "admin"})
ATTENDANCE_STATES = ("planned", "held")


class TrainingError(DomainError):
    """A refused step; the message is for the user, `field` the form field it concerns."""


TRANSITIONS = {
    "hold": Transition(_l("Held: attendance recorded"), ("planned",), "held", MANAGERS),
    "close": Transition(_l("Close"), ("held",), "closed", MANAGERS),
    "reopen": Transition(_l("Reopen the attendance"), ("closed",), "held", MANAGERS),
    "void": Transition(_l("Void"), ("planned", "held"), "voided", MANAGERS, note_required=True,
                       note_label=_l("Reason")),
}


class Course(VoidableModel, VersionedModel):
    error = TrainingError
    missing_message = _l("No such course.")
    number = CharField(max_length=20, unique=True)
    kind = CharField(max_length=10, index=True)
    title = CharField(max_length=200)
    starts_at = DateTimeField(index=True)
    minutes = IntegerField(default=60)
    trainer = CharField(max_length=80)
    place = CharField(max_length=120, default="")
    content = TextField(default="")
    departments = CharField(max_length=400, default="")  # the departments invited, as their names read then
    state = CharField(max_length=10, default="planned", index=True)
    held_at = DateTimeField(null=True)
    closed_at = DateTimeField(null=True)
    created_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")

    @property
    def kind_label(self):
        return KINDS.get(self.kind, self.kind)

    def actions_for(self, user):
        return [(name, t) for name, t in TRANSITIONS.items() if refusal(self, name, user) is None]

    @property
    def attendance_open(self):
        return self.state in ATTENDANCE_STATES


class Attendee(BaseModel):
    """Who must attend, and whether they came: one row per course and person."""
    course = ForeignKeyField(Course, backref="attendee_rows", on_delete="CASCADE")
    person = ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    present = BooleanField(default=False)
    score = IntegerField(null=True)
    marked_at = DateTimeField(null=True)
    marked_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")

    class Meta:
        indexes = ((("course", "person"), True),)


class CourseTopic(BaseModel):
    """A checklist item (of the quality inspections) the course addresses. The item's id: the
    checklist lives in models.quality.checklists, read through one function below."""
    course = ForeignKeyField(Course, backref="topic_rows", on_delete="CASCADE")
    item_id = IntegerField(index=True)

    class Meta:
        indexes = ((("course", "item_id"), True),)


class CourseMaterial(BaseModel):
    course = ForeignKeyField(Course, backref="materials", on_delete="CASCADE")
    stored_name = CharField(max_length=80)
    original_name = CharField(max_length=200)
    added_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    added_at = DateTimeField(default=utcnow)


class InductionReminder(BaseModel):
    """The manager was told once that this person has no induction: the sweep's mark."""
    person = ForeignKeyField(User, unique=True, backref="+", on_delete="CASCADE")
    sent_at = DateTimeField(default=utcnow)


# ---------------------------------------------------------------- the checklist, where installed

def checklist_items():
    """[(id, title)] of the active checklist items, or [] where the inspections area is not installed."""
    try:
        from models.quality.checklists import ChecklistItem
    except ImportError:
        return []
    query = ChecklistItem.select(ChecklistItem.id, ChecklistItem.title)
    if hasattr(ChecklistItem, "active"):
        query = query.where(ChecklistItem.active == True)  # noqa: E712
    return [(row.id, row.title) for row in query.order_by(ChecklistItem.title).limit(500)]


def findings_by_item(period, department_id=None):
    """The month's inspection findings per checklist item: [(item id, title, count, points lost)],
    most frequent first; [] where the inspections area is not installed."""
    try:
        from models.quality.checklists import ChecklistItem
        from models.quality.inspections import Finding, Inspection
    except ImportError:
        return []
    query = (Finding.select(ChecklistItem.id, ChecklistItem.title, fn.COUNT(Finding.id),
                            fn.SUM(Finding.points_lost))
             .join(Inspection, on=(Finding.inspection == Inspection.id))
             .switch(Finding).join(ChecklistItem, on=(Finding.item == ChecklistItem.id))
             .where(Inspection.inspected_on >= period.start, Inspection.inspected_on < period.end,
                    Finding.voided_at.is_null(), Inspection.voided_at.is_null())
             .group_by(ChecklistItem.id, ChecklistItem.title)
             .order_by(fn.COUNT(Finding.id).desc(), ChecklistItem.title).limit(100))
    if department_id:
        query = query.where(Inspection.department == department_id)
    return [(item_id, title, count, points) for item_id, title, count, points in query.tuples()]


# ---------------------------------------------------------------- courses

def _check_course(kind, title, starts_at, trainer, minutes):
    if kind not in KINDS:
        raise TrainingError(_l("Choose the kind of course."), field="kind")
    if not (title or "").strip():
        raise TrainingError(_l("Give the course a title."), field="title")
    if starts_at is None:
        raise TrainingError(_l("Enter when the course is held."), field="starts_at")
    if not (trainer or "").strip():
        raise TrainingError(_l("Name the trainer."), field="trainer")
    if minutes is not None and not 10 <= minutes <= 24 * 60:
        raise TrainingError(_l("A course lasts between 10 minutes and a day."), field="minutes")


#: Who runs every course; a department head runs the courses they planned themselves.
RUNS_ANY = frozenset({"service_manager", "admin"})
NOT_YOURS = _l("Only the head who planned this course, or the service manager, may run it.")


def may_manage(user, course=None):
    """Whether the user plans courses (no course given) or runs this one: takes its attendance, adds
    its materials and people, holds and closes it. The one place that decides."""
    roles = set(user.roles)
    if roles & RUNS_ANY:
        return True
    return "dept_head" in roles and (course is None or course.created_by_id == user.id)


def create(actor, *, kind, title, starts_at, trainer, place="", content="", minutes=60, person_ids=(),
           department_ids=(), item_ids=()):
    """Plan a course; who must attend is the people named and everyone active in the departments named."""
    if not may_manage(actor):
        raise TrainingError(_l("Your role may not do this."))
    _check_course(kind, title, starts_at, trainer, minutes)
    with write_transaction():
        departments = list(Department.select().where(Department.id.in_(list(department_ids) or [0]))
                           .order_by(Department.name))
        people = set(User.select(User.id).where(User.is_active == True,  # noqa: E712
                                                (User.id.in_(list(person_ids) or [0]))
                                                | User.department.in_([d.id for d in departments] or [0]))
                     .tuples())
        if not people:
            raise TrainingError(_l("Name who must attend: people or departments."), field="people")
        course = Course.create(number=next_number("PX"), kind=kind, title=title.strip(), starts_at=starts_at,
                               minutes=minutes or 60, trainer=trainer.strip(), place=(place or "").strip(),
                               content=(content or "").strip(), created_by=actor,
                               departments="、".join(d.name for d in departments)[:400])
        Attendee.insert_many([{"course": course.id, "person": pid} for (pid,) in sorted(people)]).execute()
        known = {item_id for item_id, _title in checklist_items()}
        topics = [i for i in set(item_ids) if i in known]
        if topics:
            CourseTopic.insert_many([{"course": course.id, "item_id": i} for i in sorted(topics)]).execute()
        audit.record_create(actor, course)
    return course


def add_material(actor, course_id, data, filename, max_bytes=10 * 1024 * 1024):
    from models.uploads import check_document, store_document
    extension = check_document(data, max_bytes)
    with write_transaction():
        course = Course.load(course_id)
        _must_run(actor, course)
        if course.is_void:
            raise TrainingError(_l("This course is voided."))
        name = store_document("training", data, extension)
        material = CourseMaterial.create(course=course, stored_name=name,
                                         original_name=(filename or name)[-200:], added_by=actor)
        audit.record_event(actor, "update", course, changes={"material": [None, material.original_name]})
    return material


def _must_run(actor, course):
    if not may_manage(actor, course):
        raise TrainingError(NOT_YOURS if may_manage(actor) else _l("Your role may not do this."))


def refusal(course, action, user):
    transition = TRANSITIONS.get(action)
    if transition is None:
        return _l("Unknown action.")
    if course.state not in transition.sources:
        return _l("This cannot be done to a course that is “%(state)s”.", state=STATES[course.state])
    if not set(user.roles) & transition.roles:
        return _l("Your role may not do this.")
    if not may_manage(user, course):
        return NOT_YOURS
    return None


def apply(course_id, action, actor, version, note=""):
    """Take one step of a course: checked, stamped, audited."""
    with write_transaction():
        course = Course.load(course_id, version)
        reason = refusal(course, action, actor)
        if reason is not None:
            raise TrainingError(reason)
        note = (note or "").strip()
        now = utcnow()
        values = {Course.state: TRANSITIONS[action].target}
        if action == "hold":
            if course.starts_at > now:
                raise TrainingError(_l("The course has not begun yet."))
            if not Attendee.select().where(Attendee.course == course, Attendee.present == True).exists():  # noqa: E712
                raise TrainingError(_l("Tap the people present first: nobody is marked."))
            values[Course.held_at] = now
        elif action == "close":
            values[Course.closed_at] = now
        elif action == "reopen":
            values[Course.closed_at] = None
        elif action == "void":
            if not note:
                raise TrainingError(_l("Give the reason."), field="note")
            values.update({Course.voided_at: now, Course.void_reason: note})
        before = course.snapshot()
        updated = course.update_versioned(version, values)
        audit.record_change(actor, updated, before)
    return updated


def _attendee(course, person_id):
    row = Attendee.get_or_none(Attendee.course == course, Attendee.person == person_id)
    if row is None:
        raise TrainingError(_l("This person is not on the course's list."))
    return row


def _attendance_allowed(actor, course):
    _must_run(actor, course)
    if not course.attendance_open:
        raise TrainingError(_l("Attendance is recorded only while a course is planned or held."))
    if course.starts_at - dt.timedelta(hours=1) > utcnow():
        raise TrainingError(_l("Attendance is taken on the day: the course begins later."))


def toggle(actor, course_id, person_id):
    """Tap a person: present ⇄ absent."""
    with write_transaction():
        course = Course.load(course_id)
        _attendance_allowed(actor, course)
        row = _attendee(course, person_id)
        present = not row.present
        Attendee.update(present=present, marked_at=utcnow(), marked_by=actor,
                        score=row.score if present else None).where(Attendee.id == row.id).execute()
        audit.record_event(actor, "attendance", course, changes={f"present:{person_id}": [row.present, present]})
    return Attendee.get_by_id(row.id)


def set_score(actor, course_id, person_id, score):
    """The test score or rating of one attendee, between 0 and the setting's highest; None clears it."""
    highest = settings.get(SCORE_MAX)
    if score is not None and not 0 <= score <= highest:
        raise TrainingError(_l("A score between 0 and %(max)s.", max=highest), field="score")
    with write_transaction():
        course = Course.load(course_id)
        _attendance_allowed(actor, course)
        row = _attendee(course, person_id)
        if not row.present and score is not None:
            raise TrainingError(_l("Only a person present gets a score."), field="score")
        Attendee.update(score=score, marked_at=utcnow(), marked_by=actor).where(Attendee.id == row.id).execute()
        audit.record_event(actor, "attendance", course, changes={f"score:{person_id}": [row.score, score]})
    return Attendee.get_by_id(row.id)


def add_person(actor, course_id, person_id):
    """Someone not on the list came (or must come)."""
    with write_transaction():
        course = Course.load(course_id)
        _must_run(actor, course)
        if not course.attendance_open:
            raise TrainingError(_l("Attendance is recorded only while a course is planned or held."))
        person = User.get_or_none(User.id == person_id, User.is_active == True)  # noqa: E712
        if person is None:
            raise TrainingError(_l("Choose a person."), field="person")
        try:
            with db.atomic():
                Attendee.create(course=course, person=person)
        except IntegrityError:
            raise TrainingError(_l("%(name)s is already on the list.", name=person.display_name),
                                field="person") from None
        audit.record_event(actor, "attendance", course, changes={f"added:{person.id}": [None, person.display_name]})


def attendees(course):
    return list(Attendee.select(Attendee, User, Department).join(User, on=(Attendee.person == User.id))
                .join(Department, JOIN.LEFT_OUTER, on=(User.department == Department.id))
                .where(Attendee.course == course).order_by(Department.name, User.display_name))


def topics(course):
    names = dict(checklist_items())
    return [(row.item_id, names.get(row.item_id, f"#{row.item_id}"))
            for row in CourseTopic.select().where(CourseTopic.course == course)]


def listing(state=None):
    query = Course.select().order_by(Course.starts_at.desc(), Course.id.desc())
    return query.where(Course.state == state) if state else query


def counts(course_ids):
    """course id -> (present, invited)"""
    if not course_ids:
        return {}
    rows = (Attendee.select(Attendee.course, fn.SUM(Attendee.present.cast("integer")), fn.COUNT(Attendee.id))
            .where(Attendee.course.in_(list(course_ids))).group_by(Attendee.course).tuples())
    return {cid: (int(present or 0), invited) for cid, present, invited in rows}


# ---------------------------------------------------------------- a person's record, the new staff

def record_of(person):
    """Every course the person was to attend (voided ones left out), newest first, with whether they came."""
    return list(Attendee.select(Attendee, Course).join(Course, on=(Attendee.course == Course.id))
                .where(Attendee.person == person, Course.state != "voided")
                .order_by(Course.starts_at.desc()).limit(500))


def _inducted():
    return (Attendee.select(Attendee.person).join(Course, on=(Attendee.course == Course.id))
            .where(Course.kind == "induction", Course.state.in_(("held", "closed")), Attendee.present == True))  # noqa: E712


def without_induction(now=None):
    """The new staff (accounts made within NEW_STAFF_DAYS) who have attended no induction:
    [(user, deadline, overdue)], the most overdue first."""
    now = now or utcnow()
    since = now - dt.timedelta(days=settings.get(NEW_STAFF_DAYS))
    days = dt.timedelta(days=settings.get(INDUCTION_DAYS))
    people = (User.select(User, Department).join(Department, JOIN.LEFT_OUTER)
              .where(User.is_active == True, User.created_at >= since, User.id.not_in(_inducted()))  # noqa: E712
              .order_by(User.created_at).limit(200))
    return [(u, u.created_at + days, u.created_at + days < now) for u in people]


REMINDER = N_("%(name)s joined on %(day)s and has attended no induction within %(days)s days.")


def remind_missing_inductions(now=None):
    """Tell the service managers once per person past the induction deadline: the person's mark
    and the messages commit together, so a rerun sends nothing."""
    now = now or utcnow()
    sent = 0
    marked = {row.person_id for row in InductionReminder.select(InductionReminder.person)}
    for person, deadline, overdue in without_induction(now):
        if not overdue or person.id in marked:
            continue
        with write_transaction():
            try:
                with db.atomic():
                    mark = InductionReminder.create(person=person, sent_at=now)
            except IntegrityError:
                continue
            for manager in User.active_with_role("service_manager"):
                notify(manager, REMINDER, ("quality_training.new_staff", {}), name=person.display_name,
                       day=person.created_at.date().isoformat(),
                       days=settings.get(INDUCTION_DAYS))
            audit.record_event(None, "induction_reminder", mark, record_type="course",
                               changes={"person": [None, person.display_name]})
        sent += 1
    return sent


# ---------------------------------------------------------------- the monthly training report

def monthly_report(period, department_id=None):
    """{"findings": [(item id, title, count, points, [courses addressing it])], "courses": the month's
    courses held, with (present, invited)}."""
    start, end = period.utc_range()
    courses = list(Course.select().where(Course.starts_at >= start, Course.starts_at < end,
                                         Course.state != "voided").order_by(Course.starts_at).limit(100))
    numbers = counts([c.id for c in courses])
    findings = findings_by_item(period, department_id)
    addressing = {}
    if findings:
        # Courses of the month and the one before: training answers what the last checks found.
        since = day_start_utc(period.previous().start)
        rows = (CourseTopic.select(CourseTopic.item_id, Course).join(Course)
                .where(CourseTopic.item_id.in_([f[0] for f in findings]), Course.starts_at >= since,
                       Course.starts_at < end, Course.state != "voided"))
        for row in rows:
            addressing.setdefault(row.item_id, []).append(row.course)
    return {"findings": [(i, t, n, p, addressing.get(i, [])) for i, t, n, p in findings],
            "courses": [(c, numbers.get(c.id, (0, 0))) for c in courses],
            "uncovered": sum(1 for f in findings if f[0] not in addressing)}


def this_month():
    return Period.containing("month", local_now().date())
