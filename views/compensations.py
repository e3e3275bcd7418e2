"""Advance compensation (先行赔偿): the list and my approvals, proposing, the compensation page
with its next step (approve, return, amend, pay, recover, void), the open recoveries by age,
the approval tiers, the printed 先行赔偿审批表 and the register's export."""
from flask import Blueprint, abort, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from models import compensations
from models.base import DomainError
from models.compensations import (
    PAY_METHODS, STATES, TRANSITIONS, SentBackForApproval,
)
from models.complaints import Complaint
from models.roles import ROLES, has_permission
from models.submissions import submit_once
from models.timezone import local_now, to_local
from printing import qr_data_uri
from views.access import allow
from views.exports import table_download
from views.fields import AmountField, DayField, int_arg, phone, show_refusal, strip
from views.printing import record_url, render_pdf
from views.templating import NAV_COUNTS
from views.ui import PortalForm, redirect_to, render, toast

bp = Blueprint("compensations", __name__)

NAV_COUNTS["compensations.index"] = compensations.inbox_count
#: Rows per page of the lists.
PAGE = 50


def _required(message):
    return InputRequired(message=message)


class CaseFields:
    """What the proposer writes, also when amending a returned compensation."""
    case = TextAreaField(_l("What happened, and why the company pays first"), filters=[strip],
                         validators=[_required(_l("Say what happened and why the company pays first.")),
                                     Length(max=5000)])
    responsible_party = StringField(_l("Who is to reimburse the company (vendor or responsible party)"),
                                    filters=[strip], validators=[_required(_l("Name who is to reimburse the company.")),
                                                                 Length(max=120)])
    party_contact = StringField(_l("Their contact"), filters=[strip], validators=[Length(max=120)])
    amount = AmountField(_l("Amount proposed (CNY)"), render_kw={"inputmode": "decimal"},
                         validators=[_required(_l("Enter the amount proposed, more than 0."))])


class ProposalForm(CaseFields, PortalForm):
    complaint_number = StringField(_l("Complaint number (if there is one)"), filters=[strip],
                                   validators=[Length(max=20)],
                                   description=_l("e.g. TS-2026-000123: the customer is then the complaint's."))
    name = StringField(_l("Customer name"), filters=[strip], validators=[Length(max=80)])
    phone = StringField(_l("Customer phone"), filters=[strip], validators=[Length(max=30), phone])

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if not self.complaint_number.data:
            for field, message in ((self.name, _l("Name the customer, or give the complaint number.")),
                                   (self.phone, _l("Enter the customer's phone number, or the complaint number."))):
                if not field.data and not field.errors:
                    field.errors = [message]
                    ok = False
        return ok


class DecisionForm(PortalForm):
    note = TextAreaField(_l("Remarks; the reason when returning it"), filters=[strip], validators=[Length(max=2000)])


class ResubmitForm(CaseFields, PortalForm):
    note = TextAreaField(_l("What was changed"), filters=[strip], validators=[Length(max=2000)])


def _method_choices():
    return [SelectChoice("", _l("Choose…"))] + [SelectChoice(k, v) for k, v in PAY_METHODS.items()]


class PaymentForm(PortalForm):
    day = DayField(_l("Paid on"), validators=[_required(_l("Enter the date."))])
    amount = AmountField(_l("Amount paid (CNY)"), render_kw={"inputmode": "decimal"},
                         validators=[_required(_l("Enter the amount paid, more than 0."))])
    method = SelectField(_l("Paid by"), validate_choice=False)
    reference = StringField(_l("Reference (transfer number, receipt)"), filters=[strip], validators=[Length(max=120)])
    note = TextAreaField(_l("Remarks"), filters=[strip], validators=[Length(max=2000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.method.choices = _method_choices()


class RecoveryForm(PortalForm):
    day = DayField(_l("Received on"), validators=[_required(_l("Enter the date."))])
    amount = AmountField(_l("Amount recovered (CNY)"), render_kw={"inputmode": "decimal"},
                         validators=[_required(_l("Enter the amount recovered, more than 0."))])
    method = SelectField(_l("Received by"), validate_choice=False)
    note = TextAreaField(_l("Remarks"), filters=[strip], validators=[Length(max=2000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.method.choices = _method_choices()


class VoidForm(PortalForm):
    note = TextAreaField(_l("Reason"), filters=[strip],
                         validators=[_required(_l("Fill in “%(what)s”.", what=_l("Reason"))), Length(max=2000)])


#: action -> (form, prefix); approve and return share the decision form.
FORMS = {"approve": (DecisionForm, "decide"), "return": (DecisionForm, "decide"),
         "resubmit": (ResubmitForm, "amend"), "pay": (PaymentForm, "pay"), "recover": (RecoveryForm, "recover"),
         "void": (VoidForm, "void")}


@bp.context_processor
def labels():
    return {"STATES": STATES, "PAY_METHODS": PAY_METHODS, "TRANSITIONS": TRANSITIONS,
            "threshold": compensations.settings.get(compensations.LEADERSHIP_ABOVE)}


def _compensation_or_404(compensation_id):
    compensation = compensations.get(compensation_id)
    if compensation is None:
        abort(404)
    return compensation


def _page():
    return max(1, int_arg(request.args, "page") or 1)


def _paged(query, page):
    rows = list(query.offset((page - 1) * PAGE).limit(PAGE + 1))
    return rows[:PAGE], len(rows) > PAGE


@bp.route("/compensations")
@allow("compensations.work")
def index():
    """What waits for my approval, and the compensations (newest first, paged)."""
    state = request.args.get("state", "open")
    q = request.args.get("q", "").strip()[:40]
    page = _page()
    rows, more = _paged(compensations.listing(state=state if state != "all" else None, q=q), page)
    return render("compensations/index.html", "rows", rows=rows, more=more, page=page, state=state, q=q,
                  waiting=list(compensations.inbox(current_user).limit(PAGE)))


@bp.route("/compensations/new", methods=["GET", "POST"])
@allow("compensations.propose")
def new():
    """Propose an advance compensation (先行赔偿), from a complaint or for a customer."""
    data = None
    if request.method == "GET" and (complaint_id := int_arg(request.args, "complaint")):
        complaint = Complaint.get_or_none(Complaint.id == complaint_id)
        if complaint is not None:
            data = {"complaint_number": complaint.number, "case": complaint.content}
    form = ProposalForm(data=data)
    if earlier := form.earlier_result():
        return redirect_to(earlier)
    if not form.validate_on_submit():
        return render("compensations/new.html", "form", status=422 if request.method == "POST" else 200, form=form,
                      needs=_needs(form.amount.data))

    def create():
        compensation = compensations.propose(
            current_user, case=form.case.data, responsible_party=form.responsible_party.data,
            party_contact=form.party_contact.data, amount=form.amount.data,
            complaint_number=form.complaint_number.data, name=form.name.data, phone=form.phone.data)
        return url_for("compensations.show", compensation_id=compensation.id)

    try:
        url, created = submit_once(form.submission_key.data, current_user, create)
    except DomainError as refused:
        show_refusal(form, refused, fallback="case")
        return render("compensations/new.html", "form", status=422, form=form, needs=_needs(form.amount.data))
    if created:
        toast(_("Advance compensation proposed: it waits for approval."))
    return redirect_to(url)


def _needs(amount):
    """The tiers an amount needs, for the hint beside it."""
    if amount is None or amount <= 0:
        return []
    return [t for t in compensations.tiers() if t.applies_to(amount)]


def _forms(compensation, action=None, form=None):
    """Each action's form, empty or as typed; `form` is the one just submitted."""
    today = local_now().date()
    defaults = {
        "decide": {}, "void": {},
        "amend": {"case": compensation.case, "responsible_party": compensation.responsible_party,
                  "party_contact": compensation.party_contact, "amount": compensation.proposed_amount},
        "pay": {"day": today, "amount": compensation.approved_amount},
        "recover": {"day": today, "amount": compensation.balance},
    }
    forms = {}
    for name, (form_class, prefix) in FORMS.items():
        if prefix not in forms:
            forms[prefix] = form_class(formdata=None, prefix=prefix, data=defaults[prefix])
    if form is not None:
        forms[FORMS[action][1]] = form
    return forms


def _show(compensation, status=200, action=None, form=None, error=None):
    compensation = _compensation_or_404(compensation.id)
    actions = [name for name, _t in compensation.actions_for(current_user)]
    context = dict(compensation=compensation, actions=actions, forms=_forms(compensation, action, form),
                   open_action=action, error=error, events=list(compensation.events()),
                   recoveries=list(compensation.recoveries()), approvers=compensations.approvers(compensation),
                   needs=_needs(compensation.amount_for_approval), today=local_now().date())
    return render("compensations/show.html", "actions", status=status, **context)


@bp.route("/compensations/<int:compensation_id>")
@allow("compensations.work")
def show(compensation_id):
    """The case, its approvals, the payment and the recoveries, and what I may do now."""
    return _show(_compensation_or_404(compensation_id))


@bp.route("/compensations/<int:compensation_id>/act", methods=["POST"])
@allow("compensations.work")
def act(compensation_id):
    """Apply one step; a refusal comes back beside its field with what was typed kept."""
    compensation = _compensation_or_404(compensation_id)
    action = request.form.get("action", "")
    if action not in FORMS:
        return _show(compensation, 422, error=_("Unknown action."))
    form_class, prefix = FORMS[action]
    form = form_class(prefix=prefix)
    if not form.validate_on_submit():
        return _show(compensation, 422, action, form)
    try:
        version = int(request.form.get("version", ""))
    except ValueError:
        return _show(compensation, 422, action, form, _("Reload the page and try again."))
    fields = {name: getattr(form, name).data for name in ("amount", "day", "method", "reference", "case",
                                                          "responsible_party", "party_contact") if hasattr(form, name)}
    try:
        compensations.apply(compensation.id, action, current_user, version, note=form.note.data, **fields)
    except SentBackForApproval as sent_back:
        toast(str(sent_back), "warning")
        return redirect_to(url_for("compensations.show", compensation_id=compensation.id))
    except DomainError as refused:
        return _show(compensation, 422, action, form, show_refusal(form, refused))
    toast({"approve": _("Approved."), "return": _("Returned to the proposer."),
           "resubmit": _("Resubmitted for approval."), "pay": _("Payment recorded."),
           "recover": _("Recovery recorded."), "void": _("Voided.")}[action])
    return redirect_to(url_for("compensations.show", compensation_id=compensation.id))


@bp.route("/compensations/recoveries")
@allow("compensations.work")
def recoveries():
    """Paid compensations not yet recovered in full, the oldest payment first, with their age."""
    page = _page()
    rows, more = _paged(compensations.open_recoveries(), page)
    return render("compensations/recoveries.html", rows=rows, more=more, page=page, today=local_now().date())


@bp.route("/compensations/<int:compensation_id>.pdf")
@allow("compensations.work")
def approval_pdf(compensation_id):
    """Print the advance compensation approval form (先行赔偿审批表) with every approver's decision and time."""
    compensation = _compensation_or_404(compensation_id)
    return render_pdf("print/compensation.html", f"先行赔偿审批表-{compensation.number}.pdf",
                      compensation=compensation, history=compensation.approval_history(),
                      recoveries=list(compensation.recoveries()), number=compensation.number, states=STATES,
                      methods=PAY_METHODS,
                      qr=qr_data_uri(record_url("compensations.show", compensation_id=compensation.id)))


REGISTER_HEADERS = [_l("Number"), _l("Proposed"), _l("Customer"), _l("Phone"), _l("Complaint"), _l("What happened"),
                    _l("Reimbursed by"), _l("Amount proposed"), _l("Amount approved"), _l("Amount paid"),
                    _l("Paid on"), _l("Recovered"), _l("Open balance"), _l("State"), _l("Proposer")]
#: An export is a register, not a backup: the newest rows up to this many.
EXPORT_LIMIT = 5000


@bp.route("/compensations/export.<fmt>")
@allow("compensations.work")
def export(fmt):
    """The register of advance compensations as XLSX or CSV (the filters of the list)."""
    if fmt not in ("csv", "xlsx"):
        abort(404)
    state = request.args.get("state", "all")
    rows = compensations.listing(state=state if state != "all" else None,
                                 q=request.args.get("q", "").strip()[:40]).limit(EXPORT_LIMIT)

    def amount(value):
        return float(value) if value is not None else None

    data = [[c.number, to_local(c.created_at).date().isoformat(), c.customer.name,
             c.customer.phone, c.complaint.number if c.complaint_id else "", c.case, c.responsible_party,
             amount(c.proposed_amount), amount(c.approved_amount), amount(c.paid_amount),
             c.paid_on.isoformat() if c.paid_on else "", amount(c.recovered_amount), amount(c.balance),
             str(STATES[c.state]), c.proposer.display_name] for c in rows]
    return table_download("先行赔偿台帐", REGISTER_HEADERS, data, fmt)


# ---------------------------------------------------------------- the tiers

class TierForm(PortalForm):
    tier_id = HiddenField()
    label = StringField(_l("Name"), filters=[strip], validators=[Length(max=80)],
                        description=_l("Empty: the role's name."))
    role = SelectField(_l("Role that approves"), validate_choice=False)
    position = IntegerField(_l("Order"), validators=[Optional()], render_kw={"inputmode": "numeric"})
    min_amount = AmountField(_l("Approves amounts above (CNY)"), validators=[Optional()],
                             render_kw={"inputmode": "decimal"}, description=_l("Empty: every amount."))
    threshold_setting = BooleanField(_l("Approves amounts above the leadership setting"))
    active = BooleanField(_l("Active"), default=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = [SelectChoice(k, v) for k, v in ROLES.items() if has_permission({k}, "compensations.work")]


@bp.route("/compensations/tiers", methods=["GET", "POST"])
@allow("compensations.tiers")
def tiers():
    """The approval tiers of advance compensations: who approves which amounts; ?tier= opens one to change."""
    rows = compensations.tiers(include_inactive=True)
    if request.method == "GET":
        tier = next((t for t in rows if t.id == int_arg(request.args, "tier")), None)
        data = ({"tier_id": tier.id, "label": tier.label, "role": tier.role, "position": tier.position,
                 "min_amount": tier.min_amount, "threshold_setting": tier.threshold_setting, "active": tier.active}
                if tier else {"position": (rows[-1].position + 10) if rows else 10, "active": True})
        return _tiers_page(rows, TierForm(data=data))
    form = TierForm()
    if not form.validate_on_submit():
        return _tiers_page(rows, form, 422)
    try:
        compensations.save_tier(current_user, int_arg({"id": form.tier_id.data or ""}, "id"), label=form.label.data,
                                role=form.role.data, position=form.position.data or 0,
                                min_amount=form.min_amount.data, threshold_setting=form.threshold_setting.data,
                                active=form.active.data)
    except DomainError as refused:
        show_refusal(form, refused, fallback="label")
        return _tiers_page(rows, form, 422)
    toast(_("Approval tier saved."))
    return redirect_to(url_for("compensations.tiers"))


def _tiers_page(rows, form, status=200):
    return render("compensations/tiers.html", "tier_form", status=status, rows=rows, form=form)
