"""Online backup of the embedded database."""
import sqlite3

from models.base import db, is_sqlite


def backup_sqlite(path):
    """Copy the live SQLite database to `path` (consistent while the portal runs)."""
    if not is_sqlite():
        raise RuntimeError("backup copies the embedded SQLite database; "
                           "for PostgreSQL use pg_dump (see README).")
    source = db.connection()
    target = sqlite3.connect(path)
    try:
        with target:
            source.backup(target)
    finally:
        target.close()
