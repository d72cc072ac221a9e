"""Playback: sessions and their stream leases, heartbeats, viewing activity, the watch page and
the player."""
