"""Demo messages beyond the bell (called from models.demo.seed_demo): the service manager's
WeCom robot with their choice of what goes there, the repairs department's DingTalk group
robot, and one escalation whose sending failed, on the admin's failures page.

The robots' hosts end in .invalid, a name that never resolves: the demo sends nowhere, and
what the consumer tries fails with the reason an admin would read."""
from models.base import utcnow
from models.complaints import Complaint
from models.notifications import N_, NotificationDelivery, choose_channels, notify
from models.users import Department, User

WECOM = "https://qyapi.demo.invalid/cgi-bin/webhook/send?key=demo-manager"
DINGTALK = "https://oapi.demo.invalid/robot/send?access_token=demo0repairs"


def seed_channels_demo():
    manager = User.by_username("manager")
    User.update(wecom_webhook=WECOM).where(User.id == manager.id).execute()
    Department.update(dingtalk_webhook=DINGTALK).where(Department.name == "工程维修部").execute()
    manager = User.get_by_id(manager.id)
    choose_channels(manager, {"visitors": ["wecom"], "complaints": ["wecom"], "approvals": ["wecom"]})
    complaint = Complaint.select().order_by(Complaint.id).first()
    note = notify(manager, N_("Complaint %(number)s is overdue and was escalated to you"),
                  ("complaints.show", {"complaint_id": complaint.id}), urgent=True, number=complaint.number)
    # As the consumer leaves it after a first try: the robot's host did not answer.
    NotificationDelivery.update(attempts=1, due_at=utcnow(), error="URLError: <urlopen error [Errno -2] Name or "
                                "service not known>").where(NotificationDelivery.notification == note).execute()
