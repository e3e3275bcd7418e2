"""Broadcasting: the end-of-day check that tells the supervisor of slots left unrecorded, found by
the data (the day's last slot is over) and marked once per day."""
from huey import crontab

from tasks import app_context, huey


@huey.periodic_task(crontab(minute="*"))
@huey.lock_task("broadcast-check-day")
def broadcast_check_day():
    from models.broadcast import check_day
    with app_context():
        return check_day()
