"""The stock ledger (物资台账): balances, one item's movements, and office supplies handed out."""
from flask import Blueprint, abort, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError

from models.procurement import stock as ledger
from models.procurement.stock import StockItem
from models.base import DomainError
from models.submissions import submit_once
from models.users import Department
from views.access import allow
from views.fields import ChosenIdField, WholeNumberField, strip
from views.ui import PortalForm, one_page, redirect_to, render, render_fragment, toast
from views.procurement.fields import positive, required

bp = Blueprint("stock", __name__)


class IssueForm(PortalForm):
    item = ChosenIdField(_l("Item"))
    quantity = WholeNumberField(_l("Quantity"), validators=[required(_l("Enter the quantity.")), positive],
                                render_kw={"inputmode": "numeric"})
    taken_by = StringField(_l("Taken by"), filters=[strip], validators=[DataRequired(), Length(max=80)])
    department = SelectField(_l("Department"), coerce=int, validate_choice=False)
    note = StringField(_l("Note"), filters=[strip], validators=[Length(max=200)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.department.choices = [SelectChoice(0, _l("(none)"))] + [
            SelectChoice(d.id, d.name) for d in Department.active_ones()]

    def validate_item(self, field):
        if not field.data or not StockItem.get_or_none(StockItem.id == field.data):
            raise ValidationError(_l("Choose an item from the stock list."))


def _stock_page(form, status=200):
    rows, more_url, page = one_page(ledger.stock_items(), "stock.index")
    if page > 1 and request.method == "GET":
        return render_fragment("procurement/stock.html", "more_items", rows=rows, more_url=more_url)
    # The picker offers what can be handed out, and keeps the one chosen when the balance ran out meanwhile.
    items = ledger.stock_items().where((StockItem.balance > 0) | (StockItem.id == (form.item.data or 0)))
    return render("procurement/stock.html", "issue", status=status, form=form, rows=rows, more_url=more_url,
                  items=list(items), issues=list(ledger.recent_issues()), may_issue=current_user.can("stock.issue"))


@bp.route("/stock")
@allow("stock.view")
def index():
    """The stock ledger (物资台账): balances, and office supplies handed out."""
    form = IssueForm(data={"item": request.args.get("item", type=int)})
    return _stock_page(form)


@bp.route("/stock/issue", methods=["POST"])
@allow("stock.issue")
def issue():
    """Hand out office supplies: out of the ledger, with who took what; never more than the balance."""
    form = IssueForm()
    if earlier := form.earlier_result():
        return redirect_to(earlier)
    if not form.validate_on_submit():
        return _stock_page(form, 422)

    def create():
        ledger.issue(current_user, item_id=form.item.data, quantity=form.quantity.data,
                          taken_by=form.taken_by.data, department_id=form.department.data or None,
                          note=form.note.data or "")
        return url_for("stock.index")

    try:
        url, created = submit_once(form.submission_key.data, current_user, create)
    except DomainError as refused:
        getattr(form, refused.field or "quantity").errors = [str(refused)]
        return _stock_page(form, 422)
    if created:
        toast(_("Issued."))
    return redirect_to(url)


@bp.route("/stock/<int:item_id>")
@allow("stock.view")
def item(item_id):
    """One item's ledger: every movement in and out with the balance after it, newest first, 50 at a time."""
    item = StockItem.get_or_none(StockItem.id == item_id)
    if item is None:
        abort(404)
    moves, more_url, page = one_page(item.moves(), "stock.item", item_id=item.id)
    if page > 1:
        return render_fragment("procurement/stock_item.html", "more_moves", moves=moves, more_url=more_url)
    return render("procurement/stock_item.html", item=item, moves=moves, more_url=more_url)
