"""Callback scheduling: a sweep that creates the callbacks that are owed, found by the data."""
from huey import crontab

from models.complaints import AFTER_TRANSITION
from tasks import app_context, huey


def _sweep():
    from models.callbacks import schedule_due
    with app_context():
        return schedule_due()


@huey.periodic_task(crontab(minute="*"))
@huey.lock_task("callbacks-schedule")
def schedule_callbacks():
    """Every minute: catches up whatever the on-the-spot run missed (consumer down, a race)."""
    return _sweep()


@huey.task()
def schedule_callbacks_now():
    """Queued when a complaint's customer is informed or a sales list is imported.
    Idempotent: a callback is made once per complaint round and per sale and reason."""
    return _sweep()


def _schedule_when_informed(complaint, action, actor, note):
    """The customer was told the outcome: the complaint's callback falls due, made at once."""
    if action == "inform":
        schedule_callbacks_now()


AFTER_TRANSITION.append(_schedule_when_informed)
