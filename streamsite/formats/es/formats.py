"""Spanish dates on the site's pages: "2 de diciembre de 2026", short "2 dic 2026"."""

DATE_FORMAT = r"j \d\e F \d\e Y"
SHORT_DATE_FORMAT = "j M Y"
SHORT_DATETIME_FORMAT = "j M Y H:i"
