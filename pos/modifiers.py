"""The modifiers of an order line: checked against the product's modifier groups, and kept on the
line as a snapshot (DESIGN.md "Order-line modifiers"), so a past order reads the same after
the menu changes.

A line's `modifiers` input is [{"option_id", "quantity"}]. Each option must be an active option
of an active group that the line's product offers, in this restaurant (another restaurant's
option is "No such option.", nothing of it shown); an option is taken more than once (a
quantity above 1, or listed twice) only where its group allows repeats; the options taken of
each group (their quantities summed) respect its `min_selected` and `max_selected`, and a
group the line says nothing of must not need any.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from fynlo.core.money import money_text
from inventory.models import ModifierGroup, ModifierOption, Product
from inventory.selectors import ModifierMenu


def option_ids_of(lines: list[dict]) -> set[int]:
    """Every option id the lines ask for."""
    return {choice["option_id"] for line in lines for choice in line.get("modifiers") or ()}


def line_problems(*, path: str, product: Product, choices: list[dict], menu: ModifierMenu) -> dict[str, list[str]]:
    """What is wrong with one line's modifier choices, by field path (`<path>.modifiers.<j>` for
    one choice, `<path>.modifiers` for a group's limits); empty when they may be sold."""
    problems: dict[str, list[str]] = {}
    offered = {group.pk: group for group in menu.groups_by_product.get(product.pk, ())}
    taken: Counter[int] = Counter()
    seen: set[int] = set()
    for index, choice in enumerate(choices):
        where = f"{path}.modifiers.{index}"
        option = menu.options.get(choice["option_id"])
        if option is None:
            problems[where] = ["No such option."]
            continue
        group = offered.get(option.group_id)
        if group is None:
            problems[where] = [f"{option.name} is not an option of {product.name}."]
        elif not (option.is_active and group.is_active):
            problems[where] = [f"{option.name} is not available."]
        elif not group.allow_repeat and (choice["quantity"] > 1 or option.pk in seen):
            problems[where] = [f"{option.name} may be chosen only once ({group.name})."]
        else:
            taken[group.pk] += choice["quantity"]
        seen.add(option.pk)
    if problems:
        return problems
    limits = []
    for group in offered.values():
        if not group.is_active:
            continue
        count = taken[group.pk]
        if count < group.min_selected:
            limits.append(f"Choose at least {group.min_selected} of {group.name}.")
        if group.max_selected is not None and count > group.max_selected:
            limits.append(f"Choose at most {group.max_selected} of {group.name}.")
    if limits:
        problems[f"{path}.modifiers"] = limits
    return problems


def snapshot(*, choices: list[dict], menu: ModifierMenu) -> list[dict]:
    """The line's modifiers as sold: group and option names, unit price change, quantity, option id."""
    return [
        _entry(menu.options[choice["option_id"]], choice["quantity"])
        for choice in choices
    ]


def _entry(option: ModifierOption, quantity: int) -> dict:
    group: ModifierGroup = option.group
    return {
        "group": group.name,
        "option": option.name,
        "price": money_text(option.price_change),
        "quantity": quantity,
        "option_id": option.pk,
    }


def priced(modifiers: list[dict]) -> list[tuple[Decimal, int]]:
    """(unit price change, quantity) of each modifier of a snapshot, for pos.pricing."""
    return [(Decimal(entry["price"]), int(entry["quantity"])) for entry in modifiers]


def stock_items(modifiers: list[dict], *, quantity: int, menu: ModifierMenu) -> Counter[int]:
    """Inventory item id -> units the modifiers of a line of `quantity` take (options linked to stock)."""
    units: Counter[int] = Counter()
    for entry in modifiers:
        option = menu.options.get(entry.get("option_id"))
        if option is not None and option.inventory_item_id is not None:
            units[option.inventory_item_id] += int(entry["quantity"]) * quantity
    return units
