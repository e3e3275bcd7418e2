"""The environment, read in one place: the web app (app.py) and the task queue (tasks/)
both take their settings from here. Every variable is optional; the README lists them."""
import os
import secrets

ROOT = os.path.dirname(os.path.abspath(__file__))
INSTANCE_PATH = os.environ.get("INSTANCE_PATH") or os.path.join(ROOT, "instance")
#: Redis (redis://, rediss://, unix://) for the queue; empty: SqliteHuey in instance/.
HUEY_URL = os.environ.get("HUEY_URL", "")
VERSION = "0.1.0"


def _secret_key():
    """SECRET_KEY from the environment, else one generated once into instance/."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = os.path.join(INSTANCE_PATH, "secret_key")
    if not os.path.exists(path):
        os.makedirs(INSTANCE_PATH, exist_ok=True)
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
            f.write(secrets.token_hex(32))
    with open(path) as f:
        return f.read().strip()


def default_config():
    """The Flask app's configuration from the environment (create_app's test_config overrides it)."""
    return {
        "SECRET_KEY": _secret_key(),
        "DATABASE_URL": os.environ.get("DATABASE_URL") or f"sqlite:///{os.path.join(INSTANCE_PATH, 'portal.db')}",
        "TIMEZONE": os.environ.get("TIMEZONE", "Asia/Shanghai"),
        "COMPANY_NAME": os.environ.get("COMPANY_NAME", "示例服务有限公司"),
        "BABEL_DEFAULT_LOCALE": os.environ.get("DEFAULT_LOCALE", "zh_Hans"),
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        # The CSRF token lives as long as the session: a form left open over lunch
        # still submits; the session's own idle timeout is what ends it.
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_CSRF_CHECK_DEFAULT": False,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("SESSION_COOKIE_SECURE", "") == "1",
        "MAX_CONTENT_LENGTH": 64 * 1024 * 1024,  # photo uploads; their own limits are settings
        "MAX_FORM_MEMORY_SIZE": 256 * 1024,
        "SEND_FILE_MAX_AGE_DEFAULT": 7 * 24 * 3600,
        # Notifications are also e-mailed when SMTP_HOST is set.
        "SMTP_HOST": os.environ.get("SMTP_HOST", ""),
        "SMTP_PORT": int(os.environ.get("SMTP_PORT", "25")),
        "SMTP_USER": os.environ.get("SMTP_USER", ""),
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD", ""),
        "SMTP_FROM": os.environ.get("SMTP_FROM", "portal@localhost"),
        "SMTP_STARTTLS": os.environ.get("SMTP_STARTTLS", "") == "1",
        # Seconds a WeCom, DingTalk or Feishu robot has to answer a message (well under the 20 s of an SMTP send).
        "ROBOT_TIMEOUT": float(os.environ.get("ROBOT_TIMEOUT", "10")),
        # The portal's address as staff reach it: links in e-mails, the base URL of a form printed off a request.
        "PUBLIC_URL": os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000"),
        # How long browsers keep to HTTPS once they saw the portal over it (PUBLIC_URL https://); 0: not said.
        "HSTS_MAX_AGE": int(os.environ.get("HSTS_MAX_AGE", str(365 * 24 * 3600))),
    }
