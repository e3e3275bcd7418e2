"""Does the portal keep answering while gunicorn recycles its workers?

Serves the portal on loopback exactly as `make run` does (gunicorn.conf.py, 2 workers)
on a fresh embedded database, but with a small WEB_MAX_REQUESTS so the workers recycle
every few seconds; a few clients request pages back to back for a while; then the
slowest requests, the longest time in which nothing was answered, and the worker
restarts are printed.

    .venv/bin/python scripts/recycle_check.py [--seconds 30] [--clients 4] [--max-requests 100]
        [--config gunicorn.conf.py]

--config names another gunicorn config file, to compare (e.g. one without preload_app)."""
import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.client import HTTPConnection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PATHS = ["/login", "/healthz"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(config, port, env, log):
    process = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", config, "--workers", "2", "--bind", f"127.0.0.1:{port}",
         "--log-level", "info"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            request(port, "/healthz")
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("gunicorn did not start")


def request(port, path):
    connection = HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def drive(port, seconds, clients):
    """[(start, end, status)] of every request, each client one request after another."""
    results, lock = [], threading.Lock()
    stop = time.monotonic() + seconds

    def client(number):
        i = number
        while time.monotonic() < stop:
            start = time.monotonic()
            try:
                status = request(port, PATHS[i % len(PATHS)])
            except OSError as error:
                status = type(error).__name__
            with lock:
                results.append((start, time.monotonic(), status))
            i += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def longest_silence(results, began, ended):
    """The longest stretch in which no request was answered."""
    answered = sorted(end for _start, end, _status in results)
    marks = [began, *answered, ended]
    return max(b - a for a, b in zip(marks, marks[1:]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--max-requests", type=int, default=100)
    parser.add_argument("--config", default="gunicorn.conf.py")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="recycle-check-") as instance:
        env = {**os.environ, "INSTANCE_PATH": instance, "WEB_MAX_REQUESTS": str(args.max_requests)}
        env.pop("DATABASE_URL", None)
        env.pop("HUEY_URL", None)
        subprocess.run([str(BIN / "flask"), "--app", "app", "init-db"], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        log_path = Path(instance) / "gunicorn.log"
        with open(log_path, "w") as log:
            port = free_port()
            process = serve(args.config, port, env, log)
            try:
                began = time.monotonic()
                results = drive(port, args.seconds, args.clients)
                ended = time.monotonic()
            finally:
                process.terminate()
                process.wait(timeout=30)
        log_text = log_path.read_text()
    restarts = len(re.findall(r"Autorestarting worker after current request", log_text))
    durations = sorted(end - start for start, end, _status in results)
    failed = [status for _start, _end, status in results if status != 200]
    slow = [d for d in durations if d > 1.0]
    print(f"config {args.config}, WEB_MAX_REQUESTS={args.max_requests}, {args.clients} clients, "
          f"{args.seconds:g} s")
    print(f"requests {len(durations)} ({len(durations) / (ended - began):.0f}/s), not 200: {len(failed)}, "
          f"worker restarts {restarts}")
    print(f"p50 {statistics.median(durations) * 1000:.0f} ms, "
          f"p99 {durations[int(len(durations) * 0.99)] * 1000:.0f} ms, max {durations[-1] * 1000:.0f} ms, "
          f"over 1 s: {len(slow)}, longest time nothing answered {longest_silence(results, began, ended) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
