"""Keep the catalogs in step with the code: extract the strings, merge them into
translations/*/messages.po, and list what still lacks a Chinese translation.

    .venv/bin/python scripts/translations.py          # update and report
"""
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = ["-k", "_l", "-k", "N_"]


def main():
    pot = ROOT / "translations" / "messages.pot"
    bin_dir = Path(sys.executable).parent
    subprocess.run([bin_dir / "pybabel", "extract", "-F", "babel.cfg", *KEYWORDS, "--no-location",
                    # pybabel skips directories starting with "_" unless told otherwise: templates/_macros.
                    "--ignore-dirs", ".* __pycache__",
                    "--sort-output", "-o", str(pot), "."], cwd=ROOT, check=True)
    for locale in ("zh_Hans", "en"):
        po = ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po"
        command = "update" if po.exists() else "init"
        subprocess.run([bin_dir / "pybabel", command, "-i", str(pot), "-d", "translations", "-l", locale,
                        "--no-wrap"] + (["--no-fuzzy-matching", "--ignore-obsolete"] if command == "update" else []),
                       cwd=ROOT, check=True)
    with open(ROOT / "translations" / "zh_Hans" / "LC_MESSAGES" / "messages.po", "rb") as f:
        catalog = read_po(f)
    missing = [m.id for m in catalog
               if m.id and not all(m.string if isinstance(m.string, tuple) else (m.string,))]
    for msgid in missing:
        print("untranslated:", msgid)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
