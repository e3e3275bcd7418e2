"""Roles and what each may do: the single table every permission check reads."""
from flask_babel import lazy_gettext as _l

ROLES = {
    "front_desk": _l("Front desk"),
    "specialist": _l("Service specialist"),
    "logistics": _l("Logistics"),
    "dept_head": _l("Department head"),
    "service_manager": _l("Service manager"),
    "leadership": _l("Leadership"),
    "admin": _l("Administrator"),
    "broadcaster": _l("Broadcaster"),
}

#: Anyone logged in, whatever their roles.
AUTHENTICATED = "authenticated"

#: permission -> the roles that hold it. Views declare a permission; nothing else
#: decides access. Later areas add their permissions here.
PERMISSIONS = {
    "home": {AUTHENTICATED},
    "users.manage": {"admin"},
    "settings.edit": {"admin"},
    "audit.view": {"admin"},
    # Finding, exporting and anonymising what the portal holds about one person (PIPL requests).
    "privacy.manage": {"admin"},
    "board.tokens": {"admin"},
    # The desk's own work; the administrator runs the system, not the desk.
    "visitors.desk": {"front_desk", "service_manager"},
    "calls.desk": {"front_desk", "service_manager"},
    "visitors.watchlist": {"service_manager", "admin"},
    # Hosts book their own visitors ahead; the desk books for them.
    "visitors.book": {AUTHENTICATED},
    "duty.log": {"front_desk", "service_manager"},
    "duty.sign": {"service_manager"},
    "incidents.report": {"front_desk", "service_manager"},
    "mail.desk": {"front_desk", "service_manager"},
    # Staff phone numbers beyond the extension (mobile, private) are personal data.
    "staff.private_phone": {"admin", "service_manager", "dept_head"},
    # Complaints: the service desk takes them in, departments handle what is assigned to them;
    # which step each role may take is decided by models.complaints.TRANSITIONS.
    "complaints.work": {"specialist", "service_manager", "dept_head", "admin"},
    # A department's own people (any role) sign for, handle and report what is assigned to them;
    # which complaints each person sees is models.complaints.visible_to.
    "complaints.department": {AUTHENTICATED},
    # The desk turns a complaint call into a complaint; customer service works it.
    "complaints.intake": {"front_desk", "specialist", "service_manager", "dept_head", "admin"},
    # A department head alone reads only their own department's figures (views.reports).
    "reports.view": {"service_manager", "leadership", "dept_head", "admin"},
    "reports.all_departments": {"service_manager", "leadership", "admin"},
    # The weekly complaint archive: all departments' complaints; customer service keeps it for the inspection.
    "reports.weekly_archive": {"specialist", "service_manager", "leadership", "admin"},
    # Callbacks: the specialists call, record and import the sales lists; the figures also for leadership.
    "callbacks.work": {"specialist", "service_manager", "admin"},
    "callbacks.stats": {"specialist", "service_manager", "leadership", "admin"},
    # Procurement: any department requests; who approves which step is the approval chain
    # (data, models.procurement); logistics orders, receives and reimburses.
    "procurement.request": {AUTHENTICATED},
    "procurement.manage": {"logistics"},
    "procurement.chain": {"admin"},
    # The stock ledger: logistics keeps it, the front desk issues office supplies from it.
    "stock.view": {"front_desk", "logistics", "service_manager"},
    "stock.issue": {"front_desk", "logistics"},
    # 30-day no-reason returns: the desk and customer service record them; the register and summary also leadership.
    "returns.work": {"front_desk", "specialist", "service_manager"},
    "returns.register": {"front_desk", "specialist", "service_manager", "leadership"},
    # Advance compensation: the desk and the specialists record cases, payments and recoveries;
    # who approves is the tiers (data, models.compensations); an administrator edits the tiers.
    "compensations.work": {"front_desk", "specialist", "service_manager", "leadership"},
    "compensations.propose": {"front_desk", "specialist", "service_manager"},
    "compensations.tiers": {"admin"},
    # Home visits are the specialists' round; repair visits are also taken in at the desk.
    "home_visits.work": {"specialist", "service_manager", "admin"},
    "service_visits.work": {"front_desk", "specialist", "service_manager", "admin"},
    # Admin services
    "admin_services.run": {"logistics"},
    "admin_services.use": {AUTHENTICATED},
    # Broadcasting: the broadcaster airs the programme and writes scripts; the supervisor (service
    # manager) approves scripts and sets the programme; the log is read by the supervisor, leadership
    # and the broadcaster, whose own work it is.
    "broadcast.air": {"broadcaster", "service_manager"},
    "broadcast.edit": {"service_manager"},
    "broadcast.read": {"broadcaster", "service_manager", "leadership"},
    # Vehicles: anyone requests a trip (admin_services.use); logistics keeps the fleet and the drivers.
    "vehicles.manage": {"logistics", "admin"},
    # Meeting rooms: anyone books; logistics prepares; logistics and the administrator keep the rooms.
    "rooms.manage": {"logistics", "admin"},
    # Facility repairs: anyone reports a fault and follows their own; logistics runs the repairs.
    "repairs.report": {AUTHENTICATED},
    "repairs.manage": {"logistics"},
    # The repair ledger and its pass rate: logistics and those who read the reports.
    "repairs.ledger": {"logistics", "service_manager", "leadership", "admin"},
    # Quality (服务质量): the service manager runs inspections, assessments, training and the plan;
    # a head sees and acts for their own department (models.quality.inspections.scope); leadership
    # reads; everyone sees their own fines, rectifications, assessments and training.
    "quality.run": {"service_manager"},
    "quality.department": {"service_manager", "dept_head"},
    "quality.read": {"service_manager", "dept_head", "leadership"},
    "quality.own": {AUTHENTICATED},
    "quality.checklist": {"admin", "service_manager"},
    # Quality assessments: the weights of the dimensions and sources are the administrator's.
    "quality.weights": {"admin"},
    # Documents (文件档案): drafting; the archive and its retention review. Reading what was issued to
    # one is admin_services.use; who reviews, signs off and issues is models.documents.TRANSITIONS.
    "documents.draft": {"logistics", "service_manager", "dept_head", "admin"},
    "documents.archive": {"logistics", "leadership", "admin"},
}


def role_label(role):
    return ROLES.get(role, role)


def roles_allowed(permission):
    try:
        return PERMISSIONS[permission]
    except KeyError:
        raise LookupError(f"undeclared permission {permission!r}") from None


def has_permission(roles, permission):
    allowed = roles_allowed(permission)
    return AUTHENTICATED in allowed or bool(allowed.intersection(roles))
