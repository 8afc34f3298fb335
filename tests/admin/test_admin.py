import pytest
from sqlalchemy import select

from app.models import AuditEvent, User


@pytest.mark.parametrize("path", ["/admin", "/admin/users", "/admin/audit"])
def test_admin_pages_refuse_non_admins(client, login, db, factories, path):
    assert client.get(path).headers["Location"].startswith("/login")
    login(factories.user())
    r = client.get(path)
    assert r.status_code == 403
    assert "Not allowed" in r.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/admin", "/admin/users", "/admin/audit"])
def test_admin_pages_render_for_admins(client, login, db, factories, path):
    login(factories.admin())
    assert client.get(path).status_code == 200


def test_user_search(client, login, db, factories):
    login(factories.admin(email="boss@example.com"))
    factories.user("alice@example.com")
    factories.user("bob@example.com")
    body = client.get("/admin/users?q=ALI").get_data(as_text=True)
    assert "alice@example.com" in body and "bob@example.com" not in body


def test_disable_and_enable_user_is_audited_and_ends_sessions(app, client, login, csrf, db, factories):
    admin = login(factories.admin())
    target = factories.user("t@example.com")
    other = app.test_client()
    login(target, other)
    assert other.get("/home").status_code == 200
    token = csrf(client, "/admin/users")
    r = client.post(f"/admin/users/{target.id}/active", data={"active": "0", "csrf_token": token})
    assert r.status_code == 303
    assert other.get("/home").status_code == 303
    db.session.expire_all()
    assert db.session.get(User, target.id).active is False
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.event == "admin.user_disabled"))
    assert event.user_id == target.id and event.actor_id == admin.id
    client.post(f"/admin/users/{target.id}/active", data={"active": "1", "csrf_token": token})
    db.session.expire_all()
    assert db.session.get(User, target.id).active is True


def test_grant_and_revoke_admin_is_audited(client, login, csrf, db, factories):
    login(factories.admin())
    target = factories.user()
    token = csrf(client, "/admin/users")
    client.post(f"/admin/users/{target.id}/role", data={"role": "admin", "csrf_token": token})
    db.session.expire_all()
    assert db.session.get(User, target.id).role == "admin"
    client.post(f"/admin/users/{target.id}/role", data={"role": "user", "csrf_token": token})
    db.session.expire_all()
    assert db.session.get(User, target.id).role == "user"
    changes = db.session.scalars(select(AuditEvent.details).where(AuditEvent.event == "admin.role_changed")).all()
    assert changes == [{"old": "user", "new": "admin"}, {"old": "admin", "new": "user"}]


def test_admin_cannot_demote_or_disable_self(client, login, csrf, db, factories):
    admin = login(factories.admin())
    token = csrf(client, "/admin/users")
    r = client.post(f"/admin/users/{admin.id}/role", data={"role": "user", "csrf_token": token}, follow_redirects=True)
    assert "cannot remove your own admin role" in r.get_data(as_text=True)
    client.post(f"/admin/users/{admin.id}/active", data={"active": "0", "csrf_token": token})
    db.session.expire_all()
    assert db.session.get(User, admin.id).is_admin and db.session.get(User, admin.id).active


def test_admin_actions_need_csrf_and_admin(client, login, csrf, db, factories):
    target = factories.user()
    login(factories.user())
    token = csrf(client, "/home")
    assert client.post(f"/admin/users/{target.id}/role", data={"role": "admin", "csrf_token": token}).status_code == 403
    login(factories.admin())
    assert client.post(f"/admin/users/{target.id}/role", data={"role": "admin"}).status_code == 400
    assert db.session.get(User, target.id).role == "user"


def test_unknown_user_is_404(client, login, csrf, db, factories):
    login(factories.admin())
    token = csrf(client, "/admin/users")
    assert client.post("/admin/users/999999/role", data={"role": "admin", "csrf_token": token}).status_code == 404


def test_audit_log_filters(client, login, db, factories):
    login(factories.admin())
    from app import audit

    u = factories.user("x@example.com")
    audit.record(audit.LOGIN_FAILED, user=u)
    audit.record(audit.PASSWORD_CHANGED, user=u)
    db.session.commit()
    body = client.get("/admin/audit?event=login.failed").get_data(as_text=True)
    assert "Failed sign-in attempt" in body and "<td>Password changed</td>" not in body


def test_cli_create_admin(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create-admin", "root@example.com", "--password", "short"])
    assert result.exit_code != 0 and "at least 10 characters" in result.output
    result = runner.invoke(args=["users", "create-admin", "root@example.com", "--password", "granite pelican sunset 11"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "root@example.com"))
    assert user.is_admin and user.email_confirmed


def test_cli_demo_load_is_idempotent_and_refused_in_production(app, db):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "load"])
    assert "demo login: trader@example.com / " in first.output and "demo login: admin@example.com / " in first.output
    second = runner.invoke(args=["demo", "load"])
    assert "already exist" in second.output
    assert db.session.scalar(select(User).where(User.email == "admin@example.com")).is_admin
    app.config["ENV_NAME"] = "production"
    try:
        refused = runner.invoke(args=["demo", "load"])
        assert refused.exit_code != 0 and "Refusing to load demo data in production" in refused.output
    finally:
        app.config["ENV_NAME"] = "test"
