"""Procurement: the sweeps that remind approvers of requisitions left waiting, and escalate them."""
from huey import crontab

from tasks import app_context, huey


@huey.periodic_task(crontab(minute="*/10"))
@huey.lock_task("procurement-remind")
def remind_waiting_approvers():
    """Found by the data (waited past the setting, not reminded at this step), so a missed
    run is caught up and a repeated run reminds nobody twice."""
    from models.procurement.requisitions import remind_waiting
    with app_context():
        return remind_waiting()


@huey.periodic_task(crontab(minute="*/10"))
@huey.lock_task("procurement-escalate")
def escalate_waiting_requisitions():
    """By the data, like the reminder: a step waited past the setting and not escalated yet."""
    from models.procurement.requisitions import escalate_waiting
    with app_context():
        return escalate_waiting()
