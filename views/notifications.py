"""The bell: unread count (polled by htmx) and the list; where a person's notices go beyond it."""
from flask import Blueprint, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from models.notifications import CHANNELS, KINDS, Notification, choices_for, choose_channels, mark_read, reaching
from models.visitors import HOST_ANSWERS, Visit
from views.access import allow
from views.fields import CheckboxesField
from views.ui import PortalForm, redirect_to, render, safe_next, toast

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


def channels_form(available):
    """One row of checkboxes per kind of notice, over the channels that reach the person."""
    choices = [SelectChoice(name, CHANNELS[name].label) for name in available]
    return type("ChannelsForm", (PortalForm,), {kind: CheckboxesField(label, choices=choices)
                                                 for kind, label in KINDS.items()})


@bp.route("/channels", methods=["GET", "POST"])
@allow("home")
def channels():
    """Where my notices go beyond the bell, kind by kind (通知方式)."""
    available = reaching(current_user)
    form_class = channels_form(available)
    form = form_class(data=choices_for(current_user)) if request.method == "GET" else form_class()
    if request.method == "POST" and form.validate_on_submit():
        choose_channels(current_user, {kind: form[kind].data for kind in KINDS})
        toast(_("Saved."))
        return redirect_to(url_for("notifications.channels"))
    status = 422 if request.method == "POST" else 200
    return render("home/notification_channels.html", "form", status=status, form=form, available=available,
                  kinds=KINDS)
