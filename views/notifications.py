"""The bell: unread count (polled by htmx) and the list."""
from flask import Blueprint, request, url_for
from flask_login import current_user

from models.notifications import Notification, mark_read
from views.access import allow
from views.ui import redirect_to, render, safe_next

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.route("/")
@allow("home")
def index():
    """The user's recent notifications."""
    items = list(Notification.recent_for(current_user, limit=100))
    return render("home/notifications.html", items=items)


@bp.route("/bell")
@allow("home")
def bell():
    """The bell with its unread count, swapped in by polling."""
    return render("home/notifications.html", "bell", unread=Notification.unread_for(current_user).count())


@bp.route("/<int:notification_id>/open", methods=["POST"])
@allow("home")
def open_one(notification_id):
    """Mark one read and go where it points."""
    note = Notification.get_or_none(Notification.id == notification_id, Notification.user == current_user)
    mark_read(current_user, notification_id)
    target = safe_next(note.url) if note and note.url else None
    return redirect_to(target or url_for("home.index"))


@bp.route("/read-all", methods=["POST"])
@allow("home")
def read_all():
    """Mark every notification read."""
    mark_read(current_user)
    return redirect_to(safe_next(request.form.get("next")) or url_for("notifications.index"))


