"""Fixtures in the Flask tutorial's style: app, client, auth; a fresh database per test.

SQLite by default (a new file per test); PostgreSQL when DATABASE_URL is set (tables
created once, emptied between tests). Huey runs in immediate mode."""
import os
import re
import tempfile
from urllib.parse import urlsplit, urlunsplit

import pytest

_INSTANCE = tempfile.mkdtemp(prefix="portal-test-instance-")
os.environ["INSTANCE_PATH"] = _INSTANCE  # before the app is imported: secret key, huey db


def _own_server_resources():
    """Under pytest-xdist each worker (gw0, gw1…) empties tables and queues between its tests, so
    each gets a PostgreSQL database of its own (<database>_gw0…, created on first use) and a Redis
    database of its own (the configured number counted down, modulo Redis's 16)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker:
        return
    number = int(worker.removeprefix("gw"))
    url = urlsplit(os.environ.get("DATABASE_URL", ""))
    if url.scheme.startswith("postgres"):
        import psycopg2
        from psycopg2 import sql
        own = f"{url.path.lstrip('/')}_{worker}"
        connection = psycopg2.connect(os.environ["DATABASE_URL"])
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (own,))
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(own)))
        connection.close()
        os.environ["DATABASE_URL"] = urlunsplit(url._replace(path=f"/{own}"))
    queue = urlsplit(os.environ.get("HUEY_URL", ""))
    if queue.scheme in ("redis", "rediss"):
        configured = int(queue.path.lstrip("/") or 0)
        os.environ["HUEY_URL"] = urlunsplit(queue._replace(path=f"/{(configured - number) % 16}"))


_own_server_resources()  # before the app and the queue read their URLs

from flask.testing import FlaskClient  # noqa: E402

from app import create_app  # noqa: E402
from models import all_models, create_tables  # noqa: E402
from models.base import db  # noqa: E402
from tasks import huey  # noqa: E402

PASSWORD = "correct-horse-battery"
TOKEN_PATTERN = re.compile(r'"X-CSRFToken": "([^"]+)"')
SERVER_DATABASE = os.environ.get("DATABASE_URL", "")


class PortalClient(FlaskClient):
    """A test client that sends the CSRF token the way htmx does, unless told not to."""

    _csrf = (None, None)  # (the session's raw token, the signed token a page carried)

    def csrf_token(self):
        """Fetched once per session: login and logout start a new one, and with it a new token."""
        with self.session_transaction() as session:
            raw = session.get("csrf_token")
        if raw is None or raw != self._csrf[0]:
            page = super().open("/login", method="GET")
            token = TOKEN_PATTERN.search(page.get_data(as_text=True)).group(1)
            with self.session_transaction() as session:
                self._csrf = (session.get("csrf_token"), token)
        return self._csrf[1]

    def forget_csrf_token(self):
        self._csrf = (None, None)

    def post(self, *args, csrf=True, htmx=False, **kwargs):
        headers = dict(kwargs.pop("headers", None) or {})
        if csrf:
            if str(args[0] if args else kwargs.get("path", "")).startswith("/login"):
                # As a person would, from the login page: it also ends a session that expired
                # meanwhile (time travels in the tests), and with it that session's token.
                self.forget_csrf_token()
            headers.setdefault("X-CSRFToken", self.csrf_token())
        if htmx:
            headers.setdefault("HX-Request", "true")
        return super().post(*args, headers=headers, **kwargs)


_schema_fresh = False


def _reset_server_database():
    """Recreate the tables once per run (the schema may have changed), empty them per test.
    Only the tables a test wrote to are emptied: a TRUNCATE of all hundred-odd tables costs
    PostgreSQL new files for each and took most of the suite's time, where asking which hold a
    row is one cheap query. Every sequence starts again at 1, as after a TRUNCATE … RESTART
    IDENTITY (an insert rolled back moves a sequence on too)."""
    global _schema_fresh
    if not _schema_fresh:
        db.drop_tables(all_models(), safe=True, cascade=True)
        create_tables()
        _schema_fresh = True
    holding = " UNION ALL ".join(f"SELECT '{m._meta.table_name}' WHERE EXISTS (SELECT 1 FROM \"{m._meta.table_name}\")"
                                 for m in all_models())
    written = [name for (name,) in db.execute_sql(holding).fetchall()]
    if written:
        db.execute_sql("TRUNCATE {} CASCADE".format(", ".join(f'"{name}"' for name in written)))
    db.execute_sql("SELECT setval(c.oid::regclass, 1, false) FROM pg_class c "
                   "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'S' AND n.nspname = current_schema()")


@pytest.fixture(autouse=True)
def quick_passwords(monkeypatch):
    """argon2 at its cheapest: hashing at full cost in every test's accounts was most of
    the suite's CPU time. Hashes stay real argon2, so login and rehash behave the same."""
    from argon2 import PasswordHasher
    monkeypatch.setattr("models.users._hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def app(tmp_path):
    url = SERVER_DATABASE or f"sqlite:///{tmp_path / 'portal.db'}"
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "test-secret",
                      "COMPANY_NAME": "测试服务有限公司", "BABEL_DEFAULT_LOCALE": "en"})
    app.test_client_class = PortalClient
    huey.immediate = True
    with app.app_context():
        if SERVER_DATABASE:
            _reset_server_database()
        else:
            create_tables()
    yield app
    if not db.is_closed():
        db.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_user(app):
    """Create a user directly: make_user("desk", "front_desk", ...)."""
    from models.users import Department, create_user

    def make(username, *roles, password=PASSWORD, department=None, **fields):
        with app.app_context():
            dept = Department.get_or_create(name=department)[0] if department else None
            return create_user(None, username, fields.pop("display_name", username.title()),
                               list(roles) or ["front_desk"], password, department=dept, **fields)
    return make


@pytest.fixture
def people(make_user):
    """The complaint tests' cast (tests/helpers.py STAFF): a specialist, the service manager,
    the head of Repairs and a head of another department. A file with another story
    overrides this with its own staff(...)."""
    from tests.helpers import staff
    return staff(make_user, "spec", "manager", "head", "stranger")


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, username, password=PASSWORD, **headers):
        return self._client.post("/login", data={"username": username, "password": password}, headers=headers)

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def admin(make_user, auth):
    """An administrator, logged in."""
    user = make_user("boss", "admin", display_name="Admin Boss")
    auth.login("boss")
    return user
