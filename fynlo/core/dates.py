"""Calendar days in the project's time zone (TIME_ZONE)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.utils import timezone


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a calendar day in the project's time zone (23 or 25 hours on DST days)."""
    zone = timezone.get_default_timezone()
    return (
        datetime.combine(day, time.min, tzinfo=zone),
        datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone),
    )
