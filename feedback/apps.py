from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedbackConfig(AppConfig):
    name = "feedback"
    verbose_name = _("Surveys")

    def ready(self) -> None:
        from channels_in.pipeline import add_inbound_hook

        from . import subscribers  # noqa: F401  (registers event handlers)
        from .answers import recognise_answer, record_answer_message

        add_inbound_hook(recognise_answer, record_answer_message)
