"""The wall board: opened by a revocable link, figures against hand-made data, 304 when unchanged."""
import datetime as dt

import pytest
import time_machine

from models.board import BoardToken, create_token, figures, revoke_token
from models.base import utcnow
from models.calls import log_call
from models.visitors import apply, register_visit

NOW = dt.datetime(2026, 11, 23, 2, 0)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def token(app, admin):
    _row, token = create_token(admin, "大堂屏幕")
    return token


def visit(host, name="李明", minutes_ago=0):
    return register_visit(None, visitor_name=name, phone="13800138000", organisation="华信", purpose="meeting",
                          purpose_other="", host=host, companions=0, id_number="", car_plate="", note="",
                          arrived_at=utcnow() - dt.timedelta(minutes=minutes_ago))


def test_figures_match_hand_computed_data(app, make_user):
    host = make_user("zhang", "specialist", display_name="张伟")
    visit(host, "甲", minutes_ago=7)
    visit(host, "乙", minutes_ago=2)
    with time_machine.travel(NOW - dt.timedelta(days=3), tick=False):
        apply(None, visit(host, "丙").id, "check_out")
    log_call(None, caller_name="周", organisation="", phone="13800000000", reason="r", call_type="inquiry",
             outcome="promised", promiser=host, reply_due=NOW + dt.timedelta(hours=2))
    with time_machine.travel(NOW - dt.timedelta(hours=12), tick=False):  # 22:00 yesterday in Shanghai
        log_call(None, caller_name="吴", organisation="", phone="13800000001", reason="r", call_type="inquiry",
                 outcome="promised", promiser=host, reply_due=NOW - dt.timedelta(hours=1))
    values = figures()
    assert [w["minutes"] for w in values["visitors_waiting"]] == [7, 2]
    assert values["visitors_on_site"] == 2 and values["visitors_today"] == 2
    assert values["calls_today"] == 1  # the other was taken yesterday evening, Shanghai time
    assert (values["promises_due_today"], values["promises_overdue"]) == (1, 1)
    assert values["trend"]["visitors"][-1] == 2 and values["trend"]["visitors"][-4] == 1
    assert len(values["trend"]["calls"]) == 30 and sum(values["trend"]["calls"]) == 2


def test_board_opens_with_its_link_and_answers_304_when_nothing_changed(client, token, make_user, frozen):
    page = client.get(f"/board?token={token}")
    assert page.status_code == 200
    assert "等候访客" in page.get_data(as_text=True) and "Visitors waiting" in page.get_data(as_text=True)
    etag = page.headers["ETag"]
    unchanged = client.get(f"/board?token={token}", headers={"HX-Request": "true", "If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.data == b""
    visit(make_user("zhang", "specialist"))
    cached = client.get(f"/board?token={token}", headers={"HX-Request": "true", "If-None-Match": etag})
    assert cached.status_code == 304  # figures are reused for 2 s...
    frozen.shift(3)  # ...and the change shows at the next poll after that
    changed = client.get(f"/board?token={token}", headers={"HX-Request": "true", "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert '<div id="figures"' in changed.get_data(as_text=True)


@pytest.mark.parametrize("if_none_match", ["W/{etag}", '"0123", {etag}', 'W/"0123", W/{etag}', "*"])
def test_a_weak_or_listed_etag_as_a_gzipping_proxy_sends_it_still_gets_304(client, token, if_none_match):
    etag = client.get(f"/board?token={token}").headers["ETag"]
    header = if_none_match.format(etag=etag)
    unchanged = client.get(f"/board?token={token}", headers={"HX-Request": "true", "If-None-Match": header})
    assert unchanged.status_code == 304 and unchanged.data == b"" and unchanged.headers["ETag"] == etag
    other = client.get(f"/board?token={token}", headers={"HX-Request": "true", "If-None-Match": 'W/"0123"'})
    assert other.status_code == 200 and '<div id="figures"' in other.get_data(as_text=True)


def test_no_link_or_a_revoked_link_stops_the_screen(client, admin, token):
    assert client.get("/board").status_code == 403
    assert client.get("/board?token=guess").status_code == 403
    revoke_token(admin, BoardToken.get())
    response = client.get(f"/board?token={token}", headers={"HX-Request": "true"})
    assert response.status_code == 403 and "此看板链接已失效" in response.get_data(as_text=True)


def test_admin_creates_and_revokes_screen_links(client, admin):
    response = client.post("/admin/board-tokens", data={"label": "三楼走廊", "submission_key": "b1"})
    page = response.get_data(as_text=True)
    link = page.split('<code class="link">')[1].split("</code>")[0]
    assert "/board?token=" in link
    token = link.split("token=")[1]
    assert client.get(f"/board?token={token}").status_code == 200
    row = BoardToken.get()
    assert row.token_digest != token  # only the digest is kept
    client.post(f"/admin/board-tokens/{row.id}/revoke")
    assert client.get(f"/board?token={token}").status_code == 403


def test_board_queries_do_not_grow_with_the_data(app, make_user):
    from playhouse.test_utils import count_queries
    host = make_user("zhang", "specialist")
    visit(host, "甲")
    figures()  # the month's key figures are cached for a minute: both counts below reuse them
    with count_queries() as few:
        figures()
    for n in range(10):
        visit(host, f"访客{n}")
    with count_queries() as many:
        figures()
    assert many.count == few.count


def test_open_complaints_on_the_board(app, make_user, frozen):
    from models import complaints
    clerk = make_user("li", "specialist")
    complaints.create(clerk, name="张先生", phone="13800138000", content="漏水", channel="phone",
                      category=complaints.categories()[0][0], severity="major")
    complaints.create(clerk, name="王女士", phone="13900139000", content="态度", channel="visit",
                      category=complaints.categories()[0][0], severity="general")
    values = figures()
    assert (values["complaints_open"], values["complaints_urgent"], values["complaints_overdue"]) == (2, 1, 0)
    assert values["complaints_by_state"] == [("received", 2)]
    frozen.shift(dt.timedelta(days=4))
    assert figures()["complaints_overdue"] == 2


def test_the_months_key_figures_are_held_to_the_seeds_targets(app, make_user):
    from models import board as board_model
    from tests.helpers import make_complaint as _make
    from tests.helpers import walk_to as _walk_to
    people = {"spec": make_user("spec", "specialist"), "manager": make_user("manager", "service_manager"),
              "head": make_user("head", "dept_head", department="Repairs")}
    assert [t["value"] for t in board_model.targets(utcnow())] == [None, None, None, None, None]
    handled = _make(app, people["spec"], phone="13900139001")
    _make(app, people["spec"], phone="13900139002")
    with app.test_request_context():
        _walk_to(app, people, handled, "handled")
    values = {t["key"]: t for t in board_model.targets(utcnow())}
    assert values["handled"]["value"] == 50.0 and values["handled"]["met"] is False  # one of two, against 100 %
    assert values["on_time"]["value"] == 100.0 and values["on_time"]["met"] is True
    assert values["callback_pass"]["target"] == 98.0 and values["callback_pass"]["value"] is None


def test_the_board_shows_todays_callbacks_and_the_key_figures(client, token):
    page = client.get(f"/board?token={token}").get_data(as_text=True)
    assert "今日回访" in page and "Callbacks today" in page
    assert "回访合格率" in page and "≥ 98%" in page


def test_the_board_shows_the_hosts_answer_and_its_time(client, token, make_user, frozen):
    host = make_user("zhang", "specialist", display_name="张伟")
    waiting = visit(host)
    frozen.move_to(NOW + dt.timedelta(minutes=3))  # 10:03 in Shanghai
    apply(host, waiting.id, "answer", reply="coming")
    page = client.get(f"/board?token={token}").get_data(as_text=True)
    waits = page.split('<ul class="waits">')[1].split("</ul>")[0]
    assert "找 张伟" in waits and "马上来" in waits and "coming" in waits and "10:03" in waits
