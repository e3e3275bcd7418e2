"""Notifications by e-mail, sent by the consumer so a slow mail server never holds up the desk."""
import smtplib
from email.message import EmailMessage

from tasks import app_context, huey


def send_mail(addresses, subject, body, attachments=()):
    """One message over the configured SMTP server; attachments are (filename, bytes, mime type)."""
    from flask import current_app
    config = current_app.config
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = config["SMTP_FROM"]
    message["To"] = ", ".join(addresses)
    message.set_content(body)
    for filename, data, mimetype in attachments:
        maintype, subtype = mimetype.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=20) as smtp:
        if config["SMTP_STARTTLS"]:
            smtp.starttls()
        if config["SMTP_USER"]:
            smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"])
        smtp.send_message(message)


@huey.task(retries=3, retry_delay=60)
def email_notification(notification_id):
    """Mail one notification in its reader's language; sent once even if the task runs twice."""
    from flask import current_app
    from flask_babel import force_locale

    from models.base import utcnow
    from models.notifications import Notification
    with app_context():
        note = Notification.get_or_none(Notification.id == notification_id)
        if note is None:
            # Queued inside the transaction that makes it: not committed yet, so retry.
            raise LookupError(f"notification {notification_id} not there yet")
        if note.emailed_at is not None or not note.user.email:
            return False
        config = current_app.config
        with force_locale(note.user.locale or config["BABEL_DEFAULT_LOCALE"]):
            text = note.text
        send_mail([note.user.email], text[:120], f"{text}\n\n{note.public_url}\n\n— {config['COMPANY_NAME']}")
        Notification.update(emailed_at=utcnow()).where(Notification.id == note.id).execute()
        return True
