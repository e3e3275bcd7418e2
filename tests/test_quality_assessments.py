"""Quality assessments (考核): the weights, the states and who may move them, the customer figure
against a hand-computed fixture, the ranking, best staff, the red/black list and the prints."""
import contextlib
import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from models import complaints
from models.callbacks import Callback
from models.complaints import Complaint, Customer
from models.notifications import Notification
from models.quality import assessments, awards
from models.quality.assessments import Assessment, AssessmentError, AssessmentPeriod
from models.quality.awards import AwardError, RedBlackEntry
from models.reports import Period
from tests.helpers import local

NOW = dt.datetime(2026, 11, 28, 2, 0)  # 10:00 in Shanghai
GOOD = {"performance": 90, "attitude": 80, "skills": 70, "teamwork": 100}
FAIR = {"performance": 60, "attitude": 70, "skills": 80, "teamwork": 50}


@pytest.fixture(autouse=True)
def frozen(app, request):
    context = contextlib.nullcontext() if "client" in request.fixturenames else app.test_request_context()
    with time_machine.travel(NOW, tick=False), context:
        yield


@pytest.fixture
def people(make_user):
    return {
        "manager": make_user("manager", "service_manager", display_name="杨磊", department="客户服务部"),
        "head": make_user("head", "dept_head", display_name="陈静", department="前台接待"),
        "desk": make_user("desk", "front_desk", display_name="王芳", department="前台接待"),
        "desk2": make_user("desk2", "front_desk", display_name="李娜", department="前台接待"),
        "other_head": make_user("sales", "dept_head", display_name="周婷", department="销售部"),
        "seller": make_user("seller", "specialist", display_name="刘洋", department="销售部"),
        "leader": make_user("leader", "leadership", display_name="赵敏"),
        "admin": make_user("boss", "admin", display_name="管理员"),
    }


def _open(people, key="2026-11"):
    return assessments.open_period(people["manager"], key)


def _of(period, user):
    return Assessment.get(Assessment.period == period.id, Assessment.person == user.id,
                          Assessment.state.not_in(("corrected", "voided")))


def _step(assessment, action, user, **kwargs):
    current = Assessment.get_by_id(assessment.id)
    return assessments.apply(current.id, action, user, current.version, **kwargs)


def _through(people, who, self_ratings=GOOD, superior=GOOD, period=None):
    period = period or _open(people)
    a = _of(period, people[who])
    _step(a, "self_rate", people[who], ratings=self_ratings)
    _step(a, "superior_rate", people["head" if people[who].department.name == "前台接待" else "other_head"],
          ratings=superior)
    return Assessment.get_by_id(a.id)


# ---------------------------------------------------------------- weights

def test_weights_must_add_up_to_100_and_are_the_administrators(people):
    values = dict(assessments.DEFAULT_WEIGHTS)
    with pytest.raises(AssessmentError, match="administrator"):
        assessments.set_weights(people["manager"], values)
    with pytest.raises(AssessmentError, match="add up to 110") as refused:
        assessments.set_weights(people["admin"], values | {"performance": 50})
    assert refused.value.field == "performance"
    with pytest.raises(AssessmentError, match="add up to 90") as refused:
        assessments.set_weights(people["admin"], values | {"customer_share": 20})
    assert refused.value.field == "self_share"
    assessments.set_weights(people["admin"], values | {"performance": 25, "teamwork": 25})
    assert assessments.current_weights()["teamwork"] == 25
    # A period keeps the weights it opened with.
    period = _open(people)
    assessments.set_weights(people["admin"], values)
    assert AssessmentPeriod.get_by_id(period.id).w_teamwork == 25


def test_opening_makes_one_assessment_per_member_of_staff(people):
    period = _open(people)
    names = {a.person.username for a in period.assessments}
    assert names == {"manager", "head", "desk", "desk2", "sales", "seller"}  # not admin, not leadership
    assert Notification.select().where(Notification.user == people["desk"].id).count() == 1
    with pytest.raises(AssessmentError, match="open already"):
        _open(people)
    with pytest.raises(AssessmentError) as refused:
        assessments.open_period(people["head"], "2026-10")
    assert "service manager" in str(refused.value)


# ---------------------------------------------------------------- the states

def test_an_assessment_through_its_states(people):
    period = _open(people)
    a = _of(period, people["desk"])
    _step(a, "self_rate", people["desk"], ratings=GOOD, comment="本月认真")
    a = Assessment.get_by_id(a.id)
    assert a.state == "self_rated" and a.self_score == Decimal("84.0")  # 36+24+14+10
    assert Notification.select().where(Notification.user == people["head"].id).count() == 2  # own + to rate
    _step(a, "superior_rate", people["head"], ratings=FAIR)
    a = Assessment.get_by_id(a.id)
    # superior: 24+21+16+5 = 66; customer 100 (nothing against her); 84×.2 + 66×.5 + 100×.3 = 79.8
    assert (a.state, a.superior_score, a.customer_score, a.final_score) == (
        "superior_rated", Decimal("66.0"), Decimal("100.0"), Decimal("79.8"))
    _step(a, "confirm", people["desk"], comment="收到")
    assert Assessment.get_by_id(a.id).state == "confirmed"
    with pytest.raises(AssessmentError, match="not acknowledged"):
        assessments.close_period(people["manager"], period.id)
    for other in Assessment.select().where(Assessment.period == period.id, Assessment.id != a.id):
        _step(other, "void", people["manager"], note="本月不考核")
    assessments.close_period(people["manager"], period.id)
    a = Assessment.get_by_id(a.id)
    assert a.state == "archived" and a.archived_at is not None
    assert AssessmentPeriod.get_by_id(period.id).state == "closed"


def test_rating_someone_elses_self_assessment_is_refused(people):
    a = _of(_open(people), people["desk"])
    with pytest.raises(AssessmentError, match="Only 王芳 rates their own"):
        _step(a, "self_rate", people["desk2"], ratings=GOOD)
    with pytest.raises(AssessmentError, match="Only 王芳 rates their own"):
        _step(a, "self_rate", people["head"], ratings=GOOD)


def test_a_head_rates_only_their_own_department(people):
    a = _of(_open(people), people["desk"])
    _step(a, "self_rate", people["desk"], ratings=GOOD)
    with pytest.raises(AssessmentError, match="own department"):
        _step(a, "superior_rate", people["other_head"], ratings=GOOD)
    with pytest.raises(AssessmentError, match="superior"):
        _step(a, "superior_rate", people["desk2"], ratings=GOOD)
    with pytest.raises(AssessmentError, match="as superior"):
        _step(a, "superior_rate", people["desk"], ratings=GOOD)


def test_a_head_is_rated_by_the_manager_and_the_manager_by_leadership(people):
    period = _open(people)
    head = _of(period, people["head"])
    assert [u.username for u in assessments.superiors_of(people["head"])] == ["manager"]
    _step(head, "self_rate", people["head"], ratings=GOOD)
    with pytest.raises(AssessmentError, match="as superior"):
        _step(head, "superior_rate", people["head"], ratings=GOOD)
    _step(head, "superior_rate", people["manager"], ratings=GOOD)
    assert [u.username for u in assessments.superiors_of(people["manager"])] == ["leader"]


def test_a_second_rating_by_the_same_person_is_refused(people):
    a = _of(_open(people), people["desk"])
    _step(a, "self_rate", people["desk"], ratings=GOOD)
    with pytest.raises(AssessmentError, match="rated yourself already"):
        _step(a, "self_rate", people["desk"], ratings=FAIR)
    _step(a, "superior_rate", people["head"], ratings=GOOD)
    with pytest.raises(AssessmentError, match="rated this assessment already"):
        _step(a, "superior_rate", people["head"], ratings=FAIR)


def test_a_confirmed_assessment_is_not_edited_but_corrected_by_a_new_one(people):
    a = _through(people, "desk")
    _step(a, "confirm", people["desk"])
    for action, who in (("self_rate", "desk"), ("superior_rate", "head")):
        with pytest.raises(AssessmentError, match="confirmed assessment is not edited"):
            _step(a, action, people[who], ratings=FAIR)
    with pytest.raises(AssessmentError, match="reason"):
        _step(a, "correct", people["manager"])
    new = _step(a, "correct", people["manager"], note="上级评分录错")
    assert Assessment.get_by_id(a.id).state == "corrected"
    assert (new.state, new.corrects_id, new.person_id) == ("open", a.id, people["desk"].id)
    assert new.number != a.number


@pytest.mark.parametrize("ratings, field", [({**GOOD, "skills": 101}, "skills"), ({**GOOD, "attitude": -1}, "attitude"),
                                            ({k: v for k, v in GOOD.items() if k != "teamwork"}, "teamwork")])
def test_a_rating_out_of_range_is_refused_beside_its_field(people, ratings, field):
    a = _of(_open(people), people["desk"])
    with pytest.raises(AssessmentError, match="from 0 to 100") as refused:
        _step(a, "self_rate", people["desk"], ratings=ratings)
    assert refused.value.field == field
    assert Assessment.get_by_id(a.id).state == "open"


# ---------------------------------------------------------------- the customer figure

def _staff_complaint(people, name, when):
    with time_machine.travel(when, tick=False):
        return complaints.create(people["manager"], name="顾客甲", phone="13900139001", content="态度差",
                                 channel="visit", category=complaints.STAFF_CATEGORY, severity="general",
                                 staff_person=name)


def _callback(complaint_id, outcome, done_at):
    customer = Customer.get_or_create(phone="13800138000", defaults={"name": "张三"})[0]
    return Callback.create(number=f"HF-T-{Callback.select().count() + 1}", customer=customer, reason="complaint",
                           complaint=complaint_id, due_at=done_at, next_at=done_at, deadline_at=done_at,
                           outcome=outcome, state="done", done_at=done_at)


def test_the_customer_figure_against_a_hand_computed_fixture(people):
    # Two staff complaints name 王芳 in November (one by username, spacing aside), one in October.
    _staff_complaint(people, "王芳", local(2026, 11, 3, 10))
    _staff_complaint(people, " desk ", local(2026, 11, 20, 10))
    _staff_complaint(people, "王芳", local(2026, 10, 30, 10))
    _staff_complaint(people, "李娜", local(2026, 11, 5, 10))
    # Callbacks on complaints she handled: 3 satisfied, 1 not, in November; one in October.
    handled = _staff_complaint(people, "", local(2026, 11, 1, 10))
    Complaint.update(handler=people["desk"].id).where(Complaint.id == handled.id).execute()
    for outcome, day in (("satisfied", 2), ("satisfied", 9), ("unsatisfied", 15), ("satisfied", 30)):
        _callback(handled.id, outcome, local(2026, 11, day, 12))
    _callback(handled.id, "unsatisfied", local(2026, 10, 31, 12))
    figure = assessments.customer_figure(people["desk"], Period.parse("month", "2026-11"))
    # 3/4 satisfied = 75.0, less 2 complaints × 10 = 55.0; no fines.
    assert figure == {"complaints": 2, "callbacks": 4, "satisfied": 3, "fines": Decimal("0.00"),
                      "score": Decimal("55.0")}
    assert assessments.customer_figure(people["desk2"], Period.parse("month", "2026-11"))["score"] == Decimal("90.0")
    # Taken into the assessment when the superior rates: 84×.2 + 84×.5 + 55×.3 = 75.3
    a = _through(people, "desk")
    assert (a.complaints_count, a.callbacks_total, a.callbacks_satisfied, a.customer_score, a.final_score) == (
        2, 4, 3, Decimal("55.0"), Decimal("75.3"))


# ---------------------------------------------------------------- ranking, best staff, the red/black list

def _scored_period(people):
    period = _open(people)
    _through(people, "desk", superior=GOOD, period=period)            # 84, 84, 100 -> 88.8
    _through(people, "desk2", superior=FAIR, period=period)           # 84, 66, 100 -> 79.8
    _through(people, "seller", self_ratings=FAIR, superior=FAIR, period=period)  # 66, 66, 100 -> 76.2
    low = {"performance": 30, "attitude": 40, "skills": 50, "teamwork": 20}
    a = _of(period, people["head"])
    _step(a, "self_rate", people["head"], ratings=low)
    _step(a, "superior_rate", people["manager"], ratings=low)           # 36, 36, 100 -> 55.2
    return period


def test_ranking_per_department(people):
    period = _scored_period(people)
    ranking = {name: [(rank, row.person.username, row.final_score) for rank, row in rows]
               for name, rows in assessments.ranking(period)}
    assert ranking == {"前台接待": [(1, "desk", Decimal("88.8")), (2, "desk2", Decimal("79.8")),
                                (3, "head", Decimal("55.2"))],
                       "销售部": [(1, "seller", Decimal("76.2"))]}
    # A department head sees only their department's ranking.
    assert [name for name, _rows in assessments.ranking(period, people["other_head"])] == ["销售部"]


def test_best_staff_are_chosen_from_the_ranking_and_published_to_everyone(people):
    period = _scored_period(people)
    with pytest.raises(AwardError, match="ranking"):
        awards.choose(people["manager"], "period", period.key, person_id=people["manager"].id, reason="优秀")
    with pytest.raises(AwardError, match="why"):
        awards.choose(people["manager"], "period", period.key, person_id=people["desk"].id)
    with pytest.raises(AwardError, match="service manager"):
        awards.choose(people["head"], "period", period.key, person_id=people["desk"].id, reason="优秀")
    award = awards.choose(people["manager"], "period", period.key, person_id=people["desk"].id, reason="零投诉")
    assert award.score == Decimal("88.8")
    awards.choose(people["manager"], "period", period.key, vendor="美家家具", reason="顾客表扬 5 次")
    awards.choose(people["manager"], "year", "2026", person_id=people["desk"].id, reason="全年第一")
    before = Notification.select().count()
    assert awards.publish_awards(people["manager"], "period", period.key) == 2
    assert Notification.select().count() - before == 8  # every active account
    with pytest.raises(AwardError, match="Nothing"):
        awards.publish_awards(people["manager"], "period", period.key)



def test_at_most_max_awards_are_chosen_for_a_period(app, client, people):
    with app.test_request_context():
        period = _open(people)
        for n in range(awards.MAX_AWARDS):
            awards.choose(people["manager"], "period", period.key, vendor=f"厂商{n}", reason="顾客表扬")
        with pytest.raises(AwardError, match=f"At most {awards.MAX_AWARDS}"):
            awards.choose(people["manager"], "period", period.key, vendor="又一家", reason="顾客表扬")
        # The year's choice is another list.
        awards.choose(people["manager"], "year", "2026", vendor="又一家", reason="全年表扬")
    _login(client, "manager")
    text = client.get(f"/quality/assessments/periods/{period.id}").get_data(as_text=True)
    assert 'id="awards-full"' in text and 'id="choose-award"' not in text

def test_the_red_black_list_proposes_names_with_reasons_and_is_published(people):
    _scored_period(people)
    _staff_complaint(people, "李娜", local(2026, 11, 5, 10))
    _staff_complaint(people, "外包保洁", local(2026, 11, 6, 10))
    notice, added = awards.propose(people["manager"], "2026-11")
    entries = {(e.colour, e.name, e.source): e.reason for e in notice.live_entries()}
    assert ("red", "王芳", "assessment") not in entries  # 88.8 is below the red score of 90
    assert entries[("black", "陈静", "assessment")] == "2026-11 考核得分 55.2 分，低于 60 分"
    assert entries[("black", "李娜", "complaint")].startswith("本月被顾客投诉 1 次（TS-2026-")
    assert ("black", "外包保洁", "complaint") in entries
    assert added == 3
    # The manager edits, removes and adds; proposing again adds nothing twice.
    waiver = RedBlackEntry.get(RedBlackEntry.name == "外包保洁")
    awards.edit_entry(people["manager"], waiver.id, remove=True)
    complaint_entry = RedBlackEntry.get(RedBlackEntry.name == "李娜")
    awards.edit_entry(people["manager"], complaint_entry.id, reason="顾客投诉服务态度，已约谈")
    awards.add_entry(people["manager"], "2026-11", colour="red", name="王芳", reason="顾客来信表扬")
    assert awards.propose(people["manager"], "2026-11")[1] == 0
    names = [(e.colour, e.name, e.reason) for e in notice.live_entries()]
    assert names == [("red", "王芳", "顾客来信表扬"), ("black", "陈静", "2026-11 考核得分 55.2 分，低于 60 分"),
                     ("black", "李娜", "顾客投诉服务态度，已约谈")]
    awards.publish_list(people["manager"], "2026-11")
    with pytest.raises(AwardError, match="Published already"):
        awards.edit_entry(people["manager"], complaint_entry.id, reason="改")
    with pytest.raises(AwardError, match="Published already"):
        awards.add_entry(people["manager"], "2026-11", colour="red", name="李娜", reason="补")


def test_fines_of_the_month_are_on_the_black_list(people, monkeypatch):
    monkeypatch.setattr("models.quality.awards.period_fines",
                        lambda start, end: {people["desk2"].id: (Decimal("150.00"), 2)})
    notice, _added = awards.propose(people["manager"], "2026-11")
    assert [(e.name, e.source, e.reason) for e in notice.live_entries()] == [
        ("李娜", "fine", "本月检查失分罚款 2 次，共 ¥150.00")]


# ---------------------------------------------------------------- pages and prints

def _login(client, username):
    client.post("/logout")
    return client.post("/login", data={"username": username, "password": "correct-horse-battery"})


def test_pages_take_an_assessment_through_its_states(app, client, people):
    with app.test_request_context():
        period = _open(people)
        a = _of(period, people["desk"])
    _login(client, "desk")
    assert client.get("/quality/assessments/").status_code == 200
    page = client.get(f"/quality/assessments/{a.id}")
    assert page.status_code == 200 and "Rate myself" in page.get_data(as_text=True)
    bad = client.post(f"/quality/assessments/{a.id}", data={"action": "self_rate", "self_rate-version": "1",
                                                           "self_rate-performance": "120", "self_rate-attitude": "80",
                                                           "self_rate-skills": "70", "self_rate-teamwork": "60",
                                                           "self_rate-comment": "认真"})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "from 0 to 100" in text and "认真" in text
    ok = client.post(f"/quality/assessments/{a.id}", data={"action": "self_rate", "self_rate-version": "1",
                                                          "self_rate-performance": "90", "self_rate-attitude": "80",
                                                          "self_rate-skills": "70", "self_rate-teamwork": "100"})
    assert ok.status_code == 303
    # Another member of staff does not see it; the department head rates it.
    _login(client, "desk2")
    assert client.get(f"/quality/assessments/{a.id}").status_code == 404
    _login(client, "sales")
    assert client.get(f"/quality/assessments/{a.id}").status_code == 404
    _login(client, "head")
    assert client.post(f"/quality/assessments/{a.id}", data={
        "action": "superior_rate", "superior_rate-version": "2", "superior_rate-performance": "60",
        "superior_rate-attitude": "70", "superior_rate-skills": "80", "superior_rate-teamwork": "50"}).status_code == 303
    _login(client, "desk")
    assert client.post(f"/quality/assessments/{a.id}", data={"action": "confirm", "confirm-version": "3"}).status_code == 303
    with app.app_context():
        assert Assessment.get_by_id(a.id).state == "confirmed"
    pdf = client.get(f"/quality/assessments/{a.id}.pdf")
    from tests.pdf import assert_embedded_cjk_font, pdf_text
    assert_embedded_cjk_font(pdf.data)
    text = pdf_text(pdf.data)
    for words in ("员工考核表", "王芳", "前台接待", "工作业绩", "79.8", "被考核人签字", "上级签字", "陈静"):
        assert words in text, words


def test_weights_page_refuses_a_sum_other_than_100_beside_the_field(client, people):
    _login(client, "boss")
    data = {k: str(v) for k, v in assessments.DEFAULT_WEIGHTS.items()} | {"skills": "30"}
    page = client.post("/quality/assessments/weights", data=data)
    text = page.get_data(as_text=True)
    assert page.status_code == 422 and "add up to 110" in text and 'value="30"' in text
    _login(client, "manager")
    assert client.get("/quality/assessments/weights").status_code == 403


def test_the_red_black_notice_prints_for_the_notice_board(app, client, people):
    with app.test_request_context():
        _scored_period(people)
        awards.propose(people["manager"], "2026-11")
    _login(client, "desk")
    assert client.get("/quality/assessments/red-black/2026-11.pdf").status_code == 404  # a draft: the manager's
    _login(client, "manager")
    assert client.post("/quality/assessments/red-black/2026-11/publish").status_code == 303
    _login(client, "desk")
    page = client.get("/quality/assessments/red-black/2026-11")
    assert "陈静" in page.get_data(as_text=True)
    pdf = client.get("/quality/assessments/red-black/2026-11.pdf")
    from tests.pdf import assert_embedded_cjk_font, pdf_text
    assert_embedded_cjk_font(pdf.data)
    text = pdf_text(pdf.data)
    for words in ("红黑榜预警公示", "红榜", "黑榜", "陈静", "考核得分 55.2 分", "HB-2026-"):
        assert words in text, words


def test_the_inspections_fines_lower_the_customer_figure(people):
    """With the inspections' fines (models.quality.fines, built alongside): ¥100 of November's fines at
    5 points per ¥50 take 10 points off; a voided fine and October's do not count."""
    fines = pytest.importorskip("models.quality.fines")
    department = people["desk"].department_id
    for number, amount, day, voided in (("QF-T-1", "50", dt.date(2026, 11, 3), False),
                                        ("QF-T-2", "50", dt.date(2026, 11, 30), False),
                                        ("QF-T-3", "150", dt.date(2026, 11, 10), True),
                                        ("QF-T-4", "100", dt.date(2026, 10, 31), False)):
        fines.Fine.create(number=number, person=people["desk"].id, department=department, amount=Decimal(amount),
                          issued_on=day, voided_at=dt.datetime(2026, 11, 20) if voided else None)
    figure = assessments.customer_figure(people["desk"], Period.parse("month", "2026-11"))
    assert (figure["fines"], figure["score"]) == (Decimal("100.00"), Decimal("90.0"))
    notice, _added = awards.propose(people["manager"], "2026-11")
    assert [(e.name, e.reason) for e in notice.live_entries() if e.source == "fine"] == [
        ("王芳", "本月检查失分罚款 2 次，共 ¥100.00")]


def test_the_navigation_counts_what_waits_on_me(people):
    period = _open(people)
    assert assessments.waiting_count(people["desk"]) == 1       # her own self rating
    a = _of(period, people["desk"])
    _step(a, "self_rate", people["desk"], ratings=GOOD)
    assert assessments.waiting_count(people["desk"]) == 0
    assert assessments.waiting_count(people["head"]) == 2       # her own + 王芳's to rate
    _step(a, "superior_rate", people["head"], ratings=GOOD)
    assert (assessments.waiting_count(people["head"]), assessments.waiting_count(people["desk"])) == (1, 1)


def test_quarterly_periods_feed_the_red_black_list_of_their_last_month(people):
    from models import settings
    settings.save(people["admin"], {assessments.PERIOD_KIND: "quarter"})
    period = assessments.open_period(people["manager"])
    assert (period.key, period.starts_on, period.ends_on) == ("2026-Q4", dt.date(2026, 10, 1), dt.date(2026, 12, 31))
    low = {"performance": 30, "attitude": 40, "skills": 50, "teamwork": 20}
    a = _of(period, people["seller"])
    _step(a, "self_rate", people["seller"], ratings=low)
    _step(a, "superior_rate", people["other_head"], ratings=low)
    assert awards.proposals(Period.parse("month", "2026-11")) == []
    assert [(c, name, source) for c, _p, name, _d, _r, source in awards.proposals(Period.parse("month", "2026-12"))] == [
        ("black", "刘洋", "assessment")]
