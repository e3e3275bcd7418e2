"""The approval chain (admin): steps, amount tiers, each step's next level up, departments' own approvers."""
from flask import Blueprint, abort, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import BooleanField, HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, ValidationError

from models import procurement, settings
from models.procurement import chain as approval_chain
from models.procurement.chain import ApprovalStep, DepartmentApprover
from models.roles import ROLES
from models.users import Department, User
from views.access import allow
from views.fields import AmountField, WholeNumberField, strip, whole_number
from views.ui import PortalForm, redirect_to, render, toast
from views.procurement.fields import not_negative, required

bp = Blueprint("approval_chain", __name__)


@bp.context_processor
def labels():
    return {"step_label": procurement.step_label, "ROLES": ROLES}


class StepForm(PortalForm):
    step_id = HiddenField()
    label = StringField(_l("Step name"), filters=[strip], validators=[Length(max=80)],
                        description=_l("Leave empty for a default step to keep its translated name."))
    role = SelectField(_l("Approver role"), choices=[SelectChoice(k, v) for k, v in ROLES.items()])
    position = WholeNumberField(_l("Sequence (smaller first)"), validators=[required(_l("Enter a number.")),
                                                                           not_negative])
    own_department = BooleanField(_l("The approver belongs to the requisition's department"))
    review = BooleanField(_l("Logistics review (purchase method, budget, confirmed amount)"))
    min_amount = AmountField(_l("Applies from this amount (CNY)"), validators=[Optional(), not_negative],
                             description=_l("Empty: every requisition passes this step."))
    threshold_setting = BooleanField(_l("Applies from the leadership threshold setting"))
    fallback_role = SelectField(
        _l("Next level up"), default="leadership",
        choices=[SelectChoice("", _l("(nobody)"))] + [SelectChoice(k, v) for k, v in ROLES.items()],
        description=_l("Approves when the requester is the step's only approver (a department's only head), "
                       "and is told and may approve when the step waits longer than the escalation setting."))
    active = BooleanField(_l("In use"), default=True)

    def validate_label(self, field):
        step = (ApprovalStep.get_or_none(ApprovalStep.id == int(self.step_id.data))
                if whole_number(self.step_id.data) else None)
        if not field.data and not (step and step.key in approval_chain.DEFAULT_STEP_LABELS):
            raise ValidationError(_l("Name the step."))


class ApproverForm(PortalForm):
    department = SelectField(_l("Department"), coerce=int, validate_choice=False)
    step = SelectField(_l("Step"), coerce=int, validate_choice=False)
    user = SelectField(_l("Approver"), coerce=int, validate_choice=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.department.choices = [SelectChoice(d.id, d.name) for d in Department.active_ones()]
        self.step.choices = [SelectChoice(s.id, procurement.step_label(s)) for s in approval_chain.chain()]
        self.user.choices = [SelectChoice(u.id, u.display_name) for u in
                             User.select().where(User.is_active == True).order_by(User.display_name)]  # noqa: E712


def _chain_page(step_form=None, approver_form=None, status=200, block=None):
    return render("procurement/chain.html", block, status=status, steps=approval_chain.chain(include_inactive=True),
                  named=list(approval_chain.department_approvers()), step_form=step_form or StepForm(),
                  approver_form=approver_form or ApproverForm(),
                  threshold=settings.get(approval_chain.LEADERSHIP_THRESHOLD),
                  escalate_hours=settings.get(approval_chain.ESCALATE_HOURS))


@bp.route("/procurement/chain", methods=["GET"])
@allow("procurement.chain")
def index():
    """The approval chain as data: steps, amount tiers, and departments' own approvers."""
    step = ApprovalStep.get_or_none(ApprovalStep.id == request.args.get("step", type=int))
    form = StepForm(obj=step, data={"step_id": step.id}) if step else StepForm(data={"position": 40})
    return _chain_page(step_form=form)


@bp.route("/procurement/chain/step", methods=["POST"])
@allow("procurement.chain")
def save_step():
    """Add a step to the chain or change one."""
    form = StepForm()
    if not form.validate_on_submit():
        return _chain_page(step_form=form, status=422, block="step_form")
    step_id = int(form.step_id.data) if whole_number(form.step_id.data) else None
    approval_chain.save_step(current_user, step_id, label=form.label.data or "", role=form.role.data,
                          position=form.position.data, own_department=form.own_department.data,
                          review=form.review.data, min_amount=form.min_amount.data,
                          threshold_setting=form.threshold_setting.data, active=form.active.data,
                          fallback_role=form.fallback_role.data)
    toast(_("Approval chain saved."))
    return redirect_to(url_for("approval_chain.index"))


@bp.route("/procurement/chain/approvers", methods=["POST"])
@allow("procurement.chain")
def add_approver():
    """Name a department's own approver for a step."""
    form = ApproverForm()
    if not form.validate_on_submit():
        return _chain_page(approver_form=form, status=422, block="approver_form")
    approval_chain.name_department_approver(current_user, form.department.data, form.step.data, form.user.data)
    toast(_("Approver named."))
    return redirect_to(url_for("approval_chain.index"))


@bp.route("/procurement/chain/approvers/<int:approver_id>/remove", methods=["POST"])
@allow("procurement.chain")
def remove_approver(approver_id):
    """Stop a department's named approver (the step's role approves again)."""
    if not DepartmentApprover.get_or_none(DepartmentApprover.id == approver_id):
        abort(404)
    approval_chain.remove_department_approver(current_user, approver_id)
    toast(_("Approver removed."))
    return redirect_to(url_for("approval_chain.index"))
