"""Logging in and out, throttling, sessions and passwords, as staff meet them."""
import datetime as dt

import time_machine

from models.users import LoginAttempt, User, end_sessions, update_user

from .conftest import PASSWORD


def test_login_page_is_labelled_in_both_languages(client):
    english = client.get("/login?lang=en").get_data(as_text=True)
    assert '<label for="username">Username</label>' in english
    assert '<label for="password">Password</label>' in english
    chinese = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(as_text=True)
    # ?lang=en was kept in the session: the explicit choice wins over Accept-Language.
    assert "Username" in chinese
    fresh = client.application.test_client()
    chinese = fresh.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(as_text=True)
    assert '<label for="username">用户名</label>' in chinese
    assert '<label for="password">密码</label>' in chinese


def test_login_lands_on_the_home_of_the_role(client, auth, make_user):
    make_user("desk", "front_desk", display_name="王芳")
    response = auth.login("desk")
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    page = client.get("/?lang=zh").get_data(as_text=True)
    assert "王芳，您好" in page
    assert "前台接待" in page
    page = client.get("/?lang=en").get_data(as_text=True)
    assert "Hello, 王芳" in page and "Front desk" in page


def test_wrong_password_is_refused_beside_the_field_and_username_kept(client, auth, make_user):
    make_user("desk")
    response = auth.login("desk", "not-the-password")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="password-error">Wrong username or password.' in page
    assert 'value="desk"' in page
    assert client.get("/").status_code == 302


def test_five_failures_in_ten_minutes_make_the_username_wait(client, auth, make_user):
    make_user("desk")
    start = dt.datetime(2026, 11, 23, 2, 0)
    with time_machine.travel(start, tick=False):
        for _ in range(5):
            assert auth.login("desk", "wrong").status_code == 422
        refused = auth.login("desk", PASSWORD)
        assert refused.status_code == 422
        assert "Too many failed attempts. Try again in 10 minutes." in refused.get_data(as_text=True)
    with time_machine.travel(start + dt.timedelta(minutes=11), tick=False):
        assert auth.login("desk", PASSWORD).status_code == 303
    assert LoginAttempt.select().where(LoginAttempt.success == False).count() == 5  # noqa: E712


def test_throttling_is_per_username(client, auth, make_user):
    make_user("desk")
    make_user("desk2")
    for _ in range(5):
        auth.login("desk", "wrong")
    assert auth.login("desk2").status_code == 303


def test_login_starts_a_new_session(client, auth, make_user):
    make_user("desk")
    token_before = client.csrf_token()
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    auth.login("desk")
    with client.session_transaction() as session:
        assert "planted" not in session
    assert client.csrf_token() != token_before


def test_deactivated_user_is_out_at_the_next_request(app, client, auth, make_user):
    user = make_user("desk")
    auth.login("desk")
    assert client.get("/").status_code == 200
    update_user(None, user, ["front_desk"], is_active=False)
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert auth.login("desk").status_code == 422


def test_admin_can_end_a_users_sessions(client, auth, make_user):
    user = make_user("desk")
    auth.login("desk")
    end_sessions(None, user)
    assert client.get("/").status_code == 302


def test_idle_timeout_and_absolute_lifetime(client, auth, make_user):
    make_user("desk")
    start = dt.datetime(2026, 11, 23, 1, 0)
    with time_machine.travel(start, tick=False):
        auth.login("desk")
    with time_machine.travel(start + dt.timedelta(minutes=59), tick=False):
        assert client.get("/").status_code == 200
    # 59 minutes after the last request is still within the idle timeout...
    with time_machine.travel(start + dt.timedelta(minutes=117), tick=False):
        assert client.get("/").status_code == 200
    # ...but not 61 minutes.
    with time_machine.travel(start + dt.timedelta(minutes=179), tick=False):
        assert client.get("/").status_code == 302


def test_absolute_lifetime_ends_a_busy_session(client, auth, make_user):
    make_user("desk")
    start = dt.datetime(2026, 11, 23, 1, 0)
    with time_machine.travel(start, tick=False):
        auth.login("desk")
    for minutes in range(30, 12 * 60, 30):
        with time_machine.travel(start + dt.timedelta(minutes=minutes), tick=False):
            assert client.get("/").status_code == 200
    with time_machine.travel(start + dt.timedelta(hours=12, minutes=1), tick=False):
        assert client.get("/").status_code == 302


def test_htmx_request_after_session_end_redirects_to_login_back_to_the_page(client, auth, make_user):
    user = make_user("boss", "admin")
    auth.login("boss")
    end_sessions(None, user)
    response = client.post("/admin/users/new", data={"display_name": "X"}, htmx=True,
                           headers={"HX-Current-URL": "http://localhost/admin/users/new"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/login?next=/admin/users/new"


def test_login_honours_next_but_never_another_site(client, auth, make_user):
    make_user("boss", "admin")
    response = client.post("/login", data={"username": "boss", "password": PASSWORD, "next": "/admin/users"})
    assert response.headers["Location"] == "/admin/users"
    auth.logout()
    response = client.post("/login", data={"username": "boss", "password": PASSWORD,
                                           "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"


def test_logout_needs_a_post(client, auth, make_user):
    make_user("desk")
    auth.login("desk")
    assert client.get("/logout").status_code == 200
    assert client.get("/").status_code == 200
    auth.logout()
    assert client.get("/").status_code == 302


def test_one_time_password_must_be_changed_first(client, auth, make_user):
    make_user("desk", must_change_password=True)
    auth.login("desk")
    response = client.get("/")
    assert response.status_code == 303 and response.headers["Location"] == "/account/password"
    bad = client.post("/account/password", data={"current": PASSWORD, "new": "short", "confirm": "short"})
    assert bad.status_code == 422
    assert 'id="new-error">Use 8 to 200 characters.' in bad.get_data(as_text=True)
    ok = client.post("/account/password", data={"current": PASSWORD, "new": "a-new-password",
                                                 "confirm": "a-new-password"})
    assert ok.status_code == 303
    assert client.get("/").status_code == 200  # this session continues
    assert User.by_username("desk").check_password("a-new-password")
    assert not User.by_username("desk").must_change_password


def test_change_password_errors_are_beside_their_fields(client, auth, make_user):
    make_user("desk")
    auth.login("desk", headers={})
    response = client.post("/account/password?lang=zh", data={"current": "nope", "new": "another-password",
                                                              "confirm": "different-password"})
    page = response.get_data(as_text=True)
    assert 'id="current-error">当前密码不正确。' in page
    assert 'id="confirm-error">两次输入的新密码不一致。' in page


def test_a_backslash_next_cannot_leave_the_site(client, make_user):
    make_user("boss", "admin")
    response = client.post("/login", data={"username": "boss", "password": PASSWORD, "next": "/\\evil.example/"},
                           htmx=True)
    assert response.headers["HX-Redirect"] == "/"


def test_polling_does_not_keep_an_idle_session_alive(client, auth, make_user):
    make_user("desk")
    start = dt.datetime(2026, 11, 23, 1, 0)
    with time_machine.travel(start, tick=False):
        auth.login("desk")
    for minutes in (20, 40, 59):
        with time_machine.travel(start + dt.timedelta(minutes=minutes), tick=False):
            assert client.get("/notifications/bell", headers={"HX-Request": "true", "X-Poll": "1"}).status_code == 200
    with time_machine.travel(start + dt.timedelta(minutes=61), tick=False):
        response = client.get("/")
    assert response.status_code == 302 and "expired=1" in response.headers["Location"]


def test_lockout_wait_is_counted_in_utc_whatever_the_server_zone(client, auth, make_user, monkeypatch):
    import time
    make_user("desk")
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        start = dt.datetime(2026, 11, 23, 2, 0)
        with time_machine.travel(start, tick=False):
            for _ in range(5):
                auth.login("desk", "wrong")
        with time_machine.travel(start + dt.timedelta(minutes=9), tick=False):
            refused = auth.login("desk", PASSWORD)
        assert "Try again in 1 minute." in refused.get_data(as_text=True)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
