"""The role × endpoint matrix: every endpoint declares who may use it, and that
declaration is what each role actually meets."""
import pytest

from models.roles import PERMISSIONS, ROLES, has_permission
from views.access import PUBLIC, declared_permission

SAMPLE_ARGS = {"user_id": 1, "department_id": 1, "notification_id": 1, "complaint_id": 1, "run_id": 1, "fmt": "csv"}


def endpoints(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        yield rule


def test_every_endpoint_declares_a_known_permission(app):
    with app.test_request_context():
        for rule in endpoints(app):
            permission = declared_permission(app, rule.endpoint)
            assert permission is not None, f"{rule.endpoint} declares no permission"
            assert permission == PUBLIC or permission in PERMISSIONS, f"{rule.endpoint}: {permission!r}"


def test_an_undeclared_endpoint_is_refused(app, client, make_user, auth):
    app.add_url_rule("/undeclared", "undeclared", lambda: "secret")
    make_user("boss", "admin")
    auth.login("boss")
    assert client.get("/undeclared").status_code == 403


@pytest.mark.parametrize("role", sorted(ROLES))
def test_each_role_meets_exactly_its_permissions(app, client, auth, make_user, role):
    me = make_user("person", role)
    make_user("other", "front_desk")
    auth.login("person")
    for rule in endpoints(app):
        permission = declared_permission(app, rule.endpoint)
        if permission == PUBLIC or "GET" not in rule.methods:
            continue
        args = {name: (me.id if name == "user_id" else SAMPLE_ARGS.get(name, 1)) for name in rule.arguments}
        with app.test_request_context():
            from flask import url_for
            url = url_for(rule.endpoint, **args)
        status = client.get(url).status_code
        if has_permission([role], permission):
            assert status in (200, 404), f"{role} should reach {url} ({permission}), got {status}"
        else:
            assert status == 403, f"{role} must not reach {url} ({permission}), got {status}"


@pytest.mark.parametrize("role", sorted(ROLES))
def test_posts_are_refused_to_roles_without_the_permission(app, client, auth, make_user, role):
    make_user("person", role)
    target = make_user("other", "front_desk")
    auth.login("person")
    for rule in endpoints(app):
        permission = declared_permission(app, rule.endpoint)
        if permission == PUBLIC or "POST" not in rule.methods or has_permission([role], permission):
            continue
        args = {name: (target.id if name == "user_id" else SAMPLE_ARGS.get(name, 1)) for name in rule.arguments}
        with app.test_request_context():
            from flask import url_for
            url = url_for(rule.endpoint, **args)
        assert client.post(url, data={}).status_code == 403, url


def test_anonymous_visitors_are_sent_to_log_in(app, client):
    for rule in endpoints(app):
        if declared_permission(app, rule.endpoint) == PUBLIC or "GET" not in rule.methods:
            continue
        args = {name: SAMPLE_ARGS.get(name, 1) for name in rule.arguments}
        with app.test_request_context():
            from flask import url_for
            url = url_for(rule.endpoint, **args)
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), url
