from django.apps import AppConfig


class StreamsiteConfig(AppConfig):
    name = "streamsite"
    verbose_name = "Streamsite"

    def ready(self) -> None:
        from streamsite import checks  # noqa: F401 - registers the system checks
