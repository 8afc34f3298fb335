"""``flask scan run 1m|10m|1d [--symbols AAPL,MSFT] [--force]``, ``flask scan seed``."""
from __future__ import annotations

import click

from app.market import bp


@bp.cli.command("run")
@click.argument("kind", type=click.Choice(["1m", "10m", "1d"]))
@click.option("--symbols", help="Comma-separated symbols (default: the whole active universe).")
@click.option("--force", is_flag=True, help="Run even when the market is closed / the session is done.")
@click.option("--enqueue", is_flag=True, help="Fan out to the workers instead of running here.")
def run(kind: str, symbols: str | None, force: bool, enqueue: bool) -> None:
    """Run one scanner cycle now."""
    from app.extensions import db
    from app.market import services
    from app.models.market import ScanRun

    syms = [s.strip().upper() for s in symbols.split(",") if s.strip()] if symbols else None
    if enqueue:
        run_id = services.start_cycle(kind, force=force, symbols=syms)
        if run_id is None:
            raise click.ClickException("Nothing started (market closed, already done, or a cycle holds the lock; "
                                       "use --force to ignore market hours).")
        click.echo(f"scan {kind}: run #{run_id} queued on the 'scans' queue")
        return
    run_id = services.start_cycle(kind, force=force, symbols=syms, inline=True)
    if run_id is None:
        raise click.ClickException("Nothing to do (market closed, session already done, or a cycle holds the lock; "
                                   "use --force to ignore market hours).")
    r = db.session.get(ScanRun, run_id)
    secs = r.duration_seconds or 0.0
    click.echo(f"scan {kind}: run #{r.id} {r.status} in {secs:.2f}s - {r.symbols_ok}/{r.symbols_asked} symbols ok, "
               f"{r.symbols_failed} failed, {r.rows_written} rows written ({r.provider})")
    if r.error_summary:
        click.echo(r.error_summary.rstrip())


@bp.cli.command("seed")
def seed() -> None:
    """Upsert the stock universe from pytickersymbols (never deletes)."""
    from app.market import services

    click.echo(f"{services.seed_universe()} stocks upserted")
