"""Viewing-activity fixtures: the catalog's profiles and API clients acting as a profile."""

from tests.catalog.conftest import alice_kid, alice_profile, as_alice, bob_profile, client_as

__all__ = ["alice_kid", "alice_profile", "as_alice", "bob_profile", "client_as"]
