from django.contrib import admin

from .models import Survey


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ["id", "ticket", "kind", "channel", "sent_at", "score", "answered_at"]
    list_filter = ["kind", "channel", "answered_via"]
    list_select_related = ["ticket"]
    raw_id_fields = ["ticket", "customer", "inbox", "message", "answer_message"]
    readonly_fields = ["sent_at", "answered_at", "answered_via"]
