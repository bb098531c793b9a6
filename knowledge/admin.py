from django.contrib import admin

from knowledge.models import Article
from knowledge.text import meaningful_words


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ("title", "language", "slug", "is_published", "updated_at")
    list_filter = ("language", "is_published")
    search_fields = ("title", "slug")
    prepopulated_fields = {"slug": ("title",)}
    fields = ("title", "slug", "language", "is_published", "body", "created_at", "updated_at")
    readonly_fields = ("created_at", "updated_at")
    ordering = ("language", "title")

    def save_model(self, request, obj, form, change):
        obj.refresh_search_text()
        super().save_model(request, obj, form, change)

    def get_search_results(self, request, queryset, search_term):
        # Also match the folded words of title and body, so "vraceni zbozi" finds
        # what was written with diacritics.
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        words = meaningful_words(search_term)
        if words:
            folded = queryset
            for word in words:
                folded = folded.filter(search_text__contains=f" {word}")
            results |= folded
        return results, may_have_duplicates
