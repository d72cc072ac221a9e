"""Playback: leases, heartbeats, signed playlist links, QoE reports."""

from __future__ import annotations

from .project import env

# A lease lives this long after the last heartbeat (players beat every 15 s).
PLAYBACK_LEASE_SECONDS = env.int("PLAYBACK_LEASE_SECONDS", 75, min=20, max=600)
PLAYBACK_HEARTBEAT_SECONDS = env.int("PLAYBACK_HEARTBEAT_SECONDS", 15, min=1, max=30)
# A session's signed master-playlist link expires after this long (each fetch re-checks and
# signs the media afresh; media tokens live one heartbeat interval).
PLAYBACK_URL_TTL_SECONDS = env.int("PLAYBACK_URL_TTL_SECONDS", 6 * 60 * 60, min=60)
# QoE reports a session may send per minute (the player sends one per heartbeat); more are
# dropped without failing the heartbeat.
PLAYBACK_QOE_REPORTS_PER_MINUTE = env.int("PLAYBACK_QOE_REPORTS_PER_MINUTE", 12, min=1, max=600)
