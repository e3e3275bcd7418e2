"""Facility repairs (报修): report a fault, the repairs list, one repair and its next steps,
the month's repair ledger (维修登记表) with the quality pass rate, printed and exported."""
from flask import Blueprint, abort
from flask_login import current_user

from models.repairs import Repair
from views.access import allow
from views.ui import render

bp = Blueprint("repairs", __name__, url_prefix="/repairs")


@bp.route("/<int:repair_id>", methods=["GET", "POST"])
@allow("repairs.report")
def show(repair_id):
    """One repair and the next steps I may take."""
    repair = Repair.get_or_none(Repair.id == repair_id) or abort(404)
    return render("repairs/show.html", repair=repair, actions=repair.actions_for(current_user))
