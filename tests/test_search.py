"""Finding people and records the way staff type (issue 14): names by pinyin ("zhangwei", "zw",
"zhang w") and records by words of their text, from indexes, on SQLite and PostgreSQL."""
import datetime as dt

import pytest

from models import complaints, documents, fulltext
from models.base import db, is_sqlite, utcnow
from models.calls import log_call
from models.complaints import Customer
from models.duty import add_entry, open_day, record_outcome
from models.pinyin import fill_keys, search_keys
from models.users import Department, User
from models.visitors import Visit, WatchlistEntry, add_to_watchlist, register_visit, watchlist_matches

TYPED = ["zhangwei", "zw", "zhang w", "Zhang Wei", "张伟"]


@pytest.fixture
def staff(make_user):
    return {
        "desk": make_user("desk", "front_desk", display_name="王芳"),
        "host": make_user("zhang", "specialist", display_name="张伟", department="客户服务部", extension="8101"),
        "other": make_user("li", "specialist", display_name="李伟", department="客户服务部", extension="8102"),
        "zeng": make_user("zeng", "specialist", display_name="曾丽", extension="8103"),
        "manager": make_user("manager", "service_manager", display_name="杨磊"),
    }


def _complaint(actor, content, name="李明", phone="13800138000"):
    return complaints.create(actor, name=name, phone=phone, content=content, channel="phone", category="quality",
                             severity="general")


def test_search_keys_are_the_pinyin_initials_and_a_surname_read_as_a_surname():
    assert search_keys("张伟") == ("zhangwei", "zw")
    assert search_keys("吕强") == ("lvqiang", "lq")
    # 曾 is "ceng" in 曾经 but "zeng" as a surname, 单 "dan" but "shan", 仇 "chou" but "qiu".
    assert search_keys("曾丽") == ("zengli", "zl")
    assert search_keys("单田芳")[0] == "shantianfang"
    assert search_keys("仇晓")[0] == "qiuxiao"
    assert search_keys("单于越")[0] == "chanyuyue"  # a compound surname keeps its own reading
    assert search_keys("Anna Smith 2") == ("annasmith2", "as2")


@pytest.mark.parametrize("typed", TYPED)
def test_the_host_picker_and_the_directory_find_zhang_wei_by_pinyin(client, auth, staff, typed):
    auth.login("desk")
    hosts = client.get("/visitors/hosts", query_string={"host_q": typed}).get_data(as_text=True)
    assert "张伟" in hosts and "李伟" not in hosts and "王芳" not in hosts
    directory = client.get("/directory", query_string={"q": typed}, headers={"HX-Request": "true"})
    page = directory.get_data(as_text=True)
    assert "张伟" in page and "8101" in page and "李伟" not in page


def test_a_polyphonic_surname_is_found_by_its_surname_reading(client, auth, staff):
    auth.login("desk")
    assert "曾丽" in client.get("/visitors/hosts?host_q=zengli").get_data(as_text=True)
    assert "曾丽" in client.get("/visitors/hosts?host_q=zl").get_data(as_text=True)
    assert "曾丽" not in client.get("/visitors/hosts?host_q=cengli").get_data(as_text=True)


@pytest.mark.parametrize("typed", TYPED)
def test_customers_are_found_by_pinyin_and_so_are_their_complaints(app, client, auth, staff, typed):
    with app.test_request_context():
        mine = _complaint(staff["manager"], "送货延误", name="张伟", phone="13900139000")
        _complaint(staff["manager"], "包装破损", name="李伟", phone="13700137000")
    auth.login("manager")
    page = client.get("/customers", query_string={"q": typed}).get_data(as_text=True)
    assert "张伟" in page and "李伟" not in page
    listed = client.get("/complaints", query_string={"q": typed, "state": "all"}).get_data(as_text=True)
    assert mine.number in listed and "包装破损" not in listed


@pytest.mark.parametrize("typed", ["zhangwei", "zw", "zhang w"])
def test_an_earlier_visitor_is_offered_by_the_pinyin_of_the_name(app, client, auth, staff, typed):
    with app.test_request_context():
        for name, phone in (("张伟", "13800138000"), ("李伟", "13900139000")):
            register_visit(staff["desk"], visitor_name=name, phone=phone, organisation="华信科技", purpose="meeting",
                           purpose_other="", host=staff["host"], companions=0, id_number="", car_plate="", note="",
                           arrived_at=utcnow())
    auth.login("desk")
    suggestions = client.get("/visitors/suggest", query_string={"visitor_name": typed},
                             headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "138 0013 8000" in suggestions and "139 0013 9000" not in suggestions


def test_the_visitor_typed_in_full_is_offered_before_more_recent_longer_namesakes(app, client, auth, staff):
    with app.test_request_context():
        for name, phone, minutes_ago in (("张伟", "13800138000", 90), ("张伟杰", "13900139000", 30),
                                         ("张伟明", "13700137000", 10)):
            register_visit(staff["desk"], visitor_name=name, phone=phone, organisation="华信科技", purpose="meeting",
                           purpose_other="", host=staff["host"], companions=0, id_number="", car_plate="", note="",
                           arrived_at=utcnow() - dt.timedelta(minutes=minutes_ago))
    auth.login("desk")
    suggestions = client.get("/visitors/suggest", query_string={"visitor_name": "张伟"},
                             headers={"HX-Request": "true"}).get_data(as_text=True)
    assert suggestions.index("138 0013 8000") < suggestions.index("137 0013 7000") < suggestions.index("139 0013 9000")


def test_an_anonymised_visit_is_not_offered_again(app, client, auth, staff):
    from models.base import ANONYMISED
    with app.test_request_context():
        for phone in ("13800138000", "13900139000"):
            register_visit(staff["desk"], visitor_name="张伟", phone=phone, organisation="华信科技", purpose="meeting",
                           purpose_other="", host=staff["host"], companions=0, id_number="", car_plate="", note="",
                           arrived_at=utcnow())
    Visit.update(phone=ANONYMISED, anonymised_at=utcnow()).where(Visit.phone == "13800138000").execute()
    auth.login("desk")
    suggestions = client.get("/visitors/suggest", query_string={"visitor_name": "zw"},
                             headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "139 0013 9000" in suggestions and suggestions.count("/visitors/new?from=") == 1


@pytest.mark.parametrize("typed", ["zhangwei", "zw", "zhang w"])
def test_the_watchlist_is_searched_by_pinyin(app, client, auth, staff, typed):
    add_to_watchlist(staff["manager"], "张伟", "", "", "曾在大堂滋事")
    add_to_watchlist(staff["manager"], "李伟", "", "", "多次无理纠缠前台")
    auth.login("manager")
    page = client.get("/visitors/watchlist", query_string={"q": typed}).get_data(as_text=True)
    assert "曾在大堂滋事" in page and "多次无理纠缠前台" not in page


def test_a_visitor_typed_in_pinyin_is_warned_of_by_the_watchlist(staff):
    entry = add_to_watchlist(staff["manager"], "张伟", "", "", "曾在大堂滋事")
    assert watchlist_matches("zhangwei", "", "") == [entry]
    assert watchlist_matches("Zhang Wei", "", "") == [entry]
    # The whole name, not its start: a warning is about one person, not everyone called Zhang.
    assert watchlist_matches("zhang", "", "") == [] and watchlist_matches("zw", "", "") == []


def test_an_older_database_gets_the_keys_filled_by_create_tables(app, staff):
    from models import create_tables
    add_to_watchlist(staff["manager"], "张伟", "", "", "曾在大堂滋事")
    for table in ("user", "watchlist_entry"):
        for column in ("name_pinyin", "name_initials"):
            db.execute_sql(f'DROP INDEX IF EXISTS "{table}_{column}"')
            db.execute_sql(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
    create_tables()  # what init-db and make run do with a database made by older code
    assert User.get(User.username == "zhang").name_initials == "zw"
    assert WatchlistEntry.get().name_pinyin == "zhangwei"
    assert "user_name_initials" in {index.name for index in db.get_indexes("user")}


def test_rows_inserted_in_bulk_get_their_keys_from_fill_keys(app, staff):
    WatchlistEntry.insert(name="张伟", reason="旧库里的记录").execute()  # no save(): no keys
    fill_keys(WatchlistEntry)
    assert WatchlistEntry.get().name_pinyin == "zhangwei"


def _plan(query):
    sql, params = query.sql()
    if is_sqlite():
        return " ".join(str(row[-1]) for row in db.execute_sql("EXPLAIN QUERY PLAN " + sql, params))
    with db.atomic():
        db.execute_sql("SET LOCAL enable_seqscan = off")  # a test's few rows would be read in a scan anyway
        return " ".join(row[0] for row in db.execute_sql("EXPLAIN " + sql, params))


def test_pinyin_and_text_searches_are_answered_from_indexes(app, staff):
    with app.test_request_context():
        _complaint(staff["manager"], "会议室空调又漏水了")
    customers = _plan(Customer.select(Customer.id).where(Customer.pinyin_matches("zw")))
    assert "customer_name_pinyin" in customers and "customer_name_initials" in customers
    visits = _plan(Visit.select(Visit.id).where(Visit.pinyin_matches("zhang w")))
    assert "visit_name_pinyin" in visits
    for typed, index in (("13800138", "visit_phone"), ("张伟", "visit_visitor_name"), ("zw", "visit_name_initials")):
        earlier = _plan(Visit.earlier_matches(typed))
        assert index in earlier and "SCAN visit" not in earlier and "Seq Scan" not in earlier, earlier
    grams = _plan(fulltext.TextGram.select(fulltext.TextGram.record_id).where(
        fulltext.TextGram.gram == fulltext.grams("空调").pop(), fulltext.TextGram.kind == 1))
    assert ("PRIMARY KEY" in grams) if is_sqlite() else ("text_gram_pkey" in grams)


def test_full_text_finds_a_complaint_by_words_of_it_and_exact_phrases_first(app, client, auth, staff):
    with app.test_request_context():
        leak = _complaint(staff["manager"], "会议室空调又漏水了，请尽快派人处理", phone="13800138001")
        exact = _complaint(staff["manager"], "三楼空调漏水严重", phone="13800138002")
        scattered = _complaint(staff["manager"], "空气不好，调整以后漏了水", phone="13800138003")
    found = fulltext.search("complaint", "空调漏水")
    assert found == [exact.id, leak.id]  # the exact phrase first; characters scattered are no match
    assert fulltext.search("complaint", "空调又漏水") == [leak.id]  # a phrase from its middle
    assert fulltext.search("complaint", "漏水 派人") == [leak.id]  # two words
    assert fulltext.search("complaint", "ＰＡＩ") == []
    assert scattered.id not in fulltext.search("complaint", "调漏")
    with app.test_request_context():
        toilet = _complaint(staff["manager"], "二楼卫生间水管漏水", phone="13800138004")
    # An odd length: a word of three characters wherever it stands (卫生间 + 漏水, 空调 + 不制冷).
    assert fulltext.search("complaint", "卫生间漏水") == [toilet.id]
    assert fulltext.search("complaint", "卫生漏水间") == []
    auth.login("manager")
    page = client.get("/complaints", query_string={"q": "又漏水", "state": "all"},
                      headers={"HX-Request": "true"}).get_data(as_text=True)
    assert leak.number in page and exact.number not in page and scattered.number not in page


@pytest.mark.parametrize("url, who", [("/complaints", "manager"), ("/calls", "manager"), ("/duty/days", "manager"),
                                      ("/documents/archive", "archivist")])
def test_a_search_of_one_character_says_why_the_texts_gave_nothing(app, client, auth, staff, make_user, url, who):
    make_user("archivist", "logistics")
    with app.test_request_context():
        _complaint(staff["manager"], "会议室空调又漏水了")
    auth.login(who)
    hint = "内容中的词至少输入两个字才能查到，如“漏水”。"
    one = client.get(url, query_string={"q": "漏", "lang": "zh"}).get_data(as_text=True)
    assert hint in one
    two = client.get(url, query_string={"q": "漏雨", "lang": "zh"}).get_data(as_text=True)
    assert "至少输入两个字" not in two


def test_calls_and_duty_log_entries_are_found_by_their_text_and_an_edit_updates_the_index(app, client, auth, staff):
    with app.test_request_context():
        log_call(staff["desk"], caller_name="孙先生", organisation="", phone="13600136000",
                 reason="询问停车场月卡怎么办理", call_type="inquiry", outcome="answered", answer_text="已说明")
        from models.duty import current_shift
        day = open_day(staff["desk"], *current_shift())
        entry = add_entry(staff["desk"], day, utcnow(), "other", "二号楼电梯困人", handling="通知维保")
        record_outcome(staff["desk"], entry, "维保人员十分钟后到场解救")
    assert fulltext.search("duty", "十分钟到场") == [entry.id]  # 十分钟 + 到场, the outcome written later
    assert fulltext.search("duty", "十分到场钟") == []
    assert fulltext.search("duty", "解救") == [entry.id]
    auth.login("desk")
    calls = client.get("/calls", query_string={"q": "月卡办理"}).get_data(as_text=True)
    assert "孙先生" in calls
    assert "孙先生" not in client.get("/calls", query_string={"q": "月卡退款"}).get_data(as_text=True)
    log = client.get("/duty/days", query_string={"q": "电梯 解救"}).get_data(as_text=True)
    assert "二号楼电梯困人" in log


def test_an_edited_document_is_found_by_its_new_text_only(app, make_user):
    author = make_user("author", "service_manager", department="客服部", display_name="陈作者")
    reviewer = make_user("first", "dept_head", department="客服部", display_name="李审核")
    with app.test_request_context():
        doc = documents.draft(author, doc_type="notice", title="关于值班的通知", classification="internal",
                              body="春节期间前台值班安排如下", reviewer_ids=[reviewer.id],
                              department_ids=[Department.get(name="客服部").id])
        assert fulltext.search("document", "前台值班") == [doc.id]
        content = {"doc_type": "notice", "title": "关于值班的通知", "classification": "internal",
                   "body": "国庆期间保安巡逻安排如下", "reviewer_ids": [reviewer.id],
                   "department_ids": [Department.get(name="客服部").id], "user_ids": []}
        documents.apply(doc.id, "edit", author, doc.version, content=content)
    assert fulltext.search("document", "前台值班") == []
    assert fulltext.search("document", "保安巡逻") == [doc.id]
    assert not fulltext.TextGram.select().where(fulltext.TextGram.gram.in_(list(fulltext.grams("春节前台"))),
                                               fulltext.TextGram.kind == 4).exists()


def test_an_older_database_gets_its_text_index_when_the_table_is_created(app, staff):
    from models import create_tables
    with app.test_request_context():
        leak = _complaint(staff["manager"], "会议室空调又漏水了")
    db.drop_tables([fulltext.TextGram])
    create_tables()
    assert fulltext.search("complaint", "空调漏水") == [leak.id]
