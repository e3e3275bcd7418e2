"""Documents (文件档案): drafted, reviewed in order, signed off where the type asks, issued with a
number per type and year, read by its recipients, archived and never edited, superseded by a
revision, searched in the archive, reviewed when past retention, printed."""
import datetime as dt

import pytest
import time_machine

from models import documents, settings
from models.base import DomainError
from models.documents import Document, DocumentReceipt, DocumentVersion
from models.notifications import Notification
from models.users import Department
from tests.pdf import assert_embedded_cjk_font, pdf_text

NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.timezone.utc)  # 10:00 in Shanghai


@pytest.fixture
def cast(make_user):
    return {
        "author": make_user("author", "service_manager", department="客服部", display_name="陈作者"),
        "first": make_user("first", "dept_head", department="客服部", display_name="李审核"),
        "second": make_user("second", "specialist", department="客服部", display_name="王审核"),
        "leader": make_user("leader", "leadership", display_name="赵领导"),
        "logi": make_user("logi", "logistics", department="行政后勤部", display_name="刘后勤"),
        "reader": make_user("reader", "front_desk", department="前台", display_name="周前台"),
        "reader2": make_user("reader2", "front_desk", department="前台", display_name="吴前台"),
        "outsider": make_user("outsider", "specialist", department="销售部", display_name="外人"),
    }


def _draft(cast, doc_type="notice", reviewers=("first", "second"), title="关于春节值班安排的通知",
           body="各部门：春节期间值班安排如下。", departments=("前台",), people=()):
    return documents.draft(
        cast["author"], doc_type=doc_type, title=title, classification="internal", body=body,
        reviewer_ids=[cast[r].id for r in reviewers],
        department_ids=[Department.get(name=d).id for d in departments], user_ids=[cast[p].id for p in people])


def _step(doc, action, actor, **kwargs):
    return documents.apply(doc.id, action, actor, Document.get_by_id(doc.id).version, **kwargs)


def _issued(cast, doc_type="notice", **kwargs):
    doc = _draft(cast, doc_type, **kwargs)
    _step(doc, "submit", cast["author"])
    for name in kwargs.get("reviewers", ("first", "second")):
        _step(doc, "approve", cast[name])
    if documents.signoff_needed(doc_type):
        _step(doc, "sign_off", cast["leader"])
    return _step(doc, "issue", cast["logi"])


def test_a_notice_goes_through_its_reviewers_in_order_and_is_issued_with_a_number(app, cast):
    with app.test_request_context(), time_machine.travel(NOW, tick=False):
        doc = _draft(cast)
        _step(doc, "submit", cast["author"])
        doc = Document.get_by_id(doc.id)
        assert doc.state == "in_review" and doc.current_reviewer_id() == cast["first"].id
        assert Notification.select().where(Notification.user == cast["first"].id).count() == 1
        # The second reviewer's turn has not come.
        with pytest.raises(DomainError, match="not your turn"):
            _step(doc, "approve", cast["second"])
        _step(doc, "approve", cast["first"], note="同意")
        assert Document.get_by_id(doc.id).current_reviewer_id() == cast["second"].id
        assert Notification.select().where(Notification.user == cast["second"].id).count() == 1
        _step(doc, "approve", cast["second"])
        doc = Document.get_by_id(doc.id)
        assert doc.state == "approved"  # a notice needs no sign-off by default
        issued = _step(doc, "issue", cast["logi"])
    assert issued.state == "issued" and issued.number == "通知〔2026〕1号"
    assert issued.retention_until == dt.date(2036, 3, 2)
    readers = {r.user_id for r in DocumentReceipt.select().where(DocumentReceipt.document == doc.id)}
    assert readers == {cast["reader"].id, cast["reader2"].id}
    assert Notification.select().where(Notification.user == cast["reader"].id).count() == 1
    assert Notification.select().where(Notification.user == cast["author"].id).count() == 1


def test_a_regulation_waits_for_leadership_sign_off(app, cast):
    with app.test_request_context():
        doc = _draft(cast, "regulation", reviewers=("first",))
        _step(doc, "submit", cast["author"])
        _step(doc, "approve", cast["first"])
        assert Document.get_by_id(doc.id).state == "awaiting_signoff"
        with pytest.raises(DomainError):
            _step(doc, "issue", cast["logi"])
        with pytest.raises(DomainError, match="role"):
            _step(doc, "sign_off", cast["first"])
        signed = _step(doc, "sign_off", cast["leader"])
    assert signed.state == "approved" and signed.signed_by_id == cast["leader"].id


def test_the_sign_off_follows_the_setting(app, cast, make_user):
    with app.test_request_context():
        settings.save(make_user("boss", "admin"), {documents.SIGNOFF["notice"]: True})
        doc = _draft(cast, reviewers=("first",))
        _step(doc, "submit", cast["author"])
        assert _step(doc, "approve", cast["first"]).state == "awaiting_signoff"


def test_returned_document_is_revised_as_a_new_version_and_reviewed_again_from_the_first(app, cast):
    with app.test_request_context():
        doc = _draft(cast)
        _step(doc, "submit", cast["author"])
        _step(doc, "approve", cast["first"])
        with pytest.raises(DomainError, match="comments"):
            _step(doc, "return", cast["second"])
        returned = _step(doc, "return", cast["second"], note="第二段日期有误")
        assert returned.state == "returned"
        assert Notification.select().where(Notification.user == cast["author"].id,
                                           Notification.message == documents.TOLD_RETURNED).count() == 1
        with pytest.raises(DomainError):
            _step(doc, "submit", cast["author"])  # revised first
        content = {"doc_type": "notice", "title": "关于春节值班安排的通知", "classification": "internal",
                   "body": "各部门：春节（2月17日起）值班安排如下。", "reviewer_ids": [cast["first"].id, cast["second"].id],
                   "department_ids": [Department.get(name="前台").id], "user_ids": []}
        with pytest.raises(DomainError, match="author"):
            _step(doc, "edit", cast["first"], content=content)
        assert _step(doc, "edit", cast["author"], content=content).state == "draft"
        again = _step(doc, "submit", cast["author"])
    assert again.revision == 2 and again.current_reviewer_id() == cast["first"].id
    kept = [(v.revision, v.body) for v in documents.versions(again)]
    assert kept == [(2, "各部门：春节（2月17日起）值班安排如下。"), (1, "各部门：春节期间值班安排如下。")]


def test_an_issued_document_is_never_edited(app, cast):
    with app.test_request_context():
        doc = _issued(cast)
        content = {"doc_type": "notice", "title": "改过的标题", "classification": "internal", "body": "改",
                   "reviewer_ids": [cast["first"].id], "department_ids": [], "user_ids": [cast["reader"].id]}
        with pytest.raises(DomainError, match="never edited"):
            _step(doc, "edit", cast["author"], content=content)
        with pytest.raises(DomainError):
            _step(doc, "void", cast["author"], note="作废")
    assert Document.get_by_id(doc.id).title == "关于春节值班安排的通知"


def test_numbers_count_per_type_and_year(app, cast):
    with app.test_request_context():
        with time_machine.travel(NOW, tick=False):
            first = _issued(cast)
            second = _issued(cast)
            letter = _issued(cast, "letter", reviewers=("first",))
        with time_machine.travel(dt.datetime(2027, 1, 5, 2, 0, tzinfo=dt.timezone.utc), tick=False):
            next_year = _issued(cast)
    assert [first.number, second.number, letter.number, next_year.number] == [
        "通知〔2026〕1号", "通知〔2026〕2号", "函〔2026〕1号", "通知〔2027〕1号"]


def test_a_revision_supersedes_the_old_version_when_it_is_issued(app, cast):
    with app.test_request_context(), time_machine.travel(NOW, tick=False):
        old = _issued(cast, "regulation", reviewers=("first",), title="前台接待管理制度")
        with pytest.raises(DomainError):
            _step(old, "revise", cast["reader"])  # the desk drafts nothing
        revised = _step(old, "revise", cast["logi"])
        assert revised.state == "issued" and revised.successor_id
        with pytest.raises(DomainError, match="already under way"):
            _step(old, "revise", cast["author"])
        new = Document.get_by_id(revised.successor_id)
        assert new.state == "draft" and new.supersedes_id == old.id and new.author_id == cast["logi"].id
        _step(new, "submit", cast["logi"])
        _step(new, "approve", cast["first"])
        _step(new, "sign_off", cast["leader"])
        assert Document.get_by_id(old.id).state == "issued"  # until the revision is issued
        issued = _step(new, "issue", cast["logi"])
    assert issued.number == "制度〔2026〕2号"
    assert Document.get_by_id(old.id).state == "superseded"


def test_read_receipts_show_who_has_not_read_it(app, cast, client, auth):
    with app.test_request_context():
        doc = _issued(cast, people=("outsider",))
        assert documents.unread_count(cast["reader"]) == 1
        documents.acknowledge(doc.id, cast["reader"])
        documents.acknowledge(doc.id, cast["reader"])  # a second tap changes nothing
        with pytest.raises(DomainError, match="not issued to you"):
            documents.acknowledge(doc.id, cast["first"])
        assert documents.unread_count(cast["reader"]) == 0
        unread = [r.user.display_name for r in documents.receipts(doc) if r.read_at is None]
    assert sorted(unread) == sorted(["吴前台", "外人"])
    auth.login("reader2")
    page = client.get("/documents").get_data(as_text=True)
    assert "关于春节值班安排的通知" in page
    response = client.post(f"/documents/{doc.id}/read")
    assert response.status_code == 303
    assert DocumentReceipt.get(document=doc.id, user=cast["reader2"].id).read_at is not None


def test_the_archive_searches_number_title_type_year_and_text(app, cast, make_user, client, auth):
    with app.test_request_context():
        with time_machine.travel(NOW, tick=False):
            notice = _issued(cast, body="请各部门于3月10日前提交值班表。")
            letter = _issued(cast, "letter", reviewers=("first",), title="致物业公司的函", body="关于停车位")
        with time_machine.travel(dt.datetime(2027, 1, 5, 2, 0, tzinfo=dt.timezone.utc), tick=False):
            later = _issued(cast, title="2027年安全检查通知", body="消防通道")
        _draft(cast, title="未发的草稿值班")
        found = lambda **kw: [d.id for d in documents.archive(**kw)]  # noqa: E731
        assert found(q="值班表") == [notice.id]
        assert found(q="〔2027〕") == [later.id]
        assert found(q="物业") == [letter.id]
        assert found(doc_type="letter") == [letter.id]
        assert found(year=2026) == [letter.id, notice.id]
        assert set(found(q="值班")) == {notice.id}  # the draft is not archived
    auth.login("logi")
    page = client.get("/documents/archive?q=物业").get_data(as_text=True)
    assert "致物业公司的函" in page and "函〔2026〕1号" in page and "2027年安全检查通知" not in page
    fragment = client.get("/documents/archive?type=notice", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert fragment.lstrip().startswith('<table class="table" id="archive-rows">') and "2027年安全检查通知" in fragment


def test_past_retention_is_listed_for_review_and_never_deleted(app, cast, client, auth):
    with app.test_request_context():
        with time_machine.travel(dt.datetime(2015, 3, 2, 2, 0, tzinfo=dt.timezone.utc), tick=False):
            old = _issued(cast, title="2015年值班通知")
        recent = _issued(cast)
        with time_machine.travel(NOW, tick=False):
            assert [d.id for d in documents.past_retention()] == [old.id]
            with pytest.raises(DomainError):
                documents.review_retention(recent.id, cast["logi"], "keep", years=2)
            with pytest.raises(DomainError):
                documents.review_retention(old.id, cast["reader"], "keep", years=2)
            kept = documents.review_retention(old.id, cast["logi"], "keep", years=2, note="仍在引用")
            assert kept.retention_until == dt.date(2028, 3, 2) and not list(documents.past_retention())
        with time_machine.travel(dt.datetime(2028, 4, 1, 2, 0, tzinfo=dt.timezone.utc), tick=False):
            assert [d.id for d in documents.past_retention()] == [old.id]
            with pytest.raises(DomainError, match="reason"):
                documents.review_retention(old.id, cast["leader"], "destroy_approved")
            documents.review_retention(old.id, cast["leader"], "destroy_approved", note="已过保管期")
            assert not list(documents.past_retention())
            assert [d.id for d in documents.destruction_approved()] == [old.id]
    assert Document.get_by_id(old.id).state == "issued"
    auth.login("logi")
    page = client.get("/documents/retention").get_data(as_text=True)
    assert "2015年值班通知" in page.split('id="destruction-approved"')[1]  # listed as approved, not deleted


def test_drafting_through_the_page_keeps_what_was_typed_when_refused(app, cast, client, auth):
    auth.login("author")
    data = {"doc_type": "notice", "title": "关于会议室使用的通知", "classification": "internal",
            "body": "会议室须提前预约。", "reviewer1": str(cast["author"].id), "departments": []}
    for htmx in (False, True):  # the whole page, or the form fragment htmx swaps in
        response = client.post("/documents/new", data=data, htmx=htmx)
        page = response.get_data(as_text=True)
        assert response.status_code == 422
        assert "The author does not review their own document." in page and "会议室须提前预约。" in page
    data.update({"reviewer1": str(cast["first"].id), "departments": [str(Department.get(name="前台").id)]})
    response = client.post("/documents/new", data=data)
    assert response.status_code == 303
    doc = Document.get(title="关于会议室使用的通知")
    assert doc.state == "draft" and doc.author_id == cast["author"].id


def test_editing_an_issued_document_through_the_page_is_refused_with_the_text_kept(app, cast, client, auth):
    with app.test_request_context():
        doc = _issued(cast)
    auth.login("author")
    assert "never edited" in client.get(f"/documents/{doc.id}/edit").get_data(as_text=True)
    response = client.post(f"/documents/{doc.id}/edit", data={
        "version": str(Document.get_by_id(doc.id).version), "doc_type": "notice", "title": "偷偷改标题",
        "classification": "internal", "body": "新正文", "reviewer1": str(cast["first"].id),
        "departments": [str(Department.get(name="前台").id)]})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "never edited" in page and "偷偷改标题" in page
    assert Document.get_by_id(doc.id).title == "关于春节值班安排的通知"


def test_a_reviewer_acts_on_the_page_and_an_outsider_sees_nothing(app, cast, client, auth):
    with app.test_request_context():
        doc = _draft(cast)
        _step(doc, "submit", cast["author"])
    auth.login("outsider")
    assert client.get(f"/documents/{doc.id}").status_code == 404
    with app.test_request_context():
        public = documents.draft(cast["author"], doc_type="notice", title="公开通知", classification="public",
                                 body="全体员工", reviewer_ids=[cast["first"].id],
                                 department_ids=[Department.get(name="前台").id])
        assert client.get(f"/documents/{public.id}").status_code == 404  # a draft, even a public one
        _step(public, "submit", cast["author"])
        _step(public, "approve", cast["first"])
        _step(public, "issue", cast["logi"])
    assert client.get(f"/documents/{public.id}").status_code == 200  # issued: public to all staff
    auth.logout()
    auth.login("first")
    page = client.get("/documents").get_data(as_text=True)
    assert "关于春节值班安排的通知" in page
    response = client.post(f"/documents/{doc.id}", data={
        "action": "approve", "approve-version": str(Document.get_by_id(doc.id).version), "approve-note": "同意"})
    assert response.status_code == 303
    assert Document.get_by_id(doc.id).current_reviewer_id() == cast["second"].id


def test_the_printed_document_and_circulation_list_are_in_chinese(app, cast, client, auth):
    with app.test_request_context(), time_machine.travel(NOW, tick=False):
        doc = _issued(cast)
        documents.acknowledge(doc.id, cast["reader"])
    auth.login("logi")
    response = client.get(f"/documents/{doc.id}/print.pdf")
    assert response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    assert "通知〔2026〕1号" in text and "关于春节值班安排的通知" in text and "春节期间值班安排如下" in text
    assert_embedded_cjk_font(response.data)
    response = client.get(f"/documents/{doc.id}/circulation.pdf")
    text = pdf_text(response.data)
    assert "文件传阅签收单" in text and "周前台" in text and "吴前台" in text and "未读" in text
    assert_embedded_cjk_font(response.data)


def test_the_navigation_counts_what_i_am_to_read_and_what_waits_on_me(app, cast, client, auth):
    with app.test_request_context():
        _issued(cast, reviewers=("first",))
        waiting = _draft(cast, title="第二份通知")
        _step(waiting, "submit", cast["author"])
        assert documents.waiting_count(cast["reader"]) == 1
        assert documents.waiting_count(cast["first"]) == 1  # its review
        assert documents.waiting_count(cast["second"]) == 0  # not yet their turn
    auth.login("reader")
    page = client.get("/").get_data(as_text=True)
    assert 'Documents <span class="count nav-count" aria-label="waiting: 1">1</span>' in page


def test_a_document_can_be_an_attached_file_and_each_version_keeps_its_own(app, cast, client, auth):
    import io
    auth.login("author")
    data = {"doc_type": "minutes", "title": "11月例会纪要", "classification": "internal", "body": "",
            "reviewer1": str(cast["first"].id), "departments": [str(Department.get(name="前台").id)]}
    refused = client.post("/documents/new", data={**data, "file": (io.BytesIO(b"MZ\x90\x00"), "virus.exe")},
                          content_type="multipart/form-data")
    assert refused.status_code == 422 and "11月例会纪要" in refused.get_data(as_text=True)
    response = client.post("/documents/new", data={**data, "file": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "纪要.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    doc = Document.get(title="11月例会纪要")
    assert doc.attachment_name == "纪要.pdf" and doc.attachment_ext == "pdf"
    with app.test_request_context():
        _step(doc, "submit", cast["author"])
    download = client.get(f"/documents/{doc.id}/file?revision=1")
    assert download.status_code == 200 and download.data.startswith(b"%PDF-")
    assert client.get(f"/documents/{doc.id}/file?revision=2").status_code == 404


def test_the_old_version_says_what_superseded_it(app, cast, client, auth):
    with app.test_request_context(), time_machine.travel(NOW, tick=False):
        old = _issued(cast)
        new = Document.get_by_id(_step(old, "revise", cast["logi"]).successor_id)
        _step(new, "submit", cast["logi"])
        for name in ("first", "second"):
            _step(new, "approve", cast[name])
        _step(new, "issue", cast["logi"])
    auth.login("reader")
    page = client.get(f"/documents/{old.id}").get_data(as_text=True)
    assert "Superseded by" in page and "通知〔2026〕2号" in page
    assert DocumentVersion.select().where(DocumentVersion.document == new.id).count() == 1


def test_the_author_revising_a_returned_document_sees_the_comments(app, cast, client, auth):
    with app.test_request_context():
        doc = _draft(cast)
        _step(doc, "submit", cast["author"])
        _step(doc, "return", cast["first"], note="请补充值班电话")
    auth.login("author")
    page = client.get(f"/documents/{doc.id}/edit").get_data(as_text=True)
    assert "Returned by 李审核: 请补充值班电话" in page and "各部门：春节期间值班安排如下。" in page


def test_the_lists_cost_the_same_queries_for_one_document_as_for_many(app, cast, client, auth):
    from tests.test_query_counts import queries_for

    def add(n):
        with app.test_request_context():
            for _ in range(n):
                _issued(cast, reviewers=("first",))

    def counts():
        found = {}
        for username, urls in (("logi", ("/documents", "/documents/archive")), ("reader", ("/documents",))):
            auth.login(username)
            found.update({(username, url): queries_for(client, url) for url in urls})
            auth.logout()
        return found
    add(1)
    few = counts()
    add(6)
    assert counts() == few
