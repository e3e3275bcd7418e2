"""No visible string left untranslated: the catalogs against the code and templates."""
import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None, "N_": None}
METHOD_MAP = [("templates/**.html", "jinja2"), ("app.py", "python"), ("models/**.py", "python"),
              ("views/**.py", "python"), ("tasks/**.py", "python")]


def _read_directory(path):
    # Babel's own default skips directories starting with "_", and templates/_macros is one.
    name = Path(path).name
    return not name.startswith(".") and name != "__pycache__"


def extracted_messages():
    found = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), METHOD_MAP, keywords=KEYWORDS, options_map={"templates/**.html": {}},
            directory_filter=_read_directory):
        if "/.venv/" in filename or filename.startswith(".venv"):
            continue
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault(msgid, filename)
    return found


def catalog(locale):
    with open(ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f)


def test_every_string_in_the_code_has_a_chinese_translation():
    chinese = catalog("zh_Hans")
    def translated(msgid):
        message = chinese.get(msgid)
        if message is None:
            return False
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        return all(forms)
    missing = [f"{msgid!r} ({where})" for msgid, where in extracted_messages().items() if not translated(msgid)]
    assert missing == [], "untranslated (run scripts/translations.py):\n" + "\n".join(missing)


def test_the_english_catalog_knows_every_string():
    english = catalog("en")
    missing = [msgid for msgid in extracted_messages() if english.get(msgid) is None]
    assert missing == [], "run scripts/translations.py"


def test_each_msgid_is_translated_once():
    """Branches' catalogs are merged line by line (*.po merge=union): two translations of one msgid
    would both survive the merge, and the catalog would silently keep one of them."""
    for locale in ("zh_Hans", "en"):
        text = (ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8")
        entries = re.findall(r'^(msgctxt "(?:[^"\\]|\\.)*"\n)?msgid ((?:"(?:[^"\\]|\\.)*"\n?)+)', text, re.M)
        seen, twice = set(), []
        for context, msgid in entries:
            if (context, msgid) in seen:
                twice.append(msgid.strip())
            seen.add((context, msgid))
        assert twice == [], f"{locale}: msgids listed more than once (keep one translation):\n" + "\n".join(twice)


def test_placeholders_survive_translation():
    for message in catalog("zh_Hans"):
        msgid = message.id[0] if isinstance(message.id, tuple) else message.id
        text = message.string[0] if isinstance(message.string, tuple) else message.string
        if msgid and text:
            assert set(re.findall(r"%\(\w+\)[sd]", msgid)) == set(re.findall(r"%\(\w+\)[sd]", text)), msgid


# Text a person reads in a template must be inside {{ _("…") }}: strip everything
# that is code or markup and see that no Latin words are left.
_CODE = re.compile(r"{#.*?#}|{%.*?%}|{{.*?}}|<script.*?</script>|<style.*?</style>|<svg.*?</svg>", re.S)
_TAG = re.compile(r"<[^>]*>", re.S)
_VISIBLE_ATTRS = re.compile(r'\b(?:placeholder|title|aria-label|alt)="([^"{]*[A-Za-z][^"]*)"')
ALLOWED = {"English", "A4", "QR", "PDF", "CSV", "XLSX", "×"}


def test_templates_show_no_untranslated_text():
    offenders = []
    for path in (ROOT / "templates").rglob("*.html"):
        if path.parts[-2] in ("print", "_macros") or path.relative_to(ROOT).as_posix() == "templates/board/board.html":
            # Printed forms are Chinese by design, the wall board shows both languages at
            # once, and macros take their text as arguments.
            continue
        source = path.read_text()
        without_code = _CODE.sub(" ", source)
        for attr in _VISIBLE_ATTRS.findall(without_code):
            offenders.append(f"{path.name}: attribute {attr!r}")
        text = _TAG.sub(" ", without_code)
        for word in re.findall(r"[A-Za-z][A-Za-z']+", text):
            if word not in ALLOWED:
                offenders.append(f"{path.relative_to(ROOT)}: {word!r}")
    assert offenders == []


def test_language_choice_is_kept_on_the_account(client, auth, make_user):
    from models.users import User
    make_user("desk")
    auth.login("desk")
    client.get("/?lang=zh")
    assert User.by_username("desk").locale == "zh_Hans"
    other = client.application.test_client()
    other.post("/login", data={"username": "desk", "password": "correct-horse-battery"},
               headers={"Accept-Language": "en"})
    assert "首页" in other.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
