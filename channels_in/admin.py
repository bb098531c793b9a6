from django.contrib import admin, messages

from .models import RawInbound
from .pipeline import replay


@admin.register(RawInbound)
class RawInboundAdmin(admin.ModelAdmin):
    list_display = ["id", "channel", "inbox", "provider_key", "state", "attempts", "received_at"]
    list_filter = ["state", "channel"]
    search_fields = ["provider_key"]
    readonly_fields = [f.name for f in RawInbound._meta.fields]
    actions = ["replay_selected"]

    @admin.action(description="Replay the selected payloads")
    def replay_selected(self, request, queryset):
        count = replay(list(queryset.values_list("id", flat=True)))
        self.message_user(request, f"{count} payload(s) processed.", messages.SUCCESS)
