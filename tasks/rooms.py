"""Meeting rooms: logistics reminded of unfinished preparation before a meeting, and action
items' owners reminded before they are due. Found by the data and marked, so a missed run is
caught up and a repeated one does nothing."""
from huey import crontab

from tasks import app_context, huey


@huey.periodic_task(crontab(minute="*"))
@huey.lock_task("rooms-sweep")
def rooms_sweep():
    from models.rooms import remind_actions, remind_prep
    with app_context():
        return remind_prep() + remind_actions()
