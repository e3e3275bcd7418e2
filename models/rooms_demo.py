"""Demo data of the meeting rooms: three rooms, today's and this week's bookings (one waiting for
its preparation, one with a visitor the desk expects today), a weekly series, and past meetings
with minutes and open action items."""
import datetime as dt

from models import rooms
from models.base import utcnow
from models.numbering import next_number
from models.rooms import ActionItem, Booking, MeetingMinutes, PrepItem
from models.timezone import local_now, to_local, to_utc
from models.users import User


def _at(days, hhmm):
    hour, minute = (int(p) for p in hhmm.split(":"))
    return to_utc(dt.datetime.combine(local_now().date() + dt.timedelta(days=days), dt.time(hour, minute)))


def _place(actor, room, start, minutes, title, **kw):
    """Booked as anyone books; a meeting already over is placed directly (booking refuses the past)."""
    end = start + dt.timedelta(minutes=minutes)
    if end > utcnow():
        return rooms.book(actor, room_id=room.id, title=title, starts_at=start, ends_at=end, **kw)
    booking = Booking.create(number=next_number("HY"), room=room, organiser=actor, title=title, starts_at=start,
                             ends_at=end, attendees_expected=kw.get("attendees", 0), created_at=start - dt.timedelta(days=2))
    rooms._hold(booking)
    return booking


def _next_free_half_hour(hours_ahead=1):
    now = to_local(utcnow()) + dt.timedelta(hours=hours_ahead)
    now = now.replace(second=0, microsecond=0)
    extra = (30 - now.minute % 30) % 30
    return to_utc((now + dt.timedelta(minutes=extra)).replace(tzinfo=None))


def seed_rooms_demo():
    people = {u.username: u for u in User.select().where(User.username.in_(
        ["specialist", "logistics", "head", "manager", "leader", "sales"]))}
    spec, log, head, manager = people["specialist"], people["logistics"], people["head"], people["manager"]
    one = rooms.add_room(None, name="一号会议室", location="三楼东侧", capacity=12, equipment="投影仪、白板")
    two = rooms.add_room(None, name="二号会议室", location="三楼西侧", capacity=6, equipment="电视屏、电话会议")
    hall = rooms.add_room(None, name="大会议室", location="五楼", capacity=30, equipment="投影仪、音响、视频会议")

    # Today: a morning meeting, a visitor the desk expects, and a training with preparation.
    _place(manager, one, _at(0, "09:00"), 60, "客服部晨会", attendees=8)
    # In working hours when the day allows it, or the next half hour of a late evening.
    soon = next((_at(0, t) for t in ("10:30", "11:30", "15:00", "16:30") if _at(0, t) > utcnow() + dt.timedelta(
        minutes=30)), _next_free_half_hour())
    if to_local(soon).date() == local_now().date():
        _place(head, two, soon, 60, "供应商洽谈：售后备件", attendees=4, prep=["drinks"], prep_note="4杯茶水",
               guests=[{"name": "陈先生", "phone": "13700001111", "organisation": "远航物流"}])
    # This week: preparation pending, and one finished.
    pending = _place(manager, hall, _at(1, "10:00"), 120, "季度服务质量分析会", attendees=25,
                     prep=["layout", "projector", "drinks", "materials"], prep_note="课桌式布置；打印质量报告25份")
    first = PrepItem.select().where(PrepItem.booking == pending.id).order_by(PrepItem.id).first()
    rooms.tick(log, first.id)
    ready = _place(spec, two, _at(2, "14:00"), 90, "投诉案例复盘", attendees=5, prep=["projector"])
    rooms.tick(log, PrepItem.get(PrepItem.booking == ready.id).id)
    _place(head, one, _at(3, "15:30"), 60, "新员工服务礼仪培训", attendees=10)
    # A weekly series, every Monday morning, one holiday left out.
    monday = local_now().date() + dt.timedelta(days=7 - local_now().weekday())
    start = to_utc(dt.datetime.combine(monday, dt.time(8, 30)))
    rooms.book_series(manager, room_id=hall.id, title="客服部周例会", starts_at=start,
                      ends_at=start + dt.timedelta(minutes=60), until=monday + dt.timedelta(weeks=7),
                      skipped=[monday + dt.timedelta(weeks=3)], attendees=15)

    # Past meetings with minutes and action items (one overdue, one due soon, one closed).
    past = _place(manager, one, _at(-7, "10:00"), 90, "投诉处理流程优化会", attendees=6)
    minutes = MeetingMinutes.create(booking=past, attendees="杨磊、张伟、陈静、刘洋",
                                    decisions="一、48小时内回访所有投诉客户。\n二、前台增设投诉登记本。\n三、维修配件库存每周盘点。",
                                    recorded_by=manager, created_at=past.ends_at)
    ActionItem.create(minutes=minutes, text="制定48小时回访清单模板", owner=spec,
                      due_on=local_now().date() - dt.timedelta(days=1), created_at=past.ends_at)
    ActionItem.create(minutes=minutes, text="采购前台投诉登记本", owner=log,
                      due_on=local_now().date() + dt.timedelta(days=2), created_at=past.ends_at)
    ActionItem.create(minutes=minutes, text="整理维修配件库存表", owner=log, due_on=local_now().date() - dt.timedelta(days=3),
                      state="closed", closed_at=utcnow() - dt.timedelta(days=4), result="已完成首次盘点",
                      created_at=past.ends_at)
    earlier = _place(head, two, _at(-3, "14:00"), 60, "售后服务满意度讨论", attendees=4)
    notes = MeetingMinutes.create(booking=earlier, attendees="陈静、张伟、周婷", decisions="满意度低于90%的门店下月重点回访。",
                                  recorded_by=head, created_at=earlier.ends_at)
    ActionItem.create(minutes=notes, text="列出满意度低于90%的门店", owner=spec,
                      due_on=local_now().date() + dt.timedelta(days=4), created_at=earlier.ends_at)
