"""REST API of playback: sessions (start, heartbeat, stop) and viewing activity."""
