"""Stock pages, chart data, symbol search and the admin scanners page."""
from __future__ import annotations
