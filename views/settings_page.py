"""The admin's settings page: every deadline, threshold and limit in one place."""
from flask import Blueprint, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from models import settings
from views.access import allow
from views.ui import redirect_to, render, toast

bp = Blueprint("settings_page", __name__)

MAX_VALUE_LENGTH = 500


@bp.route("/settings", methods=["GET", "POST"])
@allow("settings.edit")
def edit():
    """Show and change the settings, grouped by section."""
    sections = settings.sections()
    values = {key: settings.SPECS[key].format(value) for key, value in settings.get_all().items()}
    errors = {}
    if request.method == "POST":
        parsed = {}
        for key, spec in settings.SPECS.items():
            text = request.form.get(key, "")
            if spec.kind is bool:
                text = "true" if text else "false"
            values[key] = text
            if len(text) > MAX_VALUE_LENGTH:
                errors[key] = _("At most %(n)d characters.", n=MAX_VALUE_LENGTH)
                continue
            try:
                parsed[key] = spec.parse(text)
            except ValueError as exc:
                errors[key] = str(exc)
        if not errors:
            changed = settings.save(current_user, parsed)
            toast(_("Settings saved.") if changed else _("Nothing was changed."))
            return redirect_to(url_for("settings_page.edit"))
    status = 422 if errors else 200
    return render("admin/settings.html", "form", status=status, sections=sections, values=values, errors=errors)
