import json

from django.core.management.base import BaseCommand, CommandError

from tickets.access import ROLES

from ...accounts import AgentError, create_agent


class Command(BaseCommand):
    help = "Create an agent and print its id, email, role and API token as JSON."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--password", required=True)
        parser.add_argument("--role", default="agent", choices=ROLES)
        parser.add_argument("--team")
        parser.add_argument("--name", default="")
        parser.add_argument("--language", default="en", choices=["en", "pl", "cs"])

    def handle(self, *args, email, password, role, team, name, language, **options):
        try:
            user, token = create_agent(
                email=email, password=password, role=role, team=team, name=name, language=language
            )
        except AgentError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            json.dumps({"id": user.pk, "email": user.email, "role": role, "api_token": token.key})
        )
