"""The service department's portal: create_app() wires config, database, queue and views."""
import logging
import secrets
import sys

import click
from flask import Flask

import config


def create_app(test_config=None):
    app = Flask(__name__, instance_path=config.INSTANCE_PATH)
    app.config.update(config.default_config())
    if test_config:
        app.config.update(test_config)
    app.config["VERSION"] = config.VERSION
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("weasyprint", "fontTools"):  # per-step progress of every PDF
        logging.getLogger(noisy).setLevel(logging.WARNING)

    from models.base import open_database
    open_database(app.config["DATABASE_URL"])

    from views import init_app as init_views
    init_views(app)
    _register_commands(app)
    from tasks import bind_app
    bind_app(app)
    return app


def _register_commands(app):
    from models import create_tables

    @app.cli.command("init-db")
    def init_db():
        """Create the schema, and an admin account with a one-time password if none exists."""
        from models.users import User, UserRole, create_user, generate_password
        create_tables()
        if not UserRole.select().where(UserRole.role == "admin").exists():
            password = generate_password()
            username = "admin" if not User.by_username("admin") else f"admin{secrets.randbelow(1000)}"
            create_user(None, username, "Administrator", ["admin"], password, must_change_password=True)
            click.echo(f"Created the admin account: username {username}, one-time password {password}")
            click.echo("(You will be asked to choose a new password at the first login.)")
        from models.worktime import import_this_and_next_year
        for year in import_this_and_next_year():
            click.echo(f"Imported the State Council's holidays and make-up working days for {year}.")
        click.echo("Database ready.")

    @app.cli.command("create-user")
    @click.argument("username")
    @click.option("--role", "roles", multiple=True, required=True, help="A role; repeat for several.")
    @click.option("--department", default=None, help="Department name (created when new).")
    @click.option("--display-name", default=None)
    @click.option("--password", default=None, help="Prompted for when not given.")
    def create_user_command(username, roles, department, display_name, password):
        """Create a staff account."""
        from models.roles import ROLES
        from models.users import Department, User, create_user
        create_tables()
        unknown = [r for r in roles if r not in ROLES]
        if unknown:
            raise click.BadParameter(f"unknown role {unknown[0]!r}; choose from {', '.join(ROLES)}")
        if User.by_username(username):
            raise click.ClickException(f"user {username!r} already exists")
        if password is None:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        dept = Department.get_or_create(name=department)[0] if department else None
        create_user(None, username, display_name or username, list(roles), password, department=dept)
        click.echo(f"Created {username} ({', '.join(roles)}).")

    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Only when no demo data was loaded before.")
    def seed_demo_command(if_empty):
        """Load demo departments, staff and records so the portal is not empty."""
        from models.demo import STAFF, seed_demo
        create_tables()
        password = seed_demo(only_if_empty=if_empty)
        if password:
            # The weeks of the demo's complaints archived as the consumer's sweep would (it needs
            # the printer, which models/demo.py may not use).
            from tasks.weekly_archive import archive_due_weeks
            archive_due_weeks()
            click.echo(f"Demo data loaded. Demo staff log in with password {password}: "
                       f"{', '.join(username for username, *_rest in STAFF)}.")

    @app.cli.command("backup")
    @click.argument("file", type=click.Path(dir_okay=False, writable=True))
    def backup_command(file):
        """Copy the SQLite database to FILE while the portal keeps running."""
        from models.backup import backup_sqlite
        try:
            backup_sqlite(file)
        except RuntimeError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"Backed up to {file}.")
