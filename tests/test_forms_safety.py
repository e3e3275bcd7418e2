"""CSRF, one-time submission keys, oversized input, caching headers."""
import threading

import pytest

from models.audit import AuditEntry
from models.submissions import SubmissionKey
from models.users import User


def new_user_form(**overrides):
    data = {"username": "desk", "display_name": "李娜", "department": "0", "roles": ["front_desk"],
            "locale": "", "submission_key": "key-1"}
    data.update(overrides)
    return data


def test_a_post_without_csrf_token_is_refused(client, admin):
    response = client.post("/admin/users/new", data=new_user_form(), csrf=False)
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    assert User.by_username("desk") is None


def test_a_post_with_a_forged_csrf_token_is_refused(client, admin):
    response = client.post("/admin/users/new", data=new_user_form(), headers={"X-CSRFToken": "forged"})
    assert response.status_code == 400
    assert User.by_username("desk") is None


def test_htmx_csrf_failure_explains_in_a_header_for_the_toast(client, admin):
    response = client.post("/admin/users/new?lang=zh", data=new_user_form(), csrf=False, htmx=True)
    assert response.status_code == 400
    from urllib.parse import unquote
    assert "表单已过期" in unquote(response.headers["X-Error-Message"])


def test_a_double_tap_creates_one_record(client, admin):
    first = client.post("/admin/users/new", data=new_user_form(), htmx=True)
    second = client.post("/admin/users/new", data=new_user_form(), htmx=True)
    assert first.status_code == second.status_code == 204
    assert first.headers["HX-Redirect"] == second.headers["HX-Redirect"]
    assert User.select().where(User.username == "desk").count() == 1
    assert AuditEntry.select().where(AuditEntry.record_type == "user", AuditEntry.action == "create").count() == 2


def test_concurrent_identical_submissions_create_one_record(app, admin):
    from models.submissions import submit_once
    from models.users import create_user
    results = []
    barrier = threading.Barrier(4)

    def submit(n):
        with app.app_context():
            barrier.wait()

            def create():
                user = create_user(None, "twin", "Twin", ["front_desk"], "password-123")
                return f"/admin/users/{user.id}"
            results.append(submit_once("same-key", None, create))

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert User.select().where(User.username == "twin").count() == 1
    assert len({url for url, _created in results}) == 1
    assert sorted(created for _url, created in results) == [False, False, False, True]
    assert SubmissionKey.select().count() == 1


def test_a_new_form_gets_a_fresh_submission_key(client, admin):
    import re
    keys = {re.search(r'name="submission_key" type="hidden" value="(\w+)"', client.get("/admin/users/new").get_data(
        as_text=True)).group(1) for _ in range(2)}
    assert len(keys) == 2


def test_an_oversized_field_is_refused_with_a_message(client, admin):
    response = client.post("/admin/users/new", data=new_user_form(display_name="x" * 1_000_000), htmx=True)
    assert response.status_code == 413
    from urllib.parse import unquote
    assert "too large" in unquote(response.headers["X-Error-Message"])
    page = client.post("/admin/users/new", data=new_user_form(display_name="x" * 1_000_000))
    assert page.status_code == 413 and "too large" in page.get_data(as_text=True)
    assert User.by_username("desk") is None


def test_a_long_field_gets_its_error_beside_it_and_keeps_the_text(client, admin):
    response = client.post("/admin/users/new", data=new_user_form(display_name="长" * 81))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="display_name-error"' in page
    assert "长" * 81 in page


def test_pages_with_personal_data_are_not_cached(client, admin):
    response = client.get("/admin/users")
    assert response.headers["Cache-Control"] == "no-store"
    assert "HX-Request" in response.headers["Vary"]
    assert "no-store" not in client.get("/static/css/portal.css").headers.get("Cache-Control", "")


def test_htmx_gets_the_fragment_and_a_boosted_request_the_page(client, admin):
    fragment = client.get("/admin/users?q=boss", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert fragment.lstrip().startswith('<table class="table" id="user-rows">')
    boosted = client.get("/admin/users", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<!doctype html>" in boosted.get_data(as_text=True)
    restore = client.get("/admin/users", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<!doctype html>" in restore.get_data(as_text=True)


def test_an_over_long_requisition_item_is_refused_in_chinese_beside_the_field_and_kept(client, auth, make_user):
    """A browser's maxlength cut a pasted 2,000-character name to 80 without a word: the page
    sets no maxlength, and the server's refusal is beside the field, in the user's language."""
    import datetime as dt
    from models.procurement.requisitions import Requisition
    user = make_user("req", "specialist", department="客服部")
    auth.login("req")
    zh = {"Accept-Language": "zh-CN"}
    page = client.get("/procurement/new", headers=zh).get_data(as_text=True)
    assert " maxlength=" not in page and 'data-maxlength="80"' in page
    pasted = "超长的物资名称" * 300
    response = client.post("/procurement/new", headers=zh, data={
        "department": str(user.department_id), "lines-0-item_name": pasted, "lines-0-quantity": "2",
        "lines-0-unit": "箱", "lines-0-unit_price": "30", "action": "submit",
        "lines-0-needed_on": (dt.date.today() + dt.timedelta(days=7)).isoformat()})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert '<p class="error" id="lines-0-item_name-error">字段长度不能超过 80 个字符。</p>' in page
    assert f'value="{pasted}"' in page
    assert Requisition.select().count() == 0


def test_digits_no_one_types_are_a_message_not_a_500(client, auth, make_user):
    make_user("desk", "front_desk")
    auth.login("desk")
    for url in ("/reports/weekly?page=0", "/visitors?page=²", "/complaints?page=٣"):
        assert client.get(url).status_code in (200, 403), url
    response = client.post("/returns/new", data={"sale_id": "²", "name": "王女士", "phone": "13800000001"})
    assert response.status_code in (200, 303, 422)


def test_an_amount_is_read_as_people_write_it():
    from decimal import Decimal

    from views.fields import parse_amount
    assert parse_amount("1500元") == parse_amount("¥1,500") == parse_amount("1，500") == Decimal("1500")
    with pytest.raises(ValueError):
        parse_amount("1,2OO")
