"""`make bench`: seed databases of 10 k, 100 k and 1 M records, serve the portal with
gunicorn (2 workers) on loopback, drive it from a second process and write the table
to docs/perf.md.

    .venv/bin/python scripts/bench.py [--sizes 10000,100000] [--seconds 8] [--no-write]

Each endpoint is driven for --seconds by keep-alive connections; the floor is a bare
Flask + Jinja route returning a fragment of the visitor list's size, served the same
way, so every figure can be read as a share of what the stack itself can do."""
import argparse
import datetime as dt
import gzip
import json
import os
import platform
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import urlencode

from peewee import fn
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PASSWORD = "bench-password-1"
# Share of each kind in the seeded records (complaint timelines come on top).
MIX = {"visits": 0.45, "calls": 0.40, "complaints": 0.15}
#: Connections per reading endpoint: one per gunicorn worker. A hundred screens polling
#: every 5 s are 20 requests a second; what matters is each one's time, not a queue.
READERS = int(os.environ.get("BENCH_READERS", "2"))
TARGETS = {  # issue 6, at 1 M records on a 2-core machine
    "board 304": ("p99", 5.0), "board 200": ("p95", 30.0), "visitor list fragment": ("p95", 25.0),
    "complaint list fragment": ("p95", 25.0), "form POST, 32 writers": ("p95", 30.0), "PDF form": ("p50", 250.0),
    # issue 15: record pages well under 100 ms, the search from an index
    "complaint page, 300-step timeline": ("p95", 100.0), "customer page": ("p95", 100.0), "visit page": ("p95", 100.0),
    "requisition page": ("p95", 100.0), "complaint search by phone": ("p95", 25.0),
}


# --- seeding -------------------------------------------------------------------------

def insert_rows(model, rows):
    """Bulk insert, 400 rows a statement (SQLite's limit of bound values), in one transaction."""
    from models.base import db
    with db.atomic():
        for start in range(0, len(rows), 400):
            model.insert_many(rows[start:start + 400]).execute()


def complaint_row(rng, i, created, now, customer_id, department_id, manager_id, content):
    """One complaint as the bench stores it: closed when older than ten days, assigned otherwise."""
    closed = created < now - dt.timedelta(days=10)
    return {"number": f"TB{i:09d}", "customer": customer_id, "channel": "phone",
            "category": rng.choice(["quality", "service", "delivery", "billing"]),
            "severity": "major" if i % 20 == 0 else "general", "content": content,
            "department": department_id, "state": "closed" if closed else "assigned",
            "created_at": created, "updated_at": created, "reply_due_at": created + dt.timedelta(hours=24),
            "handle_due_at": created + dt.timedelta(hours=72), "received_by": manager_id}


def seed(instance, size):
    """A database of `size` records spread over two years, staff and a board link.
    Returns the board token and a visit id for the PDF."""
    os.environ["INSTANCE_PATH"] = str(instance)
    sys.path.insert(0, str(ROOT))
    from app import create_app
    app = create_app({"DATABASE_URL": f"sqlite:///{instance}/portal.db"})
    with app.app_context():
        from models import create_tables
        from models.base import db
        from models.board import create_token
        from models.calls import Call
        from models.complaints import Complaint, ComplaintEvent, Customer
        from models.demo import seed_demo
        from models.users import Department, User, set_password
        from models.visitors import Visit
        create_tables()
        seed_demo()
        bench = User.by_username("desk")
        set_password(None, bench, PASSWORD)
        manager = User.by_username("manager")
        set_password(None, manager, PASSWORD)
        _row, token = create_token(None, "bench")
        hosts = [u.id for u in User.select(User.id)]
        departments = [d.id for d in Department.select(Department.id)]
        rng = random.Random(size)
        now = dt.datetime.utcnow()
        span = 730 * 24 * 3600

        def when():
            return now - dt.timedelta(seconds=rng.randint(3600, span))

        insert = insert_rows
        counts = {kind: int(size * share) for kind, share in MIX.items()}
        batch = 20_000
        for start in range(0, counts["visits"], batch):
            rows = []
            for i in range(start, min(start + batch, counts["visits"])):
                arrived = when()
                rows.append({"number": f"VB{i:09d}", "visitor_name": f"访客{i % 5000}", "phone": f"138{i % 10**8:08d}",
                             "organisation": rng.choice(["华信", "顺达物流", "恒通设备", "明远咨询", ""]),
                             "purpose": rng.choice(["meeting", "business", "delivery", "maintenance"]),
                             "host": rng.choice(hosts), "arrived_at": arrived, "state": "left",
                             "left_at": arrived + dt.timedelta(minutes=40), "created_at": arrived})
            insert(Visit, rows)
        for start in range(0, counts["calls"], batch):
            rows = []
            for i in range(start, min(start + batch, counts["calls"])):
                rows.append({"caller_name": f"来电{i % 5000}", "phone": f"139{i % 10**8:08d}", "reason": "咨询",
                             "call_type": rng.choice(["inquiry", "business", "complaint", "other"]),
                             "outcome": "answered", "answer_text": "已答复", "taken_at": when(),
                             "taken_by": bench.id})
            insert(Call, rows)
        customers = min(5000, max(10, counts["complaints"] // 3))
        insert(Customer, [{"name": f"客户{i}", "phone": f"137{i:08d}", "is_vip": i % 50 == 0}
                          for i in range(customers)])
        first_customer = Customer.select(Customer.id).order_by(Customer.id).first().id
        first_complaint = (Complaint.select(Complaint.id).order_by(Complaint.id.desc()).first() or
                           Complaint(id=0)).id + 1
        for start in range(0, counts["complaints"], batch):
            rows, events = [], []
            for i in range(start, min(start + batch, counts["complaints"])):
                created = when()
                rows.append(complaint_row(rng, i, created, now, first_customer + i % customers,
                                          rng.choice(departments), manager.id, "送货延误，包装破损"))
                complaint_id = first_complaint + i
                events.append({"complaint": complaint_id, "at": created, "actor": manager.id, "action": "receive",
                               "to_state": "received"})
                events.append({"complaint": complaint_id, "at": created + dt.timedelta(hours=2), "actor": manager.id,
                               "action": "assign", "from_state": "received", "to_state": "assigned"})
            insert(Complaint, rows)
            insert(ComplaintEvent, events)
        # What save() and the domain functions keep up to date, for the rows inserted in bulk.
        from models import fulltext
        from models.pinyin import fill_keys
        for model in (Visit, Customer):
            fill_keys(model)
        for source in ("complaint", "call"):
            fulltext.fill(source)
        visit_id = Visit.select(Visit.id).order_by(Visit.id.desc()).first().id
        # A complaint with a long life: three hundred steps on its timeline.
        long_one = first_complaint
        insert(ComplaintEvent, [{"complaint": long_one, "at": now - dt.timedelta(hours=300 - k), "actor": manager.id,
                                 "action": "handle", "from_state": "assigned", "to_state": "assigned",
                                 "note": f"第{k}次跟进：已联系顾客"}
                                for k in range(300)])
        from models.procurement.requisitions import Requisition, RequisitionLine
        requisition = (Requisition.select(Requisition.id).join(RequisitionLine).group_by(Requisition.id)
                       .order_by(fn.COUNT(RequisitionLine.id).desc()).first())
        records = {"complaint": long_one, "customer": first_customer, "visit": visit_id,
                   "requisition": requisition.id if requisition else None}
    return token, visit_id, records


# --- serving -------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(app_spec, env, port):
    process = subprocess.Popen(
        [str(BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "--log-level", "warning", app_spec],
        cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"gunicorn did not start: {process.stderr.read().decode()[-2000:]}")


# --- driving (runs in its own process: `bench.py drive <json>`) -----------------------

class Session:
    """A logged-in keep-alive connection with its cookies and CSRF token."""

    def __init__(self, port, username=None):
        self.connection = HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies = {}
        if username:
            token = self.csrf("/login")
            self.request("POST", "/login", {"username": username, "password": PASSWORD, "csrf_token": token})

    def request(self, method, path, form=None, headers=None, keep_cookies=True):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        data = response.read()
        for name, value in response.getheaders():
            if keep_cookies and name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";")[0]
        return response.status, data, dict(response.getheaders())

    def csrf(self, path):
        _status, body, _headers = self.request("GET", path)
        match = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', body) or \
            re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', body)
        return match.group(1).decode() if match else ""


def drive(spec):
    """Run one endpoint for spec["seconds"] with spec["connections"] connections."""
    port, seconds = spec["port"], spec["seconds"]
    latencies, statuses, errors = [], {}, []
    lock = threading.Lock()
    clock = {}

    def start_clock():
        # Logging in (argon2) is not what is measured: the clock starts once all are in.
        clock["warm_until"] = time.perf_counter() + 1.0  # the first second warms caches and connections
        clock["deadline"] = clock["warm_until"] + seconds

    ready = threading.Barrier(spec["connections"], action=start_clock)

    def worker():
        session = Session(port, spec.get("user"))
        form, headers = None, dict(spec.get("headers", {}))
        if spec.get("post"):
            token = session.csrf(spec["form_page"]) if spec.get("form_page") else ""
        mine, my_statuses, my_errors = [], {}, []
        ready.wait()
        warm_until, deadline = clock["warm_until"], clock["deadline"]
        while time.perf_counter() < deadline:
            if spec.get("post"):
                form = {**spec["post"], "csrf_token": token, "submission_key": uuid.uuid4().hex}
            started = time.perf_counter()
            try:
                # A write's answer carries the "registered" message in the session cookie, which a
                # browser hands back to the page it goes to next, and that page clears it; the driver
                # goes to no page, so it keeps the cookie it had, or the messages would pile up in it
                # and every later request would carry and re-sign them all.
                status, body, _h = session.request("POST" if form else "GET", spec["path"], form, headers,
                                                   keep_cookies=not form)
            except Exception as error:  # noqa: BLE001  a dropped connection is a counted error
                my_errors.append(repr(error))
                session = Session(port, spec.get("user"))
                continue
            elapsed = (time.perf_counter() - started) * 1000
            if started >= warm_until:
                mine.append(elapsed)
                my_statuses[status] = my_statuses.get(status, 0) + 1
                if status >= 400 or b"database is locked" in body:
                    my_errors.append(f"{status}: {body[:200]!r}")
        with lock:
            latencies.extend(mine)
            for key, value in my_statuses.items():
                statuses[key] = statuses.get(key, 0) + value
            errors.extend(my_errors)

    threads = [threading.Thread(target=worker) for _ in range(spec["connections"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()

    def percentile(p):
        return latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))] if latencies else None

    return {"n": len(latencies), "rps": len(latencies) / seconds, "p50": percentile(50), "p95": percentile(95),
            "p99": percentile(99), "statuses": statuses, "errors": len(errors), "error_samples": errors[:3]}


def run_driver(spec):
    """The load comes from a second process, as a real client would."""
    output = subprocess.run([sys.executable, __file__, "drive", json.dumps(spec)], capture_output=True, text=True,
                            check=True)
    return json.loads(output.stdout)


# --- the run -------------------------------------------------------------------------

def page_weight(port):
    """A full desk page with everything it loads, gzip-compressed as the proxy serves it."""
    session = Session(port, "desk")
    _status, html, _h = session.request("GET", "/visitors")
    total = len(gzip.compress(html, 6))
    for asset in set(re.findall(rb'(?:src|href)="(/static/[^"?]+)', html)):
        _status, body, _h = session.request("GET", asset.decode())
        total += len(gzip.compress(body, 6))
    return total


def measure(size, seconds):
    instance = Path(tempfile.mkdtemp(prefix=f"bench-{size}-"))
    try:
        started = time.perf_counter()
        token, visit_id, records = seed(instance, size)
        seeded = time.perf_counter() - started
        port = free_port()
        env = {"INSTANCE_PATH": str(instance), "DATABASE_URL": f"sqlite:///{instance}/portal.db",
               "SECRET_KEY": "bench"}
        server = serve("app:create_app()", env, port)
        try:
            probe = Session(port, "desk")
            _s, board_body, board_headers = probe.request("GET", f"/board?token={token}", headers={"HX-Request": "true"})
            _s, list_body, _h = probe.request("GET", "/visitors/log?purpose=delivery", headers={"HX-Request": "true"})
            host_id = re.search(rb'name="host" value="(\d+)"', probe.request("GET", "/visitors/new")[1])
            arrival = dt.datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M")
            base = {"port": port, "seconds": seconds, "connections": READERS}
            cases = [
                ("board 304", {**base, "path": f"/board?token={token}",
                               "headers": {"HX-Request": "true", "If-None-Match": board_headers.get("ETag", "")}}),
                ("board 200", {**base, "path": f"/board?token={token}", "headers": {"HX-Request": "true"}}),
                ("visitor list fragment", {**base, "user": "desk", "path": "/visitors/log?purpose=delivery",
                                           "headers": {"HX-Request": "true"}}),
                ("complaint list fragment", {**base, "user": "manager",
                                             "path": "/complaints?state=open&category=delivery",
                                             "headers": {"HX-Request": "true"}}),
                ("form POST, 32 writers", {**base, "connections": 32, "user": "desk", "path": "/visitors/new",
                                           "form_page": "/visitors/new", "headers": {"HX-Request": "true"},
                                           "post": {"phone": "13800138000", "visitor_name": "压测访客",
                                                    "organisation": "压测", "purpose": "meeting",
                                                    "host": host_id.group(1).decode() if host_id else "1",
                                                    "companions": "0", "arrived_at": arrival}}),
                ("PDF form", {**base, "connections": 2, "user": "desk", "path": f"/visitors/{visit_id}/pass.pdf"}),
                # The record pages and the search (issue 15), each a full page as a person opens it.
                ("complaint page, 300-step timeline", {**base, "user": "manager",
                                                       "path": f"/complaints/{records['complaint']}"}),
                ("customer page", {**base, "user": "manager", "path": f"/customers/{records['customer']}"}),
                ("visit page", {**base, "user": "desk", "path": f"/visitors/{visit_id}"}),
                ("complaint search by phone", {**base, "user": "manager", "path": "/complaints?q=13700000",
                                               "headers": {"HX-Request": "true"}}),
                ("complaint intake POST, 32 writers", {**base, "connections": 32, "user": "manager",
                                                       "path": "/complaints/new", "form_page": "/complaints/new",
                                                       "headers": {"HX-Request": "true"},
                                                       "post": {"name": "压测客户", "phone": "13900139000",
                                                                "channel": "phone", "category": "delivery",
                                                                "severity": "general", "content": "压测：送货延误"}}),
            ]
            if records["requisition"]:
                cases.append(("requisition page", {**base, "user": "manager",
                                                   "path": f"/procurement/{records['requisition']}"}))
            results = {name: run_driver(spec) for name, spec in cases}
            results["_sizes"] = {"board 200 bytes": len(board_body), "list bytes": len(list_body),
                                 "page weight gz": page_weight(port), "seeded seconds": seeded}
        finally:
            server.terminate()
            server.wait(timeout=10)
        return results, len(list_body)
    finally:
        shutil.rmtree(instance, ignore_errors=True)


def measure_floor(fragment_bytes, seconds):
    """The fragment floor (reads) and the insert floor (a bare SQLite insert under the same 32 writers)."""
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="bench-floor-"))
    server = serve("scripts.bench_floor:app", {"FLOOR_BYTES": str(fragment_bytes),
                                               "FLOOR_DB": str(folder / "floor.db")}, port)
    try:
        read = run_driver({"port": port, "seconds": seconds, "connections": READERS, "path": "/fragment"})
        write = run_driver({"port": port, "seconds": seconds, "connections": 32, "path": "/insert",
                            "post": {"visitor_name": "压测访客", "phone": "13800138000"}})
        return {**read, "insert": write}
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def fmt_ms(value):
    return "—" if value is None else f"{value:.1f} ms"


def table(size, results, floor):
    lines = [f"### {size:,} records".replace(",", " "), "",
             "| request | p50 | p95 | p99 | requests/s | × floor | errors | target |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, r in results.items():
        if name.startswith("_"):
            continue
        target = ""
        if name in TARGETS:
            key, limit = TARGETS[name]
            if r[key] is None:
                target = "no successful request"
            elif r[key] <= limit:
                target = f"{key} ≤ {limit:g} ms: met"
            else:
                target = f"{key} ≤ {limit:g} ms: missed by {r[key] - limit:.1f} ms"
        writes = "POST" in name
        base = floor["insert"] if writes else floor
        if writes and r["p50"] is not None and base["p50"]:
            ratio = r["p50"] / base["p50"]
            target += f"{'; ' if target else ''}p50 {ratio:.1f}× the insert floor's (target ≤ 2×: {'met' if ratio <= 2 else 'missed'})"
        lines.append(f"| {name} | {fmt_ms(r['p50'])} | {fmt_ms(r['p95'])} | {fmt_ms(r['p99'])} | {r['rps']:.0f} | "
                     f"{r['rps'] / base['rps']:.2f} | {r['errors']} | {target} |")
    extra = results["_sizes"]
    lines += ["", f"Seeding took {extra['seeded seconds']:.0f} s. Board fragment {extra['board 200 bytes']:,} B, "
              f"visitor-list fragment {extra['list bytes']:,} B; a full desk page with its CSS and JS (htmx "
              f"included) is {extra['page weight gz'] / 1024:.1f} KB gzip-compressed (target ≤ 100 KB).", ""]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default=os.environ.get("BENCH_SIZES", "10000,100000,1000000"))
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("BENCH_SECONDS", "8")))
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    sections, floor = [], None
    for size in sizes:
        print(f"seeding and measuring {size:,} records…", flush=True)
        results, fragment_bytes = measure(size, args.seconds)
        if floor is None:
            floor = measure_floor(fragment_bytes, args.seconds)
        section = table(size, results, floor)
        for name, r in results.items():
            if not name.startswith("_") and r["errors"]:
                print(f"{name}: {r['errors']} errors, e.g. {r['error_samples']} {r['statuses']}", flush=True)
        print(section, flush=True)
        sections.append(section)
    machine = (f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, "
               f"{platform.platform()}")
    report = "\n".join([
        f"## {dt.date.today().isoformat()} — make bench", "",
        f"Machine: {machine}. SQLite (WAL), gunicorn with 2 sync workers on loopback, the load from a second "
        f"process (keep-alive connections: {READERS} per reading endpoint, one per worker, so the latencies are "
        f"service times rather than queueing; 32 for the writers), {args.seconds:g} s per "
        f"endpoint after a 1 s warm-up. Floor: a bare Flask + Jinja route returning a fragment of the "
        f"visitor list's size, {floor['rps']:.0f} requests/s, p50 {fmt_ms(floor['p50'])}, "
        f"p95 {fmt_ms(floor['p95'])}. Insert floor (the writes' × floor): a bare Flask + SQLite (WAL) insert in "
        f"one IMMEDIATE transaction under the same 32 writers, {floor['insert']['rps']:.0f} requests/s, "
        f"p50 {fmt_ms(floor['insert']['p50'])}, p95 {fmt_ms(floor['insert']['p95'])}.", "", *sections])
    print(report)
    if not args.no_write:
        perf = ROOT / "docs" / "perf.md"
        text = perf.read_text(encoding="utf-8")
        marker = "<!-- bench -->"
        head, _, _old = text.partition(marker)
        perf.write_text(f"{head.rstrip()}\n\n{marker}\n{report}\n", encoding="utf-8")
        print(f"written to {perf}")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "drive":
        print(json.dumps(drive(json.loads(sys.argv[2]))))
    else:
        main()
