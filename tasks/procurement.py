"""Procurement: the sweep that reminds approvers of requisitions left waiting."""
from huey import crontab

from tasks import app_context, huey


@huey.periodic_task(crontab(minute="*/10"))
@huey.lock_task("procurement-remind")
def remind_waiting_approvers():
    """Found by the data (waited past the setting, not reminded at this step), so a missed
    run is caught up and a repeated run reminds nobody twice."""
    from models.procurement import remind_waiting
    with app_context():
        return remind_waiting()
