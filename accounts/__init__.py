"""Accounts: users, viewer profiles, devices and sessions, API tokens."""
