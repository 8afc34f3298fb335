"""`flask learn sync`: load content/learn/ into the database (idempotent, slug-keyed)."""
from __future__ import annotations

from pathlib import Path

import click

from app.learn import bp


@bp.cli.command("sync")
@click.option("--dir", "directory", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Content folder (default: content/learn in the project).")
@click.option("--force", is_flag=True, help="Overwrite lessons, paths and articles an admin edited in the browser.")
def sync_command(directory: Path | None, force: bool) -> None:
    """Create or update learning paths, lessons and quizzes from the markdown files, and the
    help center's articles (content/help; `flask help sync` does those alone)."""
    from app.help.content import sync as sync_articles
    from app.learn.content import ContentError, sync

    try:
        result = sync(directory, force=force)
        articles = sync_articles(force=force)
    except ContentError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(result.summary())
    click.echo(articles.summary())
