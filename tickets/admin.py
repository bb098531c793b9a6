from django.contrib import admin

from .models import Customer, Identity, Inbox, Message, Tag, Team, Ticket, TimelineEvent


class IdentityInline(admin.TabularInline):
    model = Identity
    extra = 0


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "company", "locale", "created_at", "merged_into"]
    search_fields = ["name", "company", "identities__value"]
    inlines = [IdentityInline]


@admin.register(Inbox)
class InboxAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "channel", "language", "team", "is_active"]
    # Secrets are shown once, at creation; never in the admin.
    exclude = ["secrets"]
    readonly_fields = ["key"]


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ["id", "subject", "status", "priority", "customer", "assignee", "team"]
    list_filter = ["status", "priority", "last_channel"]
    raw_id_fields = ["customer", "assignee", "merged_into", "follows"]
    search_fields = ["subject"]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["id", "ticket", "direction", "channel", "delivery_state", "created_at"]
    list_filter = ["direction", "channel", "delivery_state"]
    raw_id_fields = ["ticket", "author"]


admin.site.register(Team)
admin.site.register(Tag)


@admin.register(TimelineEvent)
class TimelineEventAdmin(admin.ModelAdmin):
    list_display = ["id", "customer", "ticket", "kind", "created_at"]
    raw_id_fields = ["customer", "ticket", "message", "actor"]
