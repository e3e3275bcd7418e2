"""Peewee models, one module per domain, on the shared base in models.base."""


def all_models():
    """Every table, in an order that satisfies foreign keys."""
    from models.audit import AuditEntry
    from models.board import BoardToken
    from models.callbacks import Callback, CallbackAttempt, Sale
    from models.calls import Call
    from models.complaints import Complaint, ComplaintEvent, ComplaintPause, Customer
    from models.desk_items import LostItem, MailItem
    from models.duty import DutyDay, DutyEntry, EmergencyReport, Handover, HandoverItem, IncidentPhoto
    from models.notifications import DepartmentDelivery, Notification, NotificationChoice, NotificationDelivery
    from models.numbering import Counter
    from models.personal_copies import PersonalCopy
    from models.reports import ReportMailing, ReportRun
    from models.settings import Setting
    from models.submissions import SubmissionKey
    from models.users import Department, LoginAttempt, User, UserRole
    from models.visitors import Appointment, Visit, WatchlistEntry
    from models.procurement.chain import ApprovalStep, DepartmentApprover
    from models.procurement.orders import Delivery, DeliveryLine, OrderLine, PurchaseOrder, ReturnRecord
    from models.procurement.requisitions import Requisition, RequisitionAttachment, RequisitionEvent, RequisitionLine
    from models.procurement.stock import StockItem, StockMove
    from models.procurement.suppliers import Supplier
    from models.returns import GoodsReturn, ReturnEvent
    from models.weekly_archive import WeeklyArchive
    from models.worktime import CalendarDay, WorkWeekday
    from models.compensations import Compensation, CompensationEvent, CompensationRecovery, CompensationTier
    from models.home_visits import HomeVisit, HomeVisitReminder
    from models.service_visits import ServiceVisit, ServiceVisitEvent
    from models.broadcast import BroadcastDayCheck, BroadcastLog, ProgrammeSlot, Script, ScriptVersion
    from models.vehicles import Driver, Trip, Vehicle, VehicleReminder, VehicleService
    from models.quality.plan import Measure, PeriodNote, Plan, Target
    from models.quality.training import Attendee, Course, CourseMaterial, CourseTopic, InductionReminder
    from models.rooms import ActionItem, Booking, BookingGuest, BookingSeries, MeetingMinutes, PrepItem, Room, RoomSlot
    from models.quality.assessments import Assessment, AssessmentPeriod, AssessmentWeights
    from models.quality.awards import Award, RedBlackEntry, RedBlackList
    from models.repairs import Repair, RepairMaterial, RepairPhoto
    from models.quality.checklists import ChecklistItem
    from models.quality.inspections import Finding, FloorWalkReminder, Inspection
    from models.quality.fines import BonusFundEntry, Fine, StaffProposal
    from models.quality.rectifications import Rectification
    from models.documents import (
        Document, DocumentEvent, DocumentReceipt, DocumentRecipient, DocumentReviewer, DocumentVersion,
    )
    from models.fulltext import TextGram

    return [Department, User, UserRole, LoginAttempt, AuditEntry, Setting, Counter, SubmissionKey, Notification,
            NotificationDelivery, NotificationChoice, DepartmentDelivery, PersonalCopy,
            DutyDay, DutyEntry, EmergencyReport, IncidentPhoto, Handover, HandoverItem, MailItem, LostItem,
            Visit, Appointment, WatchlistEntry, Call, BoardToken,
            Customer, Complaint, ComplaintEvent,
            ReportRun, ReportMailing, ComplaintPause, WorkWeekday, CalendarDay,
            Sale, ServiceVisit, ServiceVisitEvent, Callback, CallbackAttempt, HomeVisit, HomeVisitReminder,
            ApprovalStep, DepartmentApprover, Supplier, Requisition, RequisitionLine, RequisitionEvent,
            RequisitionAttachment, PurchaseOrder, OrderLine, Delivery, DeliveryLine, ReturnRecord, StockItem, StockMove,
            WeeklyArchive, GoodsReturn, ReturnEvent,
            CompensationTier, Compensation, CompensationEvent, CompensationRecovery,
            Script, ScriptVersion, ProgrammeSlot, BroadcastLog, BroadcastDayCheck,
            Vehicle, Driver, Trip, VehicleService, VehicleReminder,
            Plan, Target, PeriodNote, Measure, Course, Attendee, CourseTopic, CourseMaterial, InductionReminder,
            Room, BookingSeries, Booking, RoomSlot, PrepItem, BookingGuest, MeetingMinutes, ActionItem,
            Repair, RepairPhoto, RepairMaterial,
            ChecklistItem, Inspection, Finding, FloorWalkReminder, Fine, BonusFundEntry, StaffProposal, Rectification,
            Document, DocumentReviewer, DocumentVersion, DocumentEvent, DocumentRecipient, DocumentReceipt,
            AssessmentWeights, AssessmentPeriod, Assessment, Award, RedBlackList, RedBlackEntry,
            TextGram]


#: Tables older code made and no model reads: answer_link_use repeated what the visit's answer
#: and its "answered_by_link" audit entry hold (who, which answer, when).
RETIRED_TABLES = ("answer_link_use",)


def create_tables():
    """Create missing tables, and add columns that newer code has to older tables, so
    `make run` on an existing database keeps its data. (New columns have a default
    or allow NULL; renames and type changes need a written migration.)"""
    from playhouse.migrate import PostgresqlMigrator, SqliteMigrator, migrate

    from models.base import db, is_sqlite
    models = all_models()
    migrator = SqliteMigrator(db.obj) if is_sqlite() else PostgresqlMigrator(db.obj)
    tables = set(db.get_tables())
    # Columns first: creating the indexes of a new column needs the column.
    for model in models:
        table = model._meta.table_name
        if table not in tables:
            continue
        existing = {column.name for column in db.get_columns(table)}
        missing = [field for field in model._meta.sorted_fields if field.column_name not in existing]
        if missing:
            migrate(*(migrator.add_column(table, field.column_name, field) for field in missing))
            model.fill_added_columns({field.name for field in missing})
    db.create_tables(models, safe=True)
    for table in RETIRED_TABLES:
        db.execute_sql(f"DROP TABLE IF EXISTS {table}")
    if tables:
        for model in models:
            if model._meta.table_name not in tables:
                model.fill_created_table()


# Registers the one-tap answers of a host's visitor notice in notifications.ANSWER_PROVIDERS,
# wherever models are used (the web app, the consumer that sends the messages, a script).
from models import answers  # noqa: E402,F401
