"""Home and repair visits: the month-end reminder of short home visits, and the callbacks
owed after confirmed repair visits. Both found by the data and marked, so a missed run is
caught up and a repeated one does nothing."""
from huey import crontab

from tasks import app_context, huey


@huey.periodic_task(crontab(minute="*"))
@huey.lock_task("visits-sweep")
def visits_sweep():
    from models.home_visits import remind_short_month
    from models.service_visits import schedule_callbacks
    with app_context():
        return remind_short_month() + schedule_callbacks()
