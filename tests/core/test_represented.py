"""fynlo.core.api.represented: a stateless serializer's shared instance gives exactly what DRF's own
to_representation gives, for the kinds of field source DRF knows (the order path's own case is in
tests/pos/test_shared_serializers.py)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from rest_framework import serializers

from fynlo.core.api import represented


class Line:
    def __init__(self, name, price):
        self.name, self.price = name, price


class Ticket:
    number = "T-1"
    total = Decimal("12.5")
    note = None
    at = datetime.datetime(2026, 12, 2, 10, 30, tzinfo=datetime.UTC)
    lines = [Line("tea", Decimal("2")), Line("cake", None)]
    owner = Line("Ann", Decimal("0"))

    def label(self):
        return f"ticket {self.number}"

    @property
    def broken(self):
        raise AttributeError("no such thing")


class LineSerializer(serializers.Serializer):
    stateless = True
    name = serializers.CharField()
    price = serializers.DecimalField(max_digits=6, decimal_places=2, allow_null=True)


class TicketSerializer(serializers.Serializer):
    stateless = True
    number = serializers.CharField()
    total = serializers.DecimalField(max_digits=6, decimal_places=2)
    note = serializers.CharField(allow_null=True)
    at = serializers.DateTimeField()
    lines = LineSerializer(many=True)
    owner_name = serializers.CharField(source="owner.name")
    label = serializers.CharField()
    broken = serializers.CharField(default="fallback")
    missing = serializers.CharField(required=False)
    doubled = serializers.SerializerMethodField()
    as_dict = LineSerializer(source="owner")

    def get_doubled(self, ticket) -> str:
        return str(ticket.total * 2)


def test_the_shared_representation_is_drfs_for_every_kind_of_source():
    expected = TicketSerializer(Ticket()).data

    got = represented(TicketSerializer, Ticket())

    assert got == expected
    assert got["label"] == "ticket T-1" and got["broken"] == "fallback" and "missing" not in got
    assert got["lines"] == [{"name": "tea", "price": "2.00"}, {"name": "cake", "price": None}]
    assert represented(TicketSerializer, Ticket()) == expected  # the shared instance again
