"""The screener on the scanner hooks: saved-screen membership is recorded after every
10-minute cycle (and after the daily cycle, whose indicators change what screens select).

:data:`membership_changed` is sent once per cycle with ``changes`` = ``{screen_id:
{"entered": [stock ids], "left": [stock ids]}}`` (screens with no change left out) and
``as_of``: the alerts engine connects to it for "entered / left the screen" alerts.
"""
from __future__ import annotations

import logging

from blinker import Namespace

from app.market.hooks import after_daily_cycle, after_intraday_cycle

log = logging.getLogger(__name__)
signals = Namespace()

#: sent after memberships are recorded: sender "screener", changes={...}, as_of=datetime
membership_changed = signals.signal("screen-membership-changed")


def _record(as_of=None) -> dict:
    from app.screener import services

    changes = services.update_memberships(now=as_of)
    changed = {sid: c for sid, c in changes.items() if c["entered"] or c["left"]}
    if changed:
        log.info("saved-screen membership: %d screens changed", len(changed))
        membership_changed.send("screener", changes=changed, as_of=as_of)
    return changed


@after_intraday_cycle.connect
def track_memberships(sender, **info) -> None:
    _record(info.get("as_of"))


@after_daily_cycle.connect
def track_memberships_daily(sender, **info) -> None:
    from app.market.series import clear_bar_cache

    clear_bar_cache()
    _record(info.get("as_of"))
