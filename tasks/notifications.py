"""The outbox sweep and the e-mail channel: sent by the consumer after the commit, so a
slow mail server never holds up the desk and a rolled-back notification never leaves."""
import smtplib
from email.message import EmailMessage

from huey import crontab

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


def email_notification(note, address):
    """One notification by e-mail, in its reader's language, with the link under PUBLIC_URL."""
    from flask import current_app
    from flask_babel import force_locale
    config = current_app.config
    with force_locale(note.user.locale or config["BABEL_DEFAULT_LOCALE"]):
        text = note.text
        answers = "".join(f"\n{label}: {url}" for label, url in note.answer_links)
    send_mail([address], text[:120], f"{text}\n\n{note.public_url}\n{answers}\n— {config['COMPANY_NAME']}")


#: channel -> send(notification, address); WeCom, DingTalk… join here.
SENDERS = {"email": email_notification}


@huey.periodic_task(crontab(minute="*"))
@huey.lock_task("deliver-notifications")
def deliver_notifications():
    """Every minute: what is due is found in the outbox rows, so a missed run is caught up."""
    from models.notifications import deliver_pending
    with app_context():
        return deliver_pending(SENDERS)
