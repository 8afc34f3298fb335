"""`flask learn sync`: load content/learn/ into the database (idempotent, slug-keyed)."""
from __future__ import annotations

from pathlib import Path

import click

from app.learn import bp


@bp.cli.command("sync")
@click.option("--dir", "directory", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Content folder (default: content/learn in the project).")
def sync_command(directory: Path | None) -> None:
    """Create or update learning paths, lessons and quizzes from the markdown files."""
    from app.learn.content import ContentError, sync

    try:
        result = sync(directory)
    except ContentError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(result.summary())
