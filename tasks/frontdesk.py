"""Front-desk sweeps: hosts who have not answered, overstaying visitors, promised replies,
uncollected mail."""
from huey import crontab

from tasks import app_context, huey


@huey.periodic_task(crontab(minute="*"))
@huey.lock_task("frontdesk-sweep")
def frontdesk_sweep():
    """Every minute; what is due is found by the data, so a missed run is caught up."""
    from models.calls import sweep_promises
    from models.visitors import report_open_at_closing, sweep_reminders
    with app_context():
        return sweep_reminders() + sweep_promises() + report_open_at_closing()


@huey.periodic_task(crontab(minute="*/10"))
@huey.lock_task("remind-uncollected-mail")
def remind_uncollected_mail():
    """Found by the data (overdue, not reminded), so a missed run is caught up and a repeat does nothing."""
    from models.desk_items import remind_uncollected
    with app_context():
        return remind_uncollected()
