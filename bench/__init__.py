"""Benchmarks: `python -m bench NAME` runs bench/NAME.py's run(); `make bench` runs all.

Each prints one JSON line per figure:
{"bench": ..., "metric": ..., "value": ..., "unit": ..., "goal": ...}
They generate their own deterministic data; timings are medians of several runs.
"""
