"""One form system: every label and every CSRF input comes from templates/_macros/forms.html.

A hand-written <label> drifts from its control (a renamed id leaves a label pointing at
nothing) and a hand-typed CSRF input is one more copy to keep right; the macros write both."""
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
MACROS = "_macros/forms.html"
HAND_WRITTEN = re.compile(r"<label\b|name=[\"']csrf_token[\"']|<input[^>]*csrf_token\(\)")


def _hand_written(path):
    text = path.read_text(encoding="utf-8")
    return [f"{path.relative_to(TEMPLATES)}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)}"
            for m in HAND_WRITTEN.finditer(text)]


def _templates():
    return sorted(p for p in TEMPLATES.rglob("*.html") if str(p.relative_to(TEMPLATES)) != MACROS)


def test_no_template_writes_a_label_or_a_csrf_input_by_hand():
    found = [hit for path in _templates() for hit in _hand_written(path)]
    assert not found, "use field(), control(), label(), check() or csrf() from " + MACROS + ":\n" + "\n".join(found)


class _Controls(HTMLParser):
    """The page's labels (their for) and its controls a person fills in or ticks."""

    def __init__(self):
        super().__init__()
        self.label_for, self.ids, self.controls = [], set(), []
        self._open_labels = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "label":
            self.label_for.append(attrs.get("for"))
        if tag in ("input", "select", "textarea") and attrs.get("type") not in ("hidden", "submit", "button"):
            self.controls.append(attrs)


def _controls(html):
    parser = _Controls()
    parser.feed(html)
    return parser


PAGES = ["/settings", "/audit", "/admin/users", "/admin/working-hours", "/visitors/log", "/visitors/new",
         "/complaints", "/complaints/register", "/customers", "/directory", "/callbacks/stats", "/calls/new",
         "/mail", "/lost-found", "/duty", "/"]


@pytest.fixture
def everyone(make_user, auth):
    """One person who may open every page above."""
    make_user("all", "admin", "front_desk", "service_manager", "specialist", department="客户服务部")
    auth.login("all")


@pytest.mark.parametrize("url", PAGES)
def test_every_control_on_a_page_has_a_label_that_points_at_it(client, everyone, url):
    response = client.get(url)
    assert response.status_code == 200
    page = _controls(response.get_data(as_text=True))
    labelled = set(page.label_for)
    assert None not in labelled, "a label without for"
    assert labelled <= page.ids, f"labels for nothing: {labelled - page.ids}"
    unlabelled = [c for c in page.controls
                  if c.get("id") not in labelled and not c.get("aria-label") and c.get("name") != "version"]
    assert not unlabelled, f"controls without a label: {unlabelled}"


def test_a_hand_written_filter_shows_its_error_beside_the_field(client, everyone):
    response = client.get("/callbacks/stats?month=2026-13")
    html = response.get_data(as_text=True)
    field = re.search(r'<div class="field[^"]*has-error[^"]*">.*?</div>', html, re.S).group(0)
    assert 'for="stats-month"' in field
    assert re.search(r'<input id="stats-month"[^>]*aria-invalid="true"[^>]*aria-describedby="stats-month-error"|'
                     r'<input id="stats-month"[^>]*aria-describedby="stats-month-error"[^>]*aria-invalid="true"', field)
    assert 'value="2026-13"' in field, "what was typed is kept"
    assert '<p class="error" id="stats-month-error">' in field


def test_a_hand_written_setting_keeps_its_hint_tied_to_it(client, everyone):
    html = client.get("/settings").get_data(as_text=True)
    hint = re.search(r'<p class="hint" id="(s-[^"]+)-hint">', html)
    assert hint, "settings with help text show it as the field's hint"
    control = re.search(r'<input id="%s"[^>]*>' % re.escape(hint.group(1)), html).group(0)
    assert f'aria-describedby="{hint.group(1)}-hint"' in control


def test_a_plain_form_posts_with_the_token_csrf_wrote(client, make_user, auth):
    """Without JavaScript no header carries the token: the hidden input csrf() wrote must."""
    from models.notifications import Notification, notify
    user = make_user("desk", "front_desk")
    auth.login("desk")
    with client.application.app_context():
        notify(user, "A parcel is waiting.")
    html = client.get("/notifications/").get_data(as_text=True)
    form = re.search(r'<form method="post" action="/notifications/read-all">.*?</form>', html, re.S).group(0)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    response = client.post("/notifications/read-all", data={"csrf_token": token}, csrf=False)
    assert response.status_code in (302, 303)
    assert Notification.select().where(Notification.read_at.is_null()).count() == 0
