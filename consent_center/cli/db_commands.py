import click

from consent_center.extensions import db
from consent_center.migrate import upgrade


@click.group("db", help="The database schema.")
def group() -> None:
    pass


@group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def upgrade_command(revision: str) -> None:
    """Create or migrate the schema (Alembic)."""
    upgrade(db.engine, revision)
    click.echo(f"Database at {db.engine.url.render_as_string(hide_password=True)} is at {revision}.")
