"""Facility repairs: the sweep that escalates a fault not repaired by its urgency's deadline,
once (the repair's escalated_at is the mark, set with the notices)."""
from huey import crontab

from tasks import app_context, huey


@huey.periodic_task(crontab(minute="*"))
@huey.lock_task("repairs-escalate")
def escalate_repairs():
    from models.repairs import escalate_overdue
    with app_context():
        return escalate_overdue()
