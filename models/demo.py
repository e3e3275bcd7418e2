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
    seed_callbacks_demo()
    return password


def seed_callbacks_demo():
    """Callbacks to look at: a resolved complaint waiting for its callback (VIP), and an
    imported sales list whose 30-day callbacks fall due today and soon."""
    import datetime as dt

    from models import complaints
    from models.callbacks import Callback, Sale, schedule_due
    from models.complaints import Complaint, find_or_create_customer
    from models.timezone import local_now
    if Callback.select().exists() or Sale.select().exists():
        return
    specialist, manager = User.by_username("specialist"), User.by_username("manager")
    repairs = Department.get(Department.name == "工程维修部")
    complaint = complaints.create(specialist, name="孙丽", phone="13912345678", content="新买的冰箱不制冷",
                                  channel="phone", category="product quality", severity="general", is_vip=True)
    for action, actor, extra in [("acknowledge", specialist, {"note": "已致歉，承诺当天安排上门"}),
                                 ("assign", specialist, {"department_id": repairs.id}),
                                 ("handle", manager, {"note": "上门补充制冷剂"}),
                                 ("report", manager, {"note": "已恢复制冷"}),
                                 ("inform", specialist, {"note": "已电话告知客户"})]:
        current = Complaint.get_by_id(complaint.id)
        complaints.apply(current.id, action, actor, current.version, **extra)
    today = local_now().date()
    with write_transaction():
        for name, phone, product, days_ago, warranty_days, window in [
                ("周强", "13812340001", "滚筒洗衣机 XQG100", 30, 1065, ""),
                ("吴敏", "13812340002", "变频空调 KFR-35", 30, 2160, "19:00-20:30"),
                ("郑涛", "13812340003", "电热水器 60L", 700, 31, "")]:
            customer = find_or_create_customer(manager, name, phone)
            customer.callback_window = window or None
            customer.save()
            Sale.create(customer=customer, product=product, sale_date=today - dt.timedelta(days=days_ago),
                        warranty_end=today + dt.timedelta(days=warranty_days), source="demo.xlsx", imported_by=manager)
    schedule_due()
