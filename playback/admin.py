"""Staff screens for viewing activity (read-mostly: support and debugging)."""

from django.contrib import admin

from playback.models import MyListEntry, Progress, ThumbRating, ViewingEvent


@admin.register(ViewingEvent)
class ViewingEventAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "profile", "title", "episode", "event_type", "position_seconds"]
    list_filter = ["event_type"]
    list_select_related = ["profile", "title", "episode"]
    search_fields = ["title__name", "profile__name", "import_key"]
    raw_id_fields = ["profile", "title", "episode"]
    date_hierarchy = "occurred_at"


@admin.register(Progress)
class ProgressAdmin(admin.ModelAdmin):
    list_display = ["profile", "title", "episode", "position_seconds", "completed", "last_event_at"]
    list_select_related = ["profile", "title", "episode"]
    raw_id_fields = ["profile", "title", "episode"]


@admin.register(MyListEntry)
class MyListEntryAdmin(admin.ModelAdmin):
    list_display = ["profile", "title", "added_at"]
    list_select_related = ["profile", "title"]
    raw_id_fields = ["profile", "title"]


@admin.register(ThumbRating)
class ThumbRatingAdmin(admin.ModelAdmin):
    list_display = ["profile", "title", "value", "score", "rated_at"]
    list_filter = ["value"]
    list_select_related = ["profile", "title"]
    raw_id_fields = ["profile", "title"]
