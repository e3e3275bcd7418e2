"""Training's sweep: new staff past the induction deadline, the manager told once per person."""
from huey import crontab

from tasks import app_context, huey


@huey.periodic_task(crontab(minute="*"))
@huey.lock_task("quality-training-sweep")
def training_sweep():
    from models.quality.training import remind_missing_inductions
    with app_context():
        return remind_missing_inductions()
