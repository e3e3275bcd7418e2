"""The Huey instance. The consumer runs `huey_consumer consumer.huey`: consumer.py
creates the app first, so the tasks have it.

SqliteHuey in instance/ by default (nothing to install); RedisHuey when HUEY_URL
names a redis:// server. Task modules are imported at the bottom so the consumer
registers them."""
import contextlib
import os

from huey import RedisHuey, SqliteHuey

import config


def _make_huey():
    if config.HUEY_URL.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey("service-portal", url=config.HUEY_URL, utc=True)
    os.makedirs(config.INSTANCE_PATH, exist_ok=True)
    return SqliteHuey("service-portal", filename=os.path.join(config.INSTANCE_PATH, "huey.db"), utc=True)


huey = _make_huey()


_app = None


def bind_app(app):
    """The app whose database and settings tasks use (create_app calls this)."""
    global _app
    _app = app


def app_context():
    """Run task code inside the app: the consumer's (consumer.py created it); in the web
    process (and in immediate mode) it is the app that is already there."""
    from flask import has_app_context
    if has_app_context():
        return contextlib.nullcontext()
    if _app is None:
        raise RuntimeError("no app for the tasks: start the consumer as `huey_consumer consumer.huey`")
    return _app.app_context()


from tasks import callbacks, complaints, frontdesk, maintenance, notifications, procurement, reports, visits  # noqa: E402,F401  (registers the tasks)
from tasks import weekly_archive  # noqa: E402,F401
from tasks import vehicles  # noqa: E402,F401
from tasks import quality_training  # noqa: E402,F401
from tasks import rooms  # noqa: E402,F401
from tasks import repairs  # noqa: E402,F401
from tasks import broadcast  # noqa: E402,F401
from tasks import quality  # noqa: E402,F401
from tasks import privacy  # noqa: E402,F401
