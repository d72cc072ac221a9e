from django.contrib import admin

from catalog.models import Episode, Season, Title


class SeasonInline(admin.TabularInline):
    model = Season
    extra = 0


@admin.register(Title)
class TitleAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "year", "is_published"]
    list_filter = ["kind", "is_published"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [SeasonInline]


@admin.register(Episode)
class EpisodeAdmin(admin.ModelAdmin):
    list_display = ["name", "season", "number"]
    list_select_related = ["season__title"]
