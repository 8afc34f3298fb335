"""Small WTForms helpers shared by the domains' forms."""
from __future__ import annotations


def strip(value):
    return value.strip() if isinstance(value, str) else value
