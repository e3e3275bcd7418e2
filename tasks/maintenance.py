"""Housekeeping sweeps. Sweeps are idempotent: a missed or repeated run changes nothing more."""
import datetime as dt

from huey import crontab

from tasks import app_context, huey


@huey.periodic_task(crontab(minute="17", hour="*"))
@huey.lock_task("purge-old-rows")
def purge_old_rows():
    """Login attempts, used submission keys and built reports (rebuilt on demand) are
    only needed for a short while."""
    from models.base import utcnow
    from models.reports import ReportRun
    from models.submissions import SubmissionKey
    from models.users import LoginAttempt
    with app_context():
        cutoff = utcnow() - dt.timedelta(days=30)
        LoginAttempt.delete().where(LoginAttempt.at < cutoff).execute()
        SubmissionKey.delete().where(SubmissionKey.created_at < cutoff).execute()
        ReportRun.delete().where(ReportRun.created_at < cutoff).execute()
