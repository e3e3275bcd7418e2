"""The bell: unread count (polled by htmx) and the list."""
from flask import Blueprint, request, url_for
from flask_login import current_user

from models.notifications import Notification, mark_read
from models.visitors import HOST_ANSWERS, Visit
from views.access import allow
from views.ui import redirect_to, render, safe_next

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


def answerable_visits(items):
    """{notification id: visit} for the notifications that ask this user to answer a visitor
    still waiting: the list shows the answer buttons, so answering is one tap. Only the newest
    notification of a visit (the first call or the reminder) carries them."""
    wanted = {}
    for note in items:
        visit_id = note.link_args.get("visit_id") if note.endpoint == "visitors.host_answer" else None
        if visit_id is not None and visit_id not in wanted.values():
            wanted[note.id] = visit_id
    if not wanted:
        return {}
    visits = {v.id: v for v in Visit.select().where(Visit.id.in_(list(wanted.values())),
                                                    Visit.host == current_user.id, Visit.state == "waiting")}
    return {note_id: visits[visit_id] for note_id, visit_id in wanted.items() if visit_id in visits}


def list_context(items):
    """What a list of notifications needs: the items, and the answers where a visitor waits."""
    return {"items": items, "answerable": answerable_visits(items), "host_answers": HOST_ANSWERS}


@bp.route("/")
@allow("home")
def index():
    """The user's recent notifications; a waiting visitor is answered from here in one tap."""
    items = list(Notification.recent_for(current_user, limit=100))
    return render("home/notifications.html", **list_context(items))


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
