"""The viewer's language: the profile's, else the account's, else Accept-Language (one rule,
accounts.selectors.viewer_language), applied to pages, messages, API errors and emails."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django.utils import translation

from accounts import services
from accounts.models import Profile, User
from tests.accounts.conftest import PASSWORD
from tests.catalog.factories import TitleFactory
from tests.clients import api_client, browser_client, token_client

pytestmark = pytest.mark.django_db


def lang_of(response) -> str:
    match = re.search(r'<html lang="([^"]*)">', response.content.decode())
    assert match is not None
    return match.group(1)


@pytest.fixture
def viewer(alice: User) -> Profile:
    return services.profile_create(account=alice, name="Ana")


def set_languages(profile: Profile, *, profile_language: str, account_language: str) -> None:
    Profile.objects.filter(pk=profile.pk).update(language=profile_language)
    User.objects.filter(pk=profile.account_id).update(language=account_language)


class TestChoosingTheLanguage:
    @pytest.mark.parametrize(
        ("accept", "expected"),
        [
            ("es-ES,es;q=0.9,en;q=0.5", "es"),
            ("de-AT", "de"),
            ("fr-FR,fr;q=0.9", "en"),  # not offered: the source language
            ("fr;q=1.0,de;q=0.5", "de"),  # the first offered one in the browser's order
            ("", "en"),
        ],
    )
    def test_a_signed_out_visitor_gets_the_browser_s_language(self, client, accept, expected):
        response = client.get("/login/", HTTP_ACCEPT_LANGUAGE=accept)
        assert response.status_code == 200
        assert lang_of(response) == expected
        assert response["Content-Language"] == expected
        assert "Accept-Language" in response["Vary"]

    def test_the_profile_s_language_wins_over_the_account_and_the_browser(self, viewer):
        set_languages(viewer, profile_language="es", account_language="de")
        client = browser_client(viewer.account, viewer)
        response = client.get("/account/", HTTP_ACCEPT_LANGUAGE="de")
        assert lang_of(response) == "es"
        assert "<h1>Cuenta</h1>" in response.content.decode()

    def test_a_profile_language_the_site_does_not_offer_falls_back_to_the_account_s(self, viewer):
        set_languages(viewer, profile_language="fr", account_language="de")
        client = browser_client(viewer.account, viewer)
        response = client.get("/account/", HTTP_ACCEPT_LANGUAGE="es")
        assert lang_of(response) == "de"

    def test_a_regional_profile_language_is_its_language(self, viewer):
        set_languages(viewer, profile_language="es-MX", account_language="")
        client = browser_client(viewer.account, viewer)
        assert lang_of(client.get("/account/", HTTP_ACCEPT_LANGUAGE="de")) == "es"

    def test_without_profile_or_account_language_the_browser_decides(self, viewer):
        set_languages(viewer, profile_language="fr", account_language="")
        client = browser_client(viewer.account, viewer)
        assert lang_of(client.get("/account/", HTTP_ACCEPT_LANGUAGE="es")) == "es"
        assert lang_of(client.get("/account/", HTTP_ACCEPT_LANGUAGE="pt")) == "en"

    def test_before_a_profile_is_chosen_the_account_s_language_applies(self, viewer):
        set_languages(viewer, profile_language="es", account_language="de")
        client = browser_client(viewer.account)  # no profile picked yet
        response = client.get("/profiles/", HTTP_ACCEPT_LANGUAGE="es")
        assert lang_of(response) == "de"
        assert "Wer schaut gerade?" in response.content.decode()

    def test_a_pin_locked_profile_not_unlocked_in_this_session_does_not_choose(self, viewer):
        services.profile_pin_set(
            profile=viewer, account=viewer.account, password=PASSWORD, pin="1234"
        )
        set_languages(viewer, profile_language="es", account_language="de")
        client = browser_client(viewer.account, viewer, pin_ok=False)
        assert lang_of(client.get("/account/")) == "de"
        unlocked = browser_client(viewer.account, viewer, pin_ok=True)
        assert lang_of(unlocked.get("/account/")) == "es"

    def test_the_language_does_not_outlive_the_request(self, viewer):
        set_languages(viewer, profile_language="de", account_language="")
        browser_client(viewer.account, viewer).get("/account/")
        assert translation.get_language() == "en"


class TestTheProfileLanguageSwitcher:
    def test_the_profile_edit_page_offers_the_site_s_languages_named_in_themselves(self, viewer):
        client = browser_client(viewer.account, viewer)
        text = client.get(f"/profiles/{viewer.pk}/edit/").content.decode()
        options = re.findall(r'<option value="(\w+)"[^>]*>([^<]+)</option>', text)
        assert [o for o in options if o[0] in {"en", "es", "de", "fr"}] == [
            ("en", "English"),
            ("es", "Español"),
            ("de", "Deutsch"),
        ]

    def test_choosing_spanish_turns_the_next_page_spanish(self, viewer):
        client = browser_client(viewer.account, viewer)
        form = {"name": "Ana", "maturity": "30", "language": "es", "avatar": "teal"}
        response = client.post(f"/profiles/{viewer.pk}/edit/", form, follow=True)
        assert response.status_code == 200
        viewer.refresh_from_db()
        assert viewer.language == "es"
        text = response.content.decode()
        assert lang_of(response) == "es"
        assert "Perfil guardado." in text  # the message, rendered on the next page

    def test_a_language_the_site_does_not_offer_is_refused_and_nothing_changes(self, viewer):
        client = browser_client(viewer.account, viewer)
        form = {"name": "Ana", "maturity": "30", "language": "fr", "avatar": "teal"}
        response = client.post(f"/profiles/{viewer.pk}/edit/", form)
        assert response.status_code == 400
        viewer.refresh_from_db()
        assert viewer.language == "en"

    def test_a_new_profile_starts_in_the_language_the_page_is_in(self, viewer):
        set_languages(viewer, profile_language="de", account_language="")
        client = browser_client(viewer.account, viewer)
        text = client.get("/profiles/manage/").content.decode()
        assert re.search(r'<option value="de" selected>Deutsch</option>', text)


class TestPagesInSpanish:
    """The main pages of the journey, in Spanish: a known string each, and not its English."""

    def test_signed_out_pages(self, client):
        for path, spanish, english in [
            ("/", "Películas y series, en todas las pantallas.", "Films and series"),
            ("/login/", "¿Has olvidado tu contraseña?", "Forgot your password?"),
            ("/signup/", "Crea tu cuenta", "Create your account"),
        ]:
            response = client.get(path, HTTP_ACCEPT_LANGUAGE="es")
            text = response.content.decode()
            assert (response.status_code, lang_of(response)) == (200, "es"), path
            assert spanish in text, path
            assert english not in text, path

    def test_signed_in_pages(self, viewer):
        set_languages(viewer, profile_language="es", account_language="")
        title = TitleFactory(name="La casa", synopsis="Una casa.")
        client = browser_client(viewer.account, viewer)
        for path, spanish, english in [
            ("/", "Mi lista", "My List"),
            (f"/title/{title.slug}", "+ Mi lista", "+ My List"),
            ("/search?q=casa", "1 resultado para «casa»", "1 result for"),
            ("/plans/", "Elige tu plan", "Choose your plan"),
            ("/account/", "Miembro desde", "Member since"),
            ("/account/billing/", "Aún no tienes un plan", "You have no plan yet"),
        ]:
            response = client.get(path)
            text = response.content.decode()
            assert (response.status_code, lang_of(response)) == (200, "es"), path
            assert spanish in text, path
            assert english not in text, path

    def test_prices_and_dates_are_written_the_spanish_way(self, viewer):
        set_languages(viewer, profile_language="es", account_language="")
        User.objects.filter(pk=viewer.account_id).update(
            date_joined="2026-03-05T10:00:00Z", email_verified_at="2026-03-05T10:00:00Z"
        )
        client = browser_client(viewer.account, viewer)
        plans = client.get("/plans/?currency=USD").content.decode()
        assert "7,99\u00a0US$" in plans
        assert "$7.99" not in plans
        account = client.get("/account/").content.decode()
        assert "5 de marzo de 2026" in account

    def test_the_refusal_page_names_the_reason_in_spanish(self, viewer):
        set_languages(viewer, profile_language="es", account_language="")
        client = browser_client(viewer.account, viewer)
        response = client.get("/profiles/999999/edit/")
        assert response.status_code == 404
        text = response.content.decode()
        assert "No lo hemos encontrado" in text
        assert "Ese perfil no existe." in text
        assert "Explora lo que puedes ver" in text


class TestRefusalsFromServicesInTheViewersLanguage:
    def test_a_wrong_password_is_refused_in_spanish(self, alice, client):
        response = client.post(
            "/login/",
            {"email": alice.email, "password": "not it"},
            HTTP_ACCEPT_LANGUAGE="es",
        )
        assert response.status_code == 400
        text = response.content.decode()
        assert "El correo electrónico o la contraseña no son correctos." in text
        assert "Email or password is incorrect." not in text

    def test_an_api_field_error_from_a_service_is_german(self, alice, viewer):
        response = token_client(alice).post(
            "/api/v1/profiles", {"name": "Ana"}, HTTP_ACCEPT_LANGUAGE="de"
        )
        assert response.status_code == 400
        assert response.json()["error"]["fields"] == {
            "name": ["Ein anderes Profil hat bereits diesen Namen."]
        }
        assert Profile.objects.filter(account=alice).count() == 1

    def test_a_conflict_from_a_service_is_german(self, alice, viewer, settings):
        settings.ACCOUNTS_MAX_PROFILES = 1
        response = token_client(alice).post(
            "/api/v1/profiles", {"name": "Max"}, HTTP_ACCEPT_LANGUAGE="de"
        )
        assert response.status_code == 409
        assert response.json()["error"]["message"] == (
            "Dieses Konto hat bereits die höchstmögliche Zahl an Profilen (1)."
        )


class TestApiErrorsInGerman:
    def test_an_unknown_endpoint_answers_in_the_error_shape_in_german(self, alice):
        response = api_client(alice).get("/api/v1/nowhere", HTTP_ACCEPT_LANGUAGE="de")
        assert response.status_code == 404
        assert response.json() == {
            "error": {
                "status": 404,
                "code": "not_found",
                "message": "Diesen Endpunkt gibt es nicht.",
            }
        }
        assert response["Content-Language"] == "de"

    def test_the_input_boundary_refuses_in_german(self, alice):
        response = token_client(alice).get(
            "/api/v1/profiles", HTTP_X_PROFILE_ID="abc", HTTP_ACCEPT_LANGUAGE="de"
        )
        assert response.status_code == 400
        assert response.json()["error"] == {
            "status": 400,
            "code": "invalid_profile",
            "message": "X-Profile-Id muss eine Profil-ID (eine ganze Zahl) sein.",
        }

    def test_the_input_boundary_s_field_errors_are_german_too(self, alice):
        response = token_client(alice).post(
            "/api/v1/profiles",
            data='{"name": "a\\u0000b"}',
            content_type="application/json",
            HTTP_ACCEPT_LANGUAGE="de",
        )
        assert response.status_code == 400
        assert response.json()["error"]["fields"] == {
            "name": ["Der Text darf keine NUL-Zeichen enthalten."]
        }

    def test_a_signed_out_api_call_is_refused_in_german(self, client):
        response = client.get("/api/v1/profiles", HTTP_ACCEPT_LANGUAGE="de")
        assert response.status_code in (401, 403)
        assert response.json()["error"]["message"] == "Anmeldedaten fehlen."

    def test_english_stays_the_default(self, alice):
        response = api_client(alice).get("/api/v1/nowhere")
        assert response.json()["error"]["message"] == "No such endpoint."


class TestEmails:
    def test_signing_up_in_spanish_keeps_spanish_for_the_account_and_its_emails(
        self, client, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                "/signup/",
                {"email": "ana@example.com", "password": PASSWORD, "profile_name": "Ana"},
                HTTP_ACCEPT_LANGUAGE="es",
            )
        assert response.status_code == 302
        user = User.objects.get(email="ana@example.com")
        assert (user.language, user.profiles.get().language) == ("es", "es")
        verify = mail.outbox[-1]
        assert verify.subject == "Confirma tu dirección de Streamsite"
        assert verify.body.startswith("Hola:\n\nAbre este enlace para confirmar tu dirección")

    def test_an_email_sent_off_any_request_is_in_the_account_s_language(
        self, alice, django_capture_on_commit_callbacks
    ):
        User.objects.filter(pk=alice.pk).update(language="de")
        with django_capture_on_commit_callbacks(execute=True):
            assert services.password_reset_send(email=alice.email) is True
        message = mail.outbox[-1]
        assert message.subject == "Setzen Sie Ihr Streamsite-Passwort zurück"
        assert "Öffnen Sie diesen Link, um ein neues Passwort zu wählen:" in message.body

    def test_an_account_without_a_language_gets_english_off_a_request(
        self, alice, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            services.password_reset_send(email=alice.email)
        assert mail.outbox[-1].subject == "Reset your Streamsite password"


def test_the_same_client_switches_language_with_the_profile(viewer, alice):
    other = services.profile_create(account=alice, name="Max")
    set_languages(viewer, profile_language="es", account_language="")
    Profile.objects.filter(pk=other.pk).update(language="de")
    client: Client = browser_client(alice, viewer)
    assert lang_of(client.get("/account/")) == "es"
    client.post(f"/profiles/{other.pk}/switch/")
    assert lang_of(client.get("/account/")) == "de"
