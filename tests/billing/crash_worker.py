"""A billing worker process for the crash harness: runs beat tasks and refunds as Celery would.

    python -m tests.billing.crash_worker renew=<iso> dunning=<iso> sweep=<iso>
        refund=<invoice_id>,<amount>,<request_key>

Each argument is one step, run in order in this process (the harness SIGKILLs it from the
Stripe double while a gateway call is in flight, then starts it again: a redelivery).
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "streamsite.settings.test")


def main(steps: list[str]) -> None:
    import django

    django.setup()
    run(steps)


def run(steps: list[str]) -> None:
    """The steps, in this process (the harness also redelivers a task in its own process)."""
    from django.utils.dateparse import parse_datetime

    from billing import services, tasks

    for step in steps:
        name, _, arg = step.partition("=")
        if name == "renew":
            tasks.run_renewals(arg)
        elif name == "dunning":
            tasks.run_dunning(arg)
        elif name == "sweep":
            services.payment_sweep(now=parse_datetime(arg))
        elif name == "refund":
            invoice_id, amount, key = arg.split(",")
            services.invoice_refund(
                invoice_id=int(invoice_id), amount=int(amount), reason="Harness", request_key=key
            )
        else:
            raise SystemExit(f"unknown step {step!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
