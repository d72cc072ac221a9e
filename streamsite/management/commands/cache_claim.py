"""Which database's site the shared cache serves; `--empty` gives it to this one."""

from __future__ import annotations

from django.core.cache import cache
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from tqdm import tqdm

from streamsite import cache_claim


class Command(BaseCommand):
    help = (
        "Say which database's site the shared cache serves (/readyz fails while it is another "
        "one's). --empty deletes every key under this site's CACHE_KEY_PREFIX and claims the "
        "cache for this database: for a database that took another's place."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--check",
            action="store_true",
            help="claim the cache if nobody has and fail (exit 1) when it serves another "
            "database, as /readyz does: the image's worker and beat roles run this first",
        )
        parser.add_argument(
            "--empty",
            action="store_true",
            help="delete this prefix's keys (only these) and claim the cache for this database",
        )

    def handle(self, *args, check: bool = False, empty: bool = False, **options):
        if check:
            try:
                detail = cache_claim.check()
            except cache_claim.CacheOfAnotherSite as exc:
                message = str(exc)
                raise CommandError(f"{message[:1].upper()}{message[1:]}.") from exc
            self.stdout.write(
                detail or f"The cache under prefix {cache.key_prefix!r} serves this database."
            )
            return
        try:
            ours = cache_claim.database_token()
        except DatabaseError as exc:
            raise CommandError(
                f"Could not read this database's token ({type(exc).__name__}: {exc}); "
                "is it migrated (manage.py migrate)?"
            ) from exc
        prefix = cache.key_prefix
        if empty:
            with tqdm(unit="key", unit_scale=True, disable=None, desc="deleting") as bar:
                deleted = cache_claim.empty_and_claim(progress=bar.update)
            self.stdout.write(
                f"Deleted {deleted} key{'' if deleted == 1 else 's'} under prefix {prefix!r}; "
                f"the cache now serves this database ({ours[:8]}…)."
            )
            return
        theirs = cache_claim.holder()
        if theirs is None:
            self.stdout.write(
                f"Nobody has claimed the cache under prefix {prefix!r} yet: this site's next "
                "readiness check will."
            )
        elif theirs == ours:
            self.stdout.write(
                f"The cache under prefix {prefix!r} serves this database ({ours[:8]}…)."
            )
        else:
            self.stdout.write(
                f"The cache under prefix {prefix!r} serves another database ({theirs[:8]}…; this "
                f"one is {ours[:8]}…): /readyz fails here. Give this site its own "
                "CACHE_KEY_PREFIX or Redis database or, if this database took that one's place, "
                "run this command with --empty."
            )
