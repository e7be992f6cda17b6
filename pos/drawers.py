"""Every write to cash drawers, and what a drawer should hold.

A till (its `device_id`, or a name) has at most one open drawer session (a partial unique index).
Which drawer cash goes into, the rule a restaurant expects:

- a cash payment or cash refund that names its till (`device_id`) goes into (comes out of) that
  till's open session; no open session there is 409 `drawer_closed`;
- one taken offline (its device's time) lands in the session of that till that was open at
  that time (none: 409 `drawer_closed`);
- one that names no till: while any drawer of the restaurant is open, 400 naming `device_id`
  (the cash must be counted somewhere); with none open, the restaurant is not using drawers
  and the cash is taken as before, in no drawer. A cash refund that names no till comes out
  of the till its payment went into, when that drawer is still open.

Card payments need no drawer. The drawer's row is locked before the order's (pos.services' lock
order: drawer, order, payment, inventory items), so closing waits for a payment under way
and counts it.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone

from fynlo.core.api import get_or_404
from fynlo.core.money import ZERO
from fynlo.core.services import model_update
from pos.errors import PosError
from pos.models import (
    TAKEN_PAYMENT_STATUSES,
    DrawerEntry,
    DrawerEntryType,
    DrawerSession,
    DrawerStatus,
    Payment,
    Refund,
    RefundStatus,
)


@dataclass(frozen=True)
class DrawerFigures:
    opening_float: Decimal
    cash_taken: Decimal
    cash_refunded: Decimal
    paid_in: Decimal
    paid_out: Decimal
    no_sales: int

    @property
    def expected(self) -> Decimal:
        """float + cash taken - cash refunded + paid in - paid out."""
        return self.opening_float + self.cash_taken - self.cash_refunded + self.paid_in - self.paid_out


def drawer_figures(sessions) -> dict[int, DrawerFigures]:
    """Each session's figures by id, in three aggregate queries however many sessions. Cash taken
    is what went into the drawer: the payment and its tip (the change went back out); cash
    refunded likewise the refund and its tip."""
    sessions = list(sessions)
    ids = [session.pk for session in sessions]
    taken = dict(
        Payment.objects.filter(drawer_session_id__in=ids, status__in=TAKEN_PAYMENT_STATUSES)
        .values_list("drawer_session_id").annotate(total=Sum(F("amount") + F("tip_amount")))
        .values_list("drawer_session_id", "total")
    ) if ids else {}
    refunded = dict(
        Refund.objects.filter(drawer_session_id__in=ids, status=RefundStatus.COMPLETED)
        .values_list("drawer_session_id").annotate(total=Sum(F("amount") + F("tip_amount")))
        .values_list("drawer_session_id", "total")
    ) if ids else {}
    entries: dict[tuple[int, str], tuple[Decimal, int]] = {}
    if ids:
        for row in (
            DrawerEntry.objects.filter(session_id__in=ids).values("session_id", "entry_type")
            .annotate(total=Sum("amount"), count=Count("id")).order_by()
        ):
            entries[(row["session_id"], row["entry_type"])] = (row["total"], row["count"])

    def entry(session_id, kind):
        return entries.get((session_id, kind), (ZERO, 0))

    return {
        session.pk: DrawerFigures(
            opening_float=session.opening_float,
            cash_taken=taken.get(session.pk) or ZERO,
            cash_refunded=refunded.get(session.pk) or ZERO,
            paid_in=entry(session.pk, DrawerEntryType.PAID_IN)[0],
            paid_out=entry(session.pk, DrawerEntryType.PAID_OUT)[0],
            no_sales=entry(session.pk, DrawerEntryType.NO_SALE)[1],
        )
        for session in sessions
    }


def drawer_open(*, restaurant_id: int, device_id: str, opening_float: Decimal, user=None) -> DrawerSession:
    """Open a till's drawer with its float; one open drawer per till (409 drawer_already_open)."""
    try:
        with transaction.atomic():
            return DrawerSession.objects.create(
                restaurant_id=restaurant_id, device_id=device_id, opening_float=opening_float, opened_by=user,
                opened_at=timezone.now(),
            )
    except IntegrityError as error:
        message = f"The drawer of till {device_id} is already open; close it first."
        raise PosError("drawer_already_open", message, status=409, fields={"device_id": [message]}) from error


def _lock_open(*, restaurant_id: int, drawer_id: int) -> DrawerSession:
    session = get_or_404(
        DrawerSession.objects.select_for_update().filter(restaurant_id=restaurant_id), pk=drawer_id, what="drawer"
    )
    if session.status != DrawerStatus.OPEN:
        raise PosError("drawer_closed", f"The drawer of till {session.device_id} is closed.", status=409)
    return session


@transaction.atomic
def drawer_close(*, restaurant_id: int, drawer_id: int, counted_amount: Decimal, user=None) -> DrawerSession:
    """Cash up: keep what the drawer should hold, what was counted and the difference (counted - expected)."""
    session = _lock_open(restaurant_id=restaurant_id, drawer_id=drawer_id)
    expected = drawer_figures([session])[session.pk].expected
    now = timezone.now()
    closing = {
        "status": DrawerStatus.CLOSED, "closed_by": user, "closed_at": now, "counted_amount": counted_amount,
        "expected_amount": expected, "difference": counted_amount - expected,
    }
    model_update(instance=session, fields=list(closing), data=closing, now=now)
    return session


@transaction.atomic
def drawer_entry_add(
    *, restaurant_id: int, drawer_id: int, entry_type: str, amount: Decimal = ZERO, reason: str | None = None, user=None
) -> DrawerEntry:
    """Record cash paid in or out of an open drawer (with its reason), or the drawer opened without a sale."""
    session = _lock_open(restaurant_id=restaurant_id, drawer_id=drawer_id)
    if entry_type == DrawerEntryType.NO_SALE:
        amount = ZERO
    elif amount <= 0 or not reason:
        fields = {}
        if amount <= 0:
            fields["amount"] = ["Paid in and paid out need an amount above zero."]
        if not reason:
            fields["reason"] = ["Say why the cash went in or out."]
        raise PosError("invalid", "A paid in or paid out needs an amount and a reason.", fields=fields)
    entry = DrawerEntry.objects.create(
        restaurant_id=restaurant_id, session=session, entry_type=entry_type, amount=amount, reason=reason or None,
        created_by=user,
    )
    model_update(instance=session, fields=["updated_at"], data={"updated_at": timezone.now()})
    return entry


def cash_drawer_for(
    *, restaurant_id: int, device_id: str | None, at: datetime.datetime | None = None,
    fallback: int | None = None,
) -> int | None:
    """The drawer session cash goes into (or comes out of), by the module's rule; locked until the
    transaction ends. `fallback`: the session to use when no till is named (a refund's payment's)."""
    sessions = DrawerSession.objects.select_for_update().filter(restaurant_id=restaurant_id)
    if device_id:
        if at is None:
            found = sessions.filter(device_id=device_id, status=DrawerStatus.OPEN).first()
        else:
            found = (
                sessions.filter(device_id=device_id, opened_at__lte=at)
                .filter(Q(closed_at__isnull=True) | Q(closed_at__gt=at)).order_by("-opened_at").first()
            )
        if found is None:
            when = "now" if at is None else f"at {timezone.localtime(at):%Y-%m-%d %H:%M}"
            message = f"Till {device_id} has no open drawer {when}: open it (with its float) first."
            raise PosError("drawer_closed", message, status=409, fields={"device_id": [message]})
        return found.pk
    if fallback is not None and sessions.filter(pk=fallback, status=DrawerStatus.OPEN).exists():
        return fallback
    cash_without_till(drawers_open=open_drawers(restaurant_id=restaurant_id).exists())
    return None


def open_drawers(*, restaurant_id) -> QuerySet:
    """The restaurant's open drawer sessions (`restaurant_id` may be an OuterRef: a caller reads
    whether any is open in a statement it sends anyway)."""
    return DrawerSession.objects.filter(restaurant_id=restaurant_id, status=DrawerStatus.OPEN)


def cash_without_till(*, drawers_open: bool) -> None:
    """Cash that names no till: refused (400 naming device_id) while any drawer is open, else it
    goes into no drawer (the restaurant is not using drawers)."""
    if drawers_open:
        message = "Cash drawers are open here: name the till (device_id) the cash goes through."
        raise PosError("invalid", message, fields={"device_id": [message]})


