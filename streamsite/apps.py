from django.apps import AppConfig


class StreamsiteConfig(AppConfig):
    name = "streamsite"
    verbose_name = "Streamsite"
