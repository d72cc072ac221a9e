"""Seed the three plans with prices in USD, EUR and JPY (editable afterwards in the admin)."""

from django.db import migrations

PLANS = [
    # code, name, description, streams, resolution, profiles, prices
    (
        "basic",
        "Basic",
        "One screen at a time, in HD (720p).",
        1,
        720,
        2,
        {"USD": 799, "EUR": 799, "JPY": 990},
    ),
    (
        "standard",
        "Standard",
        "Two screens at once, in Full HD (1080p).",
        2,
        1080,
        5,
        {"USD": 1549, "EUR": 1349, "JPY": 1490},
    ),
    (
        "premium",
        "Premium",
        "Four screens at once, in Ultra HD (2160p).",
        4,
        2160,
        5,
        {"USD": 2299, "EUR": 1999, "JPY": 1980},
    ),
]


def seed(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    Price = apps.get_model("billing", "Price")
    for order, (code, name, text, streams, res, profiles, prices) in enumerate(PLANS):
        plan, _ = Plan.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "description": text,
                "interval": "month",
                "max_streams": streams,
                "max_resolution": res,
                "max_profiles": profiles,
                "sort_order": order,
            },
        )
        for currency, amount in prices.items():
            Price.objects.get_or_create(plan=plan, currency=currency, defaults={"amount": amount})


def unseed(apps, schema_editor):
    apps.get_model("billing", "Plan").objects.filter(
        code__in=[p[0] for p in PLANS], subscriptions__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
