"""Development settings: `make demo` and `manage.py` on a laptop."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", True)
LOG_FORMAT = env.choice("LOG_FORMAT", ("json", "text"), "text")
LOGGING["handlers"]["stdout"]["formatter"] = LOG_FORMAT  # noqa: F405
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
