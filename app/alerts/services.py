"""Alerts: rules (owner-scoped CRUD, plan limits), templates, triggered events, notification
settings, the per-cycle evaluation and the per-channel deliveries.

This module is the ONE public import surface of the alerts domain (routes, tasks, other
domains, tests import from here); the code lives in one module per concern:

* :mod:`app.alerts.words` -- labels, number formats, condition / event words, messages;
* :mod:`app.alerts.rules` -- validation, rules and templates (CRUD, plan limits);
* :mod:`app.alerts.events` -- triggered alerts, the bell, acknowledging;
* :mod:`app.alerts.settings` -- notification settings, webhook, phone verification;
* :mod:`app.alerts.evaluation` -- the per-cycle evaluation below (steps 1-2);
* :mod:`app.alerts.firing` -- its claims, event and delivery rows, after-commit work (3-4);
* :mod:`app.alerts.delivery` -- delivery jobs, quotas, retries;
* :mod:`app.alerts.latency` -- scan -> event -> delivered per channel (admin page, bench).

Evaluation (``evaluate_cycle``) runs once per 1-minute cycle as a job on ``scans``:

1. one query loads the whole universe (snapshot with its ``prev_*`` values + stored
   indicators) into arrays; one query loads every active rule;
2. rules are grouped by their compiled expression: a built-in condition is a key such as
   ``("crosses_above", 190.0)`` computed once as a boolean mask over the whole universe, a
   formula is compiled once (cached) and all distinct formulas are evaluated together in
   cross-section mode (``evaluate_many``); a rule's result is the AND of its condition masks,
   read at the positions of its scope -- no per-rule queries;
3. firings are claimed atomically: a conditional ``UPDATE alert_rule_states ... WHERE
   next_allowed_at IS NULL OR next_allowed_at <= now RETURNING`` (cooldown per symbol, "once"
   = never again for that symbol) in the same transaction that inserts the events, so two
   workers evaluating the same cycle can never both fire;
4. after commit: the owners' bell versions are bumped (Redis) and one delivery job per
   external channel is enqueued on ``default``.

"Crosses" compares the stored previous cycle's price (``Snapshot.prev_price``) with the
current one: it is true only in the cycle of the crossing, so it fires once per crossing.
Formulas may use daily history (``close > sma(close, 50)``): they are evaluated on the daily
bars ending with the live quote, built by :mod:`app.market.series` exactly as the screener
does; a history formula containing ``crosses_above``/``crosses_below`` is evaluated on the bars
ending with the previous quote too and fires only on its false -> true transition.
"""
from __future__ import annotations

# Re-export every name of the concern modules (public and the few private helpers other
# modules and tests use), so ``from app.alerts.services import X`` keeps working.
from app.alerts.delivery import *  # noqa: F403
from app.alerts.delivery import _claim_delivery, _month_key, _sms_quota  # noqa: F401
from app.alerts.evaluation import *  # noqa: F403
from app.alerts.evaluation import _condition_mask, _formula_masks  # noqa: F401
from app.alerts.events import *  # noqa: F403
from app.alerts.firing import *  # noqa: F403
from app.alerts.firing import _delivery_plan, _f  # noqa: F401
from app.alerts.latency import *  # noqa: F403
from app.alerts.rules import *  # noqa: F403
from app.alerts.rules import _check_active_limit, _light, _number  # noqa: F401
from app.alerts.settings import *  # noqa: F403
from app.alerts.settings import _code_hash, _rate  # noqa: F401
from app.alerts.words import *  # noqa: F403
from app.alerts.words import _fired_words  # noqa: F401
