"""Billing domain: plans and limits (plans.py), PayPal subscriptions, webhooks, discount codes."""
from flask import Blueprint

bp = Blueprint("billing", __name__, cli_group="billing")
