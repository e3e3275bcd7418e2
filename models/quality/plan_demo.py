"""Demo data of training and the service-capability plan: this year's plan for the whole service
department and two departments with their targets, measures and a note where behind; courses
past and upcoming with their attendance; a new member of staff without an induction."""
import datetime as dt
import secrets
from decimal import Decimal

from models.base import utcnow
from models.quality import plan as plans
from models.quality import training
from models.timezone import local_now
from models.users import Department, User, create_user


def seed_quality_plan_demo():
    from models.demo import _local, _set, _staff
    people = _staff()
    manager = people["manager"]
    today = local_now().date()
    targets = {k: m.default for k, m in plans.METRICS.items()}
    whole = plans.create(manager, year=today.year, targets=targets,
                         review="上年度投诉处理及时率未达100%，回访合格率偏低；前台高峰期顾客等待时间较长。",
                         capability="人员：补充前台1人，全员完成服务礼仪与投诉处理培训；技术：启用门户系统统计各项指标；"
                                    "资源：增设取号机；过程：每月检查达成表，未达成项目制定措施。",
                         tracking="质量管理部每月依据达成表和执行跟踪表进行跟踪检查，12月出具年度评估报告。")
    for name, changes in (("工程维修部", {"repair_quality": Decimal(98), "completion_hours": Decimal(48)}),
                          ("前台接待", {"waiting_minutes": Decimal(5), "satisfaction": Decimal(98)})):
        department = Department.get_or_none(Department.name == name)
        if department is not None:
            plans.create(manager, year=today.year, department_id=department.id, targets={**targets, **changes})
    done = plans.add_measure(manager, whole.id, title="前台增设取号机，高峰期增派一人", owner_id=people["head"].id,
                             due_on=today - dt.timedelta(days=20), metric="waiting_minutes")
    plans.apply_measure(done.id, "done", people["head"], done.version, note="取号机已安装，周末增派一人")
    plans.add_measure(manager, whole.id, title="投诉回访话术培训，回访不满意的顾客上门拜访", owner_id=people["specialist"].id,
                      due_on=today - dt.timedelta(days=3), metric="callback_pass")
    plans.add_measure(manager, whole.id, title="维修完工当天回访确认", owner_id=people["repairs"].id,
                      due_on=today + dt.timedelta(days=14), metric="repair_quality")
    month = f"{today.year}-{today.month:02d}"
    plans.save_note(manager, whole.id, "satisfaction", month, "对回访不满意的顾客逐一上门拜访，并在周例会通报。")

    # Courses: an induction and a periodic course held, a special one coming.
    front = Department.get_or_none(Department.name == "前台接待")
    service = Department.get_or_none(Department.name == "客户服务部")
    staff_ids = [u.id for u in people.values()]
    induction = training.create(manager, kind="induction", title="新员工入职培训：公司概况、岗位职责与服务规范",
                                starts_at=_local(40, "09:30"), trainer="杨磊", place="三楼培训室",
                                content="公司概况、企业文化、岗位职责、工作流程、服务规范", person_ids=staff_ids)
    periodic = training.create(manager, kind="periodic", title="服务礼仪与电话接听规范", starts_at=_local(8, "14:00"),
                               trainer="陈静", place="三楼培训室", minutes=90,
                               content="礼貌用语、电话铃响三声内接听、来电记录",
                               department_ids=[d.id for d in (front, service) if d])
    training.create(manager, kind="special", title="投诉处理技巧专项培训", starts_at=_local(-3, "15:00"),
                    trainer="外聘讲师", place="三楼培训室", content="倾听、致歉、跟踪与回访",
                    department_ids=[d.id for d in (front, service) if d])
    # The periodic course answers the checklist items the last inspections found most often.
    found = training.findings_by_item(training.Period.containing("month", today))
    for item_id, _title, _count, _points in found[:2]:
        training.CourseTopic.create(course=periodic, item_id=item_id)
    for course, absent, scores in ((induction, set(), {}),
                                   (periodic, {"desk2"}, {"desk": 92, "specialist": 85, "head": 96})):
        for row in training.attendees(course):
            if row.person.username in absent:
                continue
            training.Attendee.update(present=True, marked_at=course.starts_at, marked_by=manager,
                                     score=scores.get(row.person.username)).where(training.Attendee.id == row.id).execute()
        _set(training.Course, course.id, state="held", held_at=course.starts_at + dt.timedelta(hours=2),
             version=course.version + 1)
    _set(training.Course, induction.id, state="closed", closed_at=induction.starts_at + dt.timedelta(days=1))

    # A member of staff who joined five weeks ago and has attended no induction yet.
    if not User.by_username("newcomer"):
        newcomer = create_user(None, "newcomer", "孙晓", ["front_desk"], secrets.token_urlsafe(16), department=front)
        _set(User, newcomer.id, created_at=utcnow() - dt.timedelta(days=35))
