"""Demo facility repairs (called from models.demo.seed_demo): faults in every state over the
last month, materials issued from stock, one urgent fault escalated, one reopened and then
confirmed, and last month's pass rate below the 98 % target."""
import io

from peewee import fn
from PIL import Image

from models.audit import AuditEntry
from models.base import utcnow
from models.demo import _history, _local, _set, _staff
from models.notifications import Notification
from models.procurement.stock import StockItem, StockMove, _stock_in


def _photo():
    """A plain picture standing in for the desk's photo of the fault."""
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (180, 190, 200)).save(buffer, "JPEG")
    return [("故障照片.jpg", buffer.getvalue(), "JPEG", 320, 240)]


class _Story:
    """One fault, its steps taken at the moments of its story (the domain stamps `now`)."""

    def __init__(self, reporter, when, place, what, urgency="normal", photos=()):
        from models import repairs
        self.repairs = repairs
        self.moments = [_local(*when) if when else utcnow()]
        before = Notification.select(fn.MAX(Notification.id)).scalar() or 0
        self.repair = repairs.report(reporter, place=place, what=what, urgency=urgency, photos=photos,
                                     now=self.moments[0])
        Notification.update(created_at=self.moments[0]).where(Notification.id > before).execute()

    def step(self, action, actor, when, **kwargs):
        from models.repairs import Repair, RepairMaterial
        moment = _local(*when)
        current = Repair.get_by_id(self.repair.id)
        before = Notification.select(fn.MAX(Notification.id)).scalar() or 0
        self.repair = self.repairs.apply(current.id, action, actor, current.version, now=moment, **kwargs)
        Notification.update(created_at=moment).where(Notification.id > before).execute()
        self.moments.append(moment)
        if kwargs.get("materials"):
            for material in RepairMaterial.select().where(RepairMaterial.repair == current.id,
                                                          RepairMaterial.recorded_at > moment):
                _set(RepairMaterial, material.id, recorded_at=moment)
                _set(StockMove, material.move_id, at=moment)
        return self

    def escalated(self, when):
        """As the sweep would have done it then: marked, and the managers told."""
        from models.notifications import notify
        from models.repairs import ESCALATED_MESSAGE, Repair, deadline_hours, escalation_recipients
        moment = _local(*when)
        _set(Repair, self.repair.id, escalated_at=moment)
        before = Notification.select(fn.MAX(Notification.id)).scalar() or 0
        for person in escalation_recipients():
            notify(person, ESCALATED_MESSAGE, ("repairs.show", {"repair_id": self.repair.id}),
                   number=self.repair.number, hours=deadline_hours(self.repair.urgency), place=self.repair.place)
        Notification.update(created_at=moment).where(Notification.id > before).execute()
        return self

    def done(self):
        from models.repairs import Repair
        entries = (AuditEntry.select(AuditEntry.id)
                   .where(AuditEntry.record_type == "repair", AuditEntry.record_id == self.repair.id)
                   .order_by(AuditEntry.id))
        for entry, moment in zip(entries, self.moments):
            _set(AuditEntry, entry.id, at=moment)
        _set(Repair, self.repair.id, updated_at=self.moments[-1])
        return self.repair


def seed_repairs_demo():
    from models.repairs import Repair
    if Repair.select().exists():
        return
    people = _staff()
    desk, desk2, logistics, fitter = (people[k] for k in ("desk", "desk2", "logistics", "repairs"))
    stock = {}
    for name, spec, unit, quantity in (("LED灯管", "T8 1.2m", "支", 30), ("自动门感应器", "微波式", "个", 3),
                                       ("水龙头阀芯", "陶瓷 1/2\"", "个", 10), ("绝缘胶布", "PVC 黑色", "卷", 12)):
        item, _created = StockItem.get_or_create(name=name, spec=spec, unit=unit)
        _stock_in(item, quantity, None, logistics, "维修备件入库")
        stock[name] = item.id
    with _history():
        # Last month: six confirmed, one of them only after a reopening — below the 98 % target.
        (_Story(desk, (33, "09:40"), "一楼大厅东门", "自动门感应失灵，门不能自动关闭", "urgent", photos=_photo())
         .step("assign", logistics, (33, "09:55"), assignee_id=fitter.id)
         .step("done", fitter, (33, "14:20"), work_done="更换自动门感应器并调试",
               materials=[(stock["自动门感应器"], 1)])
         .step("confirm", desk, (33, "15:00")).done())
        (_Story(desk2, (30, "10:15"), "二楼公共卫生间", "洗手台水龙头漏水")
         .step("assign", logistics, (30, "11:00"), assignee_id=fitter.id)
         .step("done", fitter, (29, "16:00"), work_done="更换水龙头阀芯", materials=[(stock["水龙头阀芯"], 2)])
         .step("reopen", desk2, (28, "09:30"), note="仍有滴水，关紧后也不停")
         .step("assign", logistics, (28, "10:00"), contractor="恒达水电维修", contractor_phone="0571-8800 1234")
         .step("done", logistics, (27, "15:00"), work_done="外包单位更换整个水龙头")
         .step("confirm", desk2, (27, "17:00")).done())
        (_Story(desk, (26, "08:50"), "一楼大厅服务台上方", "四支灯管不亮", photos=_photo())
         .step("assign", logistics, (26, "09:10"), assignee_id=fitter.id)
         .step("done", fitter, (26, "11:30"), work_done="更换LED灯管4支", materials=[(stock["LED灯管"], 4)])
         .step("confirm", desk, (26, "12:00")).done())
        (_Story(desk, (24, "13:05"), "电梯厅", "空调不制冷，室温已到28度", "emergency")
         .escalated((24, "17:06"))
         .step("assign", logistics, (24, "17:30"), contractor="格力售后服务站", contractor_phone="400-836-5315")
         .step("done", logistics, (23, "11:00"), work_done="补充冷媒，清洗滤网")
         .step("confirm", desk, (23, "14:00")).done())
        (_Story(desk2, (21, "15:20"), "前台", "电脑插座松动，插头接触不良")
         .step("assign", logistics, (21, "15:40"), assignee_id=fitter.id)
         .step("done", fitter, (21, "16:30"), work_done="紧固插座，包扎线头", materials=[(stock["绝缘胶布"], 1)])
         .step("confirm", logistics, (17, "10:00")).done())  # the reporter did not confirm: logistics, on behalf
        (_Story(desk, (19, "10:00"), "北门外", "地砖破损两块，有绊倒风险", "urgent")
         .step("assign", logistics, (19, "10:20"), contractor="城建装饰", contractor_phone="13805710011")
         .step("done", logistics, (18, "16:00"), work_done="更换地砖两块")
         .step("confirm", desk, (18, "17:30")).done())
        # This month and the last days.
        (_Story(desk, (9, "09:30"), "货梯", "货梯门关闭时有异响")
         .step("assign", logistics, (9, "10:00"), assignee_id=fitter.id)
         .step("done", fitter, (8, "15:00"), work_done="门导轨清理润滑")
         .step("reopen", desk, (1, "10:00"), note="异响依旧，早上开门时最明显").done())
        (_Story(desk2, (6, "14:00"), "二楼休息区", "一盏筒灯闪烁")
         .step("assign", logistics, (6, "14:30"), assignee_id=fitter.id)
         .step("done", fitter, (6, "16:00"), work_done="更换LED灯管1支", materials=[(stock["LED灯管"], 1)])
         .step("confirm", desk2, (5, "09:00")).done())
        (_Story(desk, (4, "11:00"), "北门地面", "地砖破损（同一处已报修）")
         .step("void", logistics, (4, "11:20"), note="重复报修，已在处理").done())
        (_Story(desk, (3, "09:45"), "一楼大厅东侧", "大厅休息区座椅扶手松动")
         .step("assign", logistics, (3, "10:00"), assignee_id=fitter.id)
         .step("done", fitter, (2, "15:30"), work_done="扶手螺丝紧固", materials=[(stock["绝缘胶布"], 1)]).done())
        (_Story(desk2, (1, "16:10"), "地下车库入口", "道闸抬杆缓慢")
         .step("assign", logistics, (1, "16:30"), contractor="捷顺道闸售后", contractor_phone="400-888-0001").done())
    # Just now, at the hall inspection: logistics' bells ring for it.
    _Story(desk, None, "一楼大厅西侧", "灯箱广告牌闪烁，有焦味", "urgent", photos=_photo()).done()
