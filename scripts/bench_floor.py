"""The benchmark's floors: a bare Flask + Jinja route returning a fragment of a given
size (FLOOR_BYTES), and a bare Flask + SQLite insert (FLOOR_DB, WAL, one IMMEDIATE transaction
per request, as the portal's writes), with none of the portal's work — what the stack itself costs."""
import os
import sqlite3
import threading

from flask import Flask, render_template_string, request

app = Flask(__name__)
ROW = "<li class=\"visit\"><span class=\"visit-name\">{{ name }} {{ i }}</span><span class=\"when\">2026-11-23 09:{{ '%02d' % (i % 60) }}</span></li>\n"
ROWS = max(1, int(os.environ.get("FLOOR_BYTES", "20000")) // 110)
TEMPLATE = "<ul class=\"visit-list\">{% for i in rows %}" + ROW + "{% endfor %}</ul>"


@app.route("/fragment")
def fragment():
    return render_template_string(TEMPLATE, rows=range(ROWS), name="李明")


_local = threading.local()


def _db():
    if not hasattr(_local, "db"):
        _local.db = sqlite3.connect(os.environ["FLOOR_DB"], isolation_level=None, timeout=10)
        _local.db.execute("PRAGMA journal_mode=WAL")
        _local.db.execute("PRAGMA synchronous=NORMAL")
        _local.db.execute("CREATE TABLE IF NOT EXISTS visit (id INTEGER PRIMARY KEY, name TEXT, phone TEXT, at TEXT)")
    return _local.db


@app.route("/insert", methods=["POST"])
def insert():
    db = _db()
    db.execute("BEGIN IMMEDIATE")
    row = db.execute("INSERT INTO visit (name, phone, at) VALUES (?, ?, datetime('now'))",
                     (request.form.get("visitor_name", ""), request.form.get("phone", ""))).lastrowid
    db.execute("COMMIT")
    return "", 204, {"HX-Redirect": f"/visits/{row}"}
