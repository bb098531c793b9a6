import json

from django.core.management.base import BaseCommand, CommandError

from tickets.models import Language, Team

from ...inboxes import SECRET_NAMES, InboxError, create_inbox, webhook_path


class Command(BaseCommand):
    help = "Create an inbox and print its key, webhook URL and secrets (shown this once) as JSON."

    def add_arguments(self, parser):
        parser.add_argument("channel", choices=[c for c in SECRET_NAMES])
        parser.add_argument("--name", required=True)
        parser.add_argument("--language", default="en", choices=Language.values)
        parser.add_argument("--team", help="team that works this inbox's tickets")

    def handle(self, *args, channel, name, language, team, **options):
        team_obj = None
        if team:
            team_obj, _ = Team.objects.get_or_create(name=team)
        try:
            inbox = create_inbox(channel=channel, name=name, language=language, team=team_obj)
        except InboxError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            json.dumps(
                {
                    "id": inbox.pk,
                    "key": inbox.key,
                    "channel": inbox.channel,
                    "webhook_url": webhook_path(inbox),
                    "secrets": inbox.secrets,
                }
            )
        )
