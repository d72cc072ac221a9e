"""Billing: plans, subscriptions, invoices, payments and entitlements."""
