"""Document numbers, the audit trail, voiding, settings and the audit log page."""
import datetime as dt
import threading

import pytest
import time_machine

from models import audit, settings
from models.audit import AuditEntry
from models.base import write_transaction
from models.numbering import Counter, next_number
from models.users import Department, User, update_user


def test_numbers_count_per_type_and_year(app):
    with time_machine.travel(dt.datetime(2026, 12, 31, 15, 59), tick=False):  # 23:59 in Shanghai
        with write_transaction():
            assert next_number("TS") == "TS-2026-000001"
            assert next_number("TS") == "TS-2026-000002"
            assert next_number("CG") == "CG-2026-000001"
    with time_machine.travel(dt.datetime(2026, 12, 31, 16, 1), tick=False):  # 00:01 on 1 January
        with write_transaction():
            assert next_number("TS") == "TS-2027-000001"


def test_a_rolled_back_record_gives_its_number_back(app):
    with pytest.raises(RuntimeError):
        with write_transaction():
            next_number("TS")
            raise RuntimeError("the record failed to save")
    with write_transaction():
        assert next_number("TS").endswith("-000001")


def test_numbers_must_be_taken_inside_the_records_transaction(app):
    with pytest.raises(AssertionError):
        next_number("TS")


def test_concurrent_allocations_have_no_gaps_and_no_duplicates(app):
    numbers, errors = [], []
    lock = threading.Lock()

    def allocate():
        with app.app_context():
            try:
                for _ in range(10):
                    with write_transaction():
                        number = next_number("TS")
                    with lock:
                        numbers.append(number)
            except Exception as exc:  # noqa: BLE001  collected and asserted below
                errors.append(exc)

    threads = [threading.Thread(target=allocate) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    sequence = sorted(int(n.rsplit("-", 1)[1]) for n in numbers)
    assert sequence == list(range(1, 81))
    assert Counter.get(Counter.doc_type == "TS").value == 80


def test_changes_are_audited_old_to_new(app, make_user):
    sales = Department.create(name="销售部")
    user = make_user("desk", "front_desk", display_name="王芳")
    update_user(None, user, ["front_desk", "specialist"], display_name="王芳芳", department=sales.id)
    entry = AuditEntry.select().where(AuditEntry.action == "update").get()
    changes = dict(entry.change_items)
    assert changes["display_name"] == ["王芳", "王芳芳"]
    assert changes["roles"] == ["front_desk", "front_desk, specialist"]
    assert changes["department"] == [None, sales.id]
    assert "password_hash" not in dict(AuditEntry.get(AuditEntry.action == "create").change_items)


def test_an_unchanged_save_writes_no_entry(app, make_user):
    user = make_user("desk")
    update_user(None, user, ["front_desk"], display_name=user.display_name)
    assert AuditEntry.select().where(AuditEntry.action == "update").count() == 0


def test_void_needs_a_reason_and_keeps_the_record(app, make_user):
    # Any VoidableModel behaves so; a throwaway one keeps the foundation's test self-contained.
    from peewee import CharField

    from models.base import VoidableModel

    class Sample(VoidableModel):
        name = CharField()

    Sample.create_table()
    sample = Sample.create(name="a")
    actor = make_user("boss", "admin")
    with pytest.raises(ValueError):
        audit.void(actor, sample, "  ")
    assert audit.void(actor, sample, "entered twice")
    assert not audit.void(actor, sample, "again")
    reloaded = Sample.get_by_id(sample.id)
    assert reloaded.is_void and reloaded.void_reason == "entered twice"
    entry = AuditEntry.get(AuditEntry.action == "void")
    assert (entry.actor_id, entry.record_type, entry.record_id, entry.reason) == (actor.id, "sample", sample.id,
                                                                                  "entered twice")
    Sample.drop_table()


def test_admin_filters_the_audit_log(client, admin, make_user):
    with time_machine.travel(dt.datetime(2026, 11, 1, 4, 0), tick=False):
        make_user("early", display_name="早班")
    make_user("late", display_name="晚班")
    htmx = {"HX-Request": "true"}  # the results fragment, without the filter's user list
    page = client.get("/audit?type=user&from=2026-11-02", headers=htmx).get_data(as_text=True)
    assert "晚班" in page and "早班" not in page
    page = client.get("/audit?type=user&to=2026-11-01", headers=htmx).get_data(as_text=True)
    assert "早班" in page and "晚班" not in page
    page = client.get(f"/audit?user={admin.id}", headers=htmx).get_data(as_text=True)
    assert "No entries match." in page
    bad = client.get("/audit?from=yesterday").get_data(as_text=True)
    assert "Enter a date like 2026-11-23." in bad


def test_audit_log_pages_with_a_revealed_sentinel(client, admin, make_user):
    for n in range(55):
        make_user(f"user{n}")
    first = client.get("/audit").get_data(as_text=True)
    assert 'hx-trigger="revealed"' in first
    second = client.get("/audit?page=2", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert second.count("<tr>") == 6 and 'hx-trigger="revealed"' not in second


def settings_form(**changes):
    """What the settings page posts: every setting's current text, with some changed."""
    data = {key: spec.format(spec.default) for key, spec in settings.SPECS.items() if spec.kind is not bool}
    data.update(changes)
    return data


def test_settings_page_saves_typed_values_and_audits(client, admin):
    response = client.post("/settings", data=settings_form(session_idle_minutes="30"))
    assert response.status_code == 303
    with client.application.app_context():
        assert settings.get(settings.SESSION_IDLE_MINUTES) == 30
    entry = AuditEntry.get(AuditEntry.record_type == "setting")
    assert dict(entry.change_items) == {"session_idle_minutes": ["60", "30"]}


def test_bad_setting_is_shown_beside_the_field_and_nothing_is_saved(client, admin):
    response = client.post("/settings?lang=zh", data=settings_form(session_idle_minutes="abc", session_max_hours="0",
                                                                   login_max_failures="7"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="s-session_idle_minutes-error">请输入数字。' in page
    assert 'id="s-session_max_hours-error">不能小于 1。' in page
    assert 'value="abc"' in page and 'value="7"' in page
    with client.application.app_context():
        assert settings.get(settings.LOGIN_MAX_FAILURES) == 5


def test_a_shorter_idle_timeout_applies_to_open_sessions(client, auth, make_user):
    make_user("desk")
    start = dt.datetime(2026, 11, 23, 1, 0)
    with time_machine.travel(start, tick=False):
        auth.login("desk")
        settings.save(None, {settings.SESSION_IDLE_MINUTES: 15})
    with time_machine.travel(start + dt.timedelta(minutes=16), tick=False):
        assert client.get("/").status_code == 302


def test_users_admin_lists_and_searches(client, admin, make_user):
    make_user("desk", display_name="王芳", mobile="13900001111")
    page = client.get("/admin/users?q=王", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "王芳" in page and "boss" not in page


def test_admin_cannot_lock_themselves_out(client, admin):
    response = client.post(f"/admin/users/{admin.id}", data={"display_name": "Admin Boss", "department": "0",
                                                             "roles": ["front_desk"], "locale": ""})
    assert response.status_code == 422
    assert User.get_by_id(admin.id).roles == ["admin"]
