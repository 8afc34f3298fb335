from app.jobs import task
from app.ops.services import record_clock_tick


@task
def heartbeat() -> None:
    """Run every minute by the clock: proves clock -> Redis -> worker works (admin shows it)."""
    record_clock_tick()
