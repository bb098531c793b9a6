import json

from django.core.management.base import BaseCommand, CommandError

from tickets.models import Channel, Language, Team
from tickets.phones import to_e164

from ...email.imap import PROCESSED_CHOICES, SECURITY_CHOICES
from ...inboxes import GIVEN_SECRET_NAMES, SECRET_NAMES, InboxError, create_inbox, webhook_path


class Command(BaseCommand):
    help = "Create an inbox and print its key, webhook URL and secrets (shown this once) as JSON."

    def add_arguments(self, parser):
        parser.add_argument("channel", choices=[c for c in SECRET_NAMES])
        parser.add_argument("--name", required=True)
        parser.add_argument("--language", default="en", choices=Language.values)
        parser.add_argument("--team", help="team that works this inbox's tickets")
        email = parser.add_argument_group("email inboxes")
        email.add_argument("--address", help="the address customers write to")
        email.add_argument("--imap-host", help="poll this IMAP server for new mail")
        email.add_argument("--imap-port", type=int, help="default: 993 with ssl, otherwise 143")
        email.add_argument("--imap-security", choices=SECURITY_CHOICES, default="ssl")
        email.add_argument("--imap-user", help="IMAP username")
        email.add_argument("--imap-password", help="IMAP password (stored as a secret)")
        email.add_argument("--imap-folder", default="INBOX", help="folder to read")
        email.add_argument(
            "--imap-processed",
            choices=PROCESSED_CHOICES,
            default="move",
            help='what happens to fetched mail: moved to the "Processed" folder, or flagged seen',
        )

        sms = parser.add_argument_group("sms inboxes (Twilio)")
        sms.add_argument("--account-sid", help="the Twilio account (AC...)")
        sms.add_argument("--from-number", help="the number replies go from (E.164)")
        sms.add_argument(
            "--messaging-service-sid", help="send through this Messaging Service (MG...) instead"
        )
        sms.add_argument("--auth-token", help="the account's auth token (default: a random one)")
        messenger = parser.add_argument_group("messenger inboxes (a Facebook page)")
        messenger.add_argument("--page-id", help="the page's id")
        messenger.add_argument("--page-access-token", help="the page's access token")
        messenger.add_argument("--app-secret", help="the Meta app's secret (default: random)")

    def handle(self, *args, channel, name, language, team, **options):
        config, secrets = self.email_settings(channel, options)
        provider_config, provider_secrets = self.provider_settings(channel, options)
        config.update(provider_config)
        secrets.update(provider_secrets)
        team_obj = None
        if team:
            team_obj, _ = Team.objects.get_or_create(name=team)
        try:
            inbox = create_inbox(
                channel=channel,
                name=name,
                language=language,
                team=team_obj,
                config=config,
                secrets=secrets,
            )
        except InboxError as exc:
            raise CommandError(str(exc)) from exc
        given = GIVEN_SECRET_NAMES.get(channel, ())
        self.stdout.write(
            json.dumps(
                {
                    "id": inbox.pk,
                    "key": inbox.key,
                    "channel": inbox.channel,
                    "webhook_url": webhook_path(inbox),
                    # What the provider side needs; a password the operator typed is not echoed.
                    "secrets": {k: v for k, v in inbox.secrets.items() if k not in given},
                }
            )
        )

    def email_settings(self, channel: str, options: dict) -> tuple[dict, dict]:
        imap_options = ("imap_host", "imap_port", "imap_user", "imap_password")
        if channel != Channel.EMAIL:
            if options["address"] or any(options[o] for o in imap_options):
                raise CommandError("--address and --imap-* are for email inboxes only.")
            return {}, {}
        config: dict = {}
        if options["address"]:
            config["address"] = options["address"].strip()
        if not options["imap_host"]:
            if any(options[o] for o in imap_options):
                raise CommandError("--imap-host is needed with the other --imap-* options.")
            return config, {}
        if not options["imap_user"] or not options["imap_password"]:
            raise CommandError("An IMAP inbox needs --imap-user and --imap-password.")
        security = options["imap_security"]
        config["imap"] = {
            "host": options["imap_host"].strip(),
            "port": options["imap_port"] or (993 if security == "ssl" else 143),
            "security": security,
            "username": options["imap_user"],
            "folder": options["imap_folder"],
            "processed": options["imap_processed"],
            "processed_folder": "Processed",
        }
        return config, {"imap_password": options["imap_password"]}

    def provider_settings(self, channel: str, options: dict) -> tuple[dict, dict]:
        """The Twilio or Meta account an SMS or Messenger inbox belongs to."""
        by_channel = {
            Channel.SMS: {
                "config": {
                    "account_sid": "account_sid",
                    "from_number": "phone_number",
                    "messaging_service_sid": "messaging_service_sid",
                },
                "secrets": {"auth_token": "auth_token"},
            },
            Channel.MESSENGER: {
                "config": {"page_id": "page_id"},
                "secrets": {
                    "page_access_token": "page_access_token",
                    "app_secret": "app_secret",
                },
            },
        }
        config: dict = {}
        secrets: dict = {}
        mine = by_channel.get(channel, {"config": {}, "secrets": {}})
        for other, names in by_channel.items():
            if other == channel:
                continue
            for option in (*names["config"], *names["secrets"]):
                if options.get(option):
                    flag = "--" + option.replace("_", "-")
                    raise CommandError(f"{flag} is for {other} inboxes only.")
        for option, key in mine["config"].items():
            if options.get(option):
                config[key] = options[option].strip()
        for option, key in mine["secrets"].items():
            if options.get(option):
                secrets[key] = options[option].strip()
        if "phone_number" in config:
            number = to_e164(config["phone_number"])
            if number is None:
                raise CommandError(f"--from-number {config['phone_number']} is not a phone number.")
            config["phone_number"] = number
        return config, secrets
