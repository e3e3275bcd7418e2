"""GET /healthz for monitors and load balancers."""
from flask import Blueprint, current_app, jsonify

from models.base import db
from views.access import public

bp = Blueprint("health", __name__)


@bp.route("/healthz")
@public
def healthz():
    """Database and queue status and the version; 503 when the database is unreachable."""
    status = {"version": current_app.config["VERSION"], "database": "ok", "queue": "ok"}
    code = 200
    try:
        db.execute_sql("SELECT 1").fetchone()
    except Exception as exc:  # noqa: BLE001  any failure means "down"
        current_app.logger.warning("healthz: database unreachable: %s", exc)
        status["database"] = "unreachable"
        code = 503
    try:
        from tasks import huey
        status["queue_pending"] = huey.pending_count()
    except Exception as exc:  # noqa: BLE001
        current_app.logger.warning("healthz: queue unreachable: %s", exc)
        status["queue"] = "unreachable"
    status["status"] = "ok" if code == 200 and status["queue"] == "ok" else "degraded"
    return jsonify(status), code
