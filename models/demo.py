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
    seed_procurement_demo()
    return password


VISITORS = [("李明", "13800138001", "华信科技"), ("王强", "13911112222", "顺达物流"), ("赵丽", "13722223333", "恒通设备"),
            ("孙浩", "13633334444", "明远咨询"), ("周敏", "13544445555", ""), ("吴刚", "13455556666", "城建集团")]
CALLERS = [("钱女士", "13312345678", "咨询保修期"), ("郑先生", "13298765432", "询问发票寄送"),
           ("冯经理", "13187654321", "洽谈维修合同"), ("陈女士", "13076543210", "反映送货延误")]


def _front_desk_history(days=60):
    """Two months of visits and calls on working days, so the board's trend and the
    reports have something to show. Seeded: the same data on every machine; loaded once."""
    from models.calls import Call
    from models.numbering import next_number
    from models.timezone import local_now, to_utc
    from models.visitors import Visit
    if Visit.select().exists():
        return
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


def seed_procurement_demo():
    """Suppliers, requisitions at each stage of the chain, and some stock."""
    import datetime as dt
    from decimal import Decimal

    from models import procurement
    from models.procurement import Supplier
    from models.timezone import local_now
    if Supplier.select().exists():
        return
    people = {u.username: u for u in User.select().where(User.username.in_(
        ["specialist", "head", "logistics", "leader", "desk"]))}
    if len(people) < 5:
        return
    requester, head, logistics, leader = (people[k] for k in ("specialist", "head", "logistics", "leader"))
    soon = local_now().date() + dt.timedelta(days=10)
    suppliers = [procurement.save_supplier(logistics, name=name, tax_id=tax_id, contact=contact, phone=phone,
                                           address=address)
                 for name, tax_id, contact, phone, address in (
                     ("上海晨光文具有限公司", "91310115MA1H7G2K56", "周经理", "021-58123456", "上海市浦东新区"),
                     ("北京联想科技服务有限公司", "91110105MA01R8XQ3K", "吴工", "13910012345", "北京市朝阳区"),
                     ("广州洁净日用品有限公司", "91440101MA5CJ4T67B", "郑小姐", "020-87654321", "广州市天河区"))]

    def line(name, spec, quantity, unit, price, purpose):
        return {"item_name": name, "spec": spec, "quantity": quantity, "unit": unit,
                "unit_price": Decimal(price), "needed_on": soon, "purpose": purpose}

    def make(lines, submit=True):
        department_id = requester.department_id or Department.select().first().id
        return procurement.create(requester, department_id=department_id, lines=lines, submit=submit)

    def step(requisition, actor, decision="approve", **kwargs):
        current = procurement.Requisition.get_by_id(requisition.id)
        return procurement.decide(current.id, actor, current.version, decision, **kwargs)

    paper = line("A4复印纸", "70g 500张/包", 40, "包", "28.50", "日常打印")
    pens = line("中性笔", "0.5mm 黑色", 10, "盒", "18.00", "前台登记")
    make([paper, pens])  # waits for the department head
    laptop = make([line("笔记本电脑", "ThinkPad E14 i5/16G/512G", 2, "台", "4800.00", "客服专员更换")])
    step(laptop, head)  # waits for logistics
    big = make([line("会议室投影仪", "EPSON CB-FH52", 1, "台", "5600.00", "会议室")])
    step(big, head)
    step(big, logistics, purchase_method="quotation", budget_checked=True, confirmed_amount=Decimal("5480.00"))
    returned = make([line("办公椅", "人体工学 网背", 6, "把", "680.00", "客服中心")])
    step(returned, head, "reject", reason="预算不足，先买3把")
    make([line("白板笔", "红蓝黑三色", 5, "盒", "22.00", "培训")], submit=False)  # a draft

    stocked = make([paper, line("垃圾袋", "45×50cm 加厚", 20, "卷", "6.50", "保洁"),
                    line("抽纸", "三层 120抽", 30, "包", "4.20", "前台")])
    step(stocked, head)
    step(stocked, logistics, purchase_method="direct", budget_checked=True, confirmed_amount=Decimal("1396.00"))
    current = procurement.Requisition.get_by_id(stocked.id)
    order = procurement.place_order(current.id, logistics, current.version, supplier_id=suppliers[0].id,
                                    delivery_date=local_now().date(), quality_standard="合格证齐全", lines={})
    current = procurement.Requisition.get_by_id(stocked.id)
    lines = {ol.id: (ol.quantity - (2 if ol.item_name == "抽纸" else 0), 2 if ol.item_name == "抽纸" else 0,
                     "包装破损" if ol.item_name == "抽纸" else "", "return") for ol in order.lines_list()}
    procurement.receive(current.id, logistics, current.version, received_on=local_now().date(), lines=lines)
    paper_item = procurement.StockItem.get(procurement.StockItem.name == "A4复印纸")
    procurement.issue(people["desk"], item_id=paper_item.id, quantity=5, taken_by="张伟",
                      department_id=requester.department_id)
