"""The outbox sweep and its channels (e-mail, and the WeCom, DingTalk and Feishu group
robots): sent by the consumer after the commit, so a slow server never holds up the desk and
a rolled-back notification never leaves.

The robots are posted to here, not through apprise: apprise 2.2's plugins for the three fix
the vendor's host (a private deployment, or a test's receiver, cannot be reached), count an
HTTP 200 as sent although the robots answer a refusal (bad key, keyword missing, rate limit)
with 200 and an error code in the body, keep no reason but a log line, and its DingTalk plugin
URL-encodes the signature twice (signed robots refuse every message). Each payload below is
the vendor's documented text message, the same apprise sends."""
import base64
import hashlib
import hmac
import http.client
import json
import smtplib
import time
import urllib.error
import urllib.request
from email.message import EmailMessage
from urllib.parse import urlencode

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
    from models.notifications import Unreachable
    try:
        smtp = smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=20)
    except OSError as exc:  # refused, no such host, no connection in time: nothing was sent
        raise Unreachable(f"{config['SMTP_HOST']}:{config['SMTP_PORT']}: {exc}") from exc
    with smtp:
        if config["SMTP_STARTTLS"]:
            smtp.starttls()
        if config["SMTP_USER"]:
            smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"])
        smtp.send_message(message)


def _written(note):
    """(text, link, answers) of a message in its reader's language (a department's: the site's)."""
    from flask import current_app
    from flask_babel import force_locale
    with force_locale(note.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        return note.text, note.public_url, [(str(label), url) for label, url in note.answer_links]


def email_notification(note, address):
    """One notification by e-mail, in its reader's language, with the link under PUBLIC_URL."""
    from flask import current_app
    text, link, answers = _written(note)
    lines = "".join(f"\n{label}: {url}" for label, url in answers)
    send_mail([address], text[:120], f"{text}\n\n{link}\n{lines}\n— {current_app.config['COMPANY_NAME']}")


class RobotRefused(Exception):
    """The robot answered, and said no: its code and message are the reason the admin reads."""


def _robot_text(note, limit):
    """The plain text a robot posts: the notice, the page and each one-tap answer on its own line
    (the apps make the addresses tappable; plain text, so nothing a visitor typed becomes markup).
    The notice is cut to fit the robot's limit in bytes, the links never."""
    text, link, answers = _written(note)
    tail = "\n" + link + "".join(f"\n{label}: {url}" for label, url in answers)
    room = limit - len(tail.encode())
    return text.encode()[:max(room, 0)].decode(errors="ignore") + tail


def _post(url, payload):
    """POST the JSON; the robots answer a refusal with HTTP 200, so their code decides.

    Unreachable when nothing was sent (urllib wraps what fails before the request is out in
    URLError); Unanswered when the request went out and no answer came: the robot may have
    posted it, so it is not sent again."""
    from flask import current_app

    from models.notifications import Unanswered, Unreachable
    request = urllib.request.Request(url, data=json.dumps(payload, ensure_ascii=False).encode(), method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with urllib.request.urlopen(request, timeout=current_app.config["ROBOT_TIMEOUT"]) as response:
            answer = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError:
        raise  # the robot's server answered, with an error status: tried again later
    except urllib.error.URLError as exc:
        raise Unreachable(str(exc.reason)) from exc
    except (OSError, http.client.HTTPException) as exc:  # a timeout or a dropped connection while waiting
        raise Unanswered(f"{type(exc).__name__}: {exc}") from exc
    code = answer.get("errcode", answer.get("code", answer.get("StatusCode", 0)))
    if code:
        message = answer.get("errmsg") or answer.get("msg") or answer.get("StatusMessage") or ""
        raise RobotRefused(f"{code} {message}".strip())


def _signature(key, message):
    return base64.b64encode(hmac.new(key.encode(), message.encode(), hashlib.sha256).digest()).decode()


def wecom_notification(note, webhook):
    """A WeCom group robot's text message (2048 bytes at most)."""
    _post(webhook.url, {"msgtype": "text", "text": {"content": _robot_text(note, 2048)}})


def dingtalk_notification(note, webhook):
    """A DingTalk robot's text message; signed (timestamp and sign in the query) when it has a secret."""
    url = webhook.url
    if webhook.secret:
        stamp = str(round(time.time() * 1000))
        url += ("&" if "?" in url else "?") + urlencode(
            {"timestamp": stamp, "sign": _signature(webhook.secret, f"{stamp}\n{webhook.secret}")})
    _post(url, {"msgtype": "text", "text": {"content": _robot_text(note, 20000)}})


def feishu_notification(note, webhook):
    """A Feishu bot's text message; signed (timestamp and sign in the body) when it has a secret."""
    payload = {"msg_type": "text", "content": {"text": _robot_text(note, 20000)}}
    if webhook.secret:
        stamp = str(int(time.time()))
        payload |= {"timestamp": stamp, "sign": _signature(f"{stamp}\n{webhook.secret}", "")}
    _post(webhook.url, payload)


#: channel -> send(message, address): a Notification (or a department's notice) and the address
#: its channel gives (an e-mail address, a Webhook).
SENDERS = {"email": email_notification, "wecom": wecom_notification, "dingtalk": dingtalk_notification,
           "feishu": feishu_notification}


@huey.periodic_task(crontab(minute="*"))
@huey.lock_task("deliver-notifications")
def deliver_notifications():
    """Every minute: what is due is found in the outbox rows, so a missed run is caught up."""
    from models.notifications import deliver_pending
    with app_context():
        return deliver_pending(SENDERS)
