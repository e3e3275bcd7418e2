"""Demo data for `make run`, so a first look at the portal is not an empty screen."""
import datetime as dt
import random

from models.base import utcnow, write_transaction
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
        _front_desk_history()
    seed_callbacks_demo()
    return password


VISITORS = [("李明", "13800138001", "华信科技"), ("王强", "13911112222", "顺达物流"), ("赵丽", "13722223333", "恒通设备"),
            ("孙浩", "13633334444", "明远咨询"), ("周敏", "13544445555", ""), ("吴刚", "13455556666", "城建集团")]
CALLERS = [("钱女士", "13312345678", "咨询保修期"), ("郑先生", "13298765432", "询问发票寄送"),
           ("冯经理", "13187654321", "洽谈维修合同"), ("陈女士", "13076543210", "反映送货延误")]


def _front_desk_history(days=60):
    """Two months of visits and calls on working days, so the board's trend and the
    reports have something to show. Seeded: the same data on every machine."""
    from models.calls import Call
    from models.numbering import next_number
    from models.timezone import local_now, to_utc
    from models.visitors import Visit
    rng = random.Random(2026)
    desk, hosts = User.by_username("desk"), [User.by_username(name) for name in ("specialist", "head", "logistics")]
    today = local_now().date()
    for offset in range(days, 0, -1):
        day = today - dt.timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for _ in range(rng.randint(3, 9)):
            name, phone, organisation = rng.choice(VISITORS)
            arrived = to_utc(dt.datetime.combine(day, dt.time(rng.randint(9, 16), rng.randint(0, 59))))
            Visit.create(number=next_number("VP"), visitor_name=name, phone=phone, organisation=organisation,
                         purpose=rng.choice(["meeting", "business", "delivery", "maintenance", "interview"]),
                         host=rng.choice(hosts), companions=rng.choice([0, 0, 1, 2]), arrived_at=arrived,
                         state="left", host_answer="coming",
                         host_answered_at=arrived + dt.timedelta(minutes=rng.randint(1, 8)),
                         left_at=arrived + dt.timedelta(minutes=rng.randint(20, 120)), registered_by=desk)
        for _ in range(rng.randint(5, 14)):
            name, phone, reason = rng.choice(CALLERS)
            taken = to_utc(dt.datetime.combine(day, dt.time(rng.randint(8, 17), rng.randint(0, 59))))
            promised = rng.random() < 0.2
            Call.create(caller_name=name, phone=phone, reason=reason, taken_by=desk, taken_at=taken,
                        call_type=rng.choice(["inquiry", "inquiry", "business", "complaint", "other"]),
                        outcome="promised" if promised else "answered",
                        answer_text="" if promised else "已答复", promiser=rng.choice(hosts) if promised else None,
                        reply_due=taken + dt.timedelta(hours=4) if promised else None,
                        replied_at=taken + dt.timedelta(hours=rng.choice([1, 2, 3, 6])) if promised else None,
                        reply_note="已回电答复" if promised else "")
    now = utcnow()
    for minutes, (name, phone, organisation), state in ((95, VISITORS[0], "on_site"), (40, VISITORS[1], "on_site"),
                                                        (6, VISITORS[2], "waiting")):
        arrived = now - dt.timedelta(minutes=minutes)
        Visit.create(number=next_number("VP"), visitor_name=name, phone=phone, organisation=organisation,
                     purpose="meeting", host=hosts[minutes % len(hosts)], arrived_at=arrived, state=state,
                     host_answer="coming" if state == "on_site" else "",
                     host_answered_at=arrived + dt.timedelta(minutes=3) if state == "on_site" else None,
                     registered_by=desk)


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
