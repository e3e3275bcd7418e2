"""Layers point one way, read statically from every module's imports (also those made
inside a function: a lazy import is still a dependency).

    consumer ─> app ─> views ─> tasks ─> printing ─> models
                  └──────────────┴─> config

- models/ is the domain: peewee, the rules, the audit. It imports only models/ (and the
  standard library and third-party packages). Not printing: rendering is presentation,
  and a rule must not need templates or WeasyPrint to run. Not config: at run time the
  app's config (create_app(test_config), read through current_app.config) is the truth;
  config.py only gives its defaults from the environment.
- printing.py turns a record into a PDF for views and tasks alike: it may read models,
  never a view or a task.
- tasks/ never import a view (no faked requests) and never the app: the consumer entry
  module creates the app, as Huey's Flask documentation does.
- views/ may queue tasks and print, but never reach the app factory that mounts them.
- config.py reads the environment and nothing of ours, so anyone may read it.
Where a model's change must set off later work (a notification's e-mail, a callback
once the customer is informed), the model writes what is owed and a sweep in tasks/
finds it by the data: the arrow runs from tasks to models, and nothing is queued
inside a transaction that may still roll back."""
import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: The project's own top-level modules and what each may import of the others.
MAY_IMPORT = {
    "config": set(),
    "models": set(),
    "printing": {"models"},
    "tasks": {"models", "printing", "config"},
    "views": {"models", "printing", "tasks"},
    "app": {"config", "models", "views", "tasks"},
    "consumer": {"app", "tasks"},
}
#: Not layers: the tests and the scripts drive everything from outside; gunicorn reads
#: its configuration file itself.
OUTSIDE = {"tests", "scripts", "gunicorn.conf"}


def top_level_modules():
    """Every module and package at the project's root (what an import can name)."""
    names = set()
    for entry in os.listdir(ROOT):
        if entry.startswith("."):
            continue
        path = os.path.join(ROOT, entry)
        if entry.endswith(".py"):
            names.add(entry[:-3])
        elif os.path.isfile(os.path.join(path, "__init__.py")) or (
                os.path.isdir(path) and any(f.endswith(".py") for f in os.listdir(path))):
            names.add(entry)
    return names


def source_files(layer):
    path = os.path.join(ROOT, layer)
    if os.path.isfile(path + ".py"):
        yield path + ".py"
        return
    for folder, _dirs, files in os.walk(path):
        yield from (os.path.join(folder, f) for f in sorted(files) if f.endswith(".py"))


def imported_modules(source, package):
    """(line, top-level name) of every import in the source, relative ones resolved."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name.split(".")[0]) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield node.lineno, (package if node.level else node.module.split(".")[0])


def test_every_module_of_the_project_has_a_place_in_the_layers():
    assert top_level_modules() - OUTSIDE == set(MAY_IMPORT)


def test_the_import_reader_sees_lazy_and_relative_imports():
    source = "import os\ndef f():\n    from views.reports import report_pdf\nfrom . import base\n"
    assert sorted(imported_modules(source, "models")) == [(1, "os"), (3, "views"), (4, "models")]


@pytest.mark.parametrize("layer", sorted(MAY_IMPORT))
def test_layers_import_only_what_lies_below_them(layer):
    own = top_level_modules()
    wrong = []
    for path in source_files(layer):
        with open(path, encoding="utf-8") as f:
            source = f.read()
        for line, name in imported_modules(source, layer):
            if name in own and name != layer and name not in MAY_IMPORT[layer]:
                wrong.append(f"{os.path.relpath(path, ROOT)}:{line} imports {name}")
    assert wrong == []
