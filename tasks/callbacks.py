"""Callback scheduling: a sweep that creates the callbacks that are owed, found by the data."""
from huey import crontab

from tasks import app_context, huey


def _sweep():
    from models.callbacks import schedule_due
    with app_context():
        return schedule_due()


@huey.periodic_task(crontab(minute="*"))
@huey.lock_task("callbacks-schedule")
def schedule_callbacks():
    """Every minute: makes the callbacks of informed complaints, and catches up whatever
    the on-the-spot run after an import missed (consumer down, a race)."""
    return _sweep()


@huey.task()
def schedule_callbacks_now():
    """Queued by the import page after a sales list is committed, so its callbacks need
    not wait for the minute. Idempotent: a callback is made once per complaint round and
    per sale and reason."""
    return _sweep()
