"""Serving with gunicorn.conf.py (what `make run` and the README's production command use):
the app is preloaded in gunicorn's master and workers are replaced after a number of
requests. How fast that goes is measured in docs/perf.md (scripts/recycle_check.py)."""
import os
import re
import socket
import subprocess
import sys
import time
from http.client import HTTPConnection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_create_app_opens_no_database_connection_a_preloading_master_would_hand_to_its_workers(tmp_path):
    from app import create_app
    from models.base import db
    create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.db'}"})
    assert db.is_closed()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port, path):
    connection = HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_every_request_is_answered_while_the_workers_are_replaced(tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "HUEY_URL")}
    env.update(INSTANCE_PATH=str(tmp_path), DATABASE_URL=f"sqlite:///{tmp_path / 'portal.db'}",
               WEB_MAX_REQUESTS="4", SECRET_KEY="test-secret")
    port = _free_port()
    log = tmp_path / "gunicorn.log"
    with open(log, "w") as errors:
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "--workers", "2",
             "--bind", f"127.0.0.1:{port}", "--log-level", "info"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=errors)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _get(port, "/healthz")
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        answers = [_get(port, "/healthz") for _ in range(40)]
    finally:
        server.terminate()
        server.wait(timeout=30)
    text = log.read_text()
    assert [status for status, _body in answers] == [200] * 40
    assert all(b'"database":"ok"' in body for _status, body in answers)
    assert len(re.findall(r"Autorestarting worker", text)) >= 5  # 4 to 6 requests each
    assert "Traceback" not in text and "Exception" not in text
