"""Staff screens for titles: seasons/episodes, credits, artwork previews, availability, bulk
publish/unpublish. Saves mark titles for the search index refresh."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from catalog.models import (
    Artwork,
    Availability,
    Credit,
    Episode,
    ExternalId,
    Genre,
    Person,
    Season,
    Title,
)
from catalog.services.titles import titles_changed, titles_set_published


class SeasonInline(admin.TabularInline):
    model = Season
    extra = 0
    show_change_link = True


class CreditInline(admin.TabularInline):
    model = Credit
    extra = 0
    autocomplete_fields = ["person"]
    fields = ["person", "role", "character", "order"]


class AvailabilityInline(admin.TabularInline):
    model = Availability
    extra = 0
    fields = ["country", "starts_at", "ends_at"]


class ExternalIdInline(admin.TabularInline):
    model = ExternalId
    extra = 0


class ArtworkInline(admin.TabularInline):
    model = Artwork
    extra = 0
    fields = ["preview", "kind", "size", "image", "width", "height"]
    readonly_fields = ["preview", "width", "height"]

    @admin.display(description="Preview")
    def preview(self, obj: Artwork) -> str:
        if not obj.pk or not obj.image:
            return "—"
        return format_html('<img src="{}" alt="" height="90">', obj.image.url)


@admin.register(Title)
class TitleAdmin(admin.ModelAdmin):
    list_display = [
        "poster",
        "name",
        "kind",
        "year",
        "rating",
        "is_published",
        "view_count",
        "search_dirty",
    ]
    list_display_links = ["poster", "name"]
    list_filter = ["kind", "is_published", "rating", "genres", "availabilities__country"]
    search_fields = ["name", "slug", "synopsis", "external_ids__value", "credits__person__name"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["genres"]
    readonly_fields = ["maturity_level", "view_count", "created_at", "updated_at"]
    inlines = [SeasonInline, CreditInline, AvailabilityInline, ArtworkInline, ExternalIdInline]
    actions = ["publish", "unpublish"]
    list_per_page = 50

    def get_queryset(self, request: HttpRequest) -> QuerySet[Title]:
        return super().get_queryset(request).prefetch_related("artwork")

    @admin.display(description="")
    def poster(self, obj: Title) -> str:
        art = [a for a in obj.artwork.all() if a.kind == "poster" and a.size == "sm"]
        if not art:
            return "—"
        return format_html('<img src="{}" alt="" height="48">', art[0].image.url)

    @admin.action(description="Publish selected titles")
    def publish(self, request: HttpRequest, queryset: QuerySet[Title]) -> None:
        n = titles_set_published(title_ids=queryset.values_list("pk", flat=True), published=True)
        self.message_user(request, f"Published {n} title(s).", messages.SUCCESS)

    @admin.action(description="Unpublish selected titles")
    def unpublish(self, request: HttpRequest, queryset: QuerySet[Title]) -> None:
        n = titles_set_published(title_ids=queryset.values_list("pk", flat=True), published=False)
        self.message_user(request, f"Unpublished {n} title(s).", messages.SUCCESS)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        titles_changed(title_ids=[form.instance.pk])


class EpisodeInline(admin.TabularInline):
    model = Episode
    extra = 0
    fields = [
        "number",
        "name",
        "runtime_minutes",
        "intro_start",
        "intro_end",
        "credits_start",
        "credits_end",
    ]


@admin.register(Season)
class SeasonAdmin(admin.ModelAdmin):
    list_display = ["title", "number", "name"]
    list_select_related = ["title"]
    search_fields = ["title__name"]
    inlines = [EpisodeInline]


@admin.register(Episode)
class EpisodeAdmin(admin.ModelAdmin):
    list_display = ["name", "season", "number"]
    list_select_related = ["season__title"]
    search_fields = ["name", "season__title__name"]


@admin.register(Genre)
class GenreAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ["name", "birth_year"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}
