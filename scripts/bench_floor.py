"""The benchmark's floor: a bare Flask + Jinja route returning a fragment of a given
size (FLOOR_BYTES), with none of the portal's work — what the stack itself costs."""
import os

from flask import Flask, render_template_string

app = Flask(__name__)
ROW = "<li class=\"visit\"><span class=\"visit-name\">{{ name }} {{ i }}</span><span class=\"when\">2026-11-23 09:{{ '%02d' % (i % 60) }}</span></li>\n"
ROWS = max(1, int(os.environ.get("FLOOR_BYTES", "20000")) // 110)
TEMPLATE = "<ul class=\"visit-list\">{% for i in rows %}" + ROW + "{% endfor %}</ul>"


@app.route("/fragment")
def fragment():
    return render_template_string(TEMPLATE, rows=range(ROWS), name="李明")
