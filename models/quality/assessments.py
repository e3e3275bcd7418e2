"""Assessments (考核, seed 000 "考核与激励", seed 002 满意度工作): each period — monthly or
quarterly, a setting — the service manager opens one assessment per member of staff. The person
rates themself on the seed's four dimensions (业绩 performance, 态度 attitude, 技能 skills,
协作 teamwork), their superior rates them (the head of their department; for a head, the service
manager; for the service manager, leadership), and a customer figure is taken from the data of the
period: staff complaints naming the person, the callbacks of complaints they handled, their fines.
The final score weighs the three with the weights an administrator sets (AssessmentWeights).

open → self_rated → superior_rated → confirmed (the person acknowledges) → archived (when the
period is closed). A confirmed assessment is never edited: a correction is a new assessment
that refers to the old one, which is then "corrected". TRANSITIONS says who moves what; apply()
is the one function that moves an assessment."""
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import lazy_gettext as _l
from peewee import JOIN, CharField, DateField, DateTimeField, DecimalField, ForeignKeyField, IntegerField, TextField, fn

from models import audit, settings
from models.base import BaseModel, DomainError, Transition, VersionedModel, VoidableModel, utcnow, write_transaction
from models.callbacks import Callback
from models.complaints import STAFF_CATEGORY, Complaint
from models.money import MoneyField, money
from models.notifications import N_, notify
from models.numbering import next_number
from models.reports import Period
from models.timezone import local_now
from models.users import Department, User, UserRole, with_roles

audit.name_record_type("assessment", _l("Assessment"))
audit.name_record_type("assessment_period", _l("Assessment period"))
audit.name_record_type("assessment_weights", _l("Assessment weights"))
audit.ACTION_LABELS.update({"assessment_period_open": _l("Assessment period opened"),
                            "assessment_period_close": _l("Assessment period closed")})

SECTION = _l("Assessments")
PERIOD_KIND = settings.define(
    "assessment_period_kind", str, "month", _l("Assessment period: month or quarter"), SECTION,
    help=_l("Type month or quarter."))
SCALE_MAX = settings.define(
    "assessment_scale_max", int, 100, _l("Highest rating of a dimension"), SECTION, minimum=5, maximum=100)
COMPLAINT_DEDUCTION = settings.define(
    "assessment_complaint_deduction", int, 10, _l("Customer figure: points off per staff complaint naming the person"),
    SECTION, minimum=0, maximum=100)
FINE_DEDUCTION = settings.define(
    "assessment_fine_deduction", int, 5, _l("Customer figure: points off per ¥50 of fines in the period"),
    SECTION, minimum=0, maximum=100)
RED_SCORE = settings.define(
    "assessment_red_list_score", int, 90, _l("Red list: a final score of at least"), SECTION, minimum=0, maximum=100)
BLACK_SCORE = settings.define(
    "assessment_black_list_score", int, 60, _l("Black list: a final score below"), SECTION, minimum=0, maximum=100)

PERIOD_KINDS = {"month": _l("Monthly"), "quarter": _l("Quarterly")}
DIMENSIONS = {
    "performance": _l("Performance (业绩)"),
    "attitude": _l("Attitude (态度)"),
    "skills": _l("Skills (技能)"),
    "teamwork": _l("Teamwork (协作)"),
}
#: The printed form's names of the dimensions.
DIMENSIONS_ZH = {"performance": "工作业绩", "attitude": "服务态度", "skills": "专业技能", "teamwork": "团队协作"}
SOURCES = {"self_share": _l("Self rating"), "superior_share": _l("Superior rating"),
           "customer_share": _l("Customer figure")}
# The seeds name the dimensions and the three sources, not their weights: these defaults are
# ours, and the administrator sets the site's own (AssessmentWeights).
DEFAULT_WEIGHTS = {"performance": 40, "attitude": 30, "skills": 20, "teamwork": 10,
                   "self_share": 20, "superior_share": 50, "customer_share": 30}

STATES = {
    "open": _l("Open: self rating due"),
    "self_rated": _l("Self-rated: superior rating due"),
    "superior_rated": _l("Rated: to be acknowledged"),
    "confirmed": _l("Acknowledged by the person"),
    "archived": _l("Archived (period closed)"),
    "corrected": _l("Corrected (replaced)"),
    "voided": _l("Voided"),
}
SCORED = ("superior_rated", "confirmed", "archived")
UNFINISHED = ("open", "self_rated", "superior_rated")
MANAGERS = frozenset({"service_manager"})
#: Who reads every assessment; a department head reads their department's, everyone their own.
READERS = frozenset({"service_manager", "leadership", "admin"})
ONE_DECIMAL = Decimal("0.1")


class AssessmentError(DomainError):
    """A refused assessment step; the message is for the user, `field` the field it concerns."""


TRANSITIONS = {
    "self_rate": Transition(_l("Rate myself"), ("open",), "self_rated", "self"),
    "superior_rate": Transition(_l("Rate as superior"), ("self_rated",), "superior_rated", "superior"),
    "confirm": Transition(_l("Acknowledge the result"), ("superior_rated",), "confirmed", "self"),
    "archive": Transition(_l("Archive"), ("confirmed",), "archived", MANAGERS),
    "correct": Transition(_l("Correct: a new assessment replaces this one"), ("superior_rated", "confirmed", "archived"),
                          "corrected", MANAGERS, True, _l("What is corrected and why")),
    "void": Transition(_l("Void"), UNFINISHED, "voided", MANAGERS, True, _l("Reason")),
}


def _q(value):
    return Decimal(value).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


class AssessmentWeights(BaseModel):
    """The weights as an administrator set them; the newest row holds. Each period copies them
    when it opens, so a later change never alters a period's results."""
    performance = IntegerField()
    attitude = IntegerField()
    skills = IntegerField()
    teamwork = IntegerField()
    self_share = IntegerField()
    superior_share = IntegerField()
    customer_share = IntegerField()
    set_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    set_at = DateTimeField(default=utcnow)

    @classmethod
    def record_type(cls):
        return "assessment_weights"


def current_weights():
    row = AssessmentWeights.select().order_by(AssessmentWeights.id.desc()).first()
    if row is None:
        return dict(DEFAULT_WEIGHTS)
    return {key: getattr(row, key) for key in DEFAULT_WEIGHTS}


def set_weights(actor, values):
    """Store new weights: each a whole number 0–100, the dimensions summing to 100 and the three
    sources summing to 100; refused beside the first field otherwise."""
    if "admin" not in actor.roles:
        raise AssessmentError(_l("Only an administrator sets the weights."))
    clean = {}
    for key in DEFAULT_WEIGHTS:
        value = values.get(key)
        if not isinstance(value, int) or not 0 <= value <= 100:
            raise AssessmentError(_l("Enter a whole number from 0 to 100."), field=key)
        clean[key] = value
    dimensions = sum(clean[k] for k in DIMENSIONS)
    if dimensions != 100:
        raise AssessmentError(_l("The four dimensions' weights add up to %(sum)s: they must add up to 100.",
                                 sum=dimensions), field="performance")
    sources = sum(clean[k] for k in SOURCES)
    if sources != 100:
        raise AssessmentError(_l("Self, superior and customer weights add up to %(sum)s: they must add up to 100.",
                                 sum=sources), field="self_share")
    with write_transaction():
        row = AssessmentWeights.create(set_by=actor, **clean)
        audit.record_create(actor, row)
    return row


class AssessmentPeriod(BaseModel):
    key = CharField(max_length=8, unique=True)  # "2026-11" or "2026-Q4"
    kind = CharField(max_length=8)
    starts_on = DateField()
    ends_on = DateField()  # the last day
    state = CharField(max_length=8, default="open", index=True)
    # The weights in force when the period opened (see AssessmentWeights).
    w_performance = IntegerField()
    w_attitude = IntegerField()
    w_skills = IntegerField()
    w_teamwork = IntegerField()
    w_self = IntegerField()
    w_superior = IntegerField()
    w_customer = IntegerField()
    opened_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    opened_at = DateTimeField(default=utcnow)
    closed_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    closed_at = DateTimeField(null=True)

    @classmethod
    def record_type(cls):
        return "assessment_period"

    @property
    def period(self):
        return Period.parse(self.kind, self.key)

    @property
    def label(self):
        return self.period.label

    @property
    def is_open(self):
        return self.state == "open"

    def dimension_weight(self, dimension):
        return getattr(self, f"w_{dimension}")


class Assessment(VoidableModel, VersionedModel):
    error = AssessmentError
    stale_message = _l("Someone else changed this assessment meanwhile; look at it again.")
    missing_message = _l("No such assessment.")

    number = CharField(max_length=20, unique=True)
    period = ForeignKeyField(AssessmentPeriod, backref="assessments", on_delete="RESTRICT")
    person = ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    # The person's department when the period opened: a later move does not move the result.
    department = ForeignKeyField(Department, null=True, on_delete="SET NULL", backref="+")
    state = CharField(max_length=16, default="open", index=True)
    self_performance = IntegerField(null=True)
    self_attitude = IntegerField(null=True)
    self_skills = IntegerField(null=True)
    self_teamwork = IntegerField(null=True)
    self_comment = TextField(default="")
    self_rated_at = DateTimeField(null=True)
    superior_performance = IntegerField(null=True)
    superior_attitude = IntegerField(null=True)
    superior_skills = IntegerField(null=True)
    superior_teamwork = IntegerField(null=True)
    superior_comment = TextField(default="")
    superior_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    superior_rated_at = DateTimeField(null=True)
    # The customer figure and what it was made of, taken when the superior rates.
    complaints_count = IntegerField(default=0)
    callbacks_total = IntegerField(default=0)
    callbacks_satisfied = IntegerField(default=0)
    fines_amount = MoneyField(default=Decimal("0"))
    customer_score = DecimalField(max_digits=5, decimal_places=1, null=True)
    self_score = DecimalField(max_digits=5, decimal_places=1, null=True)
    superior_score = DecimalField(max_digits=5, decimal_places=1, null=True)
    final_score = DecimalField(max_digits=5, decimal_places=1, null=True, index=True)
    confirmed_at = DateTimeField(null=True)
    person_comment = TextField(default="")
    archived_at = DateTimeField(null=True)
    # A correction: the assessment this one replaces.
    corrects = ForeignKeyField("self", null=True, on_delete="RESTRICT", backref="corrections")
    note = TextField(default="")  # the reason of a correction or a void

    class Meta:
        indexes = ((("period", "person"), False),)

    def rating(self, source, dimension):
        return getattr(self, f"{source}_{dimension}")

    @property
    def is_live(self):
        return self.state not in ("voided", "corrected")

    def actions_for(self, user):
        return [(name, t) for name, t in TRANSITIONS.items() if refusal(self, name, user) is None]


# ---------------------------------------------------------------- who rates whom

def _pools():
    """The people superiors are drawn from, read once: {role: [active users]}."""
    return {role: list(User.active_with_role(role)) for role in ("dept_head", "service_manager", "leadership")}


def superiors_of(person, pools=None):
    """Who rates `person` as superior: the heads of their department; for a head, for someone
    with no department or in a department without a head, the service managers; for a service
    manager, leadership. `pools` (from _pools()) saves the queries when asked for many people."""
    pools = pools or _pools()
    roles = set(person.roles)
    if "service_manager" in roles:
        return [u for u in pools["leadership"] if u.id != person.id]
    if "dept_head" not in roles and person.department_id:
        heads = [u for u in pools["dept_head"] if u.department_id == person.department_id and u.id != person.id]
        if heads:
            return heads
    return [u for u in pools["service_manager"] if u.id != person.id]


def superior_refusal(assessment, user, pools=None):
    """Why `user` may not rate this assessment as superior, or None."""
    person = assessment.person
    if user.id == person.id:
        return _l("Nobody rates their own assessment as superior.")
    if assessment.superior_rated_at is not None:
        if assessment.superior_by_id == user.id:
            return _l("You have rated this assessment already: a second rating is refused.")
        return _l("This assessment has been rated by the superior already.")
    if any(u.id == user.id for u in superiors_of(person, pools)):
        return None
    roles = set(user.roles)
    if "dept_head" in roles and user.department_id != person.department_id:
        return _l("A department head rates only their own department's people.")
    return _l("Only %(name)s's superior rates this assessment.", name=person.display_name)


def refusal(assessment, action, user):
    transition = TRANSITIONS.get(action)
    if transition is None:
        return _l("Unknown action.")
    if action in ("self_rate", "superior_rate") and assessment.state in ("confirmed", "archived"):
        return _l("A confirmed assessment is not edited: the manager corrects it with a new assessment.")
    if action == "self_rate":
        if user.id != assessment.person_id:
            return _l("Only %(name)s rates their own assessment.", name=assessment.person.display_name)
        if assessment.self_rated_at is not None:
            return _l("You have rated yourself already: a second rating is refused.")
    if action == "superior_rate" and assessment.superior_rated_at is not None:
        return superior_refusal(assessment, user)
    if assessment.state not in transition.sources:
        return _l("This cannot be done to an assessment that is “%(state)s”.", state=STATES[assessment.state])
    if action == "superior_rate":
        return superior_refusal(assessment, user)
    if action == "confirm":
        if user.id != assessment.person_id:
            return _l("Only %(name)s acknowledges their own assessment.", name=assessment.person.display_name)
        return None
    if action != "self_rate" and not set(user.roles) & transition.roles:
        return _l("Only the service manager does this.")
    return None


# ---------------------------------------------------------------- the customer figure

def period_fines(start, end):
    """{user id: (total yuan, count)} of the fines issued on days start ≤ day < end. The fines are
    the inspections' (models.quality.fines, built alongside); until they exist there are none."""
    try:
        from models.quality.fines import Fine, fines_between
    except ImportError:
        return {}
    totals = {}
    # Bounded here too: whether fines_between's end is inclusive or not, the period is [start, end).
    for fine in fines_between(start, end).where(Fine.issued_on >= start, Fine.issued_on < end):
        total, count = totals.get(fine.person_id, (Decimal("0"), 0))
        totals[fine.person_id] = (total + money(fine.amount), count + 1)
    return totals


def complaints_naming(person, start_utc, end_utc):
    """The period's staff complaints that name the person (the complaint keeps the name as typed:
    the display name or the username, spaces and case aside)."""
    names = {n.strip().lower() for n in (person.display_name, person.username) if n and n.strip()}
    if not names:
        return Complaint.select().where(Complaint.id == 0)
    return (Complaint.select().where(Complaint.category == STAFF_CATEGORY, Complaint.voided_at.is_null(),
                                     Complaint.created_at >= start_utc, Complaint.created_at < end_utc,
                                     fn.LOWER(fn.TRIM(Complaint.staff_person)).in_(list(names)))
            .order_by(Complaint.created_at))


def customer_figure(person, period):
    """The customer side of an assessment (0–100): the satisfied share of the callbacks made in the
    period on complaints the person handled (100 when there were none), less points per staff
    complaint naming them and per ¥50 of their fines (settings)."""
    start, end = period.utc_range()
    complaints = complaints_naming(person, start, end).count()
    outcomes = list(Callback.select(Callback.outcome).join(Complaint, on=(Callback.complaint == Complaint.id))
                    .where(Complaint.handler == person.id, Callback.voided_at.is_null(),
                           Callback.outcome.in_(("satisfied", "unsatisfied")),
                           Callback.done_at >= start, Callback.done_at < end).tuples())
    total = len(outcomes)
    satisfied = sum(1 for (outcome,) in outcomes if outcome == "satisfied")
    fines, _count = period_fines(period.start, period.end).get(person.id, (Decimal("0"), 0))
    score = Decimal(100) * satisfied / total if total else Decimal(100)
    score -= complaints * settings.get(COMPLAINT_DEDUCTION)
    score -= fines / Decimal(50) * settings.get(FINE_DEDUCTION)
    return {"complaints": complaints, "callbacks": total, "satisfied": satisfied, "fines": money(fines),
            "score": _q(min(Decimal(100), max(Decimal(0), score)))}


def weighted(period_row, ratings):
    """The four dimensions' ratings, weighed by the period's weights, on the 0–100 scale."""
    top = settings.get(SCALE_MAX)
    total = sum(Decimal(ratings[d] or 0) * period_row.dimension_weight(d) for d in DIMENSIONS)
    return _q(total / 100 * 100 / top)


def final_score(period_row, self_score, superior_score, customer_score):
    return _q((self_score * period_row.w_self + superior_score * period_row.w_superior
               + customer_score * period_row.w_customer) / 100)


# ---------------------------------------------------------------- periods

def _require_manager(actor):
    if "service_manager" not in actor.roles:
        raise AssessmentError(_l("Only the service manager does this."))


def assessed_staff():
    """Active members of staff: everyone with a role beyond administrator or leadership."""
    staff_roles = UserRole.select(UserRole.user).where(UserRole.role.not_in(("admin", "leadership")))
    return with_roles(list(User.select().where(User.is_active == True, User.id.in_(staff_roles))  # noqa: E712
                           .order_by(User.display_name)))


OPENED = N_("Assessment %(period)s is open: rate yourself.")


def open_period(actor, key=None, today=None):
    """Open the period `key` (this period when None): one assessment per member of staff."""
    _require_manager(actor)
    kind = settings.get(PERIOD_KIND)
    kind = kind if kind in PERIOD_KINDS else "month"
    if key:
        try:
            period = Period.parse(kind, key)
        except ValueError:
            raise AssessmentError(_l("Enter the period like 2026-11 (monthly) or 2026-Q4 (quarterly)."),
                                  field="key") from None
    else:
        period = Period.containing(kind, today or local_now().date())
    weights = current_weights()
    with write_transaction():
        if AssessmentPeriod.select().where(AssessmentPeriod.key == period.key).exists():
            raise AssessmentError(_l("The period %(key)s is open already.", key=period.key), field="key")
        row = AssessmentPeriod.create(
            key=period.key, kind=kind, starts_on=period.start, ends_on=period.last_day, opened_by=actor,
            w_performance=weights["performance"], w_attitude=weights["attitude"], w_skills=weights["skills"],
            w_teamwork=weights["teamwork"], w_self=weights["self_share"], w_superior=weights["superior_share"],
            w_customer=weights["customer_share"])
        audit.record_event(actor, "assessment_period_open", row, changes={"key": [None, row.key]})
        for person in assessed_staff():
            _create(actor, row, person)
    return row


def _create(actor, period_row, person, corrects=None):
    assessment = Assessment.create(number=next_number("KH"), period=period_row, person=person,
                                   department=person.department_id, corrects=corrects)
    audit.record_create(actor, assessment)
    notify(person, OPENED, ("quality_assessments.show", {"assessment_id": assessment.id}), period=period_row.key)
    return assessment


def close_period(actor, period_id):
    """Close a period: every assessment acknowledged is archived; refused while some are not."""
    _require_manager(actor)
    with write_transaction():
        row = AssessmentPeriod.get_or_none(AssessmentPeriod.id == period_id)
        if row is None or not row.is_open:
            raise AssessmentError(_l("This period is closed already."))
        waiting = row.assessments.where(Assessment.state.in_(UNFINISHED)).count()
        if waiting:
            raise AssessmentError(_l("%(count)s assessments are not acknowledged yet: they are finished or voided "
                                     "before the period closes.", count=waiting))
        now = utcnow()
        for assessment in row.assessments.where(Assessment.state == "confirmed"):
            before = assessment.snapshot()
            updated = assessment.update_versioned(assessment.version, {Assessment.state: "archived",
                                                                       Assessment.archived_at: now})
            audit.record_change(actor, updated, before)
        AssessmentPeriod.update(state="closed", closed_by=actor, closed_at=now).where(
            AssessmentPeriod.id == row.id).execute()
        audit.record_event(actor, "assessment_period_close", row, changes={"state": ["open", "closed"]})
    return AssessmentPeriod.get_by_id(row.id)


# ---------------------------------------------------------------- one step

SELF_RATED = N_("%(name)s has rated themself (%(period)s): your rating is due.")
RATED = N_("Your assessment %(period)s is rated: %(score)s. Look at it and acknowledge it.")


def _ratings(ratings):
    top = settings.get(SCALE_MAX)
    clean = {}
    for dimension, label in DIMENSIONS.items():
        value = (ratings or {}).get(dimension)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= top:
            raise AssessmentError(_l("Rate %(dimension)s from 0 to %(max)s.", dimension=label, max=top),
                                  field=dimension)
        clean[dimension] = value
    return clean


def apply(assessment_id, action, actor, version=None, *, ratings=None, comment="", note=""):
    """Take one step: checked, stamped, audited; the people it concerns are told. A correction
    returns the new assessment that replaces this one."""
    with write_transaction():
        assessment = Assessment.load(assessment_id, version)
        reason = refusal(assessment, action, actor)
        if reason:
            raise AssessmentError(reason)
        now = utcnow()
        transition = TRANSITIONS[action]
        note = (note or "").strip()
        comment = (comment or "").strip()
        if transition.note_required and not note:
            raise AssessmentError(_l("Give the reason."), field="note")
        values = {Assessment.state: transition.target}
        period_row = assessment.period
        link = ("quality_assessments.show", {"assessment_id": assessment.id})
        tell = []
        if action == "self_rate":
            clean = _ratings(ratings)
            values.update({getattr(Assessment, f"self_{d}"): v for d, v in clean.items()})
            values.update({Assessment.self_comment: comment, Assessment.self_rated_at: now,
                           Assessment.self_score: weighted(period_row, clean)})
            tell = [(u, SELF_RATED, {"name": assessment.person.display_name, "period": period_row.key})
                    for u in superiors_of(assessment.person)]
        elif action == "superior_rate":
            clean = _ratings(ratings)
            own = {d: assessment.rating("self", d) for d in DIMENSIONS}
            self_score = assessment.self_score if assessment.self_score is not None else weighted(period_row, own)
            superior_score = weighted(period_row, clean)
            figure = customer_figure(assessment.person, period_row.period)
            final = final_score(period_row, self_score, superior_score, figure["score"])
            values.update({getattr(Assessment, f"superior_{d}"): v for d, v in clean.items()})
            values.update({Assessment.superior_comment: comment, Assessment.superior_by: actor,
                           Assessment.superior_rated_at: now, Assessment.self_score: self_score,
                           Assessment.superior_score: superior_score, Assessment.customer_score: figure["score"],
                           Assessment.complaints_count: figure["complaints"],
                           Assessment.callbacks_total: figure["callbacks"],
                           Assessment.callbacks_satisfied: figure["satisfied"],
                           Assessment.fines_amount: figure["fines"], Assessment.final_score: final})
            tell = [(assessment.person, RATED, {"period": period_row.key, "score": str(final)})]
        elif action == "confirm":
            values.update({Assessment.confirmed_at: now, Assessment.person_comment: comment})
        elif action == "archive":
            values[Assessment.archived_at] = now
        elif action == "void":
            values.update({Assessment.voided_at: now, Assessment.void_reason: note, Assessment.note: note})
        elif action == "correct":
            values[Assessment.note] = note
        before = assessment.snapshot()
        updated = assessment.update_versioned(assessment.version if version is None else version, values)
        audit.record_change(actor, updated, before)
        for user, message, params in tell:
            notify(user, message, link, **params)
        if action == "correct":
            return _create(actor, period_row, assessment.person, corrects=assessment.id)
    return updated


# ---------------------------------------------------------------- lists

def listing():
    head = User.alias()
    return (Assessment.select(Assessment, User, Department, AssessmentPeriod)
            .join(User, on=(Assessment.person == User.id))
            .switch(Assessment).join(Department, JOIN.LEFT_OUTER, on=(Assessment.department == Department.id))
            .switch(Assessment).join(AssessmentPeriod, on=(Assessment.period == AssessmentPeriod.id))
            .switch(Assessment).join(head, JOIN.LEFT_OUTER, on=(Assessment.superior_by == head.id),
                                     attr="superior_by"))


def sees_all(user):
    return bool(set(user.roles) & READERS)


def visible_to(user, query):
    """Everyone their own; a department head their department's; the manager and leadership all."""
    if sees_all(user):
        return query
    condition = Assessment.person == user.id
    if "dept_head" in user.roles and user.department_id:
        condition |= Assessment.department == user.department_id
    return query.where(condition)


def can_see(user, assessment):
    return visible_to(user, Assessment.select(Assessment.id).where(Assessment.id == assessment.id)).exists()


def to_rate(user):
    """The self-rated assessments waiting on `user` as superior."""
    rows = list(listing().where(Assessment.state == "self_rated").order_by(Assessment.id).limit(200))
    with_roles([r.person for r in rows])
    pools = _pools()
    return [r for r in rows if superior_refusal(r, user, pools) is None]


def mine(user):
    return list(listing().where(Assessment.person == user.id).order_by(Assessment.id.desc()).limit(24))


def periods():
    return list(AssessmentPeriod.select().order_by(AssessmentPeriod.starts_on.desc()).limit(36))


def period_rows(period_row, user):
    return list(visible_to(user, listing().where(Assessment.period == period_row.id))
                .order_by(Department.name, Assessment.final_score.desc(nulls="LAST"), User.display_name))


def ranking(period_row, user=None):
    """[(department name, [(rank, assessment)])]: the scored assessments of the period, best first
    in each department; equal scores share a rank."""
    query = listing().where(Assessment.period == period_row.id, Assessment.state.in_(SCORED))
    if user is not None:
        query = visible_to(user, query)
    groups = {}
    for row in query.order_by(Department.name, Assessment.final_score.desc(), User.display_name):
        name = row.department.name if row.department_id else ""
        groups.setdefault(name, []).append(row)
    result = []
    for name, rows in groups.items():
        ranked, previous, rank = [], None, 0
        for index, row in enumerate(rows, 1):
            if row.final_score != previous:
                rank, previous = index, row.final_score
            ranked.append((rank, row))
        result.append((name, ranked))
    return result


def overall_ranking(period_row):
    """The period's scored assessments across departments, best first: [(rank, assessment)]."""
    rows = list(listing().where(Assessment.period == period_row.id, Assessment.state.in_(SCORED))
                .order_by(Assessment.final_score.desc(), User.display_name))
    ranked, previous, rank = [], None, 0
    for index, row in enumerate(rows, 1):
        if row.final_score != previous:
            rank, previous = index, row.final_score
        ranked.append((rank, row))
    return ranked


def annual_ranking(year):
    """[(person, average final score, periods counted)] of the year's scored assessments, best first."""
    average = fn.AVG(Assessment.final_score)
    rows = (User.select(User, average.alias("average"), fn.COUNT(Assessment.id).alias("counted"))
            .join(Assessment, on=(Assessment.person == User.id))
            .join(AssessmentPeriod, on=(Assessment.period == AssessmentPeriod.id))
            .where(Assessment.state.in_(SCORED), AssessmentPeriod.starts_on >= dt.date(year, 1, 1),
                   AssessmentPeriod.starts_on < dt.date(year + 1, 1, 1))
            .group_by(User.id).order_by(average.desc(), User.display_name))
    return [(u, _q(u.average), u.counted) for u in rows]


def waiting_count(user):
    """What waits on `user` (the navigation's count): their own assessment to rate or acknowledge, and,
    for those who rate others, the self-rated assessments waiting on their rating."""
    own = Assessment.select().where(Assessment.person == user.id,
                                    Assessment.state.in_(("open", "superior_rated"))).count()
    if set(user.roles) & {"dept_head", "service_manager", "leadership"}:
        own += len(to_rate(user))
    return own
