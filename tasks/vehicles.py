"""Vehicles: the due-date reminders (insurance, annual inspection, maintenance), found by the data
and marked per vehicle, kind and due date, so a missed run is caught up and a repeated one does nothing."""
from huey import crontab

from tasks import app_context, huey


@huey.periodic_task(crontab(minute="*"))
@huey.lock_task("vehicles-sweep")
def vehicles_sweep():
    from models.vehicles import remind_due_dates
    with app_context():
        return remind_due_dates()
