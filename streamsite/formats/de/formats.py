"""German dates on the site's pages: "2. Dezember 2026", short "2. Dez. 2026"."""

DATE_FORMAT = "j. F Y"
SHORT_DATE_FORMAT = "j. M Y"
SHORT_DATETIME_FORMAT = "j. M Y H:i"
