"""30-day no-reason returns: receiving at the desk (with the imported sales list looked up),
the return page and its steps, the list, the register and the monthly summary (page, PDF, XLSX)."""
import datetime as dt

from flask import Blueprint, abort, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from models import returns
from models.base import DomainError
from models.phones import PHONE_HELP, normalise_phone
from models.returns import OUTCOMES, REFUSALS, STATES, SUMMARY_OUTCOMES, TRANSITIONS, GoodsReturn
from models.submissions import submit_once
from models.timezone import local_now
from printing import qr_data_uri
from views.access import allow
from views.exports import table_download
from views.fields import AmountField, DayField, month_period, phone, show_refusal, strip, whole_number
from views.printing import record_url, render_pdf
from views.templating import local_date, local_datetime
from views.ui import PortalForm, one_page, redirect_to, render, render_fragment, toast

bp = Blueprint("returns", __name__)

YES_NO = [SelectChoice("yes", _l("Yes")), SelectChoice("no", _l("No"))]
#: The register page shows this many rows; the PDF and the XLSX hold the whole period.
REGISTER_SHOWN = 500
LONGEST_PERIOD_DAYS = 366
#: What a redraw of the receiving form's lookup sends (never the CSRF token: it is a GET).
LOOKUP_INCLUDE = "#phone, #sale_date, #sale-lookup"


class ReceiveForm(PortalForm):
    name = StringField(_l("Customer name"), filters=[strip], validators=[DataRequired(), Length(max=80)])
    phone = StringField(_l("Phone"), filters=[strip], validators=[DataRequired(), Length(max=30), phone],
                        description=PHONE_HELP, render_kw={"inputmode": "tel", "autocomplete": "off"})
    # Chosen among the customer's imported sales (radio buttons the lookup draws); empty: typed.
    sale_id = StringField()
    order_number = StringField(_l("Order number"), filters=[strip], validators=[DataRequired(), Length(max=40)])
    goods = StringField(_l("Goods"), filters=[strip], validators=[Length(max=120)])
    sale_date = DayField(_l("Sale date"), validators=[Optional()], render_kw={"type": "date"})
    sale_amount = AmountField(_l("Price paid (CNY)"), validators=[InputRequired()],
                              render_kw={"inputmode": "decimal"})
    vendor = StringField(_l("Vendor"), filters=[strip], validators=[DataRequired(), Length(max=80)])
    category = SelectField(_l("Goods category"), validate_choice=False)
    complaint_number = StringField(_l("Complaint number (if any)"), filters=[strip], validators=[Length(max=20)],
                                   description=_l("e.g. TS-2026-000123, when the return comes of a complaint."))
    customer_reason = TextAreaField(_l("What the customer says (optional: no reason is needed)"),
                                    filters=[strip], validators=[Length(max=2000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = [SelectChoice(c, returns.category_label(c)) for c in returns.categories()]
        # The phone and the sale date redraw the lookup (the customer's sales, the deadline); the
        # latest change wins over one still under way.
        lookup = {"hx-get": url_for("returns.lookup"), "hx-trigger": "change", "hx-target": "#sale-lookup",
                  "hx-swap": "outerHTML", "hx-include": LOOKUP_INCLUDE, "hx-sync": "#return-new-form:replace"}
        self.phone.render_kw = {**self.phone.render_kw, **lookup}
        self.sale_date.render_kw = {**self.sale_date.render_kw, **lookup}

    def chosen_sale(self):
        value = (self.sale_id.data or "").strip()
        return int(value) if whole_number(value) else None

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        if not self.chosen_sale():  # from the imported list, the sale names its goods and date
            if not self.goods.data:
                self.goods.errors.append(_("Name the goods."))
                valid = False
            if self.sale_date.data is None and not self.sale_date.errors:
                self.sale_date.errors.append(_("Enter the date of the sale."))
                valid = False
        return valid


class CheckForm(PortalForm):
    goods_intact = RadioField(_l("Goods intact (no use, damage or missing parts)"), choices=YES_NO,
                              validators=[InputRequired(message=_l("Say whether the goods are intact."))])
    vendor_agreed = RadioField(_l("The vendor agrees to take them back"), choices=YES_NO,
                               validators=[InputRequired(message=_l("Say whether the vendor agrees."))])
    vendor_contact = StringField(_l("Who at the vendor"), filters=[strip], validators=[Length(max=80)])
    note = TextAreaField(_l("Note on the check"), filters=[strip], validators=[Length(max=2000)])
    version = HiddenField()


class AcceptForm(PortalForm):
    outcome = RadioField(_l("Refund or exchange"), choices=[SelectChoice(k, OUTCOMES[k]) for k in ("refund", "exchange")],
                         validators=[InputRequired(message=_l("Choose refund or exchange."))])
    amount = AmountField(_l("Amount (CNY)"), validators=[InputRequired(message=_l("Enter the amount."))],
                         render_kw={"inputmode": "decimal"},
                         description=_l("Refunded, or credited towards the exchange; at most what was paid."))
    note = TextAreaField(_l("Note"), filters=[strip], validators=[Length(max=2000)])
    version = HiddenField()


class RefuseForm(PortalForm):
    refusal_kind = RadioField(_l("Why"), choices=[SelectChoice(k, REFUSALS[k]) for k in returns.DESK_REFUSALS],
                              validators=[InputRequired(message=_l("Choose why the return is refused."))])
    note = TextAreaField(_l("The reason the customer was told"), filters=[strip],
                         validators=[DataRequired(), Length(max=2000)])
    version = HiddenField()


class CloseForm(PortalForm):
    note = TextAreaField(_l("Refund paid, goods exchanged, or what the customer was told"), filters=[strip],
                         validators=[Length(max=2000)])
    version = HiddenField()


class VoidForm(PortalForm):
    note = TextAreaField(_l("Why it is voided"), filters=[strip], validators=[DataRequired(), Length(max=2000)])
    version = HiddenField()


ACTION_FORMS = {"check": CheckForm, "accept": AcceptForm, "refuse": RefuseForm, "close": CloseForm,
                "void": VoidForm}


@bp.context_processor
def labels():
    return {"STATES": STATES, "OUTCOMES": OUTCOMES, "REFUSALS": REFUSALS, "SUMMARY_OUTCOMES": SUMMARY_OUTCOMES,
            "category_label": returns.category_label}


def _record(record_id):
    record = GoodsReturn.get_or_none(GoodsReturn.id == record_id)
    if record is None:
        abort(404)
    return record


@bp.route("/returns")
@allow("returns.work")
def index():
    """The returns, newest first, filterable; 50 at a time."""
    state = request.args.get("state", "open")
    q = request.args.get("q", "").strip()[:80]
    rows, more_url, page = one_page(returns.listing(state=state, q=q), "returns.index")
    if page > 1:
        return render_fragment("returns/index.html", "more_rows", rows=rows, more_url=more_url)
    return render("returns/index.html", "rows", rows=rows, more_url=more_url, state=state, q=q)


def _lookup_context(form):
    """The customer's imported sales and the deadline of the sale as chosen or typed so far."""
    try:
        sales = list(returns.sales_of(normalise_phone(form.phone.data or ""))) if form.phone.data else []
    except ValueError:
        sales = []
    chosen = next((s for s in sales if s.id == form.chosen_sale()), None)
    sale_date = chosen.sale_date if chosen else form.sale_date.data
    last = returns.last_day(sale_date) if sale_date else None
    return {"sales": sales, "chosen": chosen, "last_day": last, "lookup_include": LOOKUP_INCLUDE,
            "day_number": (local_now().date() - sale_date).days if sale_date else None,
            "in_time": last is not None and local_now().date() <= last}


@bp.route("/returns/new", methods=["GET", "POST"])
@allow("returns.work")
def new():
    """Receive a customer bringing goods back."""
    form = ReceiveForm()
    if earlier := form.earlier_result():
        return redirect_to(earlier)
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render("returns/new.html", "form", status=status, form=form, **_lookup_context(form))
    made = {}

    def create():
        record = returns.receive(
            current_user, name=form.name.data, phone=form.phone.data, order_number=form.order_number.data,
            sale_date=form.sale_date.data, goods=form.goods.data, vendor=form.vendor.data,
            category=form.category.data, sale_amount=form.sale_amount.data,
            customer_reason=form.customer_reason.data, sale_id=form.chosen_sale(),
            complaint_number=form.complaint_number.data)
        made["record"] = record
        return url_for("returns.show", record_id=record.id)

    try:
        url, created = submit_once(form.submission_key.data, current_user, create)
    except DomainError as refused:
        show_refusal(form, refused, fallback="order_number")
        return render("returns/new.html", "form", status=422, form=form, **_lookup_context(form))
    if created:
        record = made["record"]
        if record.in_time:
            toast(_("Return %(number)s received.", number=record.number))
        else:
            toast(_("Return %(number)s recorded as refused: %(why)s", number=record.number,
                    why=record.deadline_message), "warning")
    return redirect_to(url)


@bp.route("/returns/lookup")
@allow("returns.work")
def lookup():
    """The part of the receiving form that follows the phone and the sale: the customer's
    imported sales to choose from, the goods and the date, and the deadline they give."""
    form = ReceiveForm(formdata=request.args, meta={"csrf": False})
    return render_fragment("returns/new.html", "lookup", form=form, **_lookup_context(form))


def _show(record, forms=None, status=200, error=None, opened=None):
    actions = record.actions_for(current_user)
    forms = forms or {}
    for name, _transition in actions:
        forms.setdefault(name, ACTION_FORMS[name](prefix=name, data={"version": record.version}))
    return render("returns/show.html", status=status, record=record, events=list(record.events()),
                  actions=actions, forms=forms, error=error, opened=opened)


@bp.route("/returns/<int:record_id>")
@allow("returns.work")
def show(record_id):
    """One return: the sale, the deadline, the check and the outcome, what I may do now, the timeline."""
    return _show(_record(record_id))


@bp.route("/returns/<int:record_id>/<action>", methods=["POST"])
@allow("returns.work")
def act(record_id, action):
    """Take one step; a refusal is shown beside its field with what was typed kept."""
    record = _record(record_id)
    if action not in ACTION_FORMS:
        abort(404)
    form = ACTION_FORMS[action](prefix=action)
    if not form.validate_on_submit():
        return _show(record, {action: form}, 422, opened=action)
    data = {k: v for k, v in form.data.items() if k not in ("version", "submission_key", "csrf_token")}
    for key in ("goods_intact", "vendor_agreed"):
        if key in data:
            data[key] = data[key] == "yes"
    try:
        version = int(form.version.data or "")
    except ValueError:
        return _show(record, {action: form}, 422, error=_("Reload the page and try again."), opened=action)
    try:
        returns.apply(record.id, action, current_user, version, **data)
    except DomainError as refused:
        return _show(_record(record_id), {action: form}, 422, error=show_refusal(form, refused), opened=action)
    toast(_("%(action)s: done.", action=TRANSITIONS[action].label))
    return redirect_to(url_for("returns.show", record_id=record.id))


# ---------------------------------------------------------------- the register and the summary

def _period(args, errors):
    """(first day, last day) from ?from=&to= (the present month by default)."""
    first, last = returns.this_month()
    days = {}
    for name, default in (("from", first), ("to", last)):
        text = args.get(name, "").strip()[:10]
        try:
            days[name] = dt.date.fromisoformat(text) if text else default
        except ValueError:
            errors[name] = _("Enter a date like 2026-11-23.")
            days[name] = default
    if days["to"] < days["from"]:
        errors["to"] = _("The end of the period is before its start.")
    elif (days["to"] - days["from"]).days >= LONGEST_PERIOD_DAYS:
        errors["to"] = _("Choose a period of at most a year.")
    if errors:
        return first, last
    return days["from"], days["to"]


def _register_table(rows):
    headers = [_("Number"), _("Received"), _("Customer"), _("Phone"), _("Order number"), _("Sale date"), _("Goods"),
               _("Vendor"), _("Goods category"), _("Price paid"), _("Day"), _("Goods intact"), _("Vendor agrees"),
               _("Outcome"), _("Amount"), _("Reason told to the customer"), _("State"), _("Received by"),
               _("Decided by"), _("Complaint")]
    yes_no = {True: _("Yes"), False: _("No"), None: ""}
    table = [[r.number, local_datetime(r.created_at), r.customer.name, r.customer.phone, r.order_number,
              local_date(r.sale_date), r.goods, r.vendor, str(returns.category_label(r.category)), r.sale_amount,
              r.day_number, yes_no[r.goods_intact], yes_no[r.vendor_agreed],
              str(SUMMARY_OUTCOMES[returns.outcome_of(r)]), r.amount if r.amount is not None else "",
              str(r.deadline_message) if r.refusal_kind == "deadline" else r.refusal_reason, str(STATES[r.state]),
              r.received_by.display_name, r.decided_by.display_name if r.decided_by_id else "",
              r.complaint.number if r.complaint_id else ""] for r in rows]
    return headers, table


@bp.route("/returns/register")
@allow("returns.register")
def register():
    """The register (30天无理由退货登记表) of a period; as XLSX too."""
    errors = {}
    first, last = _period(request.args, errors)
    if request.args.get("format") == "xlsx" and not errors:
        headers, table = _register_table(returns.register(first, last))
        return table_download(f"30天无理由退货登记表-{first}-{last}", headers, table, "xlsx")
    rows = list(returns.register(first, last).limit(REGISTER_SHOWN + 1))
    return render("returns/register.html", "results", status=422 if errors else 200, rows=rows[:REGISTER_SHOWN],
                  cut=len(rows) > REGISTER_SHOWN, shown=REGISTER_SHOWN, first=first, last=last, errors=errors)


@bp.route("/returns/register.pdf")
@allow("returns.register")
def register_pdf():
    """The printed register of a period."""
    errors = {}
    first, last = _period(request.args, errors)
    if errors:
        abort(404)
    return render_pdf("print/returns_register.html", f"30天无理由退货登记表-{first}-{last}.pdf",
                      rows=list(returns.register(first, last)), first=first, last=last, number=f"{first:%Y%m%d}-{last:%Y%m%d}",
                      printed_at=local_now(),
                      qr=qr_data_uri(record_url("returns.register", **{"from": first.isoformat(),
                                                                       "to": last.isoformat()})))


def _month(args, errors):
    period, error = month_period(args.get("month", "").strip()[:7])
    if error:
        errors["month"] = error
    return period


def _summary_table(s):
    headers = [_("Group"), _("Name"), _("Count"), str(OUTCOMES["refund"]), str(OUTCOMES["exchange"]),
               str(OUTCOMES["refused"]), str(SUMMARY_OUTCOMES["pending"]), _("Amount (CNY)")]
    table = []
    for group, rows, name in ((_("Vendor"), s["by_vendor"], str), (_("Goods category"), s["by_category"],
                                                                  lambda k: str(returns.category_label(k)))):
        for key, g in rows.items():
            table.append([group, name(key), g["count"], g["refund"], g["exchange"], g["refused"], g["pending"],
                          g["amount"]])
    t = s["total"]
    table.append([_("Total"), "", t["count"], t["refund"], t["exchange"], t["refused"], t["pending"], t["amount"]])
    for key, n in s["by_refusal"].items():
        table.append([_("Refused"), str(REFUSALS[key]), n, "", "", n, "", ""])
    return headers, table


@bp.route("/returns/summary")
@allow("returns.register")
def summary():
    """The monthly summary (汇总表) by vendor, category and outcome; as XLSX too."""
    errors = {}
    period = _month(request.args, errors)
    s = returns.summary(period.start, period.last_day)
    if request.args.get("format") == "xlsx" and not errors:
        headers, table = _summary_table(s)
        return table_download(f"30天无理由退货汇总表-{period.key}", headers, table, "xlsx")
    return render("returns/summary.html", "results", status=422 if errors else 200, s=s, month=period.key,
                  errors=errors)


@bp.route("/returns/summary.pdf")
@allow("returns.register")
def summary_pdf():
    """The printed monthly summary."""
    errors = {}
    period = _month(request.args, errors)
    if errors:
        abort(404)
    return render_pdf("print/returns_summary.html", f"30天无理由退货汇总表-{period.key}.pdf",
                      s=returns.summary(period.start, period.last_day), period=period, number=period.key,
                      printed_at=local_now(), qr=qr_data_uri(record_url("returns.summary", month=period.key)))
