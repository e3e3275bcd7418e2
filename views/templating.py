"""What every template can use: permissions, navigation, time display, labels."""
from flask import current_app, g, request, url_for
from flask_babel import format_date, format_datetime, get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from models import fulltext
from models.audit import action_label, record_type_label
from models.base import readable
from models.money import format_money
from models.phones import format_phone
from models.roles import ROLES, role_label
from models.timezone import to_local
from views.access import can

#: The navigation: (label, endpoint, permission). Areas add their entries here.
NAVIGATION = [
    (_l("Home"), "home.index", "home"),
    # Early in the list: its count is what tells a department that something waits on it.
    (_l("Department inbox"), "complaints.inbox", "complaints.department"),
    (_l("Visitors"), "visitors.desk", "visitors.desk"),
    (_l("Calls"), "calls.index", "calls.desk"),
    (_l("Appointments"), "visitors.appointments", "visitors.book"),
    (_l("Duty log"), "duty.today", "duty.log"),
    (_l("Emergencies"), "incidents.index", "incidents.report"),
    (_l("Mail"), "mail.index", "mail.desk"),
    (_l("Lost and found"), "lost_found.index", "mail.desk"),
    (_l("Watchlist"), "visitors.watchlist", "visitors.watchlist"),
    (_l("Complaints"), "complaints.index", "complaints.work"),
    (_l("Customers"), "complaints.customers", "complaints.work"),
    (_l("Reports"), "reports.index", "reports.view"),
    (_l("Weekly archive"), "weekly_archive.index", "reports.weekly_archive"),
    (_l("Callbacks"), "callbacks.index", "callbacks.work"),
    (_l("Returns"), "returns.index", "returns.work"),
    (_l("Home visits"), "home_visits.index", "home_visits.work"),
    (_l("Repair visits"), "service_visits.index", "service_visits.work"),
    (_l("Users"), "admin.users", "users.manage"),
    (_l("Settings"), "settings_page.edit", "settings.edit"),
    (_l("Audit log"), "audit_log.index", "audit.view"),
    (_l("Personal data enquiry"), "admin.personal_data", "privacy.manage"),
    (_l("Failed messages"), "admin.deliveries", "users.manage"),
    (_l("Board screens"), "board.tokens", "board.tokens"),
    (_l("Working hours"), "worktime.index", "settings.edit"),
    (_l("Procurement"), "procurement.index", "procurement.request"),
    (_l("Suppliers"), "suppliers.index", "procurement.manage"),
    (_l("Stock"), "stock.index", "stock.view"),
    (_l("Approval chain"), "approval_chain.index", "procurement.chain"),
    (_l("Advance compensation"), "compensations.index", "compensations.work"),
    (_l("Compensation tiers"), "compensations.tiers", "compensations.tiers"),
    (_l("Broadcast"), "broadcast.index", "broadcast.air"),
    (_l("Broadcast log"), "broadcast.log", "broadcast.read"),
    (_l("Vehicles"), "vehicles.index", "admin_services.use"),
    (_l("Training"), "quality_training.index", "quality.own"),
    (_l("Service-capability plan"), "quality_plan.index", "quality.read"),
    (_l("Meeting rooms"), "rooms.index", "admin_services.use"),
    # Quality: the overview shows each person what is theirs, and heads, managers, leadership the rest.
    (_l("Quality"), "quality.index", "quality.own"),
    # Documents (文件档案): what I am to read and what waits on me; the archive for those who keep it.
    (_l("Documents"), "documents.index", "admin_services.use"),
    (_l("Document archive"), "documents.archive_index", "documents.archive"),
    (_l("Assessments"), "quality_assessments.index", "quality.own"),
    # Facility repairs
    (_l("Repairs"), "repairs.index", "repairs.report"),
]

#: endpoint -> function(user) giving the count shown beside its navigation entry (an inbox).
NAV_COUNTS = {}


def nav_count(endpoint):
    """The count beside a navigation entry, computed once per request; 0 shows nothing."""
    counter = NAV_COUNTS.get(endpoint)
    if counter is None or not current_user.is_authenticated:
        return 0
    cache = g.setdefault("nav_counts", {})
    if endpoint not in cache:
        cache[endpoint] = counter(current_user)
    return cache[endpoint]


#: The parts of the department, in the order the navigation and the home page show them.
SECTIONS = [("desk", _l("Front-desk work")), ("service", _l("Customer service")),
            ("logistics", _l("Admin and logistics")), ("management", _l("Management")), ("system", _l("System"))]
#: Which part each area's pages belong to, by blueprint (a blueprint not named here goes to "management").
BLUEPRINT_SECTIONS = {
    "home": "desk", "visitors": "desk", "calls": "desk", "duty": "desk", "incidents": "desk", "mail": "desk",
    "lost_found": "desk", "broadcast": "desk",
    "complaints": "service", "callbacks": "service", "returns": "service", "home_visits": "service",
    "service_visits": "service", "compensations": "service", "weekly_archive": "service",
    "procurement": "logistics", "suppliers": "logistics", "stock": "logistics", "rooms": "logistics",
    "vehicles": "logistics", "repairs": "logistics", "documents": "logistics",
    "admin": "system", "settings_page": "system", "audit_log": "system", "board": "system", "worktime": "system",
    "approval_chain": "system",
}


def navigation():
    """The entries this person may open, part by part (the department's parts, then the system)."""
    return [(label, endpoint) for _section, entries in navigation_sections() for label, endpoint in entries]


def navigation_sections():
    """[(section label, [(label, endpoint)])] of what this person may open; empty parts left out."""
    if "navigation" in g:
        return g.navigation
    entries = {key: [] for key, _label in SECTIONS}
    for label, endpoint, permission in NAVIGATION:
        if can(permission):
            entries[BLUEPRINT_SECTIONS.get(endpoint.split(".")[0], "management")].append((label, endpoint))
    g.navigation = [(label, entries[key]) for key, label in SECTIONS if entries[key]]
    return g.navigation


NUMERIC_FORMATS = {"yyyy-MM-dd HH:mm": "%Y-%m-%d %H:%M", "HH:mm": "%H:%M", "MM-dd HH:mm": "%m-%d %H:%M"}


def local_datetime(value, fmt="yyyy-MM-dd HH:mm"):
    if not value:
        return ""
    if fmt in NUMERIC_FORMATS:  # digits only: the same in every language, and far cheaper than Babel
        return to_local(value).strftime(NUMERIC_FORMATS[fmt])
    return format_datetime(to_local(value).replace(tzinfo=None), fmt)


def local_date(value, fmt="yyyy-MM-dd"):
    return format_date(value, fmt) if value else ""


def url_with_lang(lang):
    args = request.args.to_dict()
    args["lang"] = lang
    try:
        return url_for(request.endpoint, **(request.view_args or {}), **args)
    except Exception:  # noqa: BLE001  error pages have no endpoint to rebuild
        return url_for("home.index", lang=lang)


def register_template_helpers(app):
    # Every value a template outputs: an anonymised field, or a text that copied one, reads
    # "Anonymised" in the reader's language on every page and printed form, without each template
    # knowing which of its fields a person's data may have been.
    app.jinja_env.finalize = readable
    app.jinja_env.filters["phone"] = format_phone
    app.jinja_env.filters["datetime"] = local_datetime
    app.jinja_env.filters["date"] = local_date
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["role"] = role_label
    app.jinja_env.filters["audit_action"] = action_label
    app.jinja_env.filters["record_type"] = record_type_label
    app.jinja_env.filters["dict_without"] = lambda mapping, *keys: {k: v for k, v in mapping.items() if k not in keys}
    app.jinja_env.globals.update(can=can, navigation=navigation, navigation_sections=navigation_sections, ROLES=ROLES, url_with_lang=url_with_lang)
    app.jinja_env.globals["nav_count"] = nav_count
    app.jinja_env.globals["text_search_cannot_look_up"] = fulltext.only_single_characters

    @app.context_processor
    def common():
        locale = get_locale()
        return {
            "company_name": current_app.config["COMPANY_NAME"],
            "html_lang": "zh-Hans" if locale and locale.language == "zh" else "en",
            "request_id": g.get("request_id", ""),
            "current_user": current_user,
        }
