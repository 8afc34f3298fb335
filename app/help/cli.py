"""`flask help sync`: load content/help/ into the database (idempotent, slug-keyed)."""
from __future__ import annotations

from pathlib import Path

import click

from app.help import bp


@bp.cli.command("sync")
@click.option("--dir", "directory", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Articles folder (default: content/help in the project).")
@click.option("--force", is_flag=True, help="Overwrite articles an admin edited in the browser.")
def sync_command(directory: Path | None, force: bool) -> None:
    """Create or update help articles from the markdown files."""
    from app.help.content import sync
    from app.learn.content import ContentError

    try:
        result = sync(directory, force=force)
    except ContentError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(result.summary())
