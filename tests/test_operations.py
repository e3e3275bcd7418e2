"""Error pages, health check, and the operator's CLI: init-db, create-user, seed-demo, backup."""
import logging
import os
import sqlite3
import subprocess
import sys

import pytest

from models.base import is_sqlite
from models.users import Department, User


def test_404_is_a_page_in_the_layout(client, admin):
    response = client.get("/no/such/page?lang=zh")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "页面不存在" in page and 'class="topbar"' in page


def test_403_explains(client, make_user, auth):
    make_user("desk")
    auth.login("desk")
    response = client.get("/admin/users")
    assert response.status_code == 403
    assert "You do not have permission to open this page." in response.get_data(as_text=True)


def test_500_logs_the_trace_with_the_request_id_the_page_shows(app, client, make_user, auth, caplog):
    from views.access import allow

    @allow("home")
    def broken():
        raise ZeroDivisionError("boom")
    app.add_url_rule("/broken", "broken", broken)
    make_user("desk")
    auth.login("desk")
    with caplog.at_level(logging.ERROR):
        response = client.get("/broken")
    assert response.status_code == 500
    request_id = response.headers["X-Request-Id"]
    assert f'<code class="request-id">{request_id}</code>' in response.get_data(as_text=True)
    record = next(r for r in caplog.records if request_id in r.getMessage())
    assert record.exc_info and record.exc_info[0] is ZeroDivisionError


def test_healthz_reports_database_queue_and_version(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["database"] == "ok" and response.json["queue"] == "ok"
    assert response.json["version"] == "0.1.0"


def test_healthz_is_503_when_the_database_is_unreachable(app, client, monkeypatch):
    from models.base import db

    def unreachable(*args, **kwargs):
        raise db.obj.OperationalError("connection refused") if hasattr(db.obj, "OperationalError") else \
            RuntimeError("connection refused")
    monkeypatch.setattr(db.obj, "execute_sql", unreachable)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == "unreachable"


def test_init_db_creates_an_admin_with_a_one_time_password(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    password = result.output.split("one-time password ")[1].split()[0]
    admin = User.by_username("admin")
    assert admin.roles == ["admin"] and admin.must_change_password and admin.check_password(password)
    again = runner.invoke(args=["init-db"])
    assert "Created the admin" not in again.output
    assert User.select().count() == 1


def test_create_user_command(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-user", "desk", "--role", "front_desk", "--role", "specialist",
                                 "--department", "前台接待", "--password", "password-123"])
    assert result.exit_code == 0, result.output
    user = User.by_username("desk")
    assert user.roles == ["front_desk", "specialist"] and user.department.name == "前台接待"
    assert user.check_password("password-123")
    bad = runner.invoke(args=["create-user", "x", "--role", "wizard", "--password", "password-123"])
    assert bad.exit_code != 0 and "unknown role" in bad.output
    prompted = runner.invoke(args=["create-user", "desk2", "--role", "front_desk"],
                             input="secret-pass\nsecret-pass\n")
    assert prompted.exit_code == 0 and User.by_username("desk2").check_password("secret-pass")


def test_seed_demo_once(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo", "--if-empty"])
    assert "Demo data loaded" in first.output
    from models.demo import STAFF
    named = first.output.split(":", 1)[1]
    assert all(username in named for username, *_rest in STAFF)  # every demo account is named with the password
    assert User.by_username("desk").roles == ["front_desk"]
    second = runner.invoke(args=["seed-demo", "--if-empty"])
    assert "Demo data loaded" not in second.output
    assert User.select().where(User.username == "desk").count() == 1


@pytest.mark.skipif("DATABASE_URL" in __import__("os").environ, reason="backup copies the embedded SQLite database")
def test_backup_restores_to_the_same_data(app, make_user, tmp_path):
    from app import create_app
    from models.base import db
    make_user("desk", display_name="王芳")
    Department.create(name="前台接待")
    target = tmp_path / "backup.db"
    result = app.test_cli_runner().invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    assert is_sqlite()
    original = {table: db.execute_sql(f'SELECT * FROM "{table}" ORDER BY 1').fetchall()
                for table in db.get_tables()}
    restored = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{target}", "SECRET_KEY": "x"})
    with restored.app_context():
        copy = {table: db.execute_sql(f'SELECT * FROM "{table}" ORDER BY 1').fetchall()
                for table in db.get_tables()}
        assert User.by_username("desk").display_name == "王芳"
    assert copy == original
    assert sqlite3.connect(target).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_the_queue_takes_and_runs_a_task(app):
    """Against the configured queue (SqliteHuey, or Redis when HUEY_URL is set)."""
    from models.base import utcnow
    from models.users import LoginAttempt
    from tasks import huey
    from tasks.maintenance import purge_old_rows
    import datetime as dt
    LoginAttempt.create(username="old", success=False, at=utcnow() - dt.timedelta(days=40))
    huey.immediate = False
    try:
        huey.flush()
        result = purge_old_rows()
        assert huey.pending_count() == 1
        task = huey.dequeue()
        huey.execute(task)
        assert huey.pending_count() == 0
    finally:
        huey.flush()
        huey.immediate = True
    assert LoginAttempt.select().count() == 0
    assert result is not None


def _python(tmp_path, script):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True,
                          env={**os.environ, "INSTANCE_PATH": str(tmp_path)})


def test_the_tasks_take_their_queue_from_config_without_the_app(tmp_path):
    """A fresh process, as the consumer starts: importing the tasks builds the queue from
    the environment and imports neither the app nor a view; a task run with no app says how to start."""
    run = _python(tmp_path, "import sys, tasks\n"
                            "print(sorted(m for m in ('app', 'views', 'consumer') if m in sys.modules))\n"
                            "tasks.app_context()\n")
    assert run.stdout.strip() == "[]"
    assert "huey_consumer consumer.huey" in run.stderr


def test_the_consumer_entry_creates_the_app_and_serves_every_task(tmp_path):
    """`huey_consumer consumer.huey`: the queue the tasks registered on, run inside that app."""
    run = _python(tmp_path, "import consumer, tasks\n"
                            "from flask import current_app\n"
                            "assert consumer.huey is tasks.huey\n"
                            "print('tasks.reports.build_report' in consumer.huey._registry._registry)\n"
                            "with tasks.app_context():\n"
                            "    print(current_app._get_current_object() is consumer.app)\n")
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["True", "True"]


def test_healthz_is_503_json_when_the_database_server_is_down(tmp_path):
    from app import create_app
    down = create_app({"TESTING": True, "SECRET_KEY": "x",
                       "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1"})
    response = down.test_client().get("/healthz")
    assert response.status_code == 503 and response.json["database"] == "unreachable"


@pytest.mark.parametrize("url", ["/audit?page=99999999999999999999", "/audit?user=99999999999999999999",
                                 "/audit?from=0001-01-01", "/audit?to=9999-12-31"])
def test_odd_query_strings_are_not_a_500(client, admin, url):
    assert client.get(url).status_code == 200


def test_create_tables_brings_an_older_database_up_to_date(app):
    """make run on a database made by older code: new nullable columns, and their
    indexes, are added and the rows kept (the reason the order is columns, then indexes)."""
    from models import create_tables
    from models.base import db
    from models.calls import Call, log_call
    log_call(None, caller_name="周", organisation="", phone="13800000000", reason="r", call_type="inquiry",
             outcome="answered", answer_text="ok")
    db.execute_sql('DROP INDEX IF EXISTS "call_reply_due"')
    db.execute_sql('DROP INDEX IF EXISTS "call_outcome_replied_at_reply_due"')
    db.execute_sql('ALTER TABLE "call" DROP COLUMN "reply_due"')
    db.execute_sql('ALTER TABLE "visit" DROP COLUMN "closing_reported_at"')
    create_tables()
    assert "reply_due" in {c.name for c in db.get_columns("call")}
    assert "closing_reported_at" in {c.name for c in db.get_columns("visit")}
    assert any(index.columns == ["reply_due"] for index in db.get_indexes("call"))
    assert Call.get().caller_name == "周"
