from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "agents"
    verbose_name = "Agents"

    def ready(self) -> None:
        # live pushes ticket events to browsers; presence remembers assignments.
        from . import live, presence, sla  # noqa: F401  (subscribe to ticket events)
