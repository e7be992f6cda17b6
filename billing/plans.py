"""The guide's three subscription plans: what a platform offers by default, and the commission a
restaurant pays when neither its subscription nor its platform's plans say otherwise.

Plain data, no models: the demo seeds these plans and the legacy export generator writes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class GuidePlan:
    name: str
    commission_rate: Decimal  # percent of each payment
    service_fee_rate: Decimal
    monthly_fee: Decimal
    max_restaurants: int | None  # None: unlimited


GUIDE_PLANS = (
    GuidePlan("basic", Decimal("8.00"), Decimal("12.50"), Decimal("0.00"), 10),
    GuidePlan("premium", Decimal("6.00"), Decimal("12.50"), Decimal("49.99"), 50),
    GuidePlan("enterprise", Decimal("4.00"), Decimal("12.50"), Decimal("199.99"), None),
)
GUIDE_PLANS_BY_NAME = {plan.name: plan for plan in GUIDE_PLANS}
DEFAULT_PLAN = GUIDE_PLANS_BY_NAME["basic"]
