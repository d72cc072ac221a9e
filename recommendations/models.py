"""Models of the recommendations app: interaction signals and trained model versions."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class InteractionQuerySet(models.QuerySet["Interaction"]):
    def for_profile(self, profile_id: int) -> InteractionQuerySet:
        return self.filter(profile_id=profile_id)

    def for_training(self) -> InteractionQuerySet:
        return self.filter(weight__gt=0)


class Interaction(models.Model):
    """Implicit feedback of one profile on one title, kept up to date in batches.

    `weight` is what the models learn from (plays, completion, thumbs and My List combined by
    the writer); the counts are kept so the weighting can be recomputed.
    """

    profile = models.ForeignKey(
        "accounts.Profile", on_delete=models.CASCADE, related_name="interactions"
    )
    title = models.ForeignKey(
        "catalog.Title", on_delete=models.CASCADE, related_name="interactions"
    )
    weight = models.FloatField(default=1.0)
    plays = models.PositiveIntegerField(default=0)
    completions = models.PositiveIntegerField(default=0)
    thumb = models.SmallIntegerField(default=0, help_text="-1 down, 0 none, 1 up")
    in_my_list = models.BooleanField(default=False)
    first_at = models.DateTimeField(default=timezone.now)
    last_at = models.DateTimeField(default=timezone.now)

    objects = InteractionQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["profile", "title"], name="recommendations_interaction_unique"
            )
        ]
        indexes = [
            models.Index(fields=["profile", "-last_at"], name="recs_inter_profile_last"),
            models.Index(fields=["title"], name="recs_inter_title"),
            models.Index(fields=["last_at"], name="recs_inter_last_at"),
        ]

    def __str__(self) -> str:
        return f"{self.profile_id} -> {self.title_id} ({self.weight:g})"


class ModelVersionQuerySet(models.QuerySet["ModelVersion"]):
    def live(self) -> ModelVersionQuerySet:
        return self.filter(status=ModelVersion.Status.LIVE)


class ModelVersion(models.Model):
    """One trained model: what it is, what it was trained on, how good it was, where it lives."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        TRAINING = "training", "Training"
        CANDIDATE = "candidate", "Candidate"
        LIVE = "live", "Live"
        RETIRED = "retired", "Retired"
        FAILED = "failed", "Failed"

    algorithm = models.CharField(max_length=32)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    data_from = models.DateTimeField(null=True, blank=True)
    data_to = models.DateTimeField(null=True, blank=True)
    n_profiles = models.PositiveIntegerField(default=0)
    n_titles = models.PositiveIntegerField(default=0)
    n_interactions = models.PositiveIntegerField(default=0)
    metrics = models.JSONField(default=dict, blank=True)
    training_seconds = models.FloatField(null=True, blank=True)
    artifact_key = models.CharField(max_length=255, blank=True, default="")
    decision = models.TextField(blank=True, default="", help_text="Why it was (not) promoted.")
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    promoted_at = models.DateTimeField(null=True, blank=True)
    rolled_back_at = models.DateTimeField(null=True, blank=True)

    objects = ModelVersionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=models.Q(status="live"),
                name="recommendations_one_live_model",
            )
        ]
        indexes = [models.Index(fields=["status", "-created_at"], name="recs_mv_status")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.algorithm} ({self.status})"

    def metric(self, name: str) -> float | None:
        value = (self.metrics or {}).get("test", {}).get(name)
        return float(value) if value is not None else None


class FoldWatermark(models.Model):
    """How far the activity fold has scanned each source ("events" by id, others by time)."""

    source = models.CharField(max_length=32, primary_key=True)
    last_id = models.BigIntegerField(default=0)
    last_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.source}: id {self.last_id}, at {self.last_at}"


class DirtyProfile(models.Model):
    """A profile whose viewing activity changed since its interactions were last folded."""

    profile = models.OneToOneField(
        "accounts.Profile", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    marked_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"profile {self.profile_id} dirty since {self.marked_at}"
