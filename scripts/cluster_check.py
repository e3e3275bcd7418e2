"""`make cluster-check`: the portal as a site on several machines, proven on loopback.

Starts, from deploy/Procfile, two web servers on two ports and two task consumers (one with the
periodic sweeps, one with -n) on PostgreSQL + Redis, with a local SMTP receiver for the mails and a
local HTTP receiver standing in for the demo's WeCom and DingTalk robots.
32 writers register visitors and take in complaints across both servers for --seconds; half-way
one web server and the periodic consumer are killed (SIGKILL) and started again, as systemd's
Restart=always does, and a second batch of overdue promises and complaints is put in. A writer
whose request dies retries it on the other server with the same submission key, as a tablet does.

Then it shows, or exits 1:
- every acknowledged registration and intake is stored exactly once;
- the visitor and complaint numbers of the year run without gaps or duplicates;
- every overdue promise and complaint was reported, escalated and mailed or posted exactly once
  (what is not urgent may wait for the end of the quiet hours: counted, not required);
- both servers show the same board.

    .venv/bin/python scripts/cluster_check.py [--seconds 40] [--write]   (--write: the figures into docs/perf.md)
"""
import argparse
import asyncore  # noqa: F401  (smtpd's base; imported first so its deprecation warning comes once)
import collections
import datetime as dt
import http.server
import json
import os
import re
import shlex
import signal
import smtpd
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from pathlib import Path
from urllib.parse import urlsplit

warnings.filterwarnings("ignore", category=DeprecationWarning)
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
from bench import PASSWORD, Session, free_port  # noqa: E402

WRITERS = 32
OVERDUE = 20  # promises and complaints put in overdue, in each of the two batches


# --- the site -------------------------------------------------------------------------

def procfile():
    lines = (ROOT / "deploy" / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line and not line.startswith("#"))


class Process:
    """One Procfile line running in its own process group, so a kill takes its workers too."""

    def __init__(self, name, command, env):
        self.name, self.command, self.env = name, command, env
        self.start()

    def start(self):
        expanded = os.path.expandvars(re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: self.env.get(m[1], m[2]),
                                             self.command.replace("${PORT}", self.env.get("PORT", ""))))
        self.log = open(tempfile.mktemp(prefix=f"cluster-{self.name}-", suffix=".log"), "w")
        self.popen = subprocess.Popen(shlex.split(expanded), cwd=ROOT, env=self.env, stdout=self.log,
                                      stderr=subprocess.STDOUT, start_new_session=True)

    def kill(self):
        os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait()

    def terminate(self):
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)

    def stop(self):
        self.terminate()
        try:
            self.popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()


def wait_for_port(port, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.3):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing answers on port {port}")


class Mailbox(smtpd.SMTPServer):
    """The SMTP server the consumers mail to: what each address received, by subject."""

    def __init__(self, port):
        super().__init__(("127.0.0.1", port), None)
        self.received = collections.Counter()

    def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
        subject = re.search(rb"^Subject: (.*)$", data if isinstance(data, bytes) else data.encode(), re.M)
        for to in rcpttos:
            self.received[(to, subject.group(1).strip() if subject else b"")] += 1


class Robots(http.server.ThreadingHTTPServer):
    """The group robots' webhook: every message posted, answered as WeCom and DingTalk answer success."""

    def __init__(self, port):
        self.posted = collections.Counter()  # (path and query, text) -> times

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(handler):  # noqa: N805  (the handler is the request; self is the server)
                body = json.loads(handler.rfile.read(int(handler.headers["Content-Length"])))
                self.posted[(handler.path, json.dumps(body.get("text") or body.get("content"), ensure_ascii=False))] += 1
                answer = b'{"errcode": 0, "errmsg": "ok"}'
                handler.send_response(200)
                handler.send_header("Content-Type", "application/json")
                handler.send_header("Content-Length", str(len(answer)))
                handler.end_headers()
                handler.wfile.write(answer)

            def log_message(handler, *args):  # noqa: N805
                pass

        super().__init__(("127.0.0.1", port), Handler)


def fresh_database(url):
    import psycopg2
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = psycopg2.connect(host=parts.hostname, port=parts.port or 5432, user=parts.username or "postgres",
                             dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def prepare(env, robots_port):
    """The schema, the demo staff with a known password, the managers' e-mail addresses, the demo's
    robots pointed at the local receiver, a board link."""
    os.environ.update(env)
    from app import create_app
    app = create_app()
    with app.app_context():
        from models import create_tables
        from models.board import create_token
        from models.demo import seed_demo
        from models.users import Department, User, set_password
        from peewee import fn
        create_tables()
        seed_demo()
        for user in User.select():
            set_password(None, user, PASSWORD)
        # The managers and heads get their escalations by mail too: what is checked is sent once. (The
        # desk's every visitor notice by mail would be a backlog the outbox works off over minutes.)
        for user in [*User.active_with_role("service_manager"), *User.active_with_role("dept_head")]:
            User.update(email=f"{user.username}@portal.test").where(User.id == user.id).execute()
        # The demo's robots live at .invalid hosts; the check needs them to answer, as the vendors' would.
        robot = f"http://127.0.0.1:{robots_port}"
        User.update(wecom_webhook=fn.REPLACE(User.wecom_webhook, "https://qyapi.demo.invalid", robot)).execute()
        Department.update(dingtalk_webhook=fn.REPLACE(Department.dingtalk_webhook, "https://oapi.demo.invalid",
                                                      robot)).execute()
        _row, token = create_token(None, "cluster")
        host = User.by_username("specialist").id
    return app, token, host


def put_in_overdue(app, tag):
    """Promised replies and complaints already past their deadlines: the sweeps must report each once."""
    from models.base import utcnow, write_transaction
    from models.calls import Call
    from models.complaints import Complaint, create
    from models.users import Department, User
    desk, spec = User.by_username("desk"), User.by_username("specialist")
    long_ago = utcnow() - dt.timedelta(days=10)
    calls, complaints = [], []
    with app.app_context(), app.test_request_context():
        # A department with a head, so that both escalation steps have someone to tell.
        department = Department.select().join(User, on=(User.department == Department.id)).where(
            User.username == "head").first() or Department.select().first()
        for i in range(OVERDUE):
            with write_transaction():
                call = Call.create(caller_name=f"逾期{tag}{i}", phone="13800000000", reason="回电", call_type="inquiry",
                                   outcome="promised", promiser=spec, reply_due=long_ago, taken_at=long_ago,
                                   taken_by=desk)
            calls.append(call.id)
            complaint = create(spec, name=f"逾期客户{tag}{i}", phone=f"1370000{tag}{i:03d}", channel="phone",
                                       category="delivery", severity="general", content="集群检查：逾期投诉")
            Complaint.update(department=department, created_at=long_ago, reply_due_at=long_ago,
                             handle_due_at=long_ago).where(Complaint.id == complaint.id).execute()
            complaints.append(complaint.id)
    return calls, complaints


# --- the writers ----------------------------------------------------------------------

class Writers:
    def __init__(self, ports, host, seconds):
        self.ports, self.host, self.seconds = ports, host, seconds
        self.acknowledged = []  # (kind, submission key, record id)
        self.latencies, self.retried, self.failed = [], 0, []
        self.lock = threading.Lock()

    def run(self):
        threads = [threading.Thread(target=self.writer, args=(i,)) for i in range(WRITERS)]
        for thread in threads:
            thread.start()
        return threads

    def writer(self, i):
        complaint_writer = i % 4 == 3  # a quarter take in complaints, the rest register visitors
        user, path = ("specialist", "/complaints/new") if complaint_writer else ("desk", "/visitors/new")
        home = i % len(self.ports)
        sessions = {}

        def session(port):
            if port not in sessions:
                s = Session(port, user)
                sessions[port] = (s, s.csrf(path))
            return sessions[port]

        deadline = time.time() + self.seconds
        n = 0
        while time.time() < deadline:
            n += 1
            key = uuid.uuid4().hex
            if complaint_writer:
                form = {"name": f"集群客户{i}-{n}", "phone": f"139{i:02d}{n % 1000000:06d}", "channel": "phone",
                        "category": "delivery", "severity": "general", "content": "集群检查：送货延误"}
            else:
                form = {"visitor_name": f"集群访客{i}-{n}", "phone": "13800138000", "organisation": "集群检查",
                        "purpose": "meeting", "host": str(self.host), "companions": "0",
                        "arrived_at": dt.datetime.now().strftime("%Y-%m-%dT%H:%M")}
            for attempt in range(6):
                port = self.ports[(home + attempt) % len(self.ports)]
                try:
                    s, token = session(port)
                    started = time.perf_counter()
                    status, _body, headers = s.request("POST", path, {**form, "csrf_token": token, "submission_key": key},
                                                       {"HX-Request": "true"})
                except Exception:  # noqa: BLE001  the server died under the request: the tablet retries
                    sessions.pop(port, None)
                    with self.lock:
                        self.retried += 1
                    time.sleep(0.3)
                    continue
                location = headers.get("HX-Redirect", "") or headers.get("Location", "")
                record = re.search(r"/(\d+)$", location)
                with self.lock:
                    self.latencies.append((time.perf_counter() - started) * 1000)
                    if status in (204, 303) and record:
                        self.acknowledged.append(("complaint" if complaint_writer else "visit", key, int(record[1])))
                    else:
                        self.failed.append(f"{path} {status}")
                break


# --- the check ------------------------------------------------------------------------

def unsent_deferred_sent():
    """Over both outboxes: rows due and not sent, rows not urgent held for the quiet hours, rows sent."""
    from models.base import utcnow
    from models.notifications import OUTBOXES
    now = utcnow()
    counts = [0, 0, 0]
    for outbox in OUTBOXES:
        waiting = outbox.select().where(outbox.sent_at.is_null())
        held = waiting.where(outbox.urgent == False, outbox.due_at > now).count()  # noqa: E712  (SQL)
        counts[0] += waiting.count() - held
        counts[1] += held
        counts[2] += outbox.select().where(outbox.sent_at.is_null(False)).count()
    return counts


def check(app, writers, overdue_calls, overdue_complaints, mailbox, robots, board_bodies, figures):
    from models.calls import Call
    from models.complaints import Complaint
    from models.notifications import Notification
    from models.submissions import SubmissionKey
    from models.visitors import Visit
    problems = []
    with app.app_context():
        acknowledged = collections.Counter((kind, record) for kind, _key, record in writers.acknowledged)
        twice = [r for r, n in acknowledged.items() if n > 1]
        if twice:
            problems.append(f"{len(twice)} records acknowledged to two submissions: {twice[:3]}")
        keys = [key for _kind, key, _record in writers.acknowledged]
        stored = SubmissionKey.select().where(SubmissionKey.key.in_(keys)).count() if keys else 0
        if stored != len(set(keys)):
            problems.append(f"{len(set(keys))} submissions acknowledged, {stored} stored")
        visits = {r for kind, _k, r in writers.acknowledged if kind == "visit"}
        complaints = {r for kind, _k, r in writers.acknowledged if kind == "complaint"}
        if Visit.select().where(Visit.id.in_(visits)).count() != len(visits):
            problems.append("an acknowledged visit is missing")
        if Complaint.select().where(Complaint.id.in_(complaints)).count() != len(complaints):
            problems.append("an acknowledged complaint is missing")
        written = Visit.select().where(Visit.organisation == "集群检查").count()
        if written != len(visits):
            problems.append(f"{written} cluster visits stored for {len(visits)} acknowledged (a retry stored twice?)")
        for model in (Visit, Complaint):
            numbers = [row.number for row in model.select(model.number)]
            serials = sorted(int(n.rsplit("-", 1)[-1]) for n in numbers if re.search(r"-\d+$", n))
            if len(set(numbers)) != len(numbers):
                problems.append(f"{model.__name__}: a number given twice")
            by_year = collections.defaultdict(list)
            for n in numbers:
                m = re.match(r"(.*\D)(\d+)$", n)
                if m:
                    by_year[m[1]].append(int(m[2]))
            for prefix, values in by_year.items():
                values.sort()
                if values != list(range(values[0], values[0] + len(values))):
                    problems.append(f"{model.__name__} {prefix}: numbers with gaps")
            del serials
        for call in Call.select().where(Call.id.in_(overdue_calls)):
            if call.overdue_reported_at is None:
                problems.append(f"overdue promise {call.id} never reported")
        for complaint in Complaint.select().where(Complaint.id.in_(overdue_complaints)):
            if complaint.escalated_head_at is None or complaint.escalated_manager_at is None:
                problems.append(f"overdue complaint {complaint.number} not escalated to head and manager")
        notes = collections.Counter((n.user_id, n.message, n.params) for n in Notification.select())
        repeated = [k for k, count in notes.items() if count > 1 and ("overdue" in k[1] or "Missed promise" in k[1])]
        if repeated:
            problems.append(f"{len(repeated)} escalations or reports sent twice: {repeated[:2]}")
        unsent, deferred, sent = unsent_deferred_sent()
        if unsent:
            problems.append(f"{unsent} messages due and not sent")
        received = sum(mailbox.received.values()) + sum(robots.posted.values())
        # Two notifications may read alike (the same welcome to the same person): count against the outboxes.
        if received != sent:
            problems.append(f"{received} mails and robot posts received for {sent} deliveries sent")
        figures.append(("messages sent (mails / robot posts)",
                        f"{sent} ({sum(mailbox.received.values())} / {sum(robots.posted.values())})"))
        figures.append(("not urgent, waiting for the end of the quiet hours", str(deferred)))
    if len(set(board_bodies)) != 1:
        problems.append("the two servers show different boards")
    return problems


def board_figures(port, token):
    s = Session(port)
    _status, body, headers = s.request("GET", f"/board?token={token}", headers={"HX-Request": "true"})
    return headers.get("ETag", "") or body


def wait_until(condition, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(1)
    return False


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=40)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    database = os.environ.get("CLUSTER_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/cluster_check")
    huey_url = os.environ.get("CLUSTER_HUEY_URL", "redis://127.0.0.1:6379/13")
    import redis
    redis.Redis.from_url(huey_url).flushdb()
    fresh_database(database)
    smtp_port, ports = free_port(), [free_port(), free_port()]
    mailbox = Mailbox(smtp_port)
    threading.Thread(target=lambda: __import__("asyncore").loop(timeout=0.2), daemon=True).start()
    robots = Robots(free_port())
    threading.Thread(target=robots.serve_forever, daemon=True).start()
    instance = tempfile.mkdtemp(prefix="cluster-instance-")
    env = {**os.environ, "DATABASE_URL": database, "HUEY_URL": huey_url, "INSTANCE_PATH": instance,
           "SECRET_KEY": "cluster-check", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port),
           "PUBLIC_URL": f"http://127.0.0.1:{ports[0]}", "WEB_WORKERS": "2"}
    started = time.time()
    app, token, host = prepare(env, robots.server_address[1])
    lines = procfile()
    checked = []  # what check() counted, for the figures
    webs = [Process(f"web{i + 1}", lines["web"], {**env, "PORT": str(port)}) for i, port in enumerate(ports)]
    workers = [Process("worker", lines["worker"], env), Process("worker_n", lines["worker_n"], env)]
    for port in ports:
        wait_for_port(port)
    try:
        first_calls, first_complaints = put_in_overdue(app, "1")
        writers = Writers(ports, host, args.seconds)
        threads = writers.run()
        time.sleep(args.seconds / 2)
        webs[0].kill()
        workers[0].kill()
        killed_at = time.time()
        second_calls, second_complaints = put_in_overdue(app, "2")
        time.sleep(2)  # systemd's RestartSec
        webs[0].start()
        workers[0].start()
        wait_for_port(ports[0])
        restarted_in = time.time() - killed_at
        for thread in threads:
            thread.join()
        overdue_calls, overdue_complaints = first_calls + second_calls, first_complaints + second_complaints

        def all_sent():
            from models.calls import Call
            from models.complaints import Complaint
            with app.app_context():
                return (Call.select().where(Call.id.in_(overdue_calls), Call.overdue_reported_at.is_null()).count() == 0
                        and Complaint.select().where(Complaint.id.in_(overdue_complaints),
                                                     Complaint.escalated_manager_at.is_null()).count() == 0
                        and unsent_deferred_sent()[0] == 0)
        # The sweeps run at the turn of each minute: give them two.
        settled = wait_until(all_sent, 130)
        boards = [board_figures(port, token) for port in ports]
        problems = check(app, writers, overdue_calls, overdue_complaints, mailbox, robots, boards, checked)
        if not settled:
            problems.append("the sweeps did not finish within two minutes of the writers")
    finally:
        for process in webs + workers:
            process.terminate()  # all at once: each takes seconds to finish its requests and tasks
        for process in webs + workers:
            process.stop()
    latencies = sorted(writers.latencies)
    p = (lambda q: latencies[min(len(latencies) - 1, int(len(latencies) * q))] if latencies else 0)
    kinds = collections.Counter(kind for kind, _k, _r in writers.acknowledged)
    figures = [
        ("writers, seconds", f"{WRITERS}, {args.seconds}"),
        ("acknowledged (visits / complaints)", f"{len(writers.acknowledged)} ({kinds['visit']} / {kinds['complaint']})"),
        ("writes per second, both servers", f"{len(writers.acknowledged) / args.seconds:.0f}"),
        ("POST p50 / p95 (ms)", f"{p(0.5):.0f} / {p(0.95):.0f}"),
        ("requests retried on the other server after the kill", str(writers.retried)),
        ("refused or failed", str(len(writers.failed))),
        ("killed server back after (s)", f"{restarted_in:.1f}"),
        ("overdue promises and complaints reported, each once", f"{len(overdue_calls)} + {len(overdue_complaints)}"),
        *checked,
        ("whole check (s)", f"{time.time() - started:.0f}"),
    ]
    print("\n".join(f"{name}: {value}" for name, value in figures))
    if args.write:
        write_figures(figures, problems)
    if problems:
        print("CLUSTER CHECK FAILED:\n  " + "\n  ".join(problems[:20]))
        return 1
    print("cluster check passed")
    return 0


def write_figures(figures, problems):
    path = ROOT / "docs" / "perf.md"
    text = path.read_text()
    marker = "## Several machines (make cluster-check)"
    section = (f"{marker}\n\n{dt.date.today().isoformat()}, PostgreSQL 15 + Redis 7 on loopback, 2 web servers × 2 "
               "gunicorn workers, 2 consumers (one periodic, one -n), one server and the periodic consumer killed "
               "(SIGKILL) half-way and restarted after 2 s.\n\n| | |\n| --- | --- |\n"
               + "\n".join(f"| {name} | {value} |" for name, value in figures)
               + f"\n\nResult: {'passed' if not problems else 'FAILED: ' + '; '.join(problems[:5])}\n")
    if marker in text:
        before, _old, after = text.partition(marker)
        rest = after.split("\n## ", 1)
        text = before + section + ("\n## " + rest[1] if len(rest) > 1 else "")
    else:  # above make bench's table, which that command rewrites to the end of the file
        anchor = "## Reading `make bench`"
        text = text.replace(anchor, section + "\n" + anchor, 1) if anchor in text else text.rstrip() + "\n\n" + section
    path.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
