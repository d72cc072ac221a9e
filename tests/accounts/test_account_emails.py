"""Every account email renders: a one-line subject, the context's links unescaped in the body."""

from __future__ import annotations

import pytest
from django.core import mail

from accounts.tasks import send_account_email

TEMPLATES = {
    "verify": {"verify_url": "http://x/verify/t/"},
    "signup_existing": {"login_url": "http://x/login/"},
    "password_reset": {"reset_url": "http://x/reset/a/b/"},
    "password_changed": {},
    "email_change": {"verify_url": "http://x/verify/t/"},
    "email_change_taken": {},
    "email_change_notice": {"new_email": "n@example.com"},
    "two_factor_on": {},
    "two_factor_off": {},
    "account_deleted": {},
}


@pytest.mark.parametrize(("template", "context"), TEMPLATES.items())
def test_every_account_email_renders_with_a_one_line_subject(template, context):
    send_account_email(to="a@example.com", template=template, context=context)
    message = mail.outbox[0]
    assert message.to == ["a@example.com"]
    assert "\n" not in message.subject
    assert message.subject.strip() == message.subject != ""
    for value in context.values():
        assert value in str(message.body)


def test_links_in_emails_are_not_html_escaped():
    url = "http://x/reset/a/b/?a=1&b=2"
    send_account_email(to="a@example.com", template="password_reset", context={"reset_url": url})
    assert url in str(mail.outbox[0].body)
