"""The staff dashboard at /staff/ and each chart's CSV download (same datasets as the API)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.charts import bar_chart
from insights import selectors
from streamsite import roles

# The page's sections, in order: (heading, dataset names).
SECTIONS = [
    (gettext_lazy("Viewing"), ["viewing", "plays", "viewers", "streams"]),
    (
        gettext_lazy("Quality of experience"),
        ["qoe-trend", "rebuffering", "qoe-site", "qoe-edge", "qoe-title", "qoe-device"],
    ),
    (gettext_lazy("Delivery"), ["edges", "offload"]),
    (gettext_lazy("What viewers watch"), ["top-titles"]),
    (gettext_lazy("Pipelines and models"), ["transcodes", "models"]),
    (gettext_lazy("Revenue"), ["revenue"]),
]


# Charts that show money: they also need the revenue rule (Finance), not just the dashboard's.
REVENUE_CHARTS = frozenset({"revenue"})


def may_see_chart(user: Any, name: str) -> bool:
    return name not in REVENUE_CHARTS or roles.can_view_revenue(user)


def _format(unit: str, *, compact: bool) -> tuple[int, Callable[[Any], str]]:
    """(scale, formatter) for chart bars: tenths for percentages and hours; `compact` labels
    (30 bars side by side) as 2.5k or 1.2 s."""
    if unit in ("%", "h"):
        return 10, lambda v: f"{v / 10:g}{unit}"
    if compact and unit == "ms":
        return 1, lambda v: f"{v / 1000:.1f}s"
    if compact:
        return 1, lambda v: f"{v / 1000:.1f}k" if v >= 1000 else str(v)
    return 1, lambda v: f"{v:,}{(' ' + unit) if unit else ''}"


def chart_svg(data: selectors.Dataset) -> SafeString | None:
    bars = data.bars()
    if not bars:
        return None
    scale, fmt = _format(data.unit, compact=len(bars) > 12)
    # Trend labels are ISO days: the day of the month is enough under a 30-bar chart.
    short = [
        (label[8:] if len(label) == 10 and label[4] == "-" else label[:14], v) for label, v in bars
    ]
    return bar_chart(
        [(label, round(v * scale)) for label, v in short],
        width=720 if len(bars) > 12 else 480,
        label=data.title,
        value_format=fmt,
    )


@roles.staff_page(roles.can_view_dashboard)
def dashboard(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    shown = [
        (heading, [name for name in names if may_see_chart(request.user, name)])
        for heading, names in SECTIONS
    ]
    shown = [(heading, names) for heading, names in shown if names]
    built = selectors.datasets([name for _heading, names in shown for name in names], now=now)
    sections = [
        {
            "heading": heading,
            "items": [{"data": built[name], "svg": chart_svg(built[name])} for name in names],
        }
        for heading, names in shown
    ]
    sees_revenue = roles.can_view_revenue(request.user)
    return render(
        request,
        "insights/dashboard.html",
        {
            "overview": selectors.overview(with_revenue=sees_revenue, now=now),
            "sections": sections,
            "sees_revenue": sees_revenue,
        },
    )


@roles.staff_page(roles.can_view_dashboard)
def chart_csv(request: HttpRequest, name: str) -> HttpResponse:
    if not may_see_chart(request.user, name):
        raise PermissionDenied(_("This chart needs the revenue permission."))
    data = selectors.dataset(name)
    if data is None:
        raise Http404(_("No such chart."))
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{data.name}.csv"'
    writer = csv.writer(response)
    writer.writerow(data.columns)
    for row in data.rows:
        writer.writerow([csv_cell(value) for value in row])
    return response


# A text cell starting with one of these is a formula to a spreadsheet (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """None as an empty cell; text that a spreadsheet would run as a formula is quoted with '.
    Titles and device labels come from outside staff's hands (a player names its device)."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
