"""The service-capability plan (服务能力计划, seed 003): an annual plan per department (and one
for the whole service department) with its targets (目标度量计划) on a fixed set of metrics,
the achievement table (达成表) that holds them against what the portal's own data says, the
measures taken where a metric is behind, the tracking sheet of improvement measures, and the
year-end evaluation (年度评价报告) that proposes next year's targets.

Actuals are never typed: each metric is a formula over the portal's records, in METRICS."""
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable

from flask_babel import lazy_gettext as _l
from peewee import (
    JOIN, CharField, DateField, DateTimeField, DecimalField, ForeignKeyField, IntegerField, IntegrityError, TextField,
    fn,
)

from models import audit, settings
from models.base import BaseModel, DomainError, Transition, VersionedModel, VoidableModel, db, utcnow, write_transaction
from models.reports import Period
from models.timezone import day_start_utc, local_now
from models.users import Department, User

audit.name_record_type("plan", _l("Service-capability plan"))
audit.name_record_type("plan_target", _l("Plan target"))
audit.name_record_type("plan_note", _l("Measures taken (achievement table)"))
audit.name_record_type("plan_measure", _l("Improvement measure"))

PLAN = _l("Service-capability plan")
WITHIN_HOURS = settings.define(
    "plan_handled_within_hours", int, 24, _l("Complaints handled within (hours), for the plan's target"), PLAN,
    minimum=1, maximum=720)


class PlanError(DomainError):
    """A refused step of the plan; the message is for the user, `field` the form field it concerns."""


# ---------------------------------------------------------------- the metrics and their formulas

class Data:
    """What the formulas read, loaded once for a range of local days and a department (a few
    queries however many periods are asked of it: the year-end report's twelve months take the
    same statements as one month), then cut into periods in memory."""

    def __init__(self, start, end, department_id=None, rows=None):
        self.start, self.end, self.department_id = start, end, department_id
        if rows is None:
            rows = self._load()
        self.rows = rows

    @classmethod
    def load(cls, start, end, department_id=None):
        return cls(start, end, department_id)

    def _load(self):
        from models.callbacks import DONE, Callback, Sale
        from models.complaints import Complaint, ComplaintEvent
        from models.visitors import Visit
        s, e = day_start_utc(self.start), day_start_utc(self.end)
        complaints = Complaint.select(Complaint.id).where(Complaint.created_at >= s, Complaint.created_at < e,
                                                          Complaint.voided_at.is_null())
        if self.department_id:
            complaints = complaints.where(Complaint.department == self.department_id)
        rows = {"complaints": list(complaints.select(Complaint.id, Complaint.created_at, Complaint.state,
                                                     Complaint.severity, Complaint.first_handled_at,
                                                     Complaint.handling_minutes).tuples())}

        def first(condition):
            return dict(ComplaintEvent.select(ComplaintEvent.complaint, fn.MIN(ComplaintEvent.at))
                        .where(ComplaintEvent.complaint.in_(complaints), condition)
                        .group_by(ComplaintEvent.complaint).tuples())
        rows["first_step"] = first(ComplaintEvent.from_state == "received")
        rows["closed"] = first(ComplaintEvent.to_state == "closed")
        outcomes = {}
        # The latest callback outcome of each complaint (as models.complaints.callback_outcomes).
        for complaint_id, action in (ComplaintEvent.select(ComplaintEvent.complaint, ComplaintEvent.action)
                                     .where(ComplaintEvent.complaint.in_(complaints),
                                            ComplaintEvent.action.in_(("satisfied", "unsatisfied")))
                                     .order_by(ComplaintEvent.at, ComplaintEvent.id).tuples()):
            outcomes[complaint_id] = action
        rows["outcomes"] = outcomes
        rows["sales"] = dict(Sale.select(Sale.sale_date, fn.COUNT(Sale.id))
                             .where(Sale.sale_date >= self.start, Sale.sale_date < self.end)
                             .group_by(Sale.sale_date).tuples())
        visits = Visit.select(Visit.arrived_at, Visit.with_host_at).where(
            Visit.arrived_at >= s, Visit.arrived_at < e, Visit.with_host_at.is_null(False))
        if self.department_id:
            visits = visits.where(Visit.host.in_(User.select(User.id).where(User.department == self.department_id)))
        rows["visits"] = list(visits.tuples())
        callbacks = Callback.select(Callback.due_at, Callback.outcome).where(
            Callback.due_at >= s, Callback.due_at < e, Callback.voided_at.is_null(), Callback.outcome.in_(DONE))
        if self.department_id:
            callbacks = callbacks.where(Callback.complaint.in_(Complaint.select(Complaint.id)
                                                               .where(Complaint.department == self.department_id)))
        rows["callbacks"] = list(callbacks.tuples())
        return rows

    def cut(self, start, end):
        """The same data for a shorter range inside this one."""
        s, e = day_start_utc(start), day_start_utc(end)
        rows = self.rows
        return Data(start, end, self.department_id, {
            "complaints": [c for c in rows["complaints"] if s <= c[1] < e],
            "first_step": rows["first_step"], "closed": rows["closed"], "outcomes": rows["outcomes"],
            "sales": {day: n for day, n in rows["sales"].items() if start <= _as_date(day) < end},
            "visits": [v for v in rows["visits"] if s <= v[0] < e],
            "callbacks": [c for c in rows["callbacks"] if s <= c[0] < e]})

    @property
    def complaints(self):
        return self.rows["complaints"]


def _as_date(value):
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def _rate(part, whole):
    return round(Decimal(100) * part / whole, 1) if whole else None


def _average(values, scale=1):
    values = [v for v in values if v is not None]
    return round(Decimal(sum(values)) / len(values) / scale, 1) if values else None


# Each formula reads Data; the complaint columns are (id, created_at, state, severity, first_handled_at,
# handling_minutes).

def satisfaction(data):
    """Of the complaints taken in, the share whose latest callback found the customer satisfied."""
    outcomes = [data.rows["outcomes"][c[0]] for c in data.complaints if c[0] in data.rows["outcomes"]]
    return _rate(sum(1 for o in outcomes if o == "satisfied"), len(outcomes))


def complaint_rate(data):
    """Complaints taken in per 100 sales recorded in the period (the sales lists imported for the
    callbacks); None without sales to measure against."""
    return _rate(len(data.complaints), sum(data.rows["sales"].values()))


def resolution_rate(data):
    """Of the complaints taken in, the share resolved: the customer's satisfaction confirmed or closed."""
    return _rate(sum(1 for c in data.complaints if c[2] in ("callback", "closed")), len(data.complaints))


def _hours_to(data, events):
    return _average([(events[c[0]] - c[1]).total_seconds() for c in data.complaints if c[0] in events], scale=3600)


def response_hours(data):
    """Average hours from intake to the first step taken on a complaint (it leaves "newly received")."""
    return _hours_to(data, data.rows["first_step"])


def completion_hours(data):
    """Average hours from intake to closing, of the complaints taken in and closed."""
    return _hours_to(data, data.rows["closed"])


def waiting_minutes(data):
    """Average minutes a visitor waited at the desk: arrival to meeting the host (of the
    department's hosts when one is given)."""
    return _average([(met - arrived).total_seconds() for arrived, met in data.rows["visits"]], scale=60)


def handled_rate(data):
    """Of the complaints taken in, the share the department has handled (seed 002: 100 %)."""
    return _rate(sum(1 for c in data.complaints if c[4] is not None), len(data.complaints))


def handled_within(data):
    """Of the complaints handled, the share handled within the setting's hours (seed 002: < 24 h),
    counted in the complaint's deadline clock (waits on the customer left out)."""
    limit = settings.get(WITHIN_HOURS) * 60
    handled = [c for c in data.complaints if c[5] is not None]
    return _rate(sum(1 for c in handled if c[5] <= limit), len(handled))


def callback_pass(data):
    """Of the callbacks due in the period and made, the share with a satisfied customer
    (seed 002: ≥ 98 %); for a department, the callbacks on its complaints."""
    rows = data.rows["callbacks"]
    return _rate(sum(1 for _due, outcome in rows if outcome == "satisfied"), len(rows))


def major_complaints(data):
    """Major complaints taken in (seed 002: none)."""
    return Decimal(sum(1 for c in data.complaints if c[3] == "major"))


def repair_pass_rate(start, end, department_id=None):
    """(good the first time, confirmed) of the facility repairs, or None where the repairs area
    is not installed: the one place that knows where the figure comes from."""
    try:
        from models.repairs import pass_rate
    except ImportError:
        return None
    return pass_rate(start, end, department_id)


def repair_quality(data):
    """Of the repairs confirmed, the share good the first time, never reopened (seed 002: ≥ 98 %)."""
    figures = repair_pass_rate(data.start, data.end, data.department_id)
    return None if figures is None else _rate(*figures)


@dataclass(frozen=True)
class Metric:
    key: str
    label: object
    unit: object
    #: "higher" or "lower": which way is better
    direction: str
    compute: Callable
    #: the seed's target, proposed for a new plan
    default: Decimal
    source: object

    def value(self, start, end, department_id=None, data=None):
        """The figure of [start, end) (local days), from `data` when it holds that range."""
        data = data.cut(start, end) if data is not None else Data.load(start, end, department_id)
        return self.compute(data)

    def met(self, actual, target):
        if actual is None or target is None:
            return None
        return actual >= target if self.direction == "higher" else actual <= target

    def better(self, a, b):
        """The better of two values (None loses)."""
        if a is None or b is None:
            return a if b is None else b
        return max(a, b) if self.direction == "higher" else min(a, b)


PERCENT, HOURS, MINUTES, PER_100, COUNT = _l("%"), _l("h"), _l("min"), _l("per 100 sales"), _l("complaints")

#: The registry: key -> Metric, in the order of the achievement table (seed 003's six, then seed 002's).
METRICS = {m.key: m for m in [
    Metric("satisfaction", _l("Customer satisfaction"), PERCENT, "higher", satisfaction, Decimal(100),
           _l("Complaints: latest callback satisfied")),
    Metric("complaint_rate", _l("Complaint rate"), PER_100, "lower", complaint_rate, Decimal("1.0"),
           _l("Complaints ÷ sales recorded")),
    Metric("resolution_rate", _l("Resolution rate"), PERCENT, "higher", resolution_rate, Decimal(100),
           _l("Complaints with the customer's satisfaction confirmed or closed")),
    Metric("response_hours", _l("Response time"), HOURS, "lower", response_hours, Decimal(24),
           _l("Complaints: intake to the first step")),
    Metric("completion_hours", _l("Completion time"), HOURS, "lower", completion_hours, Decimal(72),
           _l("Complaints: intake to closing")),
    Metric("waiting_minutes", _l("Customer waiting time"), MINUTES, "lower", waiting_minutes, Decimal(10),
           _l("Visitors: arrival to meeting the host")),
    Metric("handled_rate", _l("Complaints handled"), PERCENT, "higher", handled_rate, Decimal(100),
           _l("Complaints handled by the department")),
    Metric("handled_within", _l("Complaints handled within 24 h"), PERCENT, "higher", handled_within, Decimal(100),
           _l("Handled complaints within the setting's hours")),
    Metric("callback_pass", _l("Callback pass rate"), PERCENT, "higher", callback_pass, Decimal(98),
           _l("Callbacks made: customer satisfied")),
    Metric("major_complaints", _l("Major complaints"), COUNT, "lower", major_complaints, Decimal(0),
           _l("Complaints marked major")),
    Metric("repair_quality", _l("Repair quality"), PERCENT, "higher", repair_quality, Decimal(98),
           _l("Repairs confirmed good the first time")),
]}


def actual(metric_key, period, department_id=None):
    return METRICS[metric_key].value(period.start, period.end, department_id)


def actuals(period, department_id=None, data=None):
    """{metric key: value} of a period, every metric from one load."""
    data = data.cut(period.start, period.end) if data is not None else Data.load(period.start, period.end,
                                                                                  department_id)
    return {key: metric.compute(data) for key, metric in METRICS.items()}


# ---------------------------------------------------------------- the plan

class Plan(VoidableModel, VersionedModel):
    error = PlanError
    missing_message = _l("No such plan.")
    year = IntegerField(index=True)
    department = ForeignKeyField(Department, null=True, backref="+", on_delete="RESTRICT")
    #: "all" (the whole service department) or "d<id>": one live plan per year and scope
    scope = CharField(max_length=20)
    review = TextField(default="")       # 上年度工作回顾及存在问题
    capability = TextField(default="")   # 人员、技术、资源和过程领域的能力规划
    tracking = TextField(default="")     # 执行情况的跟踪计划
    created_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    adopted_from = ForeignKeyField("self", null=True, backref="+", on_delete="SET NULL")

    class Meta:
        indexes = ((("year", "scope"), True),)

    @property
    def scope_label(self):
        return self.department.name if self.department_id else _l("Whole service department")

    def targets(self):
        # One decimal on every backend: SQLite hands back 100, PostgreSQL 100.0.
        return {t.metric: Decimal(t.value).quantize(Decimal("0.1")) for t in Target.select().where(Target.plan == self)}


class Target(BaseModel):
    plan = ForeignKeyField(Plan, backref="target_rows", on_delete="CASCADE")
    metric = CharField(max_length=30)
    value = DecimalField(max_digits=10, decimal_places=1, auto_round=True)

    class Meta:
        indexes = ((("plan", "metric"), True),)


class PeriodNote(BaseModel):
    """The measures taken where a metric is behind, typed per metric and period (达成表)."""
    plan = ForeignKeyField(Plan, backref="+", on_delete="CASCADE")
    metric = CharField(max_length=30)
    period_key = CharField(max_length=8)
    note = TextField()
    written_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    written_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("plan", "metric", "period_key"), True),)

    @classmethod
    def record_type(cls):
        return "plan_note"


MEASURE_STATES = {"open": _l("Open"), "done": _l("Done"), "dropped": _l("Dropped"), "voided": _l("Voided")}
MANAGERS = frozenset({"service_manager", "admin"})
OWNER_OR_MANAGER = "owner or manager"

MEASURE_TRANSITIONS = {
    "done": Transition(_l("Done"), ("open",), "done", OWNER_OR_MANAGER, note_required=True,
                       note_label=_l("What was done")),
    "reopen": Transition(_l("Reopen"), ("done", "dropped"), "open", MANAGERS),
    "drop": Transition(_l("Drop"), ("open",), "dropped", MANAGERS, note_required=True, note_label=_l("Why")),
    "void": Transition(_l("Void"), ("open", "done", "dropped"), "voided", MANAGERS, note_required=True,
                       note_label=_l("Reason")),
}


class Measure(VoidableModel, VersionedModel):
    """A typed improvement measure of the tracking sheet (计划工作执行跟踪表)."""
    error = PlanError
    missing_message = _l("No such measure.")
    plan = ForeignKeyField(Plan, backref="measures", on_delete="RESTRICT")
    metric = CharField(max_length=30, default="")
    title = TextField()
    owner = ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    due_on = DateField()
    state = CharField(max_length=10, default="open", index=True)
    result = TextField(default="")
    done_at = DateTimeField(null=True)
    created_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")

    @classmethod
    def record_type(cls):
        return "plan_measure"

    def is_overdue(self, today=None):
        return self.state == "open" and self.due_on < (today or local_now().date())

    def actions_for(self, user):
        return [(name, t) for name, t in MEASURE_TRANSITIONS.items() if measure_refusal(self, name, user) is None]


def _scope(department_id):
    return f"d{department_id}" if department_id else "all"


def _clean_targets(values):
    """{metric: Decimal} of the typed targets; a value outside what the metric can be is refused."""
    cleaned = {}
    for key, value in (values or {}).items():
        if key not in METRICS:
            raise PlanError(_l("Unknown metric."))
        if value is None or value == "":
            continue
        value = Decimal(value)
        unit = METRICS[key].unit
        if value < 0 or (unit is PERCENT and value > 100) or value > Decimal(100000):
            raise PlanError(_l("A target between 0 and 100 for a percentage, 0 or more otherwise."), field=key)
        cleaned[key] = value.quantize(Decimal("0.1"))
    return cleaned


def may_edit(user):
    return bool(set(user.roles) & MANAGERS)


def create(actor, *, year, department_id=None, targets=None, review="", capability="", tracking="",
           adopted_from=None):
    """A year's plan for the whole service department (no department) or one department."""
    if not may_edit(actor):
        raise PlanError(_l("Your role may not do this."))
    if not year or not 2000 <= int(year) <= 2100:
        raise PlanError(_l("Choose a year."), field="year")
    cleaned = _clean_targets(targets)
    with write_transaction():
        if department_id and Department.get_or_none(Department.id == department_id) is None:
            raise PlanError(_l("Choose a department."), field="department")
        try:
            with db.atomic():
                plan = Plan.create(year=int(year), department=department_id or None, scope=_scope(department_id),
                                   review=(review or "").strip(), capability=(capability or "").strip(),
                                   tracking=(tracking or "").strip(), created_by=actor, adopted_from=adopted_from)
        except IntegrityError:
            raise PlanError(_l("There is already a plan for this year and department."), field="year") from None
        for key, value in cleaned.items():
            Target.create(plan=plan, metric=key, value=value)
        audit.record_create(actor, plan)
        if cleaned:
            audit.record_event(actor, "update", plan, changes={f"target:{k}": [None, str(v)] for k, v in cleaned.items()})
    return plan


def update(actor, plan_id, version, *, targets, review="", capability="", tracking=""):
    """New targets and texts; every change of a target is in the audit entry."""
    if not may_edit(actor):
        raise PlanError(_l("Your role may not do this."))
    cleaned = _clean_targets(targets)
    with write_transaction():
        plan = Plan.load(plan_id, version)
        if plan.is_void:
            raise PlanError(_l("This plan is voided."))
        before = plan.targets()
        changes = {f"target:{k}": [str(before.get(k)) if k in before else None, str(v)]
                   for k, v in cleaned.items() if before.get(k) != v}
        changes.update({f"target:{k}": [str(v), None] for k, v in before.items() if k not in cleaned})
        Target.delete().where(Target.plan == plan, Target.metric.not_in(list(cleaned) or [""])).execute()
        for key, value in cleaned.items():
            Target.insert(plan=plan, metric=key, value=value).on_conflict(
                conflict_target=[Target.plan, Target.metric], update={Target.value: value}).execute()
        snapshot = plan.snapshot()
        updated = plan.update_versioned(version, {Plan.review: (review or "").strip(),
                                                  Plan.capability: (capability or "").strip(),
                                                  Plan.tracking: (tracking or "").strip()})
        audit.record_change(actor, updated, snapshot)
        if changes:
            audit.record_event(actor, "update", updated, changes=changes)
    return updated


def plans(year=None):
    query = (Plan.select(Plan, Department).join(Department, JOIN.LEFT_OUTER)
             .where(Plan.voided_at.is_null()).order_by(Plan.year.desc(), Plan.department.is_null(False), Department.name))
    return query.where(Plan.year == year) if year else query


def plan_for(year, department_id=None):
    return Plan.get_or_none(Plan.year == year, Plan.scope == _scope(department_id), Plan.voided_at.is_null())


# ---------------------------------------------------------------- the achievement table

def _trend(metric, value, before):
    if value is None or before is None:
        return None
    if value == before:
        return "same"
    better = value > before if metric.direction == "higher" else value < before
    return "better" if better else "worse"


TRENDS = {"better": _l("Better"), "worse": _l("Worse"), "same": _l("Unchanged")}


def achievement(plan, period, with_previous=True):
    """Per metric: target, actual (computed), gap (actual − target), met, trend against the
    previous period and the measures typed for this period."""
    targets = plan.targets()
    notes = {n.metric: n for n in PeriodNote.select().where(PeriodNote.plan == plan,
                                                             PeriodNote.period_key == period.key)}
    previous = period.previous() if with_previous else None
    data = Data.load(previous.start if previous else period.start, period.end, plan.department_id)
    now_values = actuals(period, data=data)
    before_values = actuals(previous, data=data) if previous else {}
    rows = []
    for key, metric in METRICS.items():
        value, before = now_values[key], before_values.get(key)
        target = targets.get(key)
        met = metric.met(value, target)
        rows.append({"key": key, "metric": metric, "target": target, "actual": value, "previous": before,
                     "gap": None if value is None or target is None else value - target,
                     "met": met, "behind": met is False, "trend": _trend(metric, value, before),
                     "note": notes.get(key)})
    return rows


def save_note(actor, plan_id, metric_key, period_key, note):
    """The measures taken for one metric in one period; a new text replaces the old, the audit keeps both."""
    if not may_edit(actor):
        raise PlanError(_l("Your role may not do this."))
    if metric_key not in METRICS:
        raise PlanError(_l("Unknown metric."))
    note = (note or "").strip()
    if not note:
        raise PlanError(_l("Write down the measures taken."), field="note")
    with write_transaction():
        plan = Plan.load(plan_id)
        row = PeriodNote.get_or_none(PeriodNote.plan == plan, PeriodNote.metric == metric_key,
                                     PeriodNote.period_key == period_key)
        if row is None:
            row = PeriodNote.create(plan=plan, metric=metric_key, period_key=period_key, note=note, written_by=actor)
            audit.record_create(actor, row)
        else:
            before = row.snapshot()
            row.note, row.written_by, row.written_at = note, actor, utcnow()
            row.save()
            audit.record_change(actor, row, before)
    return row


# ---------------------------------------------------------------- the tracking sheet

def add_measure(actor, plan_id, *, title, owner_id, due_on, metric=""):
    if not may_edit(actor):
        raise PlanError(_l("Your role may not do this."))
    title = (title or "").strip()
    if not title:
        raise PlanError(_l("Describe the measure."), field="title")
    if metric and metric not in METRICS:
        raise PlanError(_l("Unknown metric."), field="metric")
    if due_on is None:
        raise PlanError(_l("Enter the due date."), field="due_on")
    with write_transaction():
        plan = Plan.load(plan_id)
        owner = User.get_or_none(User.id == owner_id, User.is_active == True)  # noqa: E712
        if owner is None:
            raise PlanError(_l("Choose who owns the measure."), field="owner")
        measure = Measure.create(plan=plan, metric=metric or "", title=title, owner=owner, due_on=due_on,
                                 created_by=actor)
        audit.record_create(actor, measure)
    return measure


def measure_refusal(measure, action, user):
    transition = MEASURE_TRANSITIONS.get(action)
    if transition is None:
        return _l("Unknown action.")
    if measure.state not in transition.sources:
        return _l("This cannot be done to a measure that is “%(state)s”.", state=MEASURE_STATES[measure.state])
    if transition.roles == OWNER_OR_MANAGER:
        if measure.owner_id != user.id and not set(user.roles) & MANAGERS:
            return _l("Only the measure's owner or a manager may do this.")
    elif not set(user.roles) & transition.roles:
        return _l("Your role may not do this.")
    return None


def apply_measure(measure_id, action, actor, version, note=""):
    """One step of a measure: checked, stamped, audited."""
    with write_transaction():
        measure = Measure.load(measure_id, version)
        reason = measure_refusal(measure, action, actor)
        if reason is not None:
            raise PlanError(reason)
        transition = MEASURE_TRANSITIONS[action]
        note = (note or "").strip()
        if transition.note_required and not note:
            raise PlanError(_l("Write down what was done, or why."), field="note")
        values = {Measure.state: transition.target}
        if action == "done":
            values.update({Measure.result: note, Measure.done_at: utcnow()})
        elif action == "drop":
            values[Measure.result] = note
        elif action == "reopen":
            values[Measure.done_at] = None
        elif action == "void":
            values.update({Measure.voided_at: utcnow(), Measure.void_reason: note})
        before = measure.snapshot()
        updated = measure.update_versioned(version, values)
        audit.record_change(actor, updated, before)
    return updated


def measures(plan):
    Owner = User.alias("owner")
    return (Measure.select(Measure, Owner).join(Owner, on=(Measure.owner == Owner.id))
            .where(Measure.plan == plan, Measure.state != "voided")
            .order_by(Measure.state != "open", Measure.due_on, Measure.id))


def complaint_measures(plan, limit=30):
    """The improvements written in the year's complaint summaries (of the plan's department)."""
    from models.complaints import Complaint
    start, end = day_start_utc(dt.date(plan.year, 1, 1)), day_start_utc(dt.date(plan.year + 1, 1, 1))
    query = (Complaint.select(Complaint.id, Complaint.number, Complaint.created_at, Complaint.root_cause,
                              Complaint.improvement, Complaint.state)
             .where(Complaint.created_at >= start, Complaint.created_at < end, Complaint.voided_at.is_null(),
                    Complaint.improvement != "")
             .order_by(Complaint.created_at.desc()).limit(limit))
    if plan.department_id:
        query = query.where(Complaint.department == plan.department_id)
    return list(query)


def rectification_measures(plan, limit=30):
    """The year's rectification items (整改) of the quality inspections (of the plan's department),
    where that area is installed: [(inspection number, item title, owner, due, state label)]."""
    try:
        from models.quality.inspections import Inspection
        from models.quality.rectifications import Rectification, listing
    except ImportError:
        return []
    query = listing().where(Inspection.inspected_on >= dt.date(plan.year, 1, 1),
                            Inspection.inspected_on < dt.date(plan.year + 1, 1, 1)).limit(limit)
    if plan.department_id:
        query = query.where(Rectification.department == plan.department_id)
    return [(r.finding.inspection.number, r.finding.item.title, r.owner.display_name, r.due_on, r.state_label)
            for r in query]


# ---------------------------------------------------------------- the year-end evaluation

def evaluation(plan):
    """The year in figures: per metric the twelve months, the year, the target, met, and the
    proposed target for next year (the better of this year's target and actual)."""
    targets = plan.targets()
    year = Period("year", plan.year)
    months = [Period("month", plan.year, n) for n in range(1, 13)]
    today = local_now().date()
    data = Data.load(year.start, year.end, plan.department_id)
    by_month = [actuals(m, data=data) if m.start <= today else {} for m in months]
    year_values = actuals(year, data=data)
    rows = []
    for key, metric in METRICS.items():
        monthly = [values.get(key) for values in by_month]
        value = year_values[key]
        target = targets.get(key)
        proposal = metric.better(target, value)
        rows.append({"key": key, "metric": metric, "monthly": monthly, "actual": value, "target": target,
                     "met": metric.met(value, target), "proposal": proposal,
                     "chart": month_chart(monthly, target)})
    return rows


CHART_W, CHART_H = 300, 70


def month_chart(values, target):
    """Twelve bars and the target as a line, in SVG units; drawn by the template, no script."""
    peak = max([v for v in values if v is not None] + ([target] if target is not None else []) + [Decimal(1)])
    step = CHART_W / 12
    bars = []
    for index, value in enumerate(values):
        height = float(value / peak) * (CHART_H - 10) if value is not None else 0
        bars.append({"x": round(index * step + step * 0.15, 1), "width": round(step * 0.7, 1),
                     "y": round(CHART_H - height, 1), "height": round(height, 1), "label": str(index + 1),
                     "value": value})
    line = None if target is None else round(CHART_H - float(target / peak) * (CHART_H - 10), 1)
    return {"bars": bars, "target_y": line, "width": CHART_W, "height": CHART_H}


def adopt_proposal(actor, plan_id):
    """Next year's plan for the same scope with the proposed targets; refused if it exists."""
    plan = Plan.load(plan_id)
    proposals = {row["key"]: row["proposal"] for row in evaluation(plan) if row["proposal"] is not None}
    return create(actor, year=plan.year + 1, department_id=plan.department_id, targets=proposals,
                  review=str(_l("Adopted from the %(year)s evaluation.", year=plan.year)), adopted_from=plan.id)


# ---------------------------------------------------------------- the board

BOARD_METRICS = ("satisfaction", "handled_rate", "handled_within", "callback_pass", "response_hours",
                 "waiting_minutes", "major_complaints", "repair_quality")


def board_panel(now=None):
    """This month against this year's plan of the whole service department, as plain values for
    the wall (each metric named in Chinese and English); None without a plan."""
    from flask_babel import force_locale
    today = local_now().date()
    plan = plan_for(today.year)
    if plan is None:
        return None
    period = Period.containing("month", today)
    targets = plan.targets()
    values = actuals(period)
    rows = []
    for key in BOARD_METRICS:
        metric = METRICS[key]
        target = targets.get(key)
        if target is None:
            continue
        value = values[key]
        with force_locale("zh_Hans"):
            zh, unit = str(metric.label), str(metric.unit)
        with force_locale("en"):
            en = str(metric.label)
        rows.append({"key": key, "zh": zh, "en": en, "unit": unit, "value": None if value is None else str(value),
                     "target": str(target), "met": metric.met(value, target)})
    return {"year": plan.year, "month": period.key, "rows": rows,
            "met": sum(1 for r in rows if r["met"]), "behind": sum(1 for r in rows if r["met"] is False)}
