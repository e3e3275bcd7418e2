"""Quality: overdue rectifications (the owner once, then the head once) and the daily floor
walk reminder. Both found by the data and marked, so a missed run is caught up and a
repeated one does nothing."""
from huey import crontab

from tasks import app_context, huey


@huey.periodic_task(crontab(minute="*"))
@huey.lock_task("quality-sweep")
def quality_sweep():
    from models.quality.inspections import remind_floor_walk
    from models.quality.rectifications import remind_overdue
    with app_context():
        return remind_overdue() + remind_floor_walk()
