"""Build your own player: the Streamsite API from sign-in to stop, with the typed client.

    .venv/bin/python docs/examples/player.py http://127.0.0.1:8000 you@example.com PASSWORD 'take'

Signs in for an API token, picks the first profile, searches, starts playback of the best
match, fetches the master playlist a real HLS player (hls.js, AVPlayer, ExoPlayer) would load,
sends heartbeats as the position advances, and stops. It prints one line per step; a failing
step raises `ApiError` with the API's error code and message.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from a checkout

from streamsite.api.client import StreamsiteClient  # noqa: E402


def play(base_url: str, email: str, password: str, query: str, *, beats: int = 3) -> float:
    """The whole journey; returns the position the stop saved."""
    with StreamsiteClient.sign_in(base_url, email, password, device="my player") as api:
        print("signed in")
        profile = api.profiles()[0]
        api.use_profile(profile.id)
        print(f"profile: {profile.name}")
        found = api.search(query)
        if not found.results:
            raise SystemExit(f"nothing found for {query!r}")
        title = found.results[0]
        print(f"found {found.count}: {title.name}")
        session = api.start_playback(title.id)
        print(f"session {session.session_id}, up to {session.max_resolution}p")
        playlist = api.master_playlist(session)
        renditions = [line for line in playlist.splitlines() if line.endswith(".m3u8")]
        print(f"master playlist: {len(renditions)} renditions")
        # A real player sends one every `heartbeat_interval_seconds` while it plays.
        position = session.resume_position_seconds
        for seq in range(1, beats + 1):
            position += session.heartbeat_interval_seconds
            beat = api.heartbeat(session.session_id, seq=seq, position=position)
            print(f"heartbeat {seq}: applied={beat.applied}")
        api.stop(session.session_id, position=position, seq=beats + 1)
        print(f"stopped at {position:.0f}s")
        return position


if __name__ == "__main__":
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    play(*sys.argv[1:5])
