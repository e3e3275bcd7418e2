"""The nightly retention sweep of personal data (models.privacy)."""
from huey import crontab

from tasks import app_context, huey


# Huey's crontab is UTC: 18:40 is 02:40 in Shanghai, when the desk is closed.
@huey.periodic_task(crontab(minute="40", hour="18"))
@huey.lock_task("privacy-retention-sweep")
def retention_sweep():
    """What is due is found by the data (older than the setting, not yet marked), so a missed
    night is caught up by the next and a repeat changes nothing."""
    from models.privacy import sweep_retention
    with app_context():
        return sweep_retention()
