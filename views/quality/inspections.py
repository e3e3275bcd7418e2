"""Quality part 1 (服务质量): the overview, the checklist, inspections with their findings,
fines and the bonus fund, rectifications and the third-time proposals."""
from flask import Blueprint

from views.access import allow

bp = Blueprint("quality", __name__, url_prefix="/quality")


@bp.route("")
@allow("quality.own")
def index():
    """The overview."""
    return ""


@bp.route("/fines/<int:fine_id>")
@allow("quality.own")
def fine(fine_id):
    """One fine."""
    return ""


@bp.route("/proposals")
@allow("quality.run")
def proposals():
    """Third-time proposals."""
    return ""


@bp.route("/rectifications/<int:rectification_id>")
@allow("quality.own")
def rectification(rectification_id):
    """One rectification."""
    return ""
