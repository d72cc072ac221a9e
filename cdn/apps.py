from django.apps import AppConfig


class CdnConfig(AppConfig):
    name = "cdn"
