"""Models of the cdn app: sites (PoPs), edges, origins, coverage zones, decisions, edge contents."""

from __future__ import annotations

import uuid

from django.db import models


class Site(models.Model):
    class Tier(models.TextChoices):
        EMBEDDED = "embedded", "Embedded in an ISP"
        EXCHANGE = "exchange", "Internet exchange"
        SHIELD = "shield", "Origin shield"

    name = models.SlugField(max_length=64, unique=True)
    tier = models.CharField(max_length=16, choices=Tier.choices, default=Tier.EXCHANGE)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2")
    latitude = models.FloatField()
    longitude = models.FloatField()
    timezone = models.CharField(max_length=64, default="UTC")
    # Explicit backups, tried after the site itself and before the next-closest sites.
    backups = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="backup_for"
    )
    # Off-peak fill window, hours in the site's local time; start > end wraps midnight.
    fill_start_hour = models.PositiveSmallIntegerField(default=2)
    fill_end_hour = models.PositiveSmallIntegerField(default=6)
    # Used when nothing else locates a client (at most one site should be the global default).
    is_global_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]
        permissions = [("use_steering", "Can ask the steering API (service accounts)")]

    def __str__(self) -> str:
        return self.name


class Edge(models.Model):
    class AdminState(models.TextChoices):
        ONLINE = "online", "Online"
        DRAIN = "drain", "Drain (no new sessions)"
        OFFLINE = "offline", "Offline"

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="edges")
    name = models.SlugField(max_length=64, unique=True)
    base_url = models.URLField(help_text="Public base URL, ending with /")
    health_url = models.URLField(blank=True, help_text="Defaults to <base_url>cdn-health")
    status_url = models.URLField(blank=True, help_text="Defaults to <base_url>cdn-status")
    capacity = models.PositiveIntegerField(default=1000, help_text="Concurrent connections")
    cache_bytes = models.BigIntegerField(default=100 * 1024**3)
    weight = models.FloatField(default=1.0)
    admin_state = models.CharField(
        max_length=8, choices=AdminState.choices, default=AdminState.ONLINE
    )
    # Last health seen by the poller (the live copy is in Redis; this is for staff pages).
    healthy = models.BooleanField(default=True)
    load = models.FloatField(default=0.0, help_text="Active connections / capacity")
    hits = models.BigIntegerField(default=0)
    misses = models.BigIntegerField(default=0)
    health_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["site__name", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def hit_ratio(self) -> float | None:
        total = self.hits + self.misses
        return None if total == 0 else self.hits / total

    def probe_health_url(self) -> str:
        return self.health_url or f"{self.base_url}cdn-health"

    def probe_status_url(self) -> str:
        return self.status_url or f"{self.base_url}cdn-status"


class CoverageZone(models.Model):
    """A client network (IPv4 or IPv6 CIDR) served by a site."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="coverage_zones")
    cidr = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["cidr"]

    def __str__(self) -> str:
        return f"{self.cidr} → {self.site_id}"


class CountryDefault(models.Model):
    country = models.CharField(max_length=2, unique=True)
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="country_defaults")

    class Meta:
        ordering = ["country"]

    def __str__(self) -> str:
        return f"{self.country} → {self.site_id}"


class SteeringDecision(models.Model):
    """One steering answer, kept for analytics and as the default demand signal."""

    class Located(models.TextChoices):
        COVERAGE_ZONE = "coverage_zone", "Coverage zone"
        GEO = "geo", "GeoIP"
        COUNTRY_DEFAULT = "country_default", "Country default"
        GLOBAL_DEFAULT = "global_default", "Global default"
        NONE = "none", "No edges (origin only)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(db_index=True)
    client_ip = models.GenericIPAddressField()
    country = models.CharField(max_length=2, blank=True)
    content_key = models.CharField(max_length=255)
    located_by = models.CharField(max_length=16, choices=Located.choices)
    site_name = models.CharField(max_length=64, blank=True)
    urls = models.JSONField(default=list)
    edges = models.JSONField(default=list)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["site_name", "created_at"])]

    def __str__(self) -> str:
        return f"{self.content_key} for {self.client_ip} via {self.site_name or 'origin'}"


class EdgeContent(models.Model):
    """What an edge holds (or is being filled with) from cache warming."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        FILLING = "filling", "Filling"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    edge = models.ForeignKey(Edge, on_delete=models.CASCADE, related_name="contents")
    content_key = models.CharField(max_length=255)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    score = models.FloatField(default=0.0)
    # Files still to fetch (resumable), files fetched and their bytes.
    queue = models.JSONField(default=list)
    files_done = models.PositiveIntegerField(default=0)
    bytes_done = models.BigIntegerField(default=0)
    last_error = models.CharField(max_length=255, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["edge_id", "-score", "content_key"]
        constraints = [
            models.UniqueConstraint(fields=["edge", "content_key"], name="cdn_edge_content_once")
        ]

    def __str__(self) -> str:
        return f"{self.content_key} on {self.edge_id} ({self.status})"


class EdgePinList(models.Model):
    """The pin list `cdn_edge_lists` last wrote for one edge, hottest first: what warming
    fills on that edge (`cdn.warming.warm`) while it is recent."""

    edge = models.OneToOneField(Edge, on_delete=models.CASCADE, related_name="pin_list")
    keys = models.JSONField(default=list, help_text="Pinned content keys, hottest first")
    decided_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.edge_id}: {len(self.keys)} pinned at {self.decided_at:%Y-%m-%d %H:%M}"


class EdgeTrafficMinute(models.Model):
    """What one edge served in one minute, summed from its JSON access log (cdn.edge_logs).

    Hit ratio by requests = hits / lookups, by bytes = hit_bytes / lookup_bytes; origin
    offload = 1 - origin_bytes / bytes. `edge` is the name the edge's config was rendered with.
    """

    edge = models.CharField(max_length=64)
    minute = models.DateTimeField()
    requests = models.PositiveIntegerField(default=0)
    lookups = models.PositiveIntegerField(default=0, help_text="Requests that asked the cache")
    hits = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0, help_text="Answers with status 5xx")
    bytes = models.BigIntegerField(default=0, help_text="Egress: body bytes sent to viewers")
    lookup_bytes = models.BigIntegerField(default=0)
    hit_bytes = models.BigIntegerField(default=0)
    origin_bytes = models.BigIntegerField(default=0, help_text="Body bytes fetched from the origin")
    request_ms = models.BigIntegerField(default=0)
    upstream_ms = models.BigIntegerField(default=0)

    # What a day's roll-up sums (insights), and with the timings what each log line adds to.
    TRAFFIC = (
        "requests",
        "lookups",
        "hits",
        "errors",
        "bytes",
        "lookup_bytes",
        "hit_bytes",
        "origin_bytes",
    )
    COUNTERS = TRAFFIC + ("request_ms", "upstream_ms")

    class Meta:
        ordering = ["-minute", "edge"]
        constraints = [
            models.UniqueConstraint(fields=["minute", "edge"], name="cdn_edge_traffic_minute")
        ]

    def __str__(self) -> str:
        return f"{self.edge} {self.minute:%Y-%m-%d %H:%M}"


class EdgeLogCursor(models.Model):
    """How far the ingest has read one access log: the file (by inode) and the byte offset."""

    path = models.CharField(max_length=500, unique=True)
    inode = models.BigIntegerField(default=0)
    offset = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.path} @ {self.offset}"


class EdgeMode(models.Model):
    """One edge's per-edge mode (cdn.edge_mode): the mode it runs, the two arms replayed beside
    it from its first logged lookup, and the lists in force for them.

    The ingest keeps each lookup of the edge's access log once (EdgeLookups, in the
    transaction that moves the log's cursor); `cdn_edge_lists` replays them through `arms`,
    chooses the mode and records `pinned` and `played`, the lists the next lookups are
    replayed under.
    """

    class Mode(models.TextChoices):
        PIN = "pin", "Pin list only, stored at the first request"
        LRU = "lru", "Every title played before, stored at the min_uses-th request"

    edge = models.OneToOneField(Edge, on_delete=models.CASCADE, related_name="mode")
    mode = models.CharField(max_length=3, choices=Mode.choices, default=Mode.PIN)
    # cdn.edge_mode.Arms.dumps(): zlib-compressed JSON; empty before the first lookup.
    arms = models.BinaryField(default=b"", editable=False)
    lookups = models.BigIntegerField(default=0, help_text="Lookups replayed through the arms")
    lookup_bytes = models.BigIntegerField(default=0, help_text="Body bytes of those lookups")
    pin_hits = models.BigIntegerField(default=0, help_text="Hits of the pin-only arm")
    lru_hits = models.BigIntegerField(default=0, help_text="Hits of the LRU-only arm")
    capacity = models.BigIntegerField(default=0, help_text="The arms' size in files")
    files_per_title = models.FloatField(
        default=0.0, help_text="Files a title takes in the LRU arm, at the last replay"
    )
    chosen_at = models.DateTimeField(null=True, blank=True)
    pinned = models.JSONField(default=list, help_text="Pin list in force for the arms")
    played = models.JSONField(default=list, help_text="Titles played before, in force")
    updated_at = models.DateTimeField(null=True, blank=True)
    # Keep-hot touches (cdn.keep_hot, CDN_EDGE_TOUCH_PERCENT): the edge's decayed read counts
    # (Heat.dumps(), zlib-compressed JSON), the files the last replay said to touch, and what
    # the last touch run (cdn.touches) sent.
    heat = models.BinaryField(default=b"", editable=False)
    touch_keys = models.JSONField(
        default=list, help_text="Files to touch in the LRU mode, coldest first"
    )
    touched_at = models.DateTimeField(null=True, blank=True)
    touches = models.PositiveIntegerField(default=0, help_text="Touches the last run sent")
    touch_hits = models.PositiveIntegerField(default=0, help_text="Of those, files it held")
    touches_skipped = models.PositiveIntegerField(
        default=0, help_text="The coldest files the last run skipped to end within its time"
    )
    touch_error = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return f"{self.edge_id}: {self.mode}"


class EdgeLookups(models.Model):
    """One ingest run's lookups of one edge in the per-edge mode, waiting to be replayed
    through its arms (cdn.services.edge_modes_replay, when `cdn_edge_lists` next runs).

    Appending a minute's lookups costs that minute's worth; loading and saving the arms, which
    grow with the cache, happens once per replay instead of once per ingest run.
    """

    edge = models.ForeignKey(Edge, on_delete=models.CASCADE, related_name="pending_lookups")
    created_at = models.DateTimeField()
    lookups = models.PositiveIntegerField()
    # zlib-compressed JSON: [[cache key, title, epoch seconds, body bytes], ...] in log order.
    data = models.BinaryField()

    class Meta:
        indexes = [models.Index(fields=["edge", "id"])]

    def __str__(self) -> str:
        return f"{self.edge_id}: {self.lookups} lookups"
