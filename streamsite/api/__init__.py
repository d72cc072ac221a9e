"""Shared REST API plumbing: the error shape, pagination."""
