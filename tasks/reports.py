"""Reports built off the request (a year's figures may take a while) and last month's
report mailed on the first of the month."""
from huey import crontab

from tasks import app_context, huey


@huey.task()
def build_report(run_id):
    from models.reports import run_build
    with app_context():
        run_build(run_id)


@huey.periodic_task(crontab(minute="*/15"))
@huey.lock_task("mail-monthly-report")
def mail_monthly_report():
    """Runs every quarter hour, so a consumer that was down on the first catches up; the
    claim in the database makes the mail go out once."""
    with app_context():
        return send_monthly_report()


def send_monthly_report():
    from flask import current_app

    from models import reports
    from models.timezone import local_now
    from printing import report_pdf
    from tasks.notifications import send_mail
    config = current_app.config
    addresses = reports.recipients()
    if not config["SMTP_HOST"] or not addresses:
        return None
    period = reports.claim_monthly_mailing(local_now().date())
    if period is None:
        return None
    try:
        pdf = report_pdf(period, None, reports.build(period), config["PUBLIC_URL"])
        send_mail(addresses, f"{config['COMPANY_NAME']} 月度统计报告 {period.key}",
                  f"附件为 {period.key} 的月度统计报告。\n\n— {config['COMPANY_NAME']}",
                  [(f"月度统计报告-{period.key}.pdf", pdf, "application/pdf")])
    except Exception:
        reports.release_monthly_mailing(period)
        raise
    reports.mark_mailed(period, addresses)
    return period.key
