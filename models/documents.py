"""Documents (文件档案, seed 000: 文件的起草、审核、印发、归档): a document is drafted by its author,
reviewed by named reviewers in order (each approves or returns it with comments), signed off by
leadership where its type requires, then issued by logistics with a number per type and year
(发文编号 通知〔2026〕12号) to departments and people, who acknowledge reading it.

Every submission for review keeps the text as a version. An issued document is archived and never
edited: a revision is a new document that supersedes it when the revision is issued. Archived
documents carry a retention period (a setting per type); what is past it is listed for a person to
decide — keep it longer or approve its destruction. The portal never deletes one."""
import datetime as dt
import os

from flask_babel import lazy_gettext as _l
from peewee import (
    JOIN, CharField, DateField, DateTimeField, ForeignKeyField, IntegerField, TextField,
)

from models import audit, fulltext, settings
from models.base import BaseModel, DomainError, Transition, VersionedModel, VoidableModel, utcnow, write_transaction
from models.notifications import N_, notify
from models.numbering import next_value
from models.timezone import local_now, to_local
from models.uploads import UploadError, check_document, store_document
from models.users import Department, User

audit.name_record_type("document", _l("Document"))
audit.ACTION_LABELS.update({"document_read": _l("Read (acknowledged)"),
                            "document_retention": _l("Retention reviewed")})

DOC_TYPES = {"notice": _l("Notice"), "regulation": _l("Regulation"), "letter": _l("Letter"),
             "minutes": _l("Summary minutes")}
#: The type as the printed number and header write it (通知〔2026〕12号).
TYPE_ZH = {"notice": "通知", "regulation": "制度", "letter": "函", "minutes": "纪要"}
#: The counter of models.numbering each type numbers from (one per type and year).
COUNTER_KEYS = {"notice": "FW-TZ", "regulation": "FW-ZD", "letter": "FW-H", "minutes": "FW-JY"}
CLASSIFICATIONS = {"public": _l("Public"), "internal": _l("Internal"), "secret": _l("Secret")}
CLASSIFICATION_ZH = {"public": "公开", "internal": "内部", "secret": "秘密"}

DOCUMENTS = _l("Documents")
SIGNOFF = {
    "notice": settings.define("document_notice_signoff", bool, False, _l("Notices need leadership sign-off"),
                              DOCUMENTS),
    "regulation": settings.define("document_regulation_signoff", bool, True,
                                  _l("Regulations need leadership sign-off"), DOCUMENTS),
    "letter": settings.define("document_letter_signoff", bool, True, _l("Letters need leadership sign-off"),
                              DOCUMENTS),
    "minutes": settings.define("document_minutes_signoff", bool, False, _l("Minutes need leadership sign-off"),
                               DOCUMENTS),
}
RETENTION = {
    "notice": settings.define("document_notice_retention_years", int, 10, _l("Keep issued notices (years)"),
                              DOCUMENTS, minimum=1, maximum=100),
    "regulation": settings.define("document_regulation_retention_years", int, 30,
                                  _l("Keep issued regulations (years)"), DOCUMENTS, minimum=1, maximum=100),
    "letter": settings.define("document_letter_retention_years", int, 10, _l("Keep issued letters (years)"),
                              DOCUMENTS, minimum=1, maximum=100),
    "minutes": settings.define("document_minutes_retention_years", int, 10, _l("Keep issued minutes (years)"),
                               DOCUMENTS, minimum=1, maximum=100),
}
ATTACHMENT_MAX_MB = settings.define("document_attachment_max_mb", int, 20, _l("Largest attached file (MB)"),
                                    DOCUMENTS, minimum=1, maximum=200)

STATES = {
    "draft": _l("Draft"), "in_review": _l("In review"), "returned": _l("Returned for revision"),
    "awaiting_signoff": _l("Awaiting sign-off"), "approved": _l("Ready to issue"), "issued": _l("Issued"),
    "superseded": _l("Superseded"), "voided": _l("Voided"),
}
ARCHIVED_STATES = ("issued", "superseded")
WORKING_STATES = ("draft", "returned")
OPEN_STATES = ("draft", "in_review", "returned", "awaiting_signoff", "approved")
MAX_REVIEWERS = 4

DRAFTERS = frozenset({"logistics", "service_manager", "dept_head", "admin"})
SIGNERS = frozenset({"leadership"})
ISSUERS = frozenset({"logistics", "admin"})
#: Who sees every document past its author's desk and keeps the archive.
ARCHIVISTS = frozenset({"logistics", "leadership", "admin"})
AUTHOR = "author"
AUTHOR_OR_ADMIN = "author_or_admin"
REVIEWER = "reviewer"
REVIEWER_OR_SIGNER = "reviewer_or_signer"

RETENTION_DECISIONS = {"keep": _l("Keep longer"), "destroy_approved": _l("Destruction approved")}


class DocumentError(DomainError):
    """A refused step; the message is for the user, `field` the form field it concerns."""


TRANSITIONS = {
    "edit": Transition(_l("Edit the draft"), WORKING_STATES, "draft", AUTHOR),
    "submit": Transition(_l("Send for review"), ("draft",), "in_review", AUTHOR),
    "approve": Transition(_l("Approve"), ("in_review",), None, REVIEWER, note_label=_l("Comments")),
    "return": Transition(_l("Return with comments"), ("in_review", "awaiting_signoff"), "returned",
                         REVIEWER_OR_SIGNER, note_required=True, note_label=_l("Comments")),
    "sign_off": Transition(_l("Sign off"), ("awaiting_signoff",), "approved", SIGNERS, note_label=_l("Comments")),
    "issue": Transition(_l("Issue"), ("approved",), "issued", ISSUERS),
    "revise": Transition(_l("Make a revision"), ("issued",), None, DRAFTERS),
    "void": Transition(_l("Void"), OPEN_STATES, "voided", AUTHOR_OR_ADMIN, note_required=True,
                       note_label=_l("Reason")),
}


class Document(VoidableModel, VersionedModel):
    number = CharField(max_length=40, null=True, unique=True)  # 发文编号, given at issue
    doc_type = CharField(max_length=12, index=True)
    title = CharField(max_length=200)
    classification = CharField(max_length=10, default="internal")
    body = TextField(default="")
    attachment_name = CharField(max_length=200, default="")  # the file's name as the author gave it
    attachment_stored = CharField(max_length=80, default="")  # the name the portal stored it under
    attachment_ext = CharField(max_length=8, default="")
    author = ForeignKeyField(User, on_delete="RESTRICT", backref="+")
    state = CharField(max_length=20, default="draft", index=True)
    revision = IntegerField(default=0)  # versions sent for review so far
    review_step = IntegerField(default=0)  # the position whose turn it is; 0 when no reviewer's
    signed_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    signed_at = DateTimeField(null=True)
    issued_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    issued_at = DateTimeField(null=True, index=True)
    issue_year = IntegerField(null=True, index=True)
    supersedes = ForeignKeyField("self", null=True, on_delete="RESTRICT", backref="+")
    successor = ForeignKeyField("self", null=True, on_delete="SET NULL", backref="+")  # its revision
    retention_until = DateField(null=True, index=True)
    retention_decision = CharField(max_length=20, default="")
    retention_note = TextField(default="")
    retention_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    retention_at = DateTimeField(null=True)

    error = DocumentError
    missing_message = _l("No such document.")

    @property
    def type_label(self):
        return DOC_TYPES.get(self.doc_type, self.doc_type)

    @property
    def type_zh(self):
        return TYPE_ZH.get(self.doc_type, "")

    @property
    def classification_label(self):
        return CLASSIFICATIONS.get(self.classification, self.classification)

    @property
    def classification_zh(self):
        return CLASSIFICATION_ZH.get(self.classification, "")

    @property
    def state_label(self):
        return STATES.get(self.state, self.state)

    def reviewers(self):
        return list(DocumentReviewer.select(DocumentReviewer, User)
                    .join(User, on=(DocumentReviewer.reviewer == User.id))
                    .where(DocumentReviewer.document == self.id).order_by(DocumentReviewer.position))

    def current_reviewer_id(self):
        if self.state != "in_review" or not self.review_step:
            return None
        row = DocumentReviewer.get_or_none(DocumentReviewer.document == self.id,
                                           DocumentReviewer.position == self.review_step)
        return row.reviewer_id if row else None

    def actions_for(self, user):
        return [(name, t) for name, t in TRANSITIONS.items() if refusal(self, name, user) is None]


fulltext.register("document", 4, Document, Document.title, Document.body)


class DocumentReviewer(BaseModel):
    """A named reviewer and their place in the order; the decision of the current round."""
    document = ForeignKeyField(Document, backref="reviewer_rows", on_delete="CASCADE")
    position = IntegerField()
    reviewer = ForeignKeyField(User, on_delete="RESTRICT", backref="+")
    decision = CharField(max_length=12, default="")  # "", approved, returned
    decided_at = DateTimeField(null=True)
    comment = TextField(default="")

    class Meta:
        indexes = ((("document", "position"), True),)


class DocumentVersion(BaseModel):
    """The text as it was sent for review, each time: versions are kept and viewable."""
    document = ForeignKeyField(Document, backref="versions", on_delete="CASCADE")
    revision = IntegerField()
    title = CharField(max_length=200)
    classification = CharField(max_length=10)
    body = TextField(default="")
    attachment_name = CharField(max_length=200, default="")
    attachment_stored = CharField(max_length=80, default="")
    attachment_ext = CharField(max_length=8, default="")
    created_by = ForeignKeyField(User, on_delete="RESTRICT", backref="+")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("document", "revision"), True),)


class DocumentEvent(BaseModel):
    """One step of a document: who, when, which version, what was said."""
    document = ForeignKeyField(Document, backref="timeline", on_delete="CASCADE")
    at = DateTimeField(default=utcnow)
    actor = ForeignKeyField(User, on_delete="RESTRICT", backref="+")
    action = CharField(max_length=20)
    from_state = CharField(max_length=20, default="")
    to_state = CharField(max_length=20, default="")
    revision = IntegerField(default=0)
    note = TextField(default="")

    @property
    def action_label(self):
        t = TRANSITIONS.get(self.action)
        return t.label if t else EVENT_LABELS.get(self.action, self.action)


EVENT_LABELS = {"create": _l("Document drafted"), "supersede": _l("Superseded"), "retention": _l("Retention reviewed")}


class DocumentRecipient(BaseModel):
    """Whom the author addresses it to: a department (all its people) or one person."""
    document = ForeignKeyField(Document, backref="recipient_rows", on_delete="CASCADE")
    department = ForeignKeyField(Department, null=True, on_delete="RESTRICT", backref="+")
    user = ForeignKeyField(User, null=True, on_delete="RESTRICT", backref="+")


class DocumentReceipt(BaseModel):
    """One reader of an issued document and when they acknowledged reading it."""
    document = ForeignKeyField(Document, backref="receipts", on_delete="CASCADE")
    user = ForeignKeyField(User, on_delete="RESTRICT", backref="+")
    department_name = CharField(max_length=80, default="")  # as it stood at issue, for the circulation list
    delivered_at = DateTimeField(default=utcnow)
    read_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("document", "user"), True), (("user", "read_at"), False))


# ---------------------------------------------------------------- rules

def signoff_needed(doc_type):
    return bool(settings.get(SIGNOFF[doc_type]))


def _has_role(user, roles):
    return bool(set(user.roles) & set(roles))


def refusal(document, action, user):
    transition = TRANSITIONS.get(action)
    if transition is None:
        return _l("Unknown action.")
    if document.state not in transition.sources:
        if action == "edit" and document.state in ARCHIVED_STATES:
            return _l("An issued document is archived and never edited: make a revision, which supersedes it "
                      "when it is issued.")
        if action == "edit" and document.state in OPEN_STATES:
            return _l("This document is with its reviewers: it is edited after it is returned.")
        return _l("This cannot be done to a document that is “%(state)s”.", state=STATES[document.state])
    roles = transition.roles
    if roles == AUTHOR:
        if document.author_id != user.id:
            return _l("Only the author does this.")
    elif roles == AUTHOR_OR_ADMIN:
        if document.author_id != user.id and "admin" not in user.roles:
            return _l("Only the author or an administrator does this.")
    elif roles in (REVIEWER, REVIEWER_OR_SIGNER):
        if document.state == "in_review":
            if document.current_reviewer_id() != user.id:
                return _l("It is not your turn to review this document.")
        elif not _has_role(user, SIGNERS):
            return _l("Only leadership signs off documents.")
    elif not _has_role(user, roles):
        return _l("Your role may not do this.")
    if action == "revise" and document.successor_id:
        successor = Document.get_or_none(Document.id == document.successor_id)
        if successor is not None and successor.state != "voided":
            return _l("A revision of this document is already under way.")
    return None


def may_see(document, user):
    """The author, the reviewers, the readers it was issued to; the archivists once it left the
    author's desk; everyone, once a public (公开) document is issued."""
    if document.author_id == user.id:
        return True
    if document.classification == "public" and document.state in ARCHIVED_STATES:
        return True
    if _has_role(user, ARCHIVISTS) and document.state not in WORKING_STATES:
        return True
    if DocumentReviewer.select().where(DocumentReviewer.document == document.id,
                                       DocumentReviewer.reviewer == user.id).exists():
        return True
    return DocumentReceipt.select().where(DocumentReceipt.document == document.id,
                                          DocumentReceipt.user == user.id).exists()


def may_see_receipts(document, user):
    """Who has read it: the author and the archivists (the issuer among them)."""
    return document.author_id == user.id or _has_role(user, ARCHIVISTS)


def _clean_content(actor, doc_type, title, classification, body, reviewer_ids, department_ids, user_ids):
    title = (title or "").strip()
    if doc_type not in DOC_TYPES:
        raise DocumentError(_l("Choose the type of document."), field="doc_type")
    if not title:
        raise DocumentError(_l("Give the document a title."), field="title")
    if len(title) > 200:
        raise DocumentError(_l("A title has at most 200 characters."), field="title")
    if classification not in CLASSIFICATIONS:
        raise DocumentError(_l("Choose the classification."), field="classification")
    reviewer_ids = [int(r) for r in reviewer_ids if r]
    if not reviewer_ids:
        raise DocumentError(_l("Name at least one reviewer."), field="reviewer1")
    if len(set(reviewer_ids)) != len(reviewer_ids):
        raise DocumentError(_l("Each reviewer is named once."), field="reviewer1")
    if actor.id in reviewer_ids:
        raise DocumentError(_l("The author does not review their own document."), field="reviewer1")
    if len(reviewer_ids) > MAX_REVIEWERS:
        raise DocumentError(_l("At most %(n)s reviewers.", n=MAX_REVIEWERS), field="reviewer1")
    found = {u.id for u in User.select(User.id).where(User.id.in_(reviewer_ids), User.is_active == True)}  # noqa: E712
    if len(found) != len(reviewer_ids):
        raise DocumentError(_l("A reviewer named is not an active member of staff."), field="reviewer1")
    department_ids = sorted({int(d) for d in department_ids or ()})
    user_ids = sorted({int(u) for u in user_ids or ()})
    if not department_ids and not user_ids:
        raise DocumentError(_l("Name the departments or people it is issued to."), field="departments")
    if department_ids and Department.select().where(Department.id.in_(department_ids)).count() != len(department_ids):
        raise DocumentError(_l("Choose departments from the list."), field="departments")
    if user_ids and User.select().where(User.id.in_(user_ids)).count() != len(user_ids):
        raise DocumentError(_l("Choose people from the list."), field="people")
    return {"doc_type": doc_type, "title": title, "classification": classification, "body": (body or "").strip(),
            "reviewer_ids": reviewer_ids, "department_ids": department_ids, "user_ids": user_ids}


def store_file(filename, data):
    """Check and store an attached file (PDF, Word, Excel, JPEG/PNG): (name, stored name, extension)."""
    try:
        extension = check_document(data, settings.get(ATTACHMENT_MAX_MB) * 1024 * 1024)
    except UploadError as refused:
        raise DocumentError(str(refused), field="file") from None
    name = (os.path.basename((filename or "").replace("\\", "/")).strip() or f"file.{extension}")[:200]
    return name, store_document("documents", data, extension), extension


def _write_people(document, content):
    DocumentReviewer.delete().where(DocumentReviewer.document == document.id).execute()
    for position, reviewer_id in enumerate(content["reviewer_ids"], start=1):
        DocumentReviewer.create(document=document, position=position, reviewer=reviewer_id)
    DocumentRecipient.delete().where(DocumentRecipient.document == document.id).execute()
    for department_id in content["department_ids"]:
        DocumentRecipient.create(document=document, department=department_id)
    for user_id in content["user_ids"]:
        DocumentRecipient.create(document=document, user=user_id)


def _event(document, actor, action, from_state="", to_state="", note=""):
    DocumentEvent.create(document=document, actor=actor, action=action, from_state=from_state,
                         to_state=to_state or document.state, revision=document.revision, note=note or "")


def draft(actor, *, doc_type, title, classification, body="", reviewer_ids=(), department_ids=(), user_ids=(),
          file=None):
    """Start a document; `file` is (filename, bytes) or None. Body or file: at least one."""
    if not _has_role(actor, DRAFTERS):
        raise DocumentError(_l("Your role may not do this."))
    content = _clean_content(actor, doc_type, title, classification, body, reviewer_ids, department_ids, user_ids)
    if not content["body"] and not file:
        raise DocumentError(_l("Write the text or attach the document's file."), field="body")
    stored = store_file(*file) if file else ("", "", "")
    with write_transaction():
        document = Document.create(doc_type=content["doc_type"], title=content["title"],
                                   classification=content["classification"], body=content["body"], author=actor,
                                   attachment_name=stored[0], attachment_stored=stored[1], attachment_ext=stored[2])
        _write_people(document, content)
        fulltext.index(document)
        _event(document, actor, "create", "", "draft")
        audit.record_create(actor, document)
    return document


def _next_reviewer(document, after):
    return (DocumentReviewer.select().where(DocumentReviewer.document == document.id,
                                            DocumentReviewer.position > after)
            .order_by(DocumentReviewer.position).first())


def _add_years(day, years):
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def format_number(doc_type, year, n):
    return f"{TYPE_ZH[doc_type]}〔{year}〕{n}号"


ASK_REVIEW = N_("Document “%(title)s” waits for your review.")
ASK_SIGNOFF = N_("Document “%(title)s” waits for your sign-off.")
ASK_ISSUE = N_("Document “%(title)s” is approved and ready to issue.")
TOLD_RETURNED = N_("Your document “%(title)s” was returned by %(name)s: %(comment)s")
TOLD_ISSUED = N_("Your document “%(title)s” was issued as %(number)s.")
ASK_READ = N_("Document %(number)s “%(title)s” was issued to you: please read it.")


def _link(document):
    return ("documents.show", {"document_id": document.id})


def apply(document_id, action, actor, version, *, note="", content=None, file=None, keep_file=True):
    """Take one step: checked, stamped, audited, the people concerned told. For "edit", `content`
    holds the form's fields and `file` a new attachment; for "revise" the new draft is the
    returned document's successor."""
    if action == "edit":
        if content is None:
            raise DocumentError(_l("Nothing to change."))
        document = Document.load(document_id, version)
        reason = refusal(document, action, actor)
        if reason:
            raise DocumentError(reason)
        content = _clean_content(actor, **content)
        stored = store_file(*file) if file else None
    note = (note or "").strip()
    with write_transaction():
        document = Document.load(document_id, version)
        reason = refusal(document, action, actor)
        if reason:
            raise DocumentError(reason)
        transition = TRANSITIONS[action]
        if transition.note_required and not note:
            raise DocumentError(_l("Write your comments.") if action == "return" else _l("Give the reason."),
                                field="note")
        now = utcnow()
        values = {}
        if transition.target:
            values[Document.state] = transition.target
        notices = []
        if action == "edit":
            values.update({Document.doc_type: content["doc_type"], Document.title: content["title"],
                           Document.classification: content["classification"], Document.body: content["body"]})
            if stored:
                values.update({Document.attachment_name: stored[0], Document.attachment_stored: stored[1],
                               Document.attachment_ext: stored[2]})
            elif not keep_file:
                values.update({Document.attachment_name: "", Document.attachment_stored: "",
                               Document.attachment_ext: ""})
            has_file = bool(stored) or (keep_file and document.attachment_stored)
            if not content["body"] and not has_file:
                raise DocumentError(_l("Write the text or attach the document's file."), field="body")
        elif action == "submit":
            first = _next_reviewer(document, 0)
            if first is None:
                raise DocumentError(_l("Name at least one reviewer."))
            revision = document.revision + 1
            DocumentVersion.create(document=document, revision=revision, title=document.title,
                                   classification=document.classification, body=document.body,
                                   attachment_name=document.attachment_name,
                                   attachment_stored=document.attachment_stored,
                                   attachment_ext=document.attachment_ext, created_by=actor, created_at=now)
            DocumentReviewer.update(decision="", decided_at=None, comment="").where(
                DocumentReviewer.document == document.id).execute()
            values.update({Document.revision: revision, Document.review_step: first.position})
            notices.append((first.reviewer, ASK_REVIEW, {}))
        elif action == "approve":
            DocumentReviewer.update(decision="approved", decided_at=now, comment=note).where(
                DocumentReviewer.document == document.id,
                DocumentReviewer.position == document.review_step).execute()
            following = _next_reviewer(document, document.review_step)
            if following is not None:
                values[Document.review_step] = following.position
                notices.append((following.reviewer, ASK_REVIEW, {}))
            elif signoff_needed(document.doc_type):
                values.update({Document.review_step: 0, Document.state: "awaiting_signoff"})
                notices += [(u, ASK_SIGNOFF, {}) for u in User.active_with_role("leadership")]
            else:
                values.update({Document.review_step: 0, Document.state: "approved"})
                notices += [(u, ASK_ISSUE, {}) for u in User.active_with_role("logistics")]
        elif action == "return":
            if document.state == "in_review":
                DocumentReviewer.update(decision="returned", decided_at=now, comment=note).where(
                    DocumentReviewer.document == document.id,
                    DocumentReviewer.position == document.review_step).execute()
            values[Document.review_step] = 0
            notices.append((document.author, TOLD_RETURNED, {"name": actor.display_name, "comment": note}))
        elif action == "sign_off":
            values.update({Document.signed_by: actor, Document.signed_at: now})
            notices += [(u, ASK_ISSUE, {}) for u in User.active_with_role("logistics")]
        elif action == "issue":
            year, n = next_value(COUNTER_KEYS[document.doc_type])
            number = format_number(document.doc_type, year, n)
            today = to_local(now).date()
            values.update({Document.number: number, Document.issued_by: actor, Document.issued_at: now,
                           Document.issue_year: year,
                           Document.retention_until: _add_years(today, settings.get(RETENTION[document.doc_type]))})
            readers = _readers(document)
            for user, department_name in readers:
                DocumentReceipt.create(document=document, user=user, department_name=department_name,
                                       delivered_at=now)
                notices.append((user, ASK_READ, {"number": number}))
            notices.append((document.author, TOLD_ISSUED, {"number": number}))
            if document.supersedes_id:
                _supersede(document.supersedes_id, actor, number)
        elif action == "revise":
            successor = _copy_as_revision(document, actor)
            values[Document.successor] = successor.id
        elif action == "void":
            values.update({Document.voided_at: now, Document.void_reason: note, Document.review_step: 0})
        before = document.snapshot()
        updated = document.update_versioned(version, values)
        if action != "edit":
            _event(updated, actor, action, document.state, updated.state, note)
        else:
            _write_people(updated, content)
            fulltext.index(updated, fulltext.text_of(document))
        audit.record_change(actor, updated, before)
        for user, message, params in notices:
            notify(user, message, _link(updated), title=updated.title, **params)
    return updated


def _readers(document):
    """The people it goes to: every active member of the departments named, and the people named;
    each once, with the department they were reached through (or their own)."""
    readers = {}
    rows = list(DocumentRecipient.select().where(DocumentRecipient.document == document.id))
    department_ids = [r.department_id for r in rows if r.department_id]
    if department_ids:
        for user in (User.select(User, Department).join(Department, on=(User.department == Department.id))
                     .where(User.department.in_(department_ids), User.is_active == True)  # noqa: E712
                     .order_by(Department.name, User.display_name)):
            readers.setdefault(user.id, (user, user.department.name))
    user_ids = [r.user_id for r in rows if r.user_id]
    if user_ids:
        for user in (User.select(User, Department).join(Department, JOIN.LEFT_OUTER,
                                                        on=(User.department == Department.id))
                     .where(User.id.in_(user_ids)).order_by(User.display_name)):
            readers.setdefault(user.id, (user, user.department.name if user.department_id else ""))
    return list(readers.values())


def _supersede(old_id, actor, number):
    old = Document.get_by_id(old_id)
    if old.state != "issued":
        return
    before = old.snapshot()
    updated = old.update_versioned(old.version, {Document.state: "superseded"})
    _event(updated, actor, "supersede", "issued", "superseded", number)
    audit.record_change(actor, updated, before)


def _copy_as_revision(document, actor):
    successor = Document.create(doc_type=document.doc_type, title=document.title,
                                classification=document.classification, body=document.body, author=actor,
                                attachment_name=document.attachment_name,
                                attachment_stored=document.attachment_stored,
                                attachment_ext=document.attachment_ext, supersedes=document.id)
    fulltext.index(successor)
    for row in DocumentReviewer.select().where(DocumentReviewer.document == document.id):
        if row.reviewer_id != actor.id:
            DocumentReviewer.create(document=successor, position=row.position, reviewer=row.reviewer_id)
    for row in DocumentRecipient.select().where(DocumentRecipient.document == document.id):
        DocumentRecipient.create(document=successor, department=row.department_id, user=row.user_id)
    _event(successor, actor, "create", "", "draft", document.number or "")
    audit.record_create(actor, successor)
    return successor


# ---------------------------------------------------------------- reading

def acknowledge(document_id, user):
    """The reader confirms having read it; a second time changes nothing."""
    with write_transaction():
        receipt = DocumentReceipt.get_or_none(DocumentReceipt.document == document_id,
                                              DocumentReceipt.user == user.id)
        if receipt is None:
            raise DocumentError(_l("This document was not issued to you."))
        if receipt.read_at is not None:
            return receipt
        receipt.read_at = utcnow()
        receipt.save(only=[DocumentReceipt.read_at])
        audit.record_event(user, "document_read", Document(id=document_id),
                           changes={"read_at": [None, receipt.read_at.isoformat()]})
    return receipt


def receipt_of(document, user):
    return DocumentReceipt.get_or_none(DocumentReceipt.document == document.id, DocumentReceipt.user == user.id)


def receipts(document):
    """The circulation list: who it reached and when each read it, unread first."""
    return list(DocumentReceipt.select(DocumentReceipt, User).join(User, on=(DocumentReceipt.user == User.id))
                .where(DocumentReceipt.document == document.id)
                .order_by(DocumentReceipt.read_at.is_null(False), DocumentReceipt.department_name,
                          User.display_name))


def unread_count(user):
    return (DocumentReceipt.select().join(Document, on=(DocumentReceipt.document == Document.id))
            .where(DocumentReceipt.user == user.id, DocumentReceipt.read_at.is_null(),
                   Document.state == "issued").count())


def _listing():
    return Document.select(Document, User).join(User, on=(Document.author == User.id))


def to_read(user, limit=100):
    return list(_listing().join(DocumentReceipt, on=(DocumentReceipt.document == Document.id))
                .where(DocumentReceipt.user == user.id, DocumentReceipt.read_at.is_null(),
                       Document.state == "issued")
                .order_by(Document.issued_at.desc(), Document.id.desc()).limit(limit))


def read_lately(user, limit=20):
    return list(_listing().switch(Document).join(DocumentReceipt, on=(DocumentReceipt.document == Document.id))
                .where(DocumentReceipt.user == user.id, DocumentReceipt.read_at.is_null(False))
                .order_by(DocumentReceipt.read_at.desc()).limit(limit))


def _my_turn(user):
    turn = DocumentReviewer.alias()
    condition = (Document.state == "in_review") & turn.id.is_null(False)
    if _has_role(user, SIGNERS):
        condition |= Document.state == "awaiting_signoff"
    if _has_role(user, ISSUERS):
        condition |= Document.state == "approved"
    return (_listing().switch(Document)
            .join(turn, JOIN.LEFT_OUTER, on=((turn.document == Document.id) & (turn.reviewer == user.id)
                                             & (turn.position == Document.review_step)))
            .where(condition, Document.voided_at.is_null()))


def my_turn(user, limit=100):
    """What waits on me: my review, my sign-off (leadership), my issuing (logistics)."""
    return list(_my_turn(user).order_by(Document.updated_at, Document.id).limit(limit))


def waiting_count(user):
    """The navigation's count: what I am to read and what waits on me."""
    return unread_count(user) + _my_turn(user).count()


def authored_by(user):
    """My documents, newest change first (a query: the page pages it)."""
    return (_listing().where(Document.author == user.id)
            .order_by(Document.updated_at.desc(), Document.id.desc()))


def versions(document):
    return list(DocumentVersion.select().where(DocumentVersion.document == document.id)
                .order_by(DocumentVersion.revision.desc()))


def timeline(document):
    return list(DocumentEvent.select(DocumentEvent, User).join(User, on=(DocumentEvent.actor == User.id))
                .where(DocumentEvent.document == document.id).order_by(DocumentEvent.at, DocumentEvent.id))


def recipients(document):
    """The addressees as written in the draft: [department names], [people]."""
    rows = list(DocumentRecipient.select(DocumentRecipient, Department, User)
                .join(Department, JOIN.LEFT_OUTER, on=(DocumentRecipient.department == Department.id))
                .switch(DocumentRecipient).join(User, JOIN.LEFT_OUTER, on=(DocumentRecipient.user == User.id))
                .where(DocumentRecipient.document == document.id).order_by(DocumentRecipient.id))
    return ([r.department for r in rows if r.department_id], [r.user for r in rows if r.user_id])


def archive(q="", doc_type="", year=None, user=None):
    """The archive, newest issue first: by number, title, text (body), type and year of issue."""
    query = _listing().where(Document.state.in_(ARCHIVED_STATES))
    q = (q or "").strip()
    if q:
        query = query.where(Document.number.contains(q) | Document.title.contains(q)
                            | fulltext.matches("document", q))
    if doc_type in DOC_TYPES:
        query = query.where(Document.doc_type == doc_type)
    if year:
        query = query.where(Document.issue_year == year)
    return query.order_by(Document.issued_at.desc(), Document.id.desc())


def archive_years():
    return [r.issue_year for r in Document.select(Document.issue_year).where(
        Document.issue_year.is_null(False)).distinct().order_by(Document.issue_year.desc())]


def past_retention(today=None):
    """Archived documents past their retention period, awaiting a person's decision."""
    today = today or local_now().date()
    return (_listing().where(Document.state.in_(ARCHIVED_STATES), Document.retention_until < today,
                             Document.retention_decision != "destroy_approved")
            .order_by(Document.retention_until, Document.id))


def destruction_approved():
    return (_listing().where(Document.state.in_(ARCHIVED_STATES), Document.retention_decision == "destroy_approved")
            .order_by(Document.retention_at.desc(), Document.id))


def review_retention(document_id, actor, decision, *, years=None, note=""):
    """A person decides on a document past its retention: keep it N more years, or approve its
    destruction (done on paper; the portal keeps the record)."""
    if not _has_role(actor, ARCHIVISTS):
        raise DocumentError(_l("Your role may not do this."))
    if decision not in RETENTION_DECISIONS:
        raise DocumentError(_l("Choose what is to happen to it."), field="decision")
    note = (note or "").strip()
    with write_transaction():
        document = Document.load(document_id)
        today = local_now().date()
        if document.state not in ARCHIVED_STATES or document.retention_until is None:
            raise DocumentError(_l("Only archived documents have a retention period."))
        if document.retention_until >= today:
            raise DocumentError(_l("This document is still within its retention period."))
        if document.retention_decision == "destroy_approved":
            raise DocumentError(_l("Its destruction is already approved."))
        values = {Document.retention_decision: decision, Document.retention_note: note,
                  Document.retention_by: actor, Document.retention_at: utcnow()}
        if decision == "keep":
            if not years or years < 1 or years > 100:
                raise DocumentError(_l("Keep it 1 to 100 more years."), field="years")
            values[Document.retention_until] = _add_years(today, years)
        elif not note:
            raise DocumentError(_l("Give the reason."), field="note")
        before = document.snapshot()
        updated = document.update_versioned(document.version, values)
        _event(updated, actor, "retention", updated.state, updated.state,
               f"{RETENTION_DECISIONS[decision]} {updated.retention_until or ''} {note}".strip())
        audit.record_change(actor, updated, before)
    return updated
