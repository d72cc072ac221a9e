"""Template filters for money in minor units: {{ amount|money:currency }}."""

from django import template

from billing import money as money_rules

register = template.Library()


@register.filter
def money(amount: int | None, currency: str) -> str:
    if amount is None:
        return ""
    return money_rules.format_money(int(amount), currency)
