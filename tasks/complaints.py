"""Complaint deadlines: the sweep that escalates overdue complaints."""
from huey import crontab

from tasks import app_context, huey


@huey.periodic_task(crontab(minute="*"))
@huey.lock_task("complaints-escalate")
def escalate_overdue_complaints():
    """Idempotent by data: each complaint records which escalations it has had."""
    from models.complaints import escalate_overdue
    with app_context():
        return escalate_overdue()
