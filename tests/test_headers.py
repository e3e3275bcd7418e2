"""The browser's side of safety on every page: the Content-Security-Policy that lets only the
portal's own files run (no inline script, handler or style), and the usual headers beside it.

The pages are found as tests/test_budgets.py finds them (every GET route, asked by someone with
every role, over tests/test_access.py's one-of-each records): a new page is covered the day it is
added. Each HTML answer is also read for what the policy would refuse, so markup that comes from
Python (a field's render_kw, a filter) is held to it as much as the templates are."""
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import time_machine

from models.roles import ROLES
from tests.test_access import NOW, endpoints, record_url, seed_records

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
#: templates/print/ is only ever rendered to PDF by printing.pdf_bytes (WeasyPrint, where no
#: browser policy applies): its <style> blocks and widths stay beside the form they lay out.
PRINT_ONLY = TEMPLATES / "print"


def policy(header):
    """{"script-src": ["'self'"], ...} from a Content-Security-Policy header."""
    directives = {}
    for part in (header or "").split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


#: Pages that send a stricter Referrer-Policy than the portal's same-origin: the answer page's address
#: holds a signed token, which must not reach the site of any link it shows.
REFERRER_POLICY = {"answers.reply": "no-referrer"}


def header_faults(response, referrer="same-origin"):
    """What is missing or wrong in one response's headers, in words."""
    faults = []
    expected = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": referrer, "X-Frame-Options": "DENY"}
    faults += [f"{name}: {response.headers.get(name)!r}" for name, value in expected.items()
               if response.headers.get(name) != value]
    permissions = response.headers.get("Permissions-Policy", "")
    if "microphone=()" not in permissions or "geolocation=()" not in permissions:
        faults.append(f"Permissions-Policy: {permissions!r}")
    if "Strict-Transport-Security" in response.headers:
        faults.append("HSTS over plain HTTP")
    if response.mimetype == "application/pdf":
        if "Content-Security-Policy" in response.headers:
            faults.append("a policy on a PDF (Chromium's viewer would show it blank)")
        return faults
    csp = policy(response.headers.get("Content-Security-Policy"))
    for directive in ("script-src", "style-src"):
        if csp.get(directive) != ["'self'"]:
            faults.append(f"{directive}: {csp.get(directive)}")
    if csp.get("frame-ancestors") != ["'none'"] or csp.get("object-src") != ["'none'"]:
        faults.append(f"frame-ancestors/object-src: {csp.get('frame-ancestors')}, {csp.get('object-src')}")
    return faults


class InlineFinder(HTMLParser):
    """Collects what a strict policy refuses to run or apply in a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and not attrs.get("src"):
            self.found.append("<script> without src")
        if tag == "style":
            self.found.append("<style>")
        for name, value in attrs.items():
            value = value or ""
            if name == "style" or name.startswith("on") or name.startswith("hx-on"):
                self.found.append(f'<{tag} {name}="{value[:40]}">')
            elif name in ("hx-vals", "hx-vars") and (name == "hx-vars" or value.lstrip().startswith("js:")):
                self.found.append(f"<{tag} {name}> evaluated")
            elif name == "hx-trigger" and "[" in value:
                self.found.append(f'<{tag} hx-trigger="{value}"> (a filter is evaluated)')
            elif name in ("href", "action", "src") and value.lower().lstrip().startswith("javascript:"):
                self.found.append(f"<{tag} {name}=javascript:>")

    handle_startendtag = handle_starttag


def inline_code(html):
    finder = InlineFinder()
    finder.feed(html)
    return finder.found


@pytest.fixture
def everyone(make_user):
    return make_user("person", *sorted(ROLES), department="客服部")


@pytest.fixture
def printing_stub(monkeypatch):
    """The forms are rendered (template errors fail) but not laid out: a PDF is a PDF here."""
    class Document:
        def __init__(self, **kwargs):
            pass

        def write_pdf(self, **kwargs):
            return b"%PDF-1.7\n%stub\n%%EOF\n"
    monkeypatch.setattr("printing.HTML", Document)


def test_every_page_carries_the_policy_and_runs_nothing_inline(app, client, auth, make_user, everyone,
                                                             printing_stub):
    faults, kinds = [], set()
    with time_machine.travel(NOW, tick=False):
        records = seed_records(app, make_user, everyone)
        auth.login("person")
        for rule in sorted(endpoints(app), key=lambda rule: rule.rule):
            if "GET" not in rule.methods:
                continue
            url = record_url(app, rule, records)
            response = client.get(url)
            kinds.add(response.mimetype)
            faults += [f"{url}: {fault}" for fault in
                       header_faults(response, REFERRER_POLICY.get(rule.endpoint, "same-origin"))]
            if response.mimetype == "text/html":
                faults += [f"{url}: {found}" for found in inline_code(response.get_data(as_text=True))]
    assert not faults, "\n".join(faults)
    assert {"text/html", "application/pdf"} <= kinds  # both kinds of answer were looked at


def test_errors_static_files_and_the_login_page_carry_them_too(client):
    for url in ("/login", "/no-such-page", "/static/css/portal.css", "/static/js/portal.js", "/board?token=x"):
        response = client.get(url)
        assert not header_faults(response), (url, header_faults(response))
    assert not inline_code(client.get("/login").get_data(as_text=True))


def test_hsts_only_for_a_portal_reached_over_https(app, client):
    assert "Strict-Transport-Security" not in client.get("/login").headers
    app.config["PUBLIC_URL"] = "https://portal.example.cn"
    assert client.get("/login").headers["Strict-Transport-Security"] == "max-age=31536000"
    app.config["HSTS_MAX_AGE"] = 0
    assert "Strict-Transport-Security" not in client.get("/login").headers


#: What a strict policy refuses, as it is written in a template.
INLINE = [
    (re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"<style\b", re.I), "<style> block"),
    (re.compile(r"\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "event handler attribute"),
    (re.compile(r"[\"'](on[a-z]+|style)[\"']\s*:", re.I), "handler or style in a macro's attrs"),
    (re.compile(r"\s(data-)?hx-on", re.I), "hx-on (run through Function())"),
    (re.compile(r"hx-trigger\s*=\s*[\"'][^\"']*\[", re.I), "hx-trigger filter (evaluated)"),
    (re.compile(r"hx-vars|hx-vals\s*=\s*[\"']\s*js:", re.I), "evaluated hx-vals/hx-vars"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


def test_no_template_carries_inline_script_style_or_handlers():
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        if PRINT_ONLY in path.parents:
            continue
        text = path.read_text(encoding="utf-8")
        for pattern, what in INLINE:
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(TEMPLATES)}:{line}: {what}: {match.group(0).strip()}")
    assert not found, "move these to static/js or static/css:\n" + "\n".join(found)


def test_the_checks_catch_what_they_look_for():
    """Each finder sees the thing it is there to refuse (a finder that sees nothing passes anything)."""
    page = ('<p style="color:red" onclick="go()"><script>x()</script><style>p{}</style>'
            '<div hx-on:click="x()" hx-trigger="every 5s [ok]"></div><a href="javascript:x()">x</a>')
    assert len(inline_code(page)) == 7
    assert all(pattern.search(sample) for (pattern, _what), sample in zip(INLINE, [
        "<script>", "<style>", ' style="x"', ' onchange="x"', '{"onchange": "x"}', " hx-on:click", 'hx-trigger="change[a]"',
        "hx-vars", "javascript:"]))
    assert not inline_code('<script src="/static/js/portal.js" defer></script><p class="x" data-onboard="1">')
