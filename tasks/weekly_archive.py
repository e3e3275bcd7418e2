"""The weekly complaint archive: a sweep that prints last week's summary on the first
working day of this week, and any week a consumer outage missed."""
from huey import crontab

from tasks import app_context, huey


@huey.periodic_task(crontab(minute="*/15"))
@huey.lock_task("weekly-complaint-archive")
def archive_weekly_complaints():
    """Every quarter hour, like the monthly mail: the unique row per week in the database,
    not this schedule, makes each archive happen once."""
    with app_context():
        return [archive.number for archive in archive_due_weeks()]


def archive_due_weeks():
    from flask import current_app

    from models import weekly_archive
    from models.complaints import STATES
    from models.notifications import public_url
    from models.reports import LABELS
    from models.timezone import local_now
    from printing import pdf_bytes, qr_data_uri
    base_url = current_app.config["PUBLIC_URL"]

    def render(archive, figures):
        return pdf_bytes("print/weekly_archive.html", base_url, archive=archive, f=figures, number=archive.number,
                         STATES=STATES, **LABELS,
                         qr=qr_data_uri(public_url("weekly_archive.pdf", archive_id=archive.id)))

    return weekly_archive.sweep(local_now().date(), render)
