"""Documents (文件档案): what waits on me and what I am to read, drafting and editing a draft, one
document with its next steps, versions and read receipts, the archive and its retention review,
and the prints (the issued document with its header, the circulation list)."""
from flask import Blueprint, abort, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import BooleanField, FileField, HiddenField, RadioField, SelectField, SelectMultipleField, StringField, \
    TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from models import documents
from models.base import DomainError
from models.documents import (
    CLASSIFICATIONS, DOC_TYPES, RETENTION_DECISIONS, STATES, TRANSITIONS, Document, DocumentVersion,
)
from models.submissions import submit_once
from models.timezone import to_local
from models.uploads import DOCUMENT_TYPES, stored_path
from models.users import Department, User
from printing import qr_data_uri
from views.access import allow
from views.fields import CheckboxesField, WholeNumberField, int_arg, show_refusal, strip
from views.printing import record_url, render_pdf
from views.templating import NAV_COUNTS
from views.ui import PortalForm, one_page, redirect_to, render, render_fragment, toast

bp = Blueprint("documents", __name__)

NAV_COUNTS["documents.index"] = documents.waiting_count

REVIEWER_LABELS = (_l("First reviewer"), _l("Second reviewer"), _l("Third reviewer"), _l("Fourth reviewer"))
STAFF_SHOWN = 500


class DraftForm(PortalForm):
    version = HiddenField()
    doc_type = SelectField(_l("Type"), choices=[SelectChoice(k, v) for k, v in DOC_TYPES.items()],
                           validate_choice=False)
    title = StringField(_l("Title"), filters=[strip],
                        validators=[DataRequired(message=_l("Give the document a title.")), Length(max=200)])
    classification = RadioField(_l("Classification"), default="internal", validate_choice=False,
                                choices=[SelectChoice(k, v) for k, v in CLASSIFICATIONS.items()])
    body = TextAreaField(_l("Text"), filters=[strip], validators=[Length(max=100000)],
                         description=_l("Or attach the document as a file below."))
    file = FileField(_l("Attached file (PDF, Word, Excel, JPEG or PNG)"),
                     render_kw={"accept": ".pdf,.docx,.xlsx,.jpg,.jpeg,.png"})
    remove_file = BooleanField(_l("Remove the attached file"))
    reviewer1 = SelectField(REVIEWER_LABELS[0], coerce=int, validate_choice=False,
                            description=_l("Reviewers review in this order, each after the one before."))
    reviewer2 = SelectField(REVIEWER_LABELS[1], coerce=int, validate_choice=False)
    reviewer3 = SelectField(REVIEWER_LABELS[2], coerce=int, validate_choice=False)
    reviewer4 = SelectField(REVIEWER_LABELS[3], coerce=int, validate_choice=False)
    departments = CheckboxesField(_l("Issued to departments"), coerce=int, validate_choice=False)
    people = SelectMultipleField(_l("Issued to people"), coerce=int, validate_choice=False,
                                 render_kw={"size": 6})

    def reviewer_ids(self):
        return [f.data for f in (self.reviewer1, self.reviewer2, self.reviewer3, self.reviewer4) if f.data]

    def content(self):
        return {"doc_type": self.doc_type.data, "title": self.title.data, "classification": self.classification.data,
                "body": self.body.data, "reviewer_ids": self.reviewer_ids(),
                "department_ids": self.departments.data or [], "user_ids": self.people.data or []}

    def uploaded(self):
        upload = request.files.get(self.file.name)
        if upload is None or not upload.filename:
            return None
        return upload.filename, upload.read()


class StepForm(PortalForm):
    """One per next step, prefixed with the step's name: the page holds several at once."""
    version = HiddenField()
    note = TextAreaField(_l("Comments"), filters=[strip], validators=[Length(max=5000)])


class RetentionForm(PortalForm):
    decision = RadioField(_l("Decision"), choices=[SelectChoice("keep", _l("Keep longer")),
                                                   SelectChoice("destroy_approved", _l("Approve destruction"))],
                          validate_choice=False, validators=[DataRequired(message=_l("Choose what is to happen to it."))])
    years = WholeNumberField(_l("Keep for more years"), validators=[Optional(), NumberRange(min=1, max=100)])
    note = TextAreaField(_l("Reason"), filters=[strip], validators=[Length(max=2000)])


@bp.context_processor
def labels():
    return {"STATES": STATES, "DOC_TYPES": DOC_TYPES, "CLASSIFICATIONS": CLASSIFICATIONS,
            "RETENTION_LABELS": RETENTION_DECISIONS}


def _staff():
    return list(User.select(User.id, User.display_name).where(User.is_active == True)  # noqa: E712
                .order_by(User.display_name).limit(STAFF_SHOWN))


def _choices(form):
    staff = _staff()
    people = [SelectChoice(u.id, u.display_name) for u in staff]
    for f in (form.reviewer1, form.reviewer2, form.reviewer3, form.reviewer4):
        f.choices = [SelectChoice(0, "—")] + people
    form.people.choices = people
    form.departments.choices = [SelectChoice(d.id, d.name) for d in Department.active_ones()]
    return form


def _document(document_id):
    document = (documents._listing().where(Document.id == document_id).first()) or abort(404)
    if not documents.may_see(document, current_user):
        abort(404)
    return document


@bp.route("/documents")
@allow("admin_services.use")
def index():
    """What I am to read, what waits on my review, sign-off or issue, and my own documents."""
    rows, more_url, page = one_page(documents.authored_by(current_user), "documents.index")
    if page > 1:
        return render_fragment("documents/index.html", "mine_rows", rows=rows, more_url=more_url)
    return render("documents/index.html", to_read=documents.to_read(current_user),
                  my_turn=documents.my_turn(current_user), rows=rows, more_url=more_url,
                  read_lately=documents.read_lately(current_user))


def _form_page(form, document=None, status=200, error=None):
    """The draft form; a returned document shows its reviewers' comments above it."""
    returned_by = [r for r in document.reviewers() if r.decision == "returned"] if document else []
    return render("documents/form.html", "form", status=status, form=form, document=document, error=error,
                  returned_by=returned_by)


@bp.route("/documents/new", methods=["GET", "POST"])
@allow("documents.draft")
def new():
    """Draft a document: its text or file, its reviewers in order, whom it goes to."""
    form = _choices(DraftForm())
    if earlier := form.earlier_result():
        return redirect_to(earlier)
    if form.validate_on_submit():
        def create():
            document = documents.draft(current_user, file=form.uploaded(), **form.content())
            return url_for("documents.show", document_id=document.id)
        try:
            url, created = submit_once(form.submission_key.data, current_user, create)
        except DomainError as refused:
            return _form_page(form, status=422, error=show_refusal(form, refused))
        if created:
            toast(_("Draft saved."))
        return redirect_to(url)
    return _form_page(form, status=422 if form.errors else 200)


@bp.route("/documents/<int:document_id>/edit", methods=["GET", "POST"])
@allow("documents.draft")
def edit(document_id):
    """Change a draft or a returned document (never an issued one)."""
    document = _document(document_id)
    refusal = documents.refusal(document, "edit", current_user)
    if request.method == "GET":
        reviewers = [r.reviewer_id for r in document.reviewers()]
        departments, people = documents.recipients(document)
        form = _choices(DraftForm(formdata=None, data={
            "version": document.version, "doc_type": document.doc_type, "title": document.title,
            "classification": document.classification, "body": document.body,
            **{f"reviewer{i}": r for i, r in enumerate(reviewers, start=1)},
            "departments": [d.id for d in departments], "people": [u.id for u in people]}))
        return _form_page(form, document, error=refusal)
    form = _choices(DraftForm())
    if not form.validate_on_submit():
        return _form_page(form, document, 422)
    try:
        version = int(form.version.data or "")
    except ValueError:
        return _form_page(form, document, 422, _("Reload the page and try again."))
    try:
        documents.apply(document.id, "edit", current_user, version, content=form.content(), file=form.uploaded(),
                        keep_file=not form.remove_file.data)
    except DomainError as refused:
        return _form_page(form, document, 422, show_refusal(form, refused))
    toast(_("Draft saved."))
    return redirect_to(url_for("documents.show", document_id=document.id))


def _show(document, posted=None, status=200, error=None):
    actions = [(n, t) for n, t in document.actions_for(current_user) if n != "edit"]
    may_edit = documents.refusal(document, "edit", current_user) is None
    forms = {name: StepForm(prefix=name, formdata=None, data={"version": document.version}) for name, _t in actions}
    for name, form in forms.items():
        if TRANSITIONS[name].note_label:
            form.note.label.text = TRANSITIONS[name].note_label
    if posted is not None:
        name = posted._prefix.rstrip("-")
        posted.version.data = document.version
        if TRANSITIONS[name].note_label:
            posted.note.label.text = TRANSITIONS[name].note_label
        forms[name] = posted
    departments, people = documents.recipients(document)
    successor = Document.get_or_none(Document.id == document.successor_id) if document.successor_id else None
    supersedes = Document.get_or_none(Document.id == document.supersedes_id) if document.supersedes_id else None
    return render("documents/show.html", status=status, document=document, actions=actions, forms=forms,
                  error=error, opened=posted._prefix.rstrip("-") if posted else None, may_edit=may_edit,
                  reviewers=document.reviewers(), versions=documents.versions(document),
                  timeline=documents.timeline(document), departments=departments, people=people,
                  receipt=documents.receipt_of(document, current_user),
                  receipts=documents.receipts(document) if documents.may_see_receipts(document, current_user)
                  else None, successor=successor, supersedes=supersedes, NOTE_REQUIRED={
                      n: t.note_required for n, t in TRANSITIONS.items()})


@bp.route("/documents/<int:document_id>", methods=["GET", "POST"])
@allow("admin_services.use")
def show(document_id):
    """One document: its text, versions, reviewers, readers, and the next steps I may take."""
    document = _document(document_id)
    if request.method == "GET":
        return _show(document)
    action = request.form.get("action", "")
    if action not in TRANSITIONS or action == "edit":
        abort(400)
    form = StepForm(prefix=action)
    if not form.validate_on_submit():
        return _show(document, form, 422)
    try:
        version = int(form.version.data or "")
    except ValueError:
        return _show(document, form, 422, _("Reload the page and try again."))
    try:
        updated = documents.apply(document.id, action, current_user, version, note=form.note.data)
    except DomainError as refused:
        return _show(_document(document_id), form, 422, show_refusal(form, refused))
    toast(_("%(action)s: done.", action=TRANSITIONS[action].label))
    if action == "revise":
        return redirect_to(url_for("documents.edit", document_id=updated.successor_id))
    if action == "issue":
        toast(_("Issued as %(number)s.", number=updated.number))
    return redirect_to(url_for("documents.show", document_id=document.id))


@bp.route("/documents/<int:document_id>/read", methods=["POST"])
@allow("admin_services.use")
def read(document_id):
    """I have read it (the read receipt)."""
    document = _document(document_id)
    try:
        documents.acknowledge(document.id, current_user)
    except DomainError as refused:
        return _show(document, status=422, error=str(refused))
    toast(_("Marked as read."))
    return redirect_to(url_for("documents.show", document_id=document.id))


@bp.route("/documents/<int:document_id>/file")
@allow("admin_services.use")
def attachment(document_id):
    """The attached file of the document, or of one of its versions (?revision=)."""
    document = _document(document_id)
    source = document
    revision = int_arg(request.args, "revision")
    if revision:
        source = DocumentVersion.get_or_none(DocumentVersion.document == document.id,
                                             DocumentVersion.revision == revision) or abort(404)
    if not source.attachment_stored:
        abort(404)
    return send_file(stored_path("documents", source.attachment_stored),
                     mimetype=DOCUMENT_TYPES[source.attachment_ext], as_attachment=True,
                     download_name=source.attachment_name)


@bp.route("/documents/<int:document_id>/print.pdf")
@allow("admin_services.use")
def print_document(document_id):
    """The document as issued, with its header (红头), number, text, signature and date."""
    document = _document(document_id)
    departments, people = documents.recipients(document)
    issued = to_local(document.issued_at).date() if document.issued_at else None
    return render_pdf("print/document.html", f"{document.number or document.title}.pdf", document=document,
                      departments=departments, people=people, number=document.number or "",
                      issued_day=f"{issued.year}年{issued.month}月{issued.day}日" if issued else "",
                      qr=qr_data_uri(record_url("documents.show", document_id=document.id)))


@bp.route("/documents/<int:document_id>/circulation.pdf")
@allow("documents.archive")
def circulation(document_id):
    """The circulation list (文件传阅签收单): who received it and when each read it."""
    document = _document(document_id)
    rows = documents.receipts(document)
    return render_pdf("print/document_circulation.html", f"传阅签收单-{document.number or document.id}.pdf",
                      document=document, rows=rows, read=sum(1 for r in rows if r.read_at),
                      number=document.number or "",
                      qr=qr_data_uri(record_url("documents.show", document_id=document.id)))


@bp.route("/documents/archive")
@allow("documents.archive")
def archive_index():
    """The archive: issued and superseded documents by number, title, text, type and year."""
    q = request.args.get("q", "").strip()[:80]
    doc_type = request.args.get("type", "")
    year = int_arg(request.args, "year")
    rows, more_url, page = one_page(documents.archive(q=q, doc_type=doc_type, year=year), "documents.archive_index")
    if page > 1:
        return render_fragment("documents/archive.html", "more_rows", rows=rows, more_url=more_url)
    return render("documents/archive.html", "rows", rows=rows, more_url=more_url, q=q, doc_type=doc_type,
                  year=year, years=documents.archive_years())


def _retention_page(forms=None, status=200, error=None):
    rows, more_url, page = one_page(documents.past_retention(), "documents.retention")
    if page > 1:
        return render_fragment("documents/retention.html", "more_rows", rows=rows, more_url=more_url, forms={})
    forms = forms or {}
    for row in rows:
        forms.setdefault(row.id, RetentionForm(prefix=f"r{row.id}", formdata=None))
    return render("documents/retention.html", status=status, rows=rows, more_url=more_url, forms=forms,
                  error=error, approved=list(documents.destruction_approved().limit(100)))


@bp.route("/documents/retention")
@allow("documents.archive")
def retention():
    """Archived documents past their retention period, for a decision; and those approved for destruction."""
    return _retention_page()


@bp.route("/documents/<int:document_id>/retention", methods=["POST"])
@allow("documents.archive")
def review_retention(document_id):
    """Keep a document N more years, or approve its destruction (on paper: the record stays)."""
    document = _document(document_id)
    form = RetentionForm(prefix=f"r{document.id}")
    if form.validate_on_submit():
        try:
            documents.review_retention(document.id, current_user, form.decision.data, years=form.years.data,
                                       note=form.note.data)
        except DomainError as refused:
            error = show_refusal(form, refused)
            return _retention_page({document.id: form}, 422, error)
        toast(_("Retention decided for %(number)s.", number=document.number))
        return redirect_to(url_for("documents.retention"))
    return _retention_page({document.id: form}, 422)
