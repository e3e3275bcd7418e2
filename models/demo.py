"""Demo data for `make run`: a department as it looks after a few weeks of work, so a
first look at the portal shows every area working, not an empty screen.

Everything is made through the domain functions, so states, timelines, audit entries,
numbers and notifications are the real ones. Those functions stamp the present moment;
where a story happened in the past, the demo moves its stamps back afterwards (`_set`,
`_audit_times`) and derives what hangs on them (deadlines, handling times) with the
domain's own rules, so "overdue" is what the rules say, not what the demo claims.
Dates are relative to today: the demo looks alive whenever it is loaded. One function
per area, each loading only when its area is empty."""
import datetime as dt
import random
from contextlib import contextmanager

from models.audit import AuditEntry
from models.base import utcnow, write_transaction
from models.notifications import N_, Notification, notify
from models.timezone import local_now, to_utc
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
    # The departments complaints are assigned to handle them with their own people.
    ("repairs", "黄建国", "工程维修部", ["dept_head"], "8301"),
    ("sales", "周婷", "销售部", ["dept_head"], "8401"),
    # The broadcast station (播音) of the service department.
    ("broadcaster", "孙丽", "客户服务部", ["broadcaster"], "8103"),
]


def seed_demo(only_if_empty=False):
    """Create the demo departments, staff and a few weeks of records. Returns the staff's
    shared password, or None when demo data was there already and only_if_empty was asked.

    One transaction: a load that fails half-way leaves nothing, so the next run loads again."""
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
        # The official calendar first: the complaints' deadlines count working time across it.
        seed_calendar_demo()
        seed_complaints_demo()
        seed_callbacks_demo()
        seed_returns_demo()
        seed_visits_demo()
        seed_procurement_demo()
        seed_duty_demo()
        seed_front_desk_demo()
        seed_desk_items_demo()
        seed_compensations_demo()
        seed_broadcast_demo()
        seed_vehicles_demo(password)
        from models.rooms_demo import seed_rooms_demo
        seed_rooms_demo()
        seed_quality_demo()
        seed_documents_demo()
        from models.quality.plan_demo import seed_quality_plan_demo
        seed_quality_plan_demo()
        seed_quality_assessments_demo()
        from models.repairs_demo import seed_repairs_demo
        seed_repairs_demo()
        from models.channels_demo import seed_channels_demo
        seed_channels_demo()
        # The nightly retention sweep's first run: the visits and calls older than their days keep
        # their counts and lose their phone numbers (个人信息查询 shows them so).
        from models.privacy import sweep_retention
        sweep_retention()
    return password


# ---------------------------------------------------------------- moving stamps into the past

def _staff():
    return {u.username: u for u in User.select().where(User.username.in_([s[0] for s in STAFF]))}


def _local(days_ago, hhmm):
    """Naive UTC of a local clock time `days_ago` days before today."""
    hour, minute = (int(part) for part in hhmm.split(":"))
    day = local_now().date() - dt.timedelta(days=days_ago)
    return to_utc(dt.datetime.combine(day, dt.time(hour, minute)))


def _ago(minutes):
    return utcnow() - dt.timedelta(minutes=minutes)


def _moment(when):
    """(days ago, "HH:MM") in local time, or minutes ago."""
    return _ago(when) if isinstance(when, int) else _local(*when)


def _set(model, record_id, **values):
    """Move a record's stamps to when its story happened (the domain stamped "now")."""
    model.update(**values).where(model.id == record_id).execute()


def _audit_times(record, times):
    """The record's audit entries, oldest first, moved to the moments of its story."""
    entries = (AuditEntry.select(AuditEntry.id)
               .where(AuditEntry.record_type == record.record_type(), AuditEntry.record_id == record.id)
               .order_by(AuditEntry.id))
    for entry, at in zip(entries, times):
        _set(AuditEntry, entry.id, at=at)


@contextmanager
def _history():
    """What the staff were told about past events they have read long ago: the
    notifications made inside are marked read, so the bells show only what is new."""
    before = Notification.select(Notification.id).order_by(Notification.id.desc()).scalar() or 0
    yield
    Notification.update(read_at=utcnow()).where(Notification.id > before, Notification.read_at.is_null()).execute()


# ---------------------------------------------------------------- complaints

# key: name, phone, organisation, VIP
CUSTOMERS = {
    "sunli": ("孙丽", "13912345678", "", True),
    "zhou": ("周建华", "13801012233", "", False),
    "lin": ("林晓燕", "13651234567", "", False),
    "huang": ("黄志强", "13922223344", "鑫源贸易有限公司", False),
    "he": ("何雪梅", "13788990011", "", False),
    "ma": ("马俊", "15012345678", "", False),
    "gao": ("高玉兰", "15198765432", "", False),
    "luo": ("罗斌", "18611223344", "远航物流有限公司", True),
    "hu": ("胡婷婷", "18800112233", "", False),
    "guo": ("郭志明", "13366778899", "启明律师事务所", False),
    "liang": ("梁欣", "17712341234", "", False),
    "song": ("宋佳", "18912345670", "蓝海广告有限公司", False),
    "xie": ("谢文", "13590001111", "", False),
    "tang": ("唐海涛", "13688887777", "海涛餐饮管理有限公司", False),
    "han": ("韩梅", "13755556666", "", False),
    "feng": ("冯永刚", "13477778888", "", False),
    "yu": ("于晓波", "18233334444", "", False),
    "dong": ("董秀英", "13522221111", "", False),
    "xiao": ("萧然", "13011112222", "", False),
    "cheng": ("程浩", "15855556666", "", False),
    "zheng": ("郑丽华", "13817776666", "华远置业有限公司", False),
    "lu": ("陆振华", "13901239876", "振华集团", True),
}

#: Who acts for each department on the complaints assigned to it.
HANDLERS = {"工程维修部": "repairs", "销售部": "sales", "行政后勤部": "logistics", "客户服务部": "head"}

ROOT_CAUSES = {
    "product quality": ("到货抽检不严，质量问题未在出库前发现", "加强到货抽检，问题批次反馈厂家整改"),
    "service attitude": ("员工服务意识不足，未按服务规范接待", "组织服务礼仪培训，纳入月度考核"),
    "delivery": ("物流排期变化未及时通知客户", "送货前一天短信和电话确认时间"),
    "billing": ("收费数据核对不及时", "每月账单出具前双人复核"),
    "facilities": ("设施老化，日常巡检不到位", "增加巡检频次，建立设施维修台账"),
    "staff": ("员工未按规范操作", "当事员工已谈话，全员通报学习"),
    "other": ("问题反馈渠道响应不及时", "建立客户问题 24 小时反馈机制"),
}

# (when: (days ago, "HH:MM") or minutes ago, customer, channel, category, severity, department,
#  state reached, content, handling, result; optional: staff person, "late" handling, reopening reason)
COMPLAINTS = [
    ((38, "10:20"), "zhou", "phone", "product quality", "general", "工程维修部", "closed",
     "购买的空气净化器使用一周后出现异响", "上门检测，更换风机", "已更换风机，运行正常", {}),
    ((36, "14:05"), "lin", "visit", "service attitude", "general", "客户服务部", "closed",
     "前台接待人员态度冷淡，询问问题时不耐烦", "约谈当班人员，安排服务礼仪培训", "当事人已向客户电话致歉", {}),
    ((34, "09:40"), "huang", "email", "billing", "general", "销售部", "closed",
     "三月份的物业服务费账单重复收取", "核对账目，退还多收费用", "已退款 1,280 元至客户账户", {}),
    ((33, "16:30"), "he", "phone", "delivery", "general", "销售部", "closed",
     "订购的书柜超过约定日期五天仍未送达", "协调物流加急配送", "书柜已送达并安装完毕", {"late": True}),
    ((31, "11:15"), "ma", "online", "facilities", "general", "行政后勤部", "closed",
     "地下车库多处照明灯不亮，夜间停车不安全", "更换 B2 层 14 盏照明灯", "车库照明已全部恢复", {}),
    ((29, "15:50"), "gao", "letter", "product quality", "general", "工程维修部", "closed",
     "热水器温控失灵，水温忽冷忽热", "更换温控器", "已修复，客户试用正常", {}),
    ((27, "10:05"), "luo", "phone", "delivery", "general", "销售部", "closed",
     "大宗货物签收时发现外包装破损", "核对货损清单，补发破损货品", "补发货品已签收", {}),
    ((25, "13:30"), "hu", "phone", "staff", "general", "客户服务部", "closed",
     "收银员找零时态度恶劣", "约谈收银员并调整岗位", "已向客户书面致歉", {"staff_person": "收银员 陈晓"}),
    ((22, "09:10"), "guo", "fax", "billing", "general", "销售部", "closed",
     "维修费用与报价单不一致", "复核维修工单，按报价单收费", "已退还差额 350 元", {}),
    ((20, "17:20"), "liang", "online", "other", "general", "客户服务部", "closed",
     "网站在线客服长时间无人应答", "调整在线客服排班，增加午间值守", "在线客服已恢复全天值守", {}),
    ((18, "10:45"), "song", "visit", "facilities", "general", "行政后勤部", "closed",
     "会议室空调不制冷，影响客户洽谈", "清洗空调滤网，补充冷媒", "空调制冷已恢复", {"late": True}),
    ((15, "14:00"), "xie", "phone", "product quality", "major", "工程维修部", "closed",
     "电动自行车充电器充电时冒烟起火，险些引发火灾", "封存产品送检，上门检查线路，先行赔偿",
     "厂家确认批次缺陷，同批次充电器已召回，客户已获赔偿", {}),
    ((12, "11:30"), "tang", "email", "delivery", "general", "销售部", "closed",
     "餐厨设备安装延误两天，影响餐厅开业", "加派安装人员连夜安装", "设备已安装调试完成", {}),
    ((9, "15:10"), "han", "phone", "service attitude", "general", "工程维修部", "closed",
     "维修师傅上门未穿鞋套，弄脏地板", "对维修人员进行上门服务规范培训", "已上门清洁并致歉", {}),
    ((7, "10:00"), "feng", "online", "billing", "general", "销售部", "closed",
     "会员积分消费后未到账", "核对消费记录，补录积分", "积分已补录到账", {}),
    ((16, "09:30"), "zhou", "phone", "product quality", "general", "工程维修部", "voided",
     "空气净化器又有异响", "", "", {"void": "重复登记：与上月同一台净化器的投诉为同一事项"}),
    ((6, "16:40"), "yu", "online", "other", "general", "", "voided",
     "询问新款扫地机器人的价格", "", "", {"void": "属于咨询，不是投诉，已转咨询登记"}),
    ((5, "10:30"), "dong", "phone", "facilities", "general", "行政后勤部", "callback",
     "小区门禁卡频繁失灵", "更换门禁读卡模块", "门禁已恢复正常", {}),
    ((4, "14:20"), "xiao", "visit", "delivery", "general", "销售部", "callback",
     "家具送货时磕坏了门框", "安排维修师傅修补门框", "门框已修补完好", {}),
    ((4, "09:00"), "cheng", "phone", "product quality", "general", "工程维修部", "customer_informed",
     "洗碗机运行时漏水", "更换进水阀和密封圈", "已修复，试运行无漏水", {}),
    ((2, "09:30"), "sunli", "phone", "product quality", "general", "工程维修部", "customer_informed",
     "新买的冰箱不制冷", "上门补充制冷剂", "已恢复制冷", {}),
    ((1, "10:10"), "lin", "phone", "billing", "general", "销售部", "customer_informed",
     "停车月卡续费后系统未更新，无法进场", "后台更新车牌授权", "月卡已生效", {}),
    ((1, "14:40"), "ma", "online", "facilities", "general", "工程维修部", "result_reported",
     "3 号楼电梯按钮失灵", "更换按钮面板", "电梯运行正常", {}),
    ((2, "09:50"), "gao", "phone", "delivery", "general", "销售部", "result_reported",
     "送货员未按约定时间上门", "核查派单记录，重新预约送货", "已按新约定时间送达", {}),
    ((2, "16:00"), "luo", "email", "billing", "general", "销售部", "handled",
     "发票抬头开错，无法报销", "作废原发票，重新开具", "", {}),
    ((2, "10:30"), "zheng", "letter", "product quality", "major", "工程维修部", "handled",
     "批量采购的办公桌椅甲醛超标，员工出现不适，客户称将向媒体反映", "封存货品，委托第三方检测机构检测", "", {}),
    ((1, "09:20"), "song", "phone", "service attitude", "general", "客户服务部", "handled",
     "客服热线等待超过 20 分钟无人接听", "调整高峰时段坐席排班", "", {}),
    ((9, "10:00"), "hu", "phone", "product quality", "general", "工程维修部", "assigned",
     "洗衣机脱水时剧烈晃动", "", "", {}),
    ((10, "11:40"), "guo", "visit", "facilities", "general", "行政后勤部", "accepted",
     "写字楼 12 层卫生间长期有异味", "", "", {}),
    (150, "liang", "online", "delivery", "general", "销售部", "assigned",
     "网购的打印机少发了硒鼓", "", "", {}),
    ((1, "16:20"), "xie", "email", "billing", "general", "销售部", "paused",
     "退租后要求退还多扣的押金", "", "", {"pause": "等待客户提供押金收据照片"}),
    (200, "tang", "phone", "facilities", "general", "行政后勤部", "acknowledged",
     "餐厅门口排水沟堵塞，雨天积水", "", "", {}),
    (60, "lu", "phone", "service attitude", "general", "", "acknowledged",
     "客户经理多次未按约定时间回电", "", "", {}),
    ((11, "09:05"), "feng", "letter", "other", "general", "", "received",
     "来信反映小区广场舞噪音扰民，希望物业出面协调", "", "", {}),
    (25, "yu", "phone", "product quality", "general", "", "received",
     "新买的电视机屏幕有亮点", "", "", {}),
    (8, "dong", "visit", "staff", "general", "", "received",
     "门岗保安对来访客户大声呵斥", "", "", {"staff_person": "保安 李师傅"}),
    ((4, "10:15"), "he", "phone", "product quality", "general", "工程维修部", "reopened",
     "空调外机噪音大，影响休息", "加装减震垫，紧固支架", "噪音已明显降低", {"unsatisfied": "客户反映夜间噪音仍然很大"}),
]

#: The steps to each state, and when each is taken (hours after intake).
PATHS = {
    "received": [],
    "acknowledged": ["acknowledge"],
    "assigned": ["acknowledge", "assign"],
    "accepted": ["acknowledge", "assign", "accept"],
    "paused": ["acknowledge", "assign", "accept", "pause"],
    "handled": ["acknowledge", "assign", "accept", "handle"],
    "result_reported": ["acknowledge", "assign", "accept", "handle", "report"],
    "customer_informed": ["acknowledge", "assign", "accept", "handle", "report", "inform"],
    "callback": ["acknowledge", "assign", "accept", "handle", "report", "inform", "satisfied"],
    "closed": ["acknowledge", "assign", "accept", "handle", "report", "inform", "satisfied", "close"],
    "reopened": ["acknowledge", "assign", "accept", "handle", "report", "inform", "unsatisfied"],
    "voided": ["acknowledge", "void"],
}
STEP_HOURS = {"acknowledge": 0.4, "assign": 1.2, "accept": 1.8, "pause": 3, "void": 1.5, "handle": 5,
              "report": 8, "inform": 9.5, "satisfied": 31, "unsatisfied": 31, "close": 33}
#: Late handling, past the 24 hours; a major one within its 72.
LATE_HANDLING_HOURS, MAJOR_HANDLING_HOURS = 27, 28


def seed_complaints_demo():
    """A few dozen complaints of the last weeks, in every state; the overdue ones escalated
    by the sweep, as the task consumer would on its first minute."""
    from models import complaints
    from models.complaints import Complaint
    if Complaint.select().exists():
        return
    people = _staff()
    departments = {d.name: d for d in Department.select()}
    with _history():
        # In the order they came in, so the numbers (编号) run with the dates.
        for spec in sorted(COMPLAINTS, key=lambda spec: _moment(spec[0])):
            _complaint_story(spec, people, departments)
    complaints.escalate_overdue()


def _complaint_story(spec, people, departments):
    """One complaint told from intake to the state it has reached, then moved to when it happened."""
    from models import callbacks, complaints
    from models.complaints import Complaint
    when, customer_key, channel, category, severity, department, state, content, handling, result, extra = spec
    name, phone, organisation, is_vip = CUSTOMERS[customer_key]
    intake = _moment(when)
    # Late handling is late by the rules' own clock (working time by default, across holidays).
    handle_due = complaints.deadlines(intake, is_vip, severity == "major")[1]
    late_hours = max(LATE_HANDLING_HOURS, (handle_due - intake).total_seconds() / 3600 + 3)
    steps = _step_offsets(state, severity, extra, (utcnow() - intake).total_seconds() / 3600, late_hours)
    taker = people["desk"] if channel == "visit" else people["specialist"]
    complaint = complaints.create(taker, name=name, phone=phone, organisation=organisation, content=content,
                                  channel=channel, category=category, severity=severity, is_vip=is_vip,
                                  staff_person=extra.get("staff_person", ""))
    handler = people[HANDLERS.get(department, "head")]
    front = people["head"] if is_vip or severity == "major" else people["specialist"]
    notes = {
        "acknowledge": "已向客户致歉，承诺尽快处理并及时回复",
        "assign": "与工程维修部、客服部联合研判，先行封存问题货品" if severity == "major" else "",
        "pause": extra.get("pause", ""), "void": extra.get("void", ""),
        "handle": handling, "report": result, "inform": "已电话告知客户处理结果",
        "satisfied": "客户表示满意，感谢及时处理", "unsatisfied": extra.get("unsatisfied", ""),
    }
    for action, _hours in steps:
        current = Complaint.get_by_id(complaint.id)
        if action in ("satisfied", "unsatisfied"):
            # The callback queue is where the outcome is recorded; it moves the complaint on.
            callbacks.schedule_complaint_callbacks()
            callback = current.callbacks.where(callbacks.Callback.state == "due").get()
            callbacks.apply(people["specialist"], callback.id, action, callback.version, notes[action])
            continue
        actor = {"accept": handler, "handle": handler, "report": handler, "void": people["manager"]}.get(action, front)
        kwargs = {"note": notes.get(action, "")}
        if action == "accept":
            kwargs["handler_id"] = handler.id
        if action == "assign":
            kwargs["department_id"] = departments[department].id
        if action == "close":
            actor = people["manager"] if severity == "major" else front
            kwargs["root_cause"], kwargs["improvement"] = ROOT_CAUSES[category]
        complaints.apply(current.id, action, actor, current.version, **kwargs)
        if action == "inform":
            callbacks.schedule_complaint_callbacks()  # what the consumer does on the spot
    _retime_complaint(complaint.id, [intake] + [intake + dt.timedelta(hours=hours) for _, hours in steps])


def _step_offsets(state, severity, extra, age_hours, late_hours=LATE_HANDLING_HOURS):
    """[(action, hours after intake)] up to the state, all in the past (squeezed into a recent complaint's age)."""
    hours = dict(STEP_HOURS)
    handling = MAJOR_HANDLING_HOURS if severity == "major" else late_hours if extra.get("late") else None
    if handling:
        shift = handling - hours["handle"]
        for later in ("handle", "report", "inform", "satisfied", "unsatisfied", "close"):
            hours[later] += shift
    steps = [(action, hours[action]) for action in PATHS[state]]
    last = steps[-1][1] if steps else 0
    if last > age_hours * 0.9:
        steps = [(action, offset * age_hours * 0.9 / last) for action, offset in steps]
    return steps


def _retime_complaint(complaint_id, times):
    """Move a complaint told just now to when it happened: its intake, its steps, and what
    the rules derive from them (deadlines, first handling, its callbacks), by those rules."""
    from models import callbacks, complaints, settings
    from models.callbacks import Callback, CallbackAttempt
    from models.complaints import Complaint, ComplaintEvent, ComplaintPause
    complaint = Complaint.get_by_id(complaint_id)
    events = list(ComplaintEvent.select().where(ComplaintEvent.complaint == complaint).order_by(ComplaintEvent.id))
    at = {}
    for event, moment in zip(events, times):
        _set(ComplaintEvent, event.id, at=moment)
        at[event.id] = moment
    created = times[0]
    vip, major = complaint.customer.is_vip, complaint.is_major
    reply_due, handle_due = complaints.deadlines(created, vip, major)
    values = {"created_at": created, "updated_at": times[len(events) - 1], "reply_due_at": reply_due,
              "plan_due_at": complaints.add_time(created, dt.timedelta(hours=settings.get(complaints.PLAN_HOURS)))
              if major else None}
    for event in events:
        moment = at[event.id]
        if event.action == "handle" and "first_handled_at" not in values:
            values.update(first_handled_at=moment, handled_on_time=moment <= handle_due,
                          handling_minutes=int(complaints.elapsed(created, moment).total_seconds() // 60))
        elif event.action == "unsatisfied":
            handle_due = complaints.deadlines(moment, vip, major)[1]
        elif event.action == "void":
            values["voided_at"] = moment
        elif event.action == "pause":
            values["paused_at"] = moment
            ComplaintPause.update(started_at=moment).where(ComplaintPause.event == event.id).execute()
    values["handle_due_at"] = handle_due
    _set(Complaint, complaint.id, **values)
    _audit_times(complaint, times)
    # Each callback as the sweep would have made it when the customer was informed, and the
    # call recorded when the next step says.
    for callback in Callback.select().where(Callback.complaint == complaint):
        informed = at[callback.complaint_event_id]
        due = callbacks.next_allowed(informed, callbacks.customer_window(complaint.customer))
        answered = next((at[e.id] for e in events if e.id > callback.complaint_event_id
                         and e.action in callbacks.DONE), None)
        _set(Callback, callback.id, created_at=informed, due_at=due, next_at=due, done_at=answered,
             deadline_at=informed + dt.timedelta(days=settings.get(callbacks.WITHIN_DAYS)))
        if answered:
            CallbackAttempt.update(at=answered).where(CallbackAttempt.callback == callback.id).execute()
        _audit_times(callback, [moment for moment in (informed, answered) if moment])


# ---------------------------------------------------------------- callbacks

# name, phone, product, sold days ago, warranty ends in days, agreed callback time
SALES = [
    ("周强", "13812340001", "滚筒洗衣机 XQG100", 30, 1065, ""),
    ("吴敏", "13812340002", "变频空调 KFR-35", 30, 2160, "19:00-20:30"),
    ("郑涛", "13812340003", "电热水器 60L", 700, 31, ""),
    ("钱芳", "13812340004", "嵌入式洗碗机 13 套", 31, 1064, ""),
    ("蒋磊", "13812340005", "智能马桶盖", 12, 718, ""),
]


def seed_callbacks_demo():
    """An imported sales list: 30-day and warranty callbacks due today and soon (the complaints'
    callbacks came with them)."""
    from models.callbacks import Sale, schedule_sale_callbacks
    from models.complaints import find_or_create_customer
    from models.timezone import day_start_utc
    if Sale.select().exists():
        return
    manager = User.by_username("manager")
    today = local_now().date()
    for name, phone, product, days_ago, warranty_days, window in SALES:
        customer = find_or_create_customer(manager, name, phone)
        customer.callback_window = window or None
        customer.save()
        Sale.create(customer=customer, product=product, sale_date=today - dt.timedelta(days=days_ago),
                    warranty_end=today + dt.timedelta(days=warranty_days), source="销售清单.xlsx",
                    imported_by=manager)
    # The sweep as it ran this morning: whatever is due today is in today's queue at any hour.
    schedule_sale_callbacks(now=day_start_utc(today))


# ---------------------------------------------------------------- 30-day no-reason returns

def seed_returns_demo():
    """Returns in every state: one from the imported sales list refunded and closed, an exchange,
    one waiting for the vendor, one refused at receipt after the deadline, one refused for its condition."""
    from decimal import Decimal

    from models import returns
    from models.callbacks import Sale
    from models.returns import GoodsReturn
    if GoodsReturn.select().exists():
        return
    people = _staff()
    desk, specialist = people["desk"], people["specialist"]
    today = local_now().date()
    toilet_seat = Sale.select().where(Sale.product == "智能马桶盖").first()
    stories = [
        # (customer, phone, sale, order, goods, vendor, category, paid, sold days ago, received days ago, steps)
        ("蒋磊", "13812340005", toilet_seat, "HX-20261101", "", "九牧卫浴", "building materials", "2699", None, 2,
         [("check", dict(goods_intact=True, vendor_agreed=True, vendor_contact="九牧 刘店长")),
          ("accept", dict(outcome="refund", amount=Decimal("2699"))), ("close", dict(note="已原路退款"))]),
        ("孙丽", "13912345601", None, "HX-20261108", "北欧吊灯 D60", "欧普照明", "lighting", "1280", 9, 1,
         [("check", dict(goods_intact=True, vendor_agreed=True, vendor_contact="欧普 王经理")),
          ("accept", dict(outcome="exchange", amount=Decimal("1280"), note="换同款 D80，顾客补差价"))]),
        ("何强", "13912345602", None, "HX-20261115", "布艺三人沙发", "林氏家居", "furniture", "4599", 6, 1, []),
        ("马云飞", "13912345603", None, "HX-20260930", "实木书桌", "林氏家居", "furniture", "2380", 40, 3, []),
        ("高敏", "13912345604", None, "HX-20261112", "遮光窗帘 2 幅", "罗莱家纺", "textiles", "860", 12, 4,
         [("check", dict(goods_intact=False, vendor_agreed=False, note="已按尺寸裁剪安装")),
          ("refuse", dict(refusal_kind="condition", note="窗帘已按尺寸定制裁剪，影响二次销售，不属于无理由退货范围")),
          ("close", dict(note="已向顾客解释，顾客表示理解"))]),
    ]
    for name, phone, sale, order, goods, vendor, category, paid, sold_ago, received_ago, steps in stories:
        received = _local(received_ago, "10:30")
        sale_date = sale.sale_date if sale else today - dt.timedelta(days=sold_ago)
        record = returns.receive(desk, name=name, phone=phone, order_number=order, sale_date=sale_date, goods=goods,
                                 vendor=vendor, category=category, sale_amount=Decimal(paid),
                                 sale_id=sale.id if sale else None, now=received)
        times = [received]
        for minutes, (action, values) in enumerate(steps, start=1):
            at = received + dt.timedelta(minutes=25 * minutes)
            record = returns.apply(record.id, action, specialist if action == "check" else desk, record.version,
                                   now=at, **values)
            times.append(at)
        _set(GoodsReturn, record.id, updated_at=times[-1])
        _audit_times(record, times)
# ---------------------------------------------------------------- home and repair visits

# phone (of the sales list above), days ago, who went, what was found, satisfaction, follow-up
HOME_VISITS = [
    ("13812340001", 1, "specialist", "洗衣机运行正常，顾客询问保养周期", "satisfied", ""),
    ("13812340002", 3, "head", "空调外机噪音偏大，已记录", "fair", "安排工程维修部检查外机支架"),
    ("13812340005", 6, "specialist", "马桶盖使用正常，顾客建议增加说明书图示", "satisfied", ""),
]
# phone, kind, product, problem, the steps taken so far
SERVICE_VISITS = [
    ("13812340001", "maintenance", "滚筒洗衣机 XQG100", "首次保养：清洗滚筒和排水泵", ["schedule"]),
    ("13812340002", "repair", "变频空调 KFR-35", "制冷效果差", ["schedule", "record_work"]),
    ("13812340003", "repair", "电热水器 60L", "加热慢，漏电保护跳闸",
     ["schedule", "record_work", "confirm_not_good"]),
    ("13812340004", "repair", "嵌入式洗碗机 13 套", "进水阀漏水", ["schedule", "record_work", "confirm_good"]),
    ("13812340005", "maintenance", "智能马桶盖", "更换滤网", ["schedule", "record_work", "confirm_good", "close"]),
    ("13812340001", "repair", "滚筒洗衣机 XQG100", "门封漏水", []),
]


def seed_visits_demo():
    """Home visits made this month (short of the minimum) and planned; repair visits in every state."""
    from models import home_visits, service_visits
    from models.complaints import Customer
    if home_visits.HomeVisit.select().exists() or not Customer.select().where(
            Customer.phone.in_([v[0] for v in HOME_VISITS])).exists():
        return
    people = _staff()
    today = local_now().date()
    for phone, days_ago, who, findings, satisfaction, follow_up in HOME_VISITS:
        visited = min(_local(days_ago, "10:30"), utcnow())
        visit = home_visits.plan(people["specialist"], phone=phone, planned_for=today - dt.timedelta(days=days_ago),
                                 purpose="售后关怀拜访")
        home_visits.apply(visit.id, "record", people["specialist"], visit.version, visited_at=visited,
                          visited_by_id=people[who].id, findings=findings, satisfaction=satisfaction,
                          follow_up=follow_up)
    for phone, days in (("13812340003", 2), ("13812340004", 4)):
        home_visits.plan(people["specialist"], phone=phone, planned_for=today + dt.timedelta(days=days),
                         purpose="了解产品使用情况")
    notes = {"confirm_good": "顾客确认维修合格", "confirm_not_good": "仍然加热慢，要求再次上门"}
    for phone, kind, product, problem, steps in SERVICE_VISITS:
        visit = service_visits.create(people["desk"], phone=phone, kind=kind, product=product, problem=problem)
        for action in steps:
            visit = service_visits.apply(
                visit.id, action, people["specialist"], visit.version, note=notes.get(action, ""),
                appointment_at=_local(-1, "15:00"), technician="黄建国", parts="进水阀" if kind == "repair" else "",
                result="已处理，试机正常")
    service_visits.schedule_callbacks()


# ---------------------------------------------------------------- procurement

def seed_procurement_demo():
    """Suppliers, requisitions at each step from draft to reimbursed, and the stock they filled."""
    from decimal import Decimal

    from models import procurement
    from models.procurement.requisitions import create, remind_waiting
    from models.procurement.stock import StockItem, issue
    from models.procurement.suppliers import Supplier, save_supplier
    if Supplier.select().exists():
        return
    people = _staff()
    requester, head, logistics = (people[k] for k in ("specialist", "head", "logistics"))
    today = local_now().date()
    soon = today + dt.timedelta(days=10)
    suppliers = [save_supplier(logistics, name=name, tax_id=tax_id, contact=contact, phone=phone,
                               address=address)
                 for name, tax_id, contact, phone, address in (
                     ("上海晨光文具有限公司", "91310115MA1H7G2K56", "周经理", "021-58123456", "上海市浦东新区"),
                     ("北京联想科技服务有限公司", "91110105MA01R8XQ3K", "吴工", "13910012345", "北京市朝阳区"),
                     ("广州洁净日用品有限公司", "91440101MA5CJ4T67B", "郑小姐", "020-87654321", "广州市天河区"))]

    def line(name, spec, quantity, unit, price, purpose):
        return {"item_name": name, "spec": spec, "quantity": quantity, "unit": unit,
                "unit_price": Decimal(price), "needed_on": soon, "purpose": purpose}

    def make(lines, submit=True, by=requester):
        return create(by, department_id=by.department_id, lines=lines, submit=submit)

    def step(requisition, actor, decision="approve", **kwargs):
        current = procurement.Requisition.get_by_id(requisition.id)
        return procurement.apply(actor, current.id, current.version, decision, **kwargs)

    def review(requisition, amount, method="direct"):
        step(requisition, logistics, purchase_method=method, budget_checked=True, confirmed_amount=Decimal(amount))

    def order(requisition, supplier, delivery_date):
        current = procurement.Requisition.get_by_id(requisition.id)
        return procurement.apply(logistics, current.id, current.version, "order", supplier_id=supplier.id,
                                 delivery_date=delivery_date, quality_standard="合格证齐全，外包装完好", lines={})

    def receive(requisition, rejected=None):
        """All accepted, or `rejected` = (item, n, reason) returned to the supplier."""
        current = procurement.Requisition.get_by_id(requisition.id)
        lines = {}
        for ol in current.order().lines_list():
            bad = rejected[1] if rejected and ol.item_name == rejected[0] else 0
            lines[ol.id] = (ol.quantity - bad, bad, rejected[2] if bad else "", "return")
        procurement.apply(logistics, current.id, current.version, "receive", received_on=today, lines=lines)

    def reimburse(requisition, invoice):
        current = procurement.Requisition.get_by_id(requisition.id)
        procurement.apply(logistics, current.id, current.version, "reimburse", invoice_number=invoice,
                          invoice_amount=current.order().total, contract_checked=True,
                          invoice_checked=True, receipt_checked=True, reimbursed=True)

    paper = line("A4复印纸", "70g 500张/包", 40, "包", "28.50", "日常打印")
    with _history():
        # Last month's: ordered, received and reimbursed.
        cleaning = make([line("洗手液", "500ml 瓶装", 24, "瓶", "15.80", "卫生间"),
                         line("垃圾袋", "45×50cm 加厚", 20, "卷", "6.50", "保洁")])
        step(cleaning, head)
        review(cleaning, "509.20")
        order(cleaning, suppliers[2], today)
        receive(cleaning)
        reimburse(cleaning, "44031234")
        _retime_requisition(cleaning, [(34, "10:00"), (34, "10:00"), (33, "09:30"), (32, "15:00"), (32, "16:10"),
                                       (28, "10:30"), (26, "14:00")])

        stocked = make([paper, line("抽纸", "三层 120抽", 30, "包", "4.20", "前台")])
        step(stocked, head)
        review(stocked, "1266.00")
        order(stocked, suppliers[0], today)
        receive(stocked, rejected=("抽纸", 2, "包装破损"))
        _retime_requisition(stocked, [(9, "09:20"), (9, "09:20"), (8, "11:00"), (7, "10:00"), (7, "11:30"),
                                      (2, "14:00")])

        late = make([line("文件柜", "钢制 五层 带锁", 4, "个", "560.00", "档案室")])
        step(late, head)
        review(late, "2240.00", "quotation")
        order(late, suppliers[0], today)
        _retime_requisition(late, [(8, "14:00"), (8, "14:00"), (7, "09:40"), (6, "16:00"), (6, "16:30")],
                            delivery_days_ago=2)

        to_order = make([line("激光打印机硒鼓", "HP 88A", 6, "个", "320.00", "客服中心打印机")])
        step(to_order, head)
        review(to_order, "1920.00")
        _retime_requisition(to_order, [(3, "10:00"), (3, "10:00"), (2, "09:15"), (1, "11:00")])

        big = make([line("会议室投影仪", "EPSON CB-FH52", 1, "台", "5600.00", "会议室")])
        step(big, head)
        review(big, "5480.00", "quotation")
        _retime_requisition(big, [(4, "15:00"), (4, "15:00"), (3, "10:00"), (1, "16:00")])

        laptop = make([line("笔记本电脑", "ThinkPad E14 i5/16G/512G", 2, "台", "4800.00", "客服专员更换")])
        step(laptop, head)
        _retime_requisition(laptop, [(1, "09:30"), (1, "09:30"), 95])

        pens = make([line("中性笔", "0.5mm 黑色", 10, "盒", "18.00", "前台登记"),
                     line("便利贴", "76×76mm", 20, "本", "3.50", "前台")])
        _retime_requisition(pens, [(3, "16:00"), (3, "16:00")])  # waits for the department head: reminded

        chairs = make([line("办公椅", "人体工学 网背", 6, "把", "680.00", "客服中心")])
        step(chairs, head, "reject", reason="预算不足，本季度先买 3 把")
        _retime_requisition(chairs, [(5, "10:00"), (5, "10:00"), (4, "17:00")])

    make([line("白板笔", "红蓝黑三色", 5, "盒", "22.00", "培训")], submit=False)  # a draft, just begun
    paper_item = StockItem.get(StockItem.name == "A4复印纸")
    issue(people["desk"], item_id=paper_item.id, quantity=5, taken_by="张伟",
                      department_id=requester.department_id)
    remind_waiting()


def _retime_requisition(requisition, times, delivery_days_ago=None):
    """Move a requisition's timeline (create, submit, each decision, order, receipt, reimbursement, in
    that order) to the given moments (see _moment), and the stamps that hang on those steps."""
    from models.procurement.orders import Delivery, PurchaseOrder
    from models.procurement.requisitions import Requisition, RequisitionEvent
    from models.procurement.stock import StockMove
    requisition = Requisition.get_by_id(requisition.id)
    events = list(RequisitionEvent.select().where(RequisitionEvent.requisition == requisition)
                  .order_by(RequisitionEvent.id))
    moments = [_moment(when) for when in times]
    values = {"created_at": moments[0], "updated_at": moments[len(events) - 1]}
    for event, moment in zip(events, moments):
        _set(RequisitionEvent, event.id, at=moment)
        if event.action == "submit":
            values.update(submitted_at=moment, first_submitted_at=values.get("first_submitted_at", moment))
        elif event.action == "approve" and requisition.state != "pending":
            values["approved_at"] = moment
        elif event.action == "order":
            order = requisition.order()
            _set(PurchaseOrder, order.id, created_at=moment)
            if delivery_days_ago is not None:
                _set(PurchaseOrder, order.id, delivery_date=local_now().date() - dt.timedelta(days=delivery_days_ago))
        elif event.action == "receive":
            for delivery in Delivery.select().where(Delivery.order == requisition.order()):
                _set(Delivery, delivery.id, created_at=moment, received_on=_local_date(moment), late=False)
                StockMove.update(at=moment).where(StockMove.delivery == delivery.id).execute()
        elif event.action == "reimburse":
            _set(PurchaseOrder, requisition.order().id, reimbursed_at=moment)
    if requisition.state == "pending":
        values["step_since"] = moments[len(events) - 1]
    _set(Requisition, requisition.id, **values)


def _local_date(moment):
    from models.timezone import to_local
    return to_local(moment).date()


# ---------------------------------------------------------------- duty log

# kind, what happened, how it was handled, outcome, major
DAY_EVENTS = [
    ("tenant_move", "3 楼 305 室租户搬入，预约货梯 9:00-11:00", "安排保安看护货梯，铺设防护垫", "搬入完毕，电梯无损坏", False),
    ("construction", "B1 层消防管道检修施工", "核对施工许可证，提醒动火作业审批", "当日施工结束，现场已清理", False),
    ("accident", "2 楼卫生间水管漏水，地面积水", "关闭进水阀门，通知工程维修部", "已更换水管，地面已清理", False),
    ("theft", "访客反映放在大堂沙发上的雨伞丢失", "调取大堂监控，登记访客联系方式", "未找到，已登记失物台账", False),
    ("fight", "两名快递员在门口因停车位发生争吵", "保安上前劝阻，分开双方", "双方离开，未发生肢体冲突", False),
    ("staff_violation", "保洁员在前台区域吸烟", "当场制止并报告保洁主管", "保洁主管已批评教育", False),
    ("complaint_call", "客户来电投诉停车场收费不合理", "记录诉求并转客户服务部", "客户服务部已受理", False),
    ("accident", "配电室跳闸，5 楼东侧停电", "通知工程维修部抢修，安抚租户", "20 分钟后恢复供电，已排查原因为线路过载", True),
    ("other", "15:00 消防演练", "提前广播通知各楼层租户", "演练顺利完成", False),
    ("tenant_move", "8 楼 802 室租户搬出", "核对物品清单，检查房屋设施", "钥匙已收回，押金待财务结算", False),
]
NIGHT_EVENTS = [
    ("other", "夜间巡楼，各楼层门窗、消防通道正常", "", "正常", False),
    ("construction", "夜间外墙清洗作业", "核对作业人员名单和安全绳", "作业至 23:30 结束", False),
    ("other", "1 楼大堂自动门感应失灵", "手动锁闭，张贴提示", "已报修，次日维修", False),
]
HANDOVER_NOTES = ["领导指示：明日上午有检查组来访，提前准备访客证", "无", "提醒夜班注意 B1 施工区域的围挡",
                  "对讲机 2 号电池电量低，已充电"]


def seed_duty_demo():
    """A week of the duty log, shift by shift, each handed over face to face and signed by
    both; the manager has signed every day but yesterday's; today's shift is under way."""
    from models import duty, settings
    from models.duty import DutyDay, DutyEntry, Handover
    if DutyDay.select().exists():
        return
    people, rng = _staff(), random.Random(16)
    day_hour, night_hour = settings.get(duty.DAY_SHIFT_STARTS), settings.get(duty.NIGHT_SHIFT_STARTS)
    current_date, current_shift = duty.current_shift()

    def starts(date, shift):
        return to_utc(dt.datetime.combine(date, dt.time(day_hour if shift == "day" else night_hour)))

    def on_duty(date, shift):
        """王芳 and 李娜 take turns, shift by shift."""
        return people["desk"] if (date.toordinal() * 2 + (shift == "night")) % 2 == 0 else people["desk2"]

    week = [(current_date - dt.timedelta(days=d), shift) for d in range(7, -1, -1) for shift in ("day", "night")]
    shifts = week[:week.index((current_date, current_shift)) + 1]  # up to the shift under way
    with _history():
        for (date, shift), following in zip(shifts, shifts[1:]):
            begin, end = starts(date, shift), starts(*following)
            person, incoming = on_duty(date, shift), on_duty(*following)
            page = duty.open_day(person, date, shift, person.display_name)
            _set(DutyDay, page.id, opened_at=begin)
            _audit_times(page, [begin])
            pool = DAY_EVENTS if shift == "day" else NIGHT_EVENTS
            for kind, what, handling, outcome, major in rng.sample(pool, 3 if shift == "day" else 1):
                occurred = begin + dt.timedelta(minutes=rng.randint(30, 11 * 60))
                entry = duty.add_entry(person, page, occurred, kind, what, handling, outcome, major)
                _set(DutyEntry, entry.id, created_at=occurred + dt.timedelta(minutes=4))
                _audit_times(entry, [occurred + dt.timedelta(minutes=4)])
            handover = duty.start_handover(person, page)
            counts = {item.id: (rng.choice([1, 2, 3]) if item.name != "代管他人物品" else 0, "") for item in handover.items()}
            duty.prepare_handover(person, handover, handover.open_items, rng.choice(HANDOVER_NOTES), counts)
            duty.sign_outgoing(person, Handover.get_by_id(handover.id))
            duty.sign_incoming(incoming, Handover.get_by_id(handover.id), fit=True)
            moments = [end - dt.timedelta(minutes=m) for m in (25, 12, 4, 1)]
            _set(Handover, handover.id, created_at=moments[0], prepared_at=moments[1], outgoing_signed_at=moments[2],
                 incoming_signed_at=moments[3])
            _audit_times(handover, moments)
            if date < current_date - dt.timedelta(days=1):
                signed = duty.sign_day(people["manager"], page)
                signed_at = to_utc(dt.datetime.combine(date + dt.timedelta(days=1), dt.time(9, 30)))
                _set(DutyDay, signed.id, signed_at=signed_at)
                _audit_times(page, [begin, signed_at])
    person = on_duty(current_date, current_shift)
    page = duty.open_day(person, current_date, current_shift, person.display_name)
    begin = starts(current_date, current_shift)
    _set(DutyDay, page.id, opened_at=begin)
    for share, (kind, what, handling, outcome, major) in zip((0.3, 0.7), (DAY_EVENTS[0], DAY_EVENTS[2])):
        occurred = begin + (utcnow() - begin) * share
        entry = duty.add_entry(person, page, occurred, kind, what, handling, outcome if share < 0.5 else "", major)
        _set(DutyEntry, entry.id, created_at=occurred + dt.timedelta(minutes=1))


# ---------------------------------------------------------------- visitors and calls

VISITORS = [("李明", "13800138001", "华信科技"), ("王强", "13911112222", "顺达物流"), ("赵丽", "13722223333", "恒通设备"),
            ("孙浩", "13633334444", "明远咨询"), ("周敏", "13544445555", ""), ("吴刚", "13455556666", "城建集团"),
            ("刘畅", "13366660001", "天成会计师事务所"), ("陈晨", "18710102020", "")]
CALLERS = [("钱女士", "13312345678", "", "咨询保修期"), ("郑先生", "13298765432", "", "询问发票寄送"),
           ("冯经理", "13187654321", "宏达机电", "洽谈维修合同"), ("陈女士", "13076543210", "", "询问送货时间"),
           ("许主任", "13945671234", "街道办事处", "通知消防检查")]
HOSTS = ("specialist", "head", "logistics", "sales", "repairs")


def seed_front_desk_demo(days=45):
    """Six weeks of visits and calls on working days (the board's trend, the reports), and
    today's desk: visitors waiting, on site and expected, calls with replies still owed."""
    from models.visitors import Visit
    if Visit.select().exists():
        return
    people, rng = _staff(), random.Random(2026)
    desk, hosts = people["desk"], [people[name] for name in HOSTS]
    today = local_now().date()
    with _history():
        for offset in range(days, 0, -1):
            day = today - dt.timedelta(days=offset)
            if day.weekday() >= 5:
                continue
            for _ in range(rng.randint(3, 8)):
                arrived = to_utc(dt.datetime.combine(day, dt.time(rng.randint(9, 16), rng.randint(0, 59))))
                _past_visit(desk, rng.choice(VISITORS), rng.choice(hosts), arrived, rng)
            for _ in range(rng.randint(4, 10)):
                taken = to_utc(dt.datetime.combine(day, dt.time(rng.randint(8, 17), rng.randint(0, 59))))
                _past_call(desk, rng.choice(CALLERS), rng.choice(hosts), taken, rng)
    _today_at_the_desk(people, hosts)


def _past_visit(desk, visitor, host, arrived, rng):
    from models import visitors
    from models.visitors import Visit
    name, phone, organisation = visitor
    visit = visitors.register_visit(
        desk, visitor_name=name, phone=phone, organisation=organisation, host=host, arrived_at=arrived,
        purpose=rng.choice(["meeting", "business", "delivery", "maintenance", "interview"]), purpose_other="",
        companions=rng.choice([0, 0, 1, 2]), id_number="", car_plate="", note="")
    visitors.apply(host, visit.id, "answer", reply="coming")
    visitors.apply(desk, visit.id, "with_host")
    visitors.apply(desk, visit.id, "check_out")
    answered = arrived + dt.timedelta(minutes=rng.randint(1, 8))
    met = answered + dt.timedelta(minutes=rng.randint(1, 5))
    left = arrived + dt.timedelta(minutes=rng.randint(20, 120))
    _set(Visit, visit.id, created_at=arrived, host_answered_at=answered, with_host_at=met, left_at=left)
    _audit_times(visit, [arrived, answered, met, left])


def _past_call(desk, caller, host, taken, rng):
    from models import calls
    from models.calls import Call
    name, phone, organisation, reason = caller
    outcome = rng.choice(["answered", "answered", "answered", "transferred", "message", "promised"])
    call = calls.log_call(desk, caller_name=name, organisation=organisation, phone=phone, reason=reason,
                          call_type=rng.choice(["inquiry", "inquiry", "business", "other"]), outcome=outcome,
                          answer_text="已当场答复" if outcome == "answered" else "",
                          transferred_to=host if outcome == "transferred" else None,
                          transfer_accepted=outcome == "transferred",
                          message_for=host if outcome == "message" else None,
                          message_text=f"请回电{name}：{reason}" if outcome == "message" else "",
                          promiser=host if outcome == "promised" else None)
    _set(Call, call.id, taken_at=taken)
    times = [taken]
    if outcome == "promised":
        replied = taken + dt.timedelta(hours=rng.choice([1, 2, 3, 6]))
        calls.close_promise(host, call, "已回电答复")
        _set(Call, call.id, reply_due=taken + dt.timedelta(hours=4), replied_at=replied)
        times.append(replied)
    _audit_times(call, times)


def _today_at_the_desk(people, hosts):
    from models import calls, visitors
    from models.calls import Call
    from models.visitors import Appointment, Visit
    desk = people["desk"]
    now, today = utcnow(), local_now().date()
    for minutes, (name, phone, organisation), host, reply in (
            (95, VISITORS[0], hosts[0], "coming"), (40, VISITORS[1], hosts[2], "send_up"),
            (12, VISITORS[6], hosts[1], "wait"), (4, VISITORS[2], hosts[3], None)):
        arrived = now - dt.timedelta(minutes=minutes)
        visit = visitors.register_visit(
            desk, visitor_name=name, phone=phone, organisation=organisation, purpose="meeting", purpose_other="",
            host=host, companions=0, id_number="", car_plate="", note="", arrived_at=arrived)
        _set(Visit, visit.id, created_at=arrived)
        if reply:
            visitors.apply(host, visit.id, "answer", reply=reply)
            _set(Visit, visit.id, host_answered_at=arrived + dt.timedelta(minutes=3))
        if minutes > 30 and reply in ("coming", "send_up"):  # long since with their host
            visitors.apply(desk, visit.id, "with_host")
            _set(Visit, visit.id, with_host_at=arrived + dt.timedelta(minutes=6))
    for minutes, (name, phone, organisation), host, note in (
            (50, VISITORS[3], hosts[0], "洽谈年度服务合同"), (150, VISITORS[5], hosts[4], "设备维修验收")):
        starts = now + dt.timedelta(minutes=minutes)
        if _local_date(starts) != today:  # late in the evening: booked earlier today, not come yet
            starts = now - dt.timedelta(minutes=minutes // 5)
        booked = visitors.book(desk, visitor_name=name, phone=phone, organisation=organisation, purpose="business",
                               host=host, starts_at=max(starts, now), ends_at=starts + dt.timedelta(hours=1),
                               note=note)
        _set(Appointment, booked.id, starts_at=starts)  # booked earlier, for a time that has come
    for minutes_ago, due_in, (name, phone, organisation, reason), host in (
            (70, 90, CALLERS[2], hosts[4]), (30, 180, CALLERS[3], hosts[3]), (300, -60, CALLERS[1], hosts[1])):
        call = calls.log_call(desk, caller_name=name, organisation=organisation, phone=phone, reason=reason,
                              call_type="business", outcome="promised", promiser=host,
                              reply_due=now + dt.timedelta(minutes=max(due_in, 5)))
        _set(Call, call.id, taken_at=now - dt.timedelta(minutes=minutes_ago),
             reply_due=now + dt.timedelta(minutes=due_in))
    calls.log_call(desk, caller_name="何先生", organisation="", phone="13566778899", reason="投诉楼下餐厅油烟扰民",
                   call_type="complaint", outcome="transferred", transferred_to=people["specialist"],
                   transfer_accepted=True)
    # The trade centre's Russian-speaking customers call from their own mobiles.
    calls.log_call(desk, caller_name="Иван Петров", organisation="", phone="+79123456789",
                   reason="询问俄语导购服务时间", call_type="inquiry", outcome="answered", answer_text="每天10:00-18:00")
    calls.sweep_promises()


# ---------------------------------------------------------------- mail and lost property

def seed_desk_items_demo():
    """Mail waiting at the desk (one for days: its recipient reminded), some collected; lost property held."""
    from models import desk_items
    from models.desk_items import LostItem, MailItem
    if MailItem.select().exists() or LostItem.select().exists():
        return
    people = _staff()
    desk = people["desk"]
    with _history():
        for days_ago, carrier, tracking, recipient, sender, size, collected_by in (
                (5, "顺丰速运", "SF1428839201573", people["head"], "深圳华强电子", "small", None),
                (2, "中国邮政", "1185532907611", None, "市税务局", "letter", "宋佳"),
                (1, "京东物流", "JD0089275513402", people["logistics"], "京东商城", "large", "刘洋")):
            item = desk_items.register_mail(desk, True, carrier, tracking, recipient.display_name if recipient
                                            else "蓝海广告有限公司 宋佳", recipient, sender, size)
            registered = _local(days_ago, "10:40")
            _set(MailItem, item.id, registered_at=registered)
            times = [registered]
            if collected_by:
                desk_items.collect_mail(desk, item, collected_by)
                collected = registered + dt.timedelta(hours=5)
                _set(MailItem, item.id, collected_at=collected)
                times.append(collected)
            _audit_times(item, times)
        for days_ago, hhmm, description, finder, place, stored in (
                (95, "16:20", "黑色折叠伞", "保洁 刘阿姨", "1 楼大堂沙发", "前台失物柜 A1"),
                (12, "11:05", "蓝色保温杯（膳魔师）", "访客 李明", "3 楼会议室", "前台失物柜 A2"),
                (1, "17:45", "员工工牌一张（销售部 王某）", "保安 李师傅", "地下车库 B1 电梯口", "前台抽屉")):
            found = _local(days_ago, hhmm)
            item = desk_items.register_lost(desk, description, finder, found, place, stored)
            _set(LostItem, item.id, registered_at=found + dt.timedelta(minutes=15))
            _audit_times(item, [found + dt.timedelta(minutes=15)])
    for carrier, tracking, recipient, sender in (("中通快递", "75312890045621", people["specialist"], "天猫旗舰店"),
                                                ("EMS", "EA204118377CN", people["manager"], "市消费者协会")):
        desk_items.register_mail(desk, True, carrier, tracking, recipient.display_name, recipient, sender, "small")
    desk_items.register_mail(desk, False, "顺丰速运", "SF1428839266610", "华远置业有限公司 郑丽华", None,
                             "客户服务部", "letter")
    desk_items.remind_uncollected()


# ---------------------------------------------------------------- advance compensation

def seed_compensations_demo():
    """Advance compensations in every state: waiting for the manager and for leadership, returned,
    approved to be paid, paid with the recovery open (one long), recovered in full, voided."""
    from decimal import Decimal

    from models import compensations
    from models.compensations import Compensation
    from models.complaints import Complaint
    if Compensation.select().exists():
        return
    people = _staff()
    specialist, desk, head, manager, leader = (people[k] for k in ("specialist", "desk", "head", "manager", "leader"))

    def story(proposer, amount, case, party, contact, steps, times, customer, from_complaint=False,
              paid_days_ago=None, recoveries=()):
        """Propose (for a product complaint taken in before it, when asked and there is one), then take
        `steps` (action, actor, note), then move it all to `times` (see _moment)."""
        moment = _moment(times[0])
        complaint = (Complaint.select().where(Complaint.created_at < moment, Complaint.voided_at.is_null(),
                                              Complaint.category == "product quality")
                     .order_by(Complaint.created_at.desc()).first()) if from_complaint else None
        compensation = compensations.propose(
            proposer, case=case, responsible_party=party, party_contact=contact, amount=Decimal(amount),
            complaint_number=complaint.number if complaint else "", name=customer[0], phone=customer[1])
        today = local_now().date()
        for action, actor, note in steps:
            current = Compensation.get_by_id(compensation.id)
            values = {}
            if action == "pay":
                values = dict(amount=current.approved_amount, day=today, method="transfer", reference="网银回单")
            elif action == "recover":
                values = dict(amount=Decimal(note), day=today, method="offset")
                note = "从厂商质保金中扣回"
            compensations.apply(current.id, action, actor, current.version, note=note, **values)
        _retime_compensation(compensation, times, paid_days_ago, recoveries)

    with _history():
        story(specialist, "2800", "顾客购买的燃气灶点火时爆燃，烫伤手臂并烧坏橱柜台面。厂商迟迟不认定责任，"
              "为平息投诉公司先行赔付医药费和台面维修费。", "华帝厨电专柜", "厂商代表 陈经理 13600001234",
              [("approve", manager, "情况属实，同意先行赔付"), ("approve", leader, "同意"), ("pay", desk, ""),
               ("recover", specialist, "1000")],
              [(40, "10:00"), (40, "15:00"), (39, "11:00"), (38, "16:00"), (20, "10:00")],
              ("蒋丽华", "13877778888"), from_complaint=True, paid_days_ago=38, recoveries=[20])
        story(specialist, "1200", "冰箱到货即有压缩机异响，顾客要求赔偿两次上门等待的误工费和食物损失。",
              "美的冰箱专柜", "王主管 13900002222",
              [("approve", manager, ""), ("pay", desk, ""), ("recover", specialist, "700"),
               ("recover", specialist, "500")],
              [(30, "09:30"), (29, "10:00"), (25, "15:30"), (15, "11:00"), (10, "16:00")],
              ("沈建军", "13788889999"), from_complaint=True, paid_days_ago=25, recoveries=[15, 10])
        story(specialist, "300", "洗碗机门铰链断裂，顾客要求补偿。", "西门子专柜", "",
              [("void", manager, "顾客已与厂商自行协商解决")], [(12, "10:00"), (11, "09:00")],
              ("陈明", "13955556666"))
        story(head, "980", "安装工人打孔时损坏顾客家地暖管，维修费由公司先行垫付。", "安居安装服务部", "李师傅 13700003333",
              [("approve", manager, "先赔付，再向安装队追偿"), ("pay", desk, "")],
              [(8, "10:00"), (7, "09:00"), (6, "15:00")], ("吴桂芳", "13511112222"), from_complaint=True,
              paid_days_ago=6)
        story(specialist, "1500", "热水器漏水浸湿楼下住户天花板，顾客先行垫付了楼下的修缮费。", "A.O.史密斯专柜", "",
              [("return", manager, "请补充厂商确认书和维修发票")], [(4, "11:00"), (3, "16:30")],
              ("冯磊", "13844445555"), from_complaint=True)
        story(specialist, "450", "沙发面料开线，厂商同意维修但顾客需要临时租用沙发，租金先行赔付。",
              "顾家家居专柜", "", [("approve", manager, "")], [(2, "09:40"), (1, "14:10")],
              ("郑小红", "13622223333"))
        story(desk, "3200", "送货途中磕坏顾客家门框和地板，物流公司尚未赔付，顾客情绪激动。",
              "顺达物流有限公司", "调度 孙先生 021-66668888", [("approve", manager, "属实，金额超权限报领导")],
              [(2, "15:00"), (1, "10:00")], ("钱伟", "18933334444"))
    story(specialist, "680", "微波炉门把手断裂划伤顾客手部，医药费先行赔付。", "格兰仕专柜", "",
          [], [95], ("褚晓", "15066667777"), from_complaint=True)


def _retime_compensation(compensation, times, paid_days_ago=None, recovery_days_ago=()):
    """Move a compensation's steps (propose, then each step, in order) to the given moments,
    with the stamps that hang on them; payments and recoveries to their days."""
    from models.compensations import Compensation, CompensationEvent, CompensationRecovery
    compensation = Compensation.get_by_id(compensation.id)
    moments = [_moment(when) for when in times]
    events = list(CompensationEvent.select().where(CompensationEvent.compensation == compensation.id)
                  .order_by(CompensationEvent.id))
    for event, moment in zip(events, moments):
        _set(CompensationEvent, event.id, at=moment)
    # The proposal made one audit entry, every step two (the change and the step).
    _audit_times(compensation, [moments[0]] + [m for m in moments[1:] for _twice in (0, 1)])
    values = {"created_at": moments[0], "updated_at": moments[-1]}
    if compensation.tier_id:
        values["tier_since"] = moments[-1]
    if compensation.approved_at:
        approvals = [m for e, m in zip(events, moments) if e.action == "approve"]
        values["approved_at"] = approvals[-1]
    if paid_days_ago is not None:
        values["paid_on"] = local_now().date() - dt.timedelta(days=paid_days_ago)
    if compensation.settled_at:
        values["settled_at"] = moments[-1]
    _set(Compensation, compensation.id, **values)
    rows = CompensationRecovery.select().where(CompensationRecovery.compensation == compensation.id)
    for row, days_ago in zip(rows.order_by(CompensationRecovery.id), recovery_days_ago):
        day = local_now().date() - dt.timedelta(days=days_ago)
        _set(CompensationRecovery, row.id, received_on=day,
             recorded_at=to_utc(dt.datetime.combine(day, dt.time(10, 0))))


# ---------------------------------------------------------------- broadcasting

#: Seed 002's scripts (稿件), Chinese and Russian: kind, title, Russian title, vendor, texts.
BROADCAST_SCRIPTS = [
    ("welcome", "红星欢迎语", "Приветствие", "",
     "尊敬的顾客朋友们，早上好！欢迎光临红星国际家居。本商场营业时间为上午九点半至下午五点半，祝您购物愉快！",
     "Уважаемые покупатели, доброе утро! Добро пожаловать в торговый центр «Красная звезда». "
     "Мы работаем с 9:30 до 17:30. Приятных покупок!"),
    ("weather", "天气预报、友情提醒", "Прогноз погоды и напоминание", "",
     "今天白天晴转多云，气温三到十二度。友情提醒：请看管好随身物品，带好您的小孩。",
     "Сегодня днём ясно, временами облачно, от 3 до 12 градусов. Пожалуйста, следите за своими вещами и детьми."),
    ("promotion", "林氏家居促销", "Акция Linshi", "林氏家居",
     "林氏家居二楼展厅本周全场八折，购满五千元送床品四件套。",
     "Салон Linshi на втором этаже: на этой неделе скидка 20%, при покупке от 5000 юаней — комплект белья в подарок."),
    ("promotion", "顾家家居促销", "Акция Kuka", "顾家家居",
     "顾家家居沙发限时特惠，三楼展厅欢迎您选购。",
     "Диваны Kuka по специальной цене, третий этаж. Ждём вас!"),
    ("greeting", "节日祝福语", "Праздничное поздравление", "",
     "值此佳节，红星国际家居全体员工祝您节日快乐，阖家幸福！",
     "Коллектив «Красной звезды» поздравляет вас с праздником и желает счастья вашей семье!"),
    ("farewell", "送宾语", "Прощание", "",
     "尊敬的顾客朋友们，本商场营业时间即将结束，感谢您的光临，欢迎再次光临红星国际家居，再见！",
     "Уважаемые покупатели, наш центр скоро закрывается. Спасибо за визит, ждём вас снова. До свидания!"),
]

#: Seed 002's 播音程序表: (from, to, what plays, title, script kind or None). Promotions loop in
#: half-hour turns; the holiday programme adds the greetings at 11:00 and 14:00 and moves the
#: farewell later (双休及活动日顺延).
BROADCAST_WEEKDAY = [
    ("09:20", "09:29", "music", "相亲相爱 + 营业员心态调整"),
    ("09:30", "09:40", "music", "迎宾曲"),
    ("09:42", "09:43", "welcome", ""),
    ("09:43", "10:00", "music", "背景音乐"),
    ("10:00", "10:05", "weather", ""),
    ("10:05", "10:30", "promotion", "厂商促销信息"),
    ("10:30", "11:00", "promotion", "厂商促销信息"),
    ("11:00", "11:30", "promotion", "厂商促销信息"),
    ("11:30", "14:00", "music", "背景音乐"),
    ("14:00", "14:30", "promotion", "厂商促销信息"),
    ("14:30", "15:00", "promotion", "厂商促销信息"),
    ("15:00", "15:30", "promotion", "厂商促销信息"),
    ("15:30", "17:24", "music", "背景音乐"),
    ("17:25", "17:30", "farewell", "送宾曲"),
]
BROADCAST_HOLIDAY = [row for row in BROADCAST_WEEKDAY if row[0] not in ("11:00", "14:00", "15:30", "17:25")] + [
    ("11:00", "11:05", "greeting", ""),
    ("11:05", "11:30", "promotion", "厂商促销信息"),
    ("14:00", "14:05", "greeting", ""),
    ("14:05", "14:30", "promotion", "厂商促销信息"),
    ("15:30", "17:54", "music", "背景音乐"),
    ("17:55", "18:00", "farewell", "送宾曲"),
]


def seed_broadcast_demo():
    """Seed 002's programme (weekday and holiday), approved scripts in both languages, one newer
    version waiting for approval, and the last week's log with a missed slot."""
    from models import broadcast
    from models.broadcast import BroadcastLog, ProgrammeSlot, Script, ScriptVersion
    if Script.select().exists():
        return
    people = _staff()
    caster, boss = people["broadcaster"], people["manager"]
    scripts = {}
    for kind, title, title_ru, vendor, zh, ru in BROADCAST_SCRIPTS:
        script = broadcast.create_script(caster, kind=kind, title=title, title_ru=title_ru, vendor=vendor,
                                         text_zh=zh, text_ru=ru)
        version = broadcast.latest_version(script)
        broadcast.apply(version.id, "approve", boss, version.version)
        scripts.setdefault(kind, script)
    weather = scripts["weather"]
    broadcast.edit_script(caster, weather.id, 1, text_zh="今天阴有小雨，气温两到八度。友情提醒：雨天地滑，请小心慢行，带好您的雨具。",
                          text_ru="Сегодня пасмурно, небольшой дождь, от 2 до 8 градусов. Осторожно, скользко!")
    ScriptVersion.update(written_at=_local(1, "16:10")).where(ScriptVersion.state == "pending").execute()
    set_up = _local(8, "08:00")  # the programme came into use a week ago
    for variant, rows in (("weekday", BROADCAST_WEEKDAY), ("holiday", BROADCAST_HOLIDAY)):
        for starts, ends, kind, title in sorted(rows):
            slot = broadcast.add_slot(boss, variant=variant, starts=starts, ends=ends, kind=kind, title=title,
                                      script_id=scripts[kind].id if kind in scripts and kind != "promotion" else None)
            _set(ProgrammeSlot, slot.id, created_at=set_up)
    for script in Script.select():
        _set(Script, script.id, created_at=_local(31, "15:00"))
    ScriptVersion.update(written_at=_local(31, "15:00"), decided_at=_local(31, "16:30")).where(
        ScriptVersion.state == "approved").execute()
    # The last week: recorded as the broadcaster went; one slot missed, two left unrecorded.
    now = utcnow()
    today = local_now().date()
    for days_ago in range(7, 0, -1):
        day = today - dt.timedelta(days=days_ago)
        for n, entry in enumerate(broadcast.day_programme(day, now)):
            if (days_ago, n) in ((5, 12), (2, 3)):
                continue  # not recorded: the supervisor sees the gap
            missed = (days_ago, n) == (3, 5)
            BroadcastLog.create(day=day, slot=entry.slot, outcome="missed" if missed else "done",
                                reason="音响设备故障，已报修" if missed else "",
                                aired=None if missed else entry.version, recorded_by=caster,
                                recorded_at=entry.starts_at + dt.timedelta(minutes=1))
    # Today so far: what has begun is recorded, except the slot due now.
    for entry in broadcast.day_programme(today, now):
        if entry.ends_at <= now:
            broadcast.record(caster, entry.slot.id, "done", now=now)
# ---------------------------------------------------------------- vehicles

def seed_vehicles_demo(password):
    """Three vehicles (the car's insurance falls due within the reminder window, the van is in the
    workshop), two drivers, and trips in every state over the last weeks and the next days."""
    from decimal import Decimal

    from models.numbering import next_number
    from models.vehicles import Driver, Trip, Vehicle, VehicleService
    staff = _staff()
    logistics = staff["logistics"]
    department = Department.get(name="行政后勤部")
    today = local_now().date()
    car = Vehicle.create(plate="沪A8D326", model="别克GL8 商务车", seats=7, odometer=68420,
                         insurance_due=today + dt.timedelta(days=12), inspection_due=today + dt.timedelta(days=160),
                         maintenance_due=today + dt.timedelta(days=75))
    van = Vehicle.create(plate="沪B52719", model="五菱荣光 面包车", seats=7, odometer=121350, state="workshop",
                         insurance_due=today + dt.timedelta(days=200), inspection_due=today + dt.timedelta(days=90),
                         maintenance_due=today + dt.timedelta(days=2))
    ev = Vehicle.create(plate="沪AD27183", model="比亚迪 秦PLUS EV", seats=5, odometer=23640,
                        insurance_due=today + dt.timedelta(days=240), inspection_due=today + dt.timedelta(days=300),
                        maintenance_due=today + dt.timedelta(days=120))
    drivers = []
    for username, name, licence in (("driver", "孙师傅", "A2 310101198203154211"),
                                    ("driver2", "钱师傅", "B1 310104197911062318")):
        user = create_user(None, username, name, [], password, department=department)
        drivers.append(Driver.create(user=user, licence=licence))
    VehicleService.create(vehicle=van, kind="repair", opened_on=today - dt.timedelta(days=1), garage="浦东汽修厂",
                          work="离合器打滑，更换离合片", cost=Decimal("1850.00"), opened_by=logistics)
    VehicleService.create(vehicle=car, kind="maintenance", opened_on=today - dt.timedelta(days=20),
                          closed_on=today - dt.timedelta(days=20), state="closed", garage="别克4S店（浦东）",
                          work="5000公里保养：机油、机滤", cost=Decimal("680.00"), opened_by=logistics)

    def when(days, hour, minute=0):
        return to_utc(dt.datetime.combine(today + dt.timedelta(days=days), dt.time(hour, minute)))

    # (requester, approver, days from today, start hour, hours, state, vehicle, driver, km, fuel, tolls, destination, purpose)
    odometers = {car.id: 67000, ev.id: 22900, van.id: 120900}
    plans = [
        ("specialist", "head", -20, 9, 3, "closed", car, 0, 64, "95.00", "30.00", "浦东国际机场", "接海尔售后工程师"),
        ("sales", "leader", -16, 13, 4, "closed", ev, 1, 48, "0.00", "15.00", "虹桥商务区 国家会展中心", "家博会布展"),
        ("desk", "manager", -12, 10, 2, "closed", van, 1, 36, "60.00", "0.00", "闵行仓库", "搬运前台物资"),
        ("specialist", "head", -9, 14, 2, "closed", car, 0, 42, "70.00", "20.00", "徐汇区 顾客家中", "上门处理投诉"),
        ("sales", "leader", -5, 9, 8, "closed", car, 1, 188, "260.00", "85.00", "苏州 供应商工厂", "验货"),
        ("specialist", "head", -2, 9, 3, "back", ev, 0, 57, "0.00", "25.00", "浦东国际机场", "送客户"),
        ("desk", "manager", 0, 8, 6, "out", car, 0, None, None, None, "嘉定 汽车城", "参加展会"),
        ("specialist", "head", 1, 9, 2, "dispatched", ev, 1, None, None, None, "静安区 工商局", "办理执照变更"),
        ("sales", "leader", 2, 13, 3, "approved", None, None, None, None, None, "松江 新桥镇 客户仓库", "大客户回访"),
        ("specialist", None, 3, 10, 2, "requested", None, None, None, None, None, "长宁区 顾客家中", "上门回访"),
        ("desk", "manager", 3, 14, 2, "sent_back", None, None, None, None, None, "南京西路", "采购礼品"),
        ("specialist", "head", -6, 10, 2, "refused", None, None, None, None, None, "人民广场", "个人事务"),
        ("sales", None, 4, 9, 2, "cancelled", None, None, None, None, None, "浦东 金桥", "客户改期"),
        ("desk", None, -3, 15, 1, "voided", None, None, None, None, None, "测试", "重复提交"),
    ]
    for (who, approver, days, hour, hours, state, vehicle, driver, km, fuel, tolls, destination,
         purpose) in sorted(plans, key=lambda p: (p[2], p[3])):
        requester = staff[who]
        starts = when(days, hour)
        values = dict(number=next_number("YC"), requester=requester, department=requester.department_id,
                      destination=destination, starts_at=starts, ends_at=starts + dt.timedelta(hours=hours),
                      passengers=3 if vehicle is not ev else 2, purpose=purpose, state=state,
                      created_at=starts - dt.timedelta(days=2), updated_at=starts - dt.timedelta(days=1))
        if approver:
            values.update(decided_by=staff[approver], decided_at=starts - dt.timedelta(days=1, hours=20),
                          decision_note={"sent_back": "请写明参加人员", "refused": "私事不派公车"}.get(state, ""))
        if vehicle is not None:
            values.update(vehicle=vehicle, driver=drivers[driver], dispatched_by=logistics,
                          dispatched_at=starts - dt.timedelta(days=1))
        if state in ("out", "back", "closed"):
            start = odometers[vehicle.id]
            values.update(start_odometer=start, out_at=starts)
            if km is not None:
                values.update(end_odometer=start + km, back_at=starts + dt.timedelta(hours=hours),
                              fuel=Decimal(fuel), tolls=Decimal(tolls))
                odometers[vehicle.id] = start + km + 15  # the odd errand between logged trips
        if state == "closed":
            values["closed_at"] = starts + dt.timedelta(hours=hours + 1)
        if state == "cancelled":
            values["cancel_reason"] = "客户改期"
        if state == "voided":
            values.update(voided_at=starts - dt.timedelta(days=1), void_reason="重复提交")
        Trip.create(**values)
    for vehicle in (car, ev):
        Vehicle.update(odometer=odometers[vehicle.id]).where(Vehicle.id == vehicle.id).execute()


# ---------------------------------------------------------------- quality (服务质量): inspections and fines

#: The checklist (顾客满意度考核评分表) as seed 002 describes the posts: (department or None, post, item, points).
QUALITY_CHECKLIST = [
    ("前台接待", "前台接待", "迎声问候（顾客到台主动问候）", "1"),
    ("前台接待", "前台接待", "仪容仪表（工装、工牌、精神状态）", "2"),
    ("前台接待", "前台接待", "服务用语规范", "2"),
    ("前台接待", "前台接待", "电话接听规范（及时接听、记录咨询类型）", "2"),
    ("前台接待", "前台接待", "现场接待与导购服务", "2"),
    ("前台接待", "前台接待", "30天无理由退货的接待与引导", "2"),
    ("前台接待", "前台接待", "标价签打印与收费台帐记录", "1"),
    ("客户服务部", "客服专员", "投诉接待记录完整", "3"),
    ("客户服务部", "客服专员", "一般投诉处理周期小于24小时", "3"),
    ("客户服务部", "客服专员", "电话回访记录", "2"),
    ("工程维修部", "维修员", "上门维修保养台帐填写", "2"),
    ("工程维修部", "维修员", "维修后现场清洁", "2"),
    (None, "", "微笑服务", "1"),
    (None, "", "岗位卫生（服务台、办公区整洁）", "2"),
]


def seed_quality_demo():
    """Two months of checks: self-checks and regional checks with fines (a repeat, and a third
    time flagged to the manager), faultless departments credited and one payout, special checks
    and floor walks, rectifications open, done, verified and overdue; today's floor walk not yet done."""
    from models.quality import checklists, fines, inspections, rectifications
    from models.quality.checklists import ChecklistItem
    from models.quality.inspections import Inspection
    from models.quality.rectifications import Rectification
    if ChecklistItem.select().exists():
        return
    staff = _staff()
    manager = staff["manager"]
    departments = {d.name: d for d in Department.select()}
    items = {}
    for position, (department, post, title, points) in enumerate(QUALITY_CHECKLIST):
        items[title] = checklists.save_item(None, title=title, points=points, post=post, position=position,
                                            department_id=departments[department].id if department else None)
    today = local_now().date()

    def check(kind, days_ago, department, faults, inspector=manager):
        inspection = inspections.create(inspector, kind=kind, inspected_on=today - dt.timedelta(days=days_ago),
                                        department_id=departments[department].id if department else None)
        for username, title, lost, seen in faults:
            inspections.add_finding(inspector, inspection.id, item_id=items[title].id,
                                    person_id=staff[username].id, points_lost=lost, seen=seen)
        done = inspections.apply(inspection.id, "complete", inspector, inspection.version)
        moment = _local(days_ago, "15:00")
        _set(Inspection, done.id, created_at=moment, completed_at=moment, updated_at=moment)
        for row in Rectification.select().join(inspections.Finding).where(
                inspections.Finding.inspection == done.id):
            _set(Rectification, row.id, created_at=moment, due_on=done.inspected_on + dt.timedelta(
                days=rectifications.settings.get(rectifications.DAYS)))
        return done

    def rectification_of(inspection):
        return (Rectification.select().join(inspections.Finding)
                .where(inspections.Finding.inspection == inspection.id).order_by(Rectification.id))

    def step(row, action, who, note=""):
        row = Rectification.get_by_id(row.id)
        done = rectifications.apply(row.id, action, who, row.version, note=note)
        # closed two days after the check, verified the day after that
        inspected = done.finding.inspection.inspected_on
        days_ago = (today - inspected).days
        if action == "close":
            _set(Rectification, row.id, done_at=_local(max(days_ago - 2, 0), "16:00"))
        elif action == "verify":
            _set(Rectification, row.id, verified_at=_local(max(days_ago - 3, 0), "10:00"))
        return done

    first = check("self", 40, "前台接待", [("desk", "迎声问候（顾客到台主动问候）", "0.5", "顾客走近服务台时未主动问候"),
                                            ("desk2", "仪容仪表（工装、工牌、精神状态）", "1", "未佩戴工牌")])
    for row in rectification_of(first):
        step(row, "close", staff[row.owner.username], "已在班前会重申迎宾与着装要求")
        step(row, "verify", manager)
    again = check("self", 10, "前台接待", [("desk", "迎声问候（顾客到台主动问候）", "0.5", "再次未主动问候到台顾客")])
    for row in rectification_of(again):
        step(row, "close", staff["desk"], "已参加迎宾用语复训，每日自查")
    for days in (55, 25, 3):
        regional = check("regional", days, "前台接待", [("desk2", "服务用语规范", "0.5", "接待时未使用“您好，请问”")])
        if days > 3:
            for row in rectification_of(regional):
                step(row, "close", staff["desk2"], "已背诵服务用语手册并由组长抽查")
                step(row, "verify", manager)
    check("self", 35, "客户服务部", [])
    check("regional", 20, "工程维修部", [])
    check("self", 30, "工程维修部", [("repairs", "维修后现场清洁", "1", "维修后地面留有污渍未清理")])
    check("special", 7, None, [("specialist", "岗位卫生（服务台、办公区整洁）", "1", "客服办公区资料堆放杂乱")])
    for days in (3, 2, 1):
        faults = [("desk", "微笑服务", "0.5", "接待顾客时面无表情")] if days == 2 else []
        check("floor_walk", days, None, faults)
    inspections.create(staff["sales"], kind="self", department_id=departments["销售部"].id)  # a draft under way
    fines.payout(manager, department_id=departments["工程维修部"].id, person_id=staff["repairs"].id, amount="200",
                 reason="季度奖励：区域检查无失分", on=today - dt.timedelta(days=5))


def seed_documents_demo():
    """Documents in each state: a regulation issued a month ago (some have read it) superseding its
    old version, a notice at its second reviewer, a letter returned to its author, a notice of 2015
    past its retention period, and a draft."""
    from models import documents, settings
    from models.documents import Document, DocumentEvent, DocumentReceipt, DocumentReviewer, DocumentVersion
    from models.numbering import Counter
    from models.timezone import to_local
    if Document.select().exists():
        return
    people = _staff()
    logistics, manager, head, leader = (people[k] for k in ("logistics", "manager", "head", "leader"))
    departments = {d.name: d.id for d in Department.select()}

    def draft(author, doc_type, title, body, reviewers, to=("前台接待", "客户服务部")):
        return documents.draft(author, doc_type=doc_type, title=title, classification="internal", body=body,
                               reviewer_ids=[r.id for r in reviewers],
                               department_ids=[departments[d] for d in to if d in departments])

    def step(document, action, actor, note=""):
        return documents.apply(document.id, action, actor, Document.get_by_id(document.id).version, note=note)

    def issue(document, reviewers, days_ago):
        step(document, "submit", document.author)
        for reviewer in reviewers:
            step(document, "approve", reviewer, "同意")
        if documents.signoff_needed(document.doc_type):
            step(document, "sign_off", leader, "同意印发")
        issued = step(document, "issue", logistics)
        when = _local(days_ago, "10:00")
        _set(Document, issued.id, created_at=when - dt.timedelta(days=2), issued_at=when,
             retention_until=documents._add_years(to_local(when).date(),
                                                  settings.get(documents.RETENTION[issued.doc_type])))
        DocumentReceipt.update(delivered_at=when).where(DocumentReceipt.document == issued.id).execute()
        DocumentEvent.update(at=when).where(DocumentEvent.document == issued.id).execute()
        DocumentVersion.update(created_at=when).where(DocumentVersion.document == issued.id).execute()
        DocumentReviewer.update(decided_at=when).where(DocumentReviewer.document == issued.id).execute()
        _set(Document, issued.id, updated_at=when, signed_at=when if issued.signed_at else None)
        year = to_local(when).year
        if year != local_now().year:  # numbered in its own year: the number it took goes back to this year's counter
            key = documents.COUNTER_KEYS[issued.doc_type]
            cursor = (Counter.insert(doc_type=key, year=year, value=1)
                      .on_conflict(conflict_target=[Counter.doc_type, Counter.year],
                                   update={Counter.value: Counter.value + 1})
                      .returning(Counter.value).execute())
            Counter.update(value=Counter.value - 1).where(Counter.doc_type == key,
                                                          Counter.year == local_now().year).execute()
            _set(Document, issued.id, issue_year=year,
                 number=documents.format_number(issued.doc_type, year, next(iter(cursor)).value))
        return Document.get_by_id(issued.id)

    # The regulation's old version, issued last year, and its revision issued a month ago.
    old = issue(draft(logistics, "regulation", "前台接待管理制度",
                      "第一条 前台接待人员应主动起身迎接来访客户，微笑问候。\n第二条 电话铃响三声内接听。", [manager]),
                [manager], 400)
    revision = Document.get_by_id(step(old, "revise", logistics).successor_id)
    documents.apply(revision.id, "edit", logistics, revision.version, content={
        "doc_type": "regulation", "title": "前台接待管理制度（2026年修订）", "classification": "internal",
        "body": "第一条 前台接待人员应主动起身迎接来访客户，微笑问候，询问来访事由并及时通知相关人员。\n"
                "第二条 电话铃响三声内接听，准确记录来电人姓名、单位、电话号码、来电事由。\n"
                "第三条 相关人员无法立即接待时，应向客户说明情况并提供茶水。",
        "reviewer_ids": [manager.id], "department_ids": [departments["前台接待"], departments["客户服务部"]],
        "user_ids": []})
    current = issue(Document.get_by_id(revision.id), [manager], 30)
    for username in ("desk", "specialist"):
        documents.acknowledge(current.id, people[username])
    DocumentReceipt.update(read_at=_local(29, "09:30")).where(DocumentReceipt.document == current.id,
                                                               DocumentReceipt.read_at.is_null(False)).execute()

    # A notice with its first reviewer's approval, now at the second.
    notice = draft(logistics, "notice", "关于春节期间值班安排的通知",
                   "各部门：\n春节期间公司实行轮流值班，请各部门于节前报送值班表。", [head, manager])
    step(notice, "submit", logistics)
    step(notice, "approve", head, "同意，请补充值班电话。")

    # A letter its reviewer returned to the author.
    letter = draft(manager, "letter", "致物业公司关于停车位调整的函",
                   "物业公司：\n因我司客户来访增多，申请在地面停车场增设访客车位十个。", [leader], to=("行政后勤部",))
    step(letter, "submit", manager)
    step(letter, "return", leader, "请写明车位位置与使用时段，并附平面图。")

    # A notice of 2015, past its ten years: listed for the archive's retention review.
    past = issue(draft(logistics, "notice", "关于2015年消防演练的通知", "各部门：定于11月9日开展消防演练。", [manager]),
                 [manager], 11 * 365 + 40)
    for document in (old, past):  # read long ago
        DocumentReceipt.update(read_at=to_utc(dt.datetime.combine(to_local(document.issued_at).date(), dt.time(15)))
                               ).where(DocumentReceipt.document == document.id).execute()

    # A regulation its reviewer approved, waiting for leadership's sign-off.
    vehicles = draft(logistics, "regulation", "公司车辆使用管理制度",
                     "第一条 用车须提前一天提交用车申请单，经部门负责人批准后由行政后勤部统一调度。\n"
                     "第二条 车辆每次出车前后须登记里程与油耗。", [manager], to=("客户服务部", "销售部", "工程维修部"))
    step(vehicles, "submit", logistics)
    step(vehicles, "approve", manager, "同意")

    # A draft not yet sent.
    draft(head, "minutes", "客服部11月例会纪要", "一、回访完成率；二、投诉处理时效；三、下月培训安排。", [manager],
          to=("客户服务部",))
# ---------------------------------------------------------------- quality assessments (考核)

def seed_quality_assessments_demo():
    """Last month's assessment period gone all the way (rated, acknowledged, closed, ranked, best staff
    and the red/black list published); this month's open with some self-rated, rated and acknowledged."""
    import datetime as dt

    from models.quality import assessments, awards
    from models.quality.assessments import DIMENSIONS, Assessment, AssessmentPeriod
    from models.quality.awards import Award, RedBlackList
    from models.reports import Period
    if AssessmentPeriod.select().exists():
        return
    people = _staff()
    manager = people["manager"]
    today = local_now().date()
    this_month = Period.containing("month", today)
    last_month = this_month.previous()
    scores = [(92, 95), (88, 90), (85, 80), (78, 72), (90, 86), (70, 58), (82, 84), (95, 91), (75, 70), (86, 88)]

    def ratings(base, spread):
        return {d: max(0, min(100, base + spread * i)) for i, d in enumerate(DIMENSIONS)}

    def rate(assessment, index, upto):
        own, boss = scores[index % len(scores)]
        assessments.apply(assessment.id, "self_rate", assessment.person, ratings=ratings(own, -2),
                          comment="本期按要求完成各项工作")
        if upto == "self_rated":
            return
        superior = assessments.superiors_of(assessment.person)[0]
        assessments.apply(assessment.id, "superior_rate", superior, ratings=ratings(boss, -3),
                          comment="工作认真，继续保持" if boss >= 80 else "服务态度需改进，下月重点跟进")
        if upto == "superior_rated":
            return
        assessments.apply(assessment.id, "confirm", assessment.person, comment="已知悉")

    with _history():
        period = assessments.open_period(manager, last_month.key)
        for index, assessment in enumerate(period.assessments.order_by(Assessment.id)):
            rate(assessment, index, "confirmed")
        assessments.close_period(manager, period.id)
        closed_at = to_utc(dt.datetime.combine(this_month.start, dt.time(10, 0)))
        _set(AssessmentPeriod, period.id, opened_at=closed_at - dt.timedelta(days=4), closed_at=closed_at)
        day = dt.timedelta(days=1)
        for assessment in period.assessments:
            _set(Assessment, assessment.id, created_at=closed_at - 4 * day, self_rated_at=closed_at - 3 * day,
                 superior_rated_at=closed_at - 2 * day, confirmed_at=closed_at - day, archived_at=closed_at,
                 updated_at=closed_at)
        for rank, row in assessments.overall_ranking(period)[:2]:
            awards.choose(manager, "period", period.key, person_id=row.person_id,
                          reason=f"{period.key} 考核第 {rank} 名，顾客零投诉")
        awards.choose(manager, "period", period.key, vendor="美家家具专柜", reason="本月顾客表扬信 3 封，无投诉")
        awards.publish_awards(manager, "period", period.key)
        Award.update(published_at=closed_at).where(Award.period_key == period.key).execute()
        awards.propose(manager, last_month.key)
        awards.publish_list(manager, last_month.key)
        RedBlackList.update(published_at=closed_at).where(RedBlackList.month == last_month.key).execute()

        current = assessments.open_period(manager, this_month.key)
        steps = ["confirmed", "superior_rated", "superior_rated", "self_rated", "self_rated", "self_rated"]
        for index, assessment in enumerate(current.assessments.order_by(Assessment.id)):
            if index < len(steps):
                rate(assessment, index + 3, steps[index])


# ---------------------------------------------------------------- the official calendar (cn-calendar)

def seed_calendar_demo():
    """This year's and next year's public holidays and 调休 days, as `flask init-db` imports them."""
    from models.worktime import import_this_and_next_year
    import_this_and_next_year()
