from django.apps import AppConfig


class ChannelsInConfig(AppConfig):
    name = "channels_in"
    verbose_name = "Channels"

    def ready(self) -> None:
        from . import subscribers  # noqa: F401  (registers event handlers)
        from .email import anymail_hooks  # noqa: F401  (Anymail's inbound and tracking signals)
