"""The Huey instance. The consumer runs `huey_consumer tasks.huey`.

SqliteHuey in instance/ by default (nothing to install); RedisHuey when HUEY_URL
names a redis:// server. Task modules are imported at the bottom so the consumer
registers them."""
import contextlib
import os

from huey import RedisHuey, SqliteHuey

from app import INSTANCE_PATH


def _make_huey():
    url = os.environ.get("HUEY_URL", "")
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey("service-portal", url=url, utc=True)
    os.makedirs(INSTANCE_PATH, exist_ok=True)
    return SqliteHuey("service-portal", filename=os.path.join(INSTANCE_PATH, "huey.db"), utc=True)


huey = _make_huey()


_app = None


def bind_app(app):
    """The app whose database and settings tasks use (create_app calls this)."""
    global _app
    _app = app


def app_context():
    """Run task code inside the app: the consumer creates it on first use; in the web
    process (and in immediate mode) it is the app that is already there."""
    from flask import has_app_context
    if has_app_context():
        return contextlib.nullcontext()
    if _app is None:
        from app import create_app
        create_app()
    return _app.app_context()


from tasks import callbacks, complaints, frontdesk, maintenance, notifications, procurement, reports  # noqa: E402,F401  (registers the tasks)
