"""Factories for cdn tests."""

import factory

from cdn.models import Edge, Site, SteeringDecision


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    name = factory.Sequence(lambda n: f"site-{n}")
    country = "US"
    latitude = 40.0
    longitude = -74.0
    timezone = "UTC"


class EdgeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Edge

    site = factory.SubFactory(SiteFactory)
    name = factory.Sequence(lambda n: f"edge-{n}")
    base_url = factory.LazyAttribute(lambda o: f"http://{o.name}.cdn.example/")
    capacity = 1000


class PlayFactory(factory.django.DjangoModelFactory):
    """A recorded steering decision: one play of `content_key` at `site_name`, what
    `cdn_edge_lists` and warming's demand read."""

    class Meta:
        model = SteeringDecision

    client_ip = "127.0.0.1"
    located_by = "global_default"
