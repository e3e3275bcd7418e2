"""The supplier register: the list, a new supplier, changing one."""
from flask import Blueprint, abort, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from peewee import IntegrityError
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from models.procurement import orders
from models.procurement import suppliers as register
from models.procurement.orders import PurchaseOrder
from models.procurement.suppliers import Supplier
from models.submissions import submit_once
from views.access import allow
from views.fields import phone, strip
from views.ui import PortalForm, one_page, redirect_to, render, render_fragment, toast
from views.procurement.fields import tax_id

bp = Blueprint("suppliers", __name__)


class SupplierForm(PortalForm):
    name = StringField(_l("Supplier name"), filters=[strip], validators=[DataRequired(), Length(max=120)])
    tax_id = StringField(_l("Unified social credit code"), filters=[strip],
                         validators=[DataRequired(), Length(max=30), tax_id],
                         description=_l("18 characters, as on the business licence (统一社会信用代码)."),
                         render_kw={"autocapitalize": "characters", "autocomplete": "off", "spellcheck": "false"})
    contact = StringField(_l("Contact person"), filters=[strip], validators=[Optional(), Length(max=80)])
    phone = StringField(_l("Phone"), filters=[strip], validators=[Optional(), Length(max=30), phone],
                        render_kw={"inputmode": "tel"})
    address = StringField(_l("Address"), filters=[strip], validators=[Optional(), Length(max=200)])
    note = TextAreaField(_l("Note"), filters=[strip], validators=[Length(max=1000)])

    def values(self):
        return {"name": self.name.data, "tax_id": self.tax_id.data, "contact": self.contact.data or "",
                "phone": self.phone.data or "", "address": self.address.data or "", "note": self.note.data or ""}


def _duplicate_supplier(form, supplier_id=None):
    same_name = Supplier.get_or_none(Supplier.name == form.name.data)
    if same_name and same_name.id != supplier_id:
        form.name.errors = list(form.name.errors) + [_("This supplier is in the register already.")]
    same_tax = Supplier.get_or_none(Supplier.tax_id == form.tax_id.data)
    if same_tax and same_tax.id != supplier_id:
        form.tax_id.errors = list(form.tax_id.errors) + [
            _("%(name)s has this code already.", name=same_tax.name)]
    return bool(form.name.errors or form.tax_id.errors)


@bp.route("/suppliers", methods=["GET", "POST"])
@allow("procurement.manage")
def index():
    """The supplier register, and a new supplier."""
    form = SupplierForm()
    rows, more_url, page = one_page(Supplier.active_ones(), "suppliers.index")
    if page > 1 and request.method == "GET":
        return render_fragment("procurement/suppliers.html", "more_suppliers", rows=rows, more_url=more_url)
    if earlier := form.earlier_result():
        return redirect_to(earlier)
    if not form.validate_on_submit() or _duplicate_supplier(form):
        status = 422 if request.method == "POST" else 200
        return render("procurement/suppliers.html", "form", status=status, form=form, rows=rows, more_url=more_url)

    def create():
        register.save_supplier(current_user, **form.values())
        return url_for("suppliers.index")

    try:
        url, created = submit_once(form.submission_key.data, current_user, create)
    except IntegrityError:
        _duplicate_supplier(form)
        return render("procurement/suppliers.html", "form", status=422, form=form, rows=rows, more_url=more_url)
    if created:
        toast(_("Supplier added."))
    return redirect_to(url)


@bp.route("/suppliers/<int:supplier_id>", methods=["GET", "POST"])
@allow("procurement.manage")
def edit(supplier_id):
    """Change a supplier's details."""
    row = Supplier.get_or_none(Supplier.id == supplier_id)
    if row is None:
        abort(404)
    form = SupplierForm(obj=row if request.method == "GET" else None)
    if not form.validate_on_submit() or _duplicate_supplier(form, row.id):
        status = 422 if request.method == "POST" else 200
        # A regular supplier gathers hundreds of orders over the years: the newest first, 50 at a time.
        orders, more_url, page = one_page(
            PurchaseOrder.select().where(PurchaseOrder.supplier == row)
            .order_by(PurchaseOrder.created_at.desc(), PurchaseOrder.id.desc()), "suppliers.edit", supplier_id=row.id)
        if page > 1:
            return render_fragment("procurement/supplier.html", "more_orders", orders=orders, more_url=more_url)
        return render("procurement/supplier.html", "form", status=status, form=form, supplier=row, orders=orders,
                      more_url=more_url)
    register.save_supplier(current_user, row.id, **form.values())
    toast(_("Supplier saved."))
    return redirect_to(url_for("suppliers.index"))
