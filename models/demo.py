"""Demo data for `make run`, so a first look at the portal is not an empty screen."""
from models.base import write_transaction
from models.notifications import N_, notify
from models.users import Department, User, create_user, generate_password

DEPARTMENTS = ["客户服务部", "行政后勤部", "前台接待", "销售部", "工程维修部"]

# username, display name, department, roles, extension
STAFF = [
    ("desk", "王芳", "前台接待", ["front_desk"], "8001"),
    ("desk2", "李娜", "前台接待", ["front_desk"], "8002"),
    ("specialist", "张伟", "客户服务部", ["specialist"], "8101"),
    ("logistics", "刘洋", "行政后勤部", ["logistics"], "8201"),
    ("head", "陈静", "客户服务部", ["dept_head", "specialist"], "8102"),
    ("manager", "杨磊", "客户服务部", ["service_manager"], "8100"),
    ("leader", "赵敏", None, ["leadership"], "8000"),
]


def seed_demo(only_if_empty=False):
    """Create the demo departments and staff. Returns their shared password, or
    None when demo data was there already and only_if_empty was asked."""
    if only_if_empty and User.by_username("desk"):
        return None
    password = generate_password()
    with write_transaction():
        departments = {name: Department.get_or_create(name=name)[0] for name in DEPARTMENTS}
        for username, name, department, roles, extension in STAFF:
            if User.by_username(username):
                continue
            user = create_user(None, username, name, roles, password,
                               department=departments.get(department), extension=extension,
                               mobile=f"139{extension}{extension[-4:]}")
            notify(user, N_("Welcome to the service portal, %(name)s."), name=name)
    return password
