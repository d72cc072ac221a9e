"""The audit log: one append-only table of staff writes and security-relevant user actions.

Write a row with `audit.services.record(...)`; see docs/operations.md ("Audit log")."""
