"""Settings for the chaos suite's processes: the dev settings with emails written to files (one
per message, so a duplicate is seen) and a connection name the database killer can select."""

from streamsite.settings.dev import *  # noqa: F403
from streamsite.settings.dev import DATABASES, VAR_DIR, env

DEBUG = False
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = env.str("CHAOS_MAIL_DIR", str(VAR_DIR / "chaos-mail"))
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"].setdefault("OPTIONS", {})["application_name"] = env.str(
        "CHAOS_APP_NAME", "chaos-harness"
    )
