"""Complaints: intake, the list, a department's inbox, the complaint page and its actions,
the register with its monthly summary, the customers, and the printed forms."""

from flask import Blueprint, abort, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from models import complaints
from models.base import DomainError
from models.complaints import CHANNELS, SEVERITIES, STATES, TRANSITIONS, Complaint, Customer
from models.phones import PHONE_HELP
from models.submissions import submit_once
from models.timezone import local_now
from models.users import Department
from printing import qr_data_uri
from views.access import allow
from views.exports import table_download
from views.fields import month_period, phone, strip, whole_number
from views.printing import record_url, render_pdf
from views.templating import NAV_COUNTS, local_datetime
from views.ui import PortalForm, one_page, redirect_to, render, render_fragment, toast

bp = Blueprint("complaints", __name__)
NAV_COUNTS["complaints.inbox"] = complaints.awaiting_department_count

#: The intake form may be opened pre-filled, e.g. from a logged phone call.
PREFILL = ("name", "phone", "organisation", "channel", "content", "call_id")


class ComplaintForm(PortalForm):
    name = StringField(_l("Customer name"), filters=[strip], validators=[DataRequired(), Length(max=80)])
    phone = StringField(_l("Phone"), filters=[strip], validators=[DataRequired(), Length(max=30), phone],
                        description=PHONE_HELP, render_kw={"inputmode": "tel", "autocomplete": "off"})
    organisation = StringField(_l("Organisation"), filters=[strip], validators=[Optional(), Length(max=120)])
    address = StringField(_l("Address"), filters=[strip], validators=[Optional(), Length(max=200)])
    is_vip = BooleanField(_l("VIP customer"))
    channel = SelectField(_l("Channel"), choices=[SelectChoice(k, v) for k, v in CHANNELS.items()])
    category = SelectField(_l("Category"), validate_choice=False)
    severity = SelectField(_l("Severity"), choices=[SelectChoice(k, v) for k, v in SEVERITIES.items()])
    staff_person = StringField(_l("Staff member complained about"), filters=[strip],
                               validators=[Length(max=80)],
                               description=_l("Only for the category “Staff”."))
    content = TextAreaField(_l("What the customer complains about"), filters=[strip],
                            validators=[DataRequired(), Length(max=5000)])
    call_id = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = [SelectChoice(c, complaints.category_label(c)) for c in complaints.categories()]

    def validate_category(self, field):
        if field.data not in complaints.categories():
            raise ValidationError(_l("Choose a category from the list."))

    def validate_call_id(self, field):
        call_id = self.call_id_value()
        if call_id and (refused := complaints.call_refusal(call_id)):
            raise ValidationError(refused)

    def validate_staff_person(self, field):
        if self.category.data == complaints.STAFF_CATEGORY and not field.data:
            raise ValidationError(_l("Name the staff member the complaint is about."))

    def call_id_value(self):
        value = (self.call_id.data or "").strip()
        return int(value) if whole_number(value) else None


def duration(delta):
    """A length of time as people say it: "2 h 30 min", "3 d 4 h", "45 min"."""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _("%(days)d d %(hours)d h", days=days, hours=hours)
    if hours:
        return _("%(hours)d h %(minutes)d min", hours=hours, minutes=minutes) if minutes else _(
            "%(hours)d h", hours=hours)
    return _("%(minutes)d min", minutes=minutes)


def pause_summary(pause):
    """One line for a wait on the customer: how long, and how far it moved the deadlines."""
    if pause.ended_at is None:
        return _("%(length)s so far", length=duration(pause.length))
    if pause.in_working_time:
        return _("Waited %(length)s; the deadlines moved on by %(counted)s of working time.",
                 length=duration(pause.length), counted=duration(pause.counted))
    return _("Waited %(length)s; the deadlines moved on by as much.", length=duration(pause.length))


@bp.context_processor
def labels():
    return {"STATES": STATES, "CHANNELS": CHANNELS, "SEVERITIES": SEVERITIES,
            "category_label": complaints.category_label, "duration": duration, "pause_summary": pause_summary}


def _complaint(complaint_id):
    """The complaint, if this user may see it; others' records are not found."""
    complaint = Complaint.get_or_none(Complaint.id == complaint_id)
    if complaint is None or not complaints.can_see(current_user, complaint):
        abort(404)
    return complaint


#: Rows per page of the complaint list; "show more" fetches the next ones.
CUSTOMER_FORM_ROWS = 30  # the printed customer form lists the newest 30


@bp.route("/complaints")
@allow("complaints.work")
def index():
    """All complaints, filterable; VIP and major first."""
    state = request.args.get("state", "open")
    category = request.args.get("category", "")
    q = request.args.get("q", "").strip()[:80]
    rows, more_url, page = one_page(
        complaints.visible_to(current_user, complaints.listing(state=state, category=category, q=q)),
        "complaints.index")
    if page > 1:  # "show more": the next rows only, in place of the button
        return render_fragment("complaints/index.html", "more_rows", rows=rows, more_url=more_url)
    return render("complaints/index.html", "rows", rows=rows, more_url=more_url, state=state, category=category,
                  q=q, states=STATES, categories=complaints.categories(), title=_("Complaints"))


@bp.route("/complaints/inbox")
@allow("complaints.department")
def inbox():
    """The complaints assigned to my department that wait on it: VIP first, then by deadline."""
    rows, more_url, page = [], None, 1
    if current_user.department_id:
        rows, more_url, page = one_page(complaints.visible_to(
            current_user, complaints.listing(department_id=current_user.department_id)
            .where(Complaint.state.in_(complaints.WITH_DEPARTMENT))
            .order_by(Customer.is_vip.desc(), Complaint.handle_due_at, Complaint.id)), "complaints.inbox")
    if page > 1:
        return render_fragment("complaints/index.html", "more_rows", rows=rows, more_url=more_url)
    return render("complaints/inbox.html", rows=rows, more_url=more_url)


@bp.route("/complaints/staff")
@allow("complaints.work")
def staff_register():
    """Complaints about members of staff, newest first, 50 at a time."""
    rows, more_url, page = one_page(complaints.staff_register(current_user), "complaints.staff_register")
    if page > 1:
        return render_fragment("complaints/staff.html", "more_rows", rows=rows, more_url=more_url)
    return render("complaints/staff.html", rows=rows, more_url=more_url)


@bp.route("/complaints/new", methods=["GET", "POST"])
@allow("complaints.intake")
def new():
    """Take in a complaint from any channel."""
    prefill = {k: request.args[k] for k in PREFILL if k in request.args} if request.method == "GET" else {}
    form = ComplaintForm(data=prefill or None)
    if earlier := form.earlier_result():
        return redirect_to(earlier)
    if request.method == "GET" and form.call_id_value():
        try:  # opened from a call page that still offered the conversion
            form.validate_call_id(form.call_id)
        except ValidationError as refused:
            form.call_id.errors = [str(refused)]
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render("complaints/new.html", "form", status=status, form=form)

    def create():
        nonlocal number
        complaint = complaints.create(
            current_user, name=form.name.data, phone=form.phone.data, content=form.content.data,
            channel=form.channel.data, category=form.category.data, severity=form.severity.data,
            address=form.address.data or "", organisation=form.organisation.data or "",
            is_vip=form.is_vip.data, staff_person=form.staff_person.data or "", call_id=form.call_id_value())
        number = complaint.number
        return url_for("complaints.show", complaint_id=complaint.id)

    number = None
    try:
        url, created = submit_once(form.submission_key.data, current_user, create)
    except DomainError as refused:  # the call became a complaint meanwhile
        form.call_id.errors = [str(refused)]
        return render("complaints/new.html", "form", status=422, form=form)
    if created:
        # The number is what the desk tells the caller.
        toast(_("Complaint %(number)s taken in.", number=number))
    if not current_user.can("complaints.work"):
        # The desk hands the complaint over and goes back to its own screen.
        call_id = form.call_id_value()
        return redirect_to(url_for("calls.show", call_id=call_id) if call_id else url_for("calls.index"))
    return redirect_to(url)


def _show(complaint, status=200, error=None, typed=None):
    actions = complaint.actions_for(current_user)
    typed = typed or {}
    return render("complaints/show.html", status=status, complaint=complaint, events=complaint.events(),
                  actions=actions, similar=complaint.similar(current_user), similar_shown=complaints.SIMILAR_SHOWN,
                  departments=Department.active_ones(), error=error, typed=typed,
                  # What was typed for a step no longer possible is shown to copy, not lost.
                  typed_lost=typed.get("action") and typed["action"] not in dict(actions),
                  department_people=list(complaints.department_people(complaint.department_id))
                  if complaint.department_id else [],
                  pauses_by_event={p.event_id: p for p in complaint.pauses()})


@bp.route("/complaints/<int:complaint_id>")
@allow("complaints.department")
def show(complaint_id):
    """The complaint, its timeline, and what I may do with it now."""
    return _show(_complaint(complaint_id))


@bp.route("/complaints/<int:complaint_id>/act", methods=["POST"])
@allow("complaints.department")
def act(complaint_id):
    """Apply one transition; a refusal is shown on the page with what was typed kept."""
    complaint = _complaint(complaint_id)
    action = request.form.get("action", "")
    typed = {k: request.form.get(k, "")[:5000]
             for k in ("note", "root_cause", "improvement", "department", "handler", "severity")}
    typed["action"] = action
    typed["is_vip"] = bool(request.form.get("is_vip"))
    try:
        version = int(request.form.get("version", ""))
        department_id = int(typed["department"]) if whole_number(typed["department"]) else None
        handler_id = int(typed["handler"]) if whole_number(typed["handler"]) else None
        complaints.apply(complaint.id, action, current_user, version, note=typed["note"],
                         department_id=department_id, root_cause=typed["root_cause"],
                         improvement=typed["improvement"], handler_id=handler_id,
                         is_vip=typed["is_vip"] if action == "reclassify" else None,
                         severity=typed["severity"] or None)
    except ValueError:
        return _show(complaint, 422, _("Reload the page and try again."), typed)
    except DomainError as refused:
        return _show(_complaint(complaint_id), 422, str(refused), typed)
    toast(_("%(action)s: done.", action=TRANSITIONS[action].label))
    return redirect_to(url_for("complaints.show", complaint_id=complaint.id))


@bp.route("/customers")
@allow("complaints.work")
def customers():
    """Customers, searchable by the start of a name, or the start or end of a phone number."""
    q = request.args.get("q", "").strip()[:80]
    rows = complaints.customers_visible_to(current_user, Customer.select().order_by(Customer.is_vip.desc(),
                                                                                    Customer.name))
    if q:
        rows = rows.where(Customer.id.in_(Customer.matching(q)))
    return render("complaints/customers.html", "rows", rows=rows.limit(200), q=q)


@bp.route("/complaints/<int:complaint_id>.pdf")
@allow("complaints.department")
def handling_form(complaint_id):
    """The service handling form (客户服务处理表): the complaint, every step, the summary, signatures."""
    complaint = _complaint(complaint_id)
    return render_pdf("print/complaint_handling.html", f"客户服务处理表-{complaint.number}.pdf", complaint=complaint,
                      events=list(complaint.events()), pauses_by_event={p.event_id: p for p in complaint.pauses()},
                      number=complaint.number, printed_at=local_now(),
                      qr=qr_data_uri(record_url("complaints.show", complaint_id=complaint.id)))


def _customer(customer_id):
    customer = Customer.get_or_none(Customer.id == customer_id)
    if customer is None or not complaints.can_see_customer(current_user, customer):
        abort(404)
    return customer


def _complaints_of(customer):
    """The customer's complaints this user may see, newest first."""
    return complaints.visible_to(current_user, complaints.listing(state="all").where(Complaint.customer == customer)
                                 .order_by(Complaint.created_at.desc(), Complaint.id.desc()))


def customer_number(customer):
    return f"KH-{customer.id:06d}"


@bp.route("/customers/<int:customer_id>")
@allow("complaints.work")
def customer(customer_id):
    """A customer: details and their complaints, newest first, 50 at a time."""
    customer = _customer(customer_id)
    rows, more_url, page = one_page(_complaints_of(customer), "complaints.customer", customer_id=customer.id)
    if page > 1:
        return render_fragment("complaints/customer.html", "more_rows", rows=rows, more_url=more_url)
    return render("complaints/customer.html", customer=customer, rows=rows, more_url=more_url,
                  number=customer_number(customer))


@bp.route("/customers/<int:customer_id>.pdf")
@allow("complaints.work")
def customer_form(customer_id):
    """The customer information form (客户信息登记表)."""
    customer = _customer(customer_id)
    # One or two pages on paper: the newest ones, and how many there are in all.
    rows = list(_complaints_of(customer).limit(CUSTOMER_FORM_ROWS))
    total = len(rows) if len(rows) < CUSTOMER_FORM_ROWS else _complaints_of(customer).count()
    number = customer_number(customer)
    return render_pdf("print/customer_info.html", f"客户信息登记表-{customer.name}.pdf", customer=customer, rows=rows,
                      total=total, number=number, printed_at=local_now(),
                      qr=qr_data_uri(record_url("complaints.customer", customer_id=customer.id)))


def _percent(rate):
    return "" if rate is None else f"{rate * 100:.1f}%"


@bp.route("/complaints/register")
@allow("complaints.work")
def register():
    """The complaint register (台帐) of one month with its summary; as XLSX or CSV too."""
    args, errors = request.args, {}
    period, error = month_period(args.get("month", "").strip()[:7])
    if error:
        errors["month"] = error
    month = period.key
    start, end = period.utc_range()
    department_id = int(args["department"]) if whole_number(args.get("department")) else None
    department = Department.get_or_none(Department.id == department_id) if department_id else None
    if department_id and department is None:
        errors["department"] = _("Choose a department from the list.")
        department_id = None
    fmt = args.get("format")
    if fmt not in ("csv", "xlsx") or errors:
        # On screen the register comes fifty at a time; the download is the whole month.
        rows, more_url, page = one_page(complaints.register(start, end, department_id, current_user),
                                        "complaints.register")
        outcomes = complaints.callback_outcomes([c.id for c in rows])
        if page > 1:
            return render_fragment("complaints/register.html", "more_register", rows=rows, more_url=more_url,
                                   outcomes=outcomes, outcome_labels=OUTCOMES)
    else:
        rows = list(complaints.register(start, end, department_id, current_user))
        outcomes = complaints.callback_outcomes([c.id for c in rows])
    stats = complaints.complaint_stats(start, end, department_id, current_user)
    suffix = f"{month}" + (f"-{department.name}" if department else "")
    if fmt in ("csv", "xlsx") and not errors:
        if args.get("table") == "summary":
            return table_download(f"投诉汇总-{suffix}", [_("Figure"), _("Value")], _summary_rows(stats), fmt)
        headers = [_("Number"), _("Received"), _("Customer"), _("VIP"), _("Channel"), _("Category"), _("Severity"),
                   _("Department"), _("State"), _("First handled"), _("Handling time (hours)"), _("On time"),
                   _("Callback"), _("Root cause"), _("Improvement proposal")]
        table = [[c.number, local_datetime(c.created_at), c.customer.name, _("Yes") if c.customer.is_vip else "",
                  str(CHANNELS.get(c.channel, c.channel)), str(complaints.category_label(c.category)),
                  str(SEVERITIES.get(c.severity, c.severity)), c.department.name if c.department_id else "",
                  str(STATES[c.state]), local_datetime(c.first_handled_at),
                  round(c.handling_minutes / 60, 1) if c.handling_minutes is not None else "",
                  "" if c.handled_on_time is None else (_("Yes") if c.handled_on_time else _("No")),
                  str(OUTCOMES.get(outcomes.get(c.id), "")), c.root_cause, c.improvement] for c in rows]
        return table_download(f"投诉台帐-{suffix}", headers, table, fmt)
    return render("complaints/register.html", "results", status=422 if errors else 200, stats=stats, rows=rows,
                  more_url=more_url, outcomes=outcomes, month=month, department_id=department_id, errors=errors,
                  departments=Department.select().order_by(Department.name), percent=_percent,
                  outcome_labels=OUTCOMES)


OUTCOMES = {"satisfied": _l("Satisfied"), "unsatisfied": _l("Not satisfied")}


def _summary_rows(stats):
    rows = [[_("Complaints taken in"), stats["total"]]]
    rows += [[_("Category: %(name)s", name=complaints.category_label(k)), n] for k, n in stats["by_category"].items()]
    rows += [[_("Department: %(name)s", name=k or _("not assigned yet")), n] for k, n in stats["by_department"].items()]
    rows += [[_("Severity: %(name)s", name=SEVERITIES.get(k, k)), n] for k, n in stats["by_severity"].items()]
    rows += [[_("Handled"), stats["handled"]], [_("Handling rate"), _percent(stats["handling_rate"])],
             [_("Average handling time (hours)"), stats["avg_handling_hours"] if stats["avg_handling_hours"] is not None
              else ""],
             [_("Handled on time"), stats["on_time"]], [_("On-time rate"), _percent(stats["on_time_rate"])],
             [_("Called back"), stats["called_back"]], [_("Satisfied"), stats["satisfied"]],
             [_("Satisfaction"), _percent(stats["satisfied_rate"])]]
    return rows
