"""Factories shared by every app's tests: accounts and their profiles."""

import factory

from accounts.models import Profile, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


class ProfileFactory(factory.django.DjangoModelFactory):
    """A profile of a new account unless `account=` names one; the model's maturity (adults)."""

    class Meta:
        model = Profile

    account = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Viewer {n}")
