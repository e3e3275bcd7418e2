"""The audit log: who changed what and when, filtered by user, record type and date."""
import datetime as dt

from flask import Blueprint, request
from peewee import JOIN

from models.audit import AuditEntry
from models.timezone import to_utc
from models.users import User
from views.access import allow
from views.fields import day_arg, int_arg
from views.ui import render

bp = Blueprint("audit_log", __name__)

PAGE_SIZE = 50


@bp.route("/audit")
@allow("audit.view")
def index():
    """Audit entries, newest first, in pages revealed as the user scrolls."""
    args = request.args
    errors = {}
    actor_id = int_arg(args, "user")
    record_type = args.get("type", "")[:64]
    day_from = day_arg(args, "from", errors)
    day_to = day_arg(args, "to", errors)
    page = int_arg(args, "page", 1)
    query = AuditEntry.search(
        actor_id=actor_id, record_type=record_type or None,
        date_from=to_utc(day_from) if day_from else None,
        date_to=to_utc(day_to + dt.timedelta(days=1)) if day_to else None,
    ).join(User, join_type=JOIN.LEFT_OUTER, on=(AuditEntry.actor == User.id)).select_extend(User)
    entries = list(query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1))
    has_more = len(entries) > PAGE_SIZE
    context = dict(
        entries=entries[:PAGE_SIZE], has_more=has_more, page=page, errors=errors, filters=args,
        users=User.select(User.id, User.display_name, User.username).order_by(User.display_name),
        record_types=AuditEntry.record_types(),
    )
    block = "rows" if page > 1 else "results"
    return render("admin/audit.html", block, **context)
