"""Each role's home page."""
from flask import Blueprint, abort, request, url_for
from flask_login import current_user

from models.calls import Call
from models.notifications import Notification
from models.users import AVAILABILITY, set_availability
from views.access import allow
from views.notifications import list_context
from views.templating import navigation_sections
from views.ui import redirect_to, render

bp = Blueprint("home", __name__)


@bp.route("/")
@allow("home")
def index():
    """The home page of the user's role (the first role they hold, or the one chosen)."""
    roles = current_user.roles
    role = request.args.get("role") if request.args.get("role") in roles else current_user.primary_role
    tiles = [(section, [(label, endpoint) for label, endpoint in entries if endpoint != "home.index"])
             for section, entries in navigation_sections()]
    tiles = [(section, entries) for section, entries in tiles if entries]
    notifications = list(Notification.recent_for(current_user, limit=8))
    promises = Call.promises_open().where(Call.promiser == current_user.id).count()
    return render("home/index.html", role=role, roles=roles, tiles=tiles, promises=promises,
                  availability=AVAILABILITY, **list_context(notifications))


@bp.route("/account/availability", methods=["POST"])
@allow("home")
def availability():
    """Say whether one is available (the desk's directory shows it)."""
    try:
        set_availability(current_user, request.form.get("availability", ""))
    except ValueError:
        abort(400)
    return redirect_to(url_for("home.index"))
