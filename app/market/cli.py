"""``flask scan run 1m|10m|1d [--symbols AAPL,MSFT] [--force]``, ``flask scan seed``; ``flask market
sectors [--check]`` and ``flask market import FILE`` (universe upkeep)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

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


# ------------------------------------------------------------------ flask market ...
market_cli = AppGroup("market", help="The stock universe: sectors and NASDAQ Trader imports.")
bp.record_once(lambda state: state.app.cli.add_command(market_cli))


@market_cli.command("sectors")
@click.option("--check", is_flag=True, help="Report free-text industries the GICS table does not map (exit 1 if any).")
@click.option("--write", is_flag=True, help="Add keyword-rule suggestions for unmapped labels to the shipped table.")
def sectors(check: bool, write: bool) -> None:
    """The GICS sector mapping of the seed, and the stocks per sector in the database."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.market import sectors as gics
    from app.market.universe import _raw_seed
    from app.models.market import Stock

    labels = [label for r in _raw_seed() for label in r["labels"]]
    if write:
        click.echo(f"{gics.write_table(labels)} label(s) added to {gics.TABLE}")
    missing = gics.unmapped(labels)
    unsectored = [r["symbol"] for r in _raw_seed() if gics.classify(list(r["labels"]), r["symbol"])[0] is None]
    if check:
        for label in missing:
            click.echo(f"unmapped: {label}")
        for sym in unsectored:
            click.echo(f"no sector: {sym}")
        if missing or unsectored:
            raise click.ClickException(f"{len(missing)} unmapped label(s), {len(unsectored)} stock(s) without a "
                                       f"sector; add them to {gics.TABLE.name}")
        click.echo(f"all {len(set(labels))} industry labels map to the 11 GICS sectors")
        return
    rows = db.session.execute(select(Stock.sector, func.count()).where(Stock.active.is_(True))
                              .group_by(Stock.sector).order_by(Stock.sector)).all()
    for sector, n in rows:
        click.echo(f"{n:>6}  {sector or '(none)'}")


@market_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_listings(path: str) -> None:
    """Import a NASDAQ Trader nasdaqlisted.txt / otherlisted.txt file."""
    from app.errors import InvalidInput
    from app.market import listings

    with open(path, "rb") as fh:
        data = fh.read()
    try:
        parsed, res = listings.import_bytes(data)
    except InvalidInput as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"{parsed.kind}listed ({parsed.created}): {res.summary()}")
    if res.deactivated:
        click.echo(f"deactivated: {', '.join(res.deactivated[:50])}{' ...' if len(res.deactivated) > 50 else ''}")
