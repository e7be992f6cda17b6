"""Every write to the menu, stock, suppliers and restock orders.

Stock only changes here, always with a stock movement in the same transaction, and rows
are locked in primary-key order (`select_for_update().order_by("pk")`) so that two requests
racing on the same products queue instead of deadlocking. A movement's `quantity` is the
signed change: negative for a sale or waste, positive for a restock or a return.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from fynlo.core.api import get_or_404
from fynlo.core.money import quantize
from fynlo.core.services import model_update
from fynlo.core.statements import cached_related, columns, from_row, insert, new_row, width
from inventory.errors import InsufficientStock, InventoryError
from inventory.models import (
    Category,
    InventoryItem,
    ModifierGroup,
    ModifierOption,
    MovementReferenceType,
    MovementType,
    Product,
    ProductModifierGroup,
    RestockOrder,
    RestockOrderItem,
    RestockStatus,
    StockMovement,
    Supplier,
)

CATEGORY_FIELDS = ("name", "icon", "display_order", "is_active")
PRODUCT_FIELDS = (
    "category_id", "name", "description", "price", "cost", "sku", "is_active", "available_in_pos", "track_inventory",
)
SUPPLIER_FIELDS = ("name", "contact_person", "email", "phone", "address", "payment_terms", "is_active")
INVENTORY_ITEM_FIELDS = ("supplier_id", "minimum_stock", "maximum_stock", "reorder_point", "unit_cost", "unit_measure")
MODIFIER_GROUP_FIELDS = ("name", "min_selected", "max_selected", "allow_repeat", "display_order", "is_active")
MODIFIER_OPTION_FIELDS = ("name", "price_change", "display_order", "is_active", "inventory_item_id")
ADJUSTMENT_TYPES = frozenset({MovementType.WASTE, MovementType.ADJUSTMENT})


def _duplicate(field: str, message: str) -> InventoryError:
    return InventoryError("duplicate", message, fields={field: [message]})


def _check_category(*, restaurant_id: int, category_id: int | None) -> None:
    # The foreign key alone would accept another restaurant's category (RI checks bypass RLS).
    if category_id is not None and not Category.objects.filter(restaurant_id=restaurant_id, pk=category_id).exists():
        raise InventoryError("invalid", "No such category.", fields={"category_id": ["No such category."]})


def _check_supplier(*, restaurant_id: int, supplier_id: int | None) -> None:
    if supplier_id is not None and not Supplier.objects.filter(restaurant_id=restaurant_id, pk=supplier_id).exists():
        raise InventoryError("invalid", "No such supplier.", fields={"supplier_id": ["No such supplier."]})


# --- Menu ----------------------------------------------------------------------------------


def category_create(
    *, restaurant_id: int, name: str, icon: str | None = None, display_order: int = 0, is_active: bool = True
) -> Category:
    """Add a menu category."""
    try:
        with transaction.atomic():
            return Category.objects.create(
                restaurant_id=restaurant_id, name=name, icon=icon, display_order=display_order, is_active=is_active
            )
    except IntegrityError as error:
        raise _duplicate("name", "A category with this name exists.") from error


def category_update(*, category: Category, data: dict) -> Category:
    """Change a menu category's name, icon, order or active flag."""
    try:
        with transaction.atomic():
            model_update(instance=category, fields=CATEGORY_FIELDS, data=data)
    except IntegrityError as error:
        raise _duplicate("name", "A category with this name exists.") from error
    return category


def _check_modifier_groups(*, restaurant_id: int, group_ids: list[int]) -> None:
    known = set(ModifierGroup.objects.filter(restaurant_id=restaurant_id, pk__in=group_ids).values_list("pk", flat=True))
    unknown = [group_id for group_id in group_ids if group_id not in known]
    if unknown:
        message = f"No such modifier group: {unknown[0]}."
        raise InventoryError("invalid", message, fields={"modifier_group_ids": [message]})


def _set_modifier_groups(*, product: Product, group_ids: list[int]) -> bool:
    """The product offers exactly these groups (links added and removed, others kept); whether that changed anything."""
    wanted = set(group_ids)
    links = ProductModifierGroup.objects.filter(restaurant_id=product.restaurant_id, product=product)
    removed, _ = links.exclude(group_id__in=wanted).delete()
    present = set(links.values_list("group_id", flat=True))
    added = ProductModifierGroup.objects.bulk_create(
        ProductModifierGroup(restaurant_id=product.restaurant_id, product=product, group_id=group_id)
        for group_id in sorted(wanted - present)
    )
    return bool(removed or added)


def product_create(*, restaurant_id: int, data: dict) -> Product:
    """Add a product to the menu; a product that tracks inventory gets an (empty) stock row;
    `modifier_group_ids` are the modifier groups it offers."""
    _check_category(restaurant_id=restaurant_id, category_id=data.get("category_id"))
    if "modifier_group_ids" in data:
        _check_modifier_groups(restaurant_id=restaurant_id, group_ids=data["modifier_group_ids"])
    try:
        with transaction.atomic():
            product = Product.objects.create(
                restaurant_id=restaurant_id, **{name: data[name] for name in PRODUCT_FIELDS if name in data}
            )
            if product.track_inventory:
                InventoryItem.objects.create(restaurant_id=restaurant_id, product=product)
            if data.get("modifier_group_ids"):
                _set_modifier_groups(product=product, group_ids=data["modifier_group_ids"])
    except IntegrityError as error:
        raise _duplicate("sku", "A product with this SKU exists.") from error
    return product


def product_update(*, product: Product, data: dict) -> Product:
    """Change a product; turning inventory tracking on gives it a stock row if it had none;
    `modifier_group_ids` replaces the modifier groups it offers."""
    if "category_id" in data:
        _check_category(restaurant_id=product.restaurant_id, category_id=data["category_id"])
    if "modifier_group_ids" in data:
        _check_modifier_groups(restaurant_id=product.restaurant_id, group_ids=data["modifier_group_ids"])
    try:
        with transaction.atomic():
            _, changed = model_update(instance=product, fields=PRODUCT_FIELDS, data=data)
            if changed and product.track_inventory:
                InventoryItem.objects.get_or_create(restaurant_id=product.restaurant_id, product=product)
            if "modifier_group_ids" in data and _set_modifier_groups(product=product, group_ids=data["modifier_group_ids"]):
                model_update(instance=product, fields=["updated_at"], data={"updated_at": timezone.now()})
    except IntegrityError as error:
        raise _duplicate("sku", "A product with this SKU exists.") from error
    return product


def product_deactivate(*, product: Product) -> Product:
    """Take a product off the menu (it stays on past orders)."""
    return product_update(product=product, data={"is_active": False})


def product_set_image(*, product: Product, image_url: str) -> Product:
    """Point a product at its uploaded image."""
    model_update(instance=product, fields=["image_url"], data={"image_url": image_url})
    return product


# --- Modifiers -----------------------------------------------------------------------------


def _check_group_limits(*, min_selected: int, max_selected: int | None) -> None:
    if max_selected is not None and max_selected < min_selected:
        message = "Must not be less than min_selected."
        raise InventoryError("invalid", message, fields={"max_selected": [message]})


def modifier_group_create(*, restaurant_id: int, data: dict) -> ModifierGroup:
    """Add a modifier group (its options are added to it one by one)."""
    _check_group_limits(min_selected=data.get("min_selected", 0), max_selected=data.get("max_selected"))
    try:
        with transaction.atomic():
            return ModifierGroup.objects.create(
                restaurant_id=restaurant_id, **{name: data[name] for name in MODIFIER_GROUP_FIELDS if name in data}
            )
    except IntegrityError as error:
        raise _duplicate("name", "A modifier group with this name exists.") from error


def modifier_group_update(*, group: ModifierGroup, data: dict) -> ModifierGroup:
    """Change a modifier group's name, limits, order or active flag (past orders keep what they sold)."""
    _check_group_limits(
        min_selected=data.get("min_selected", group.min_selected),
        max_selected=data.get("max_selected", group.max_selected),
    )
    try:
        with transaction.atomic():
            model_update(instance=group, fields=MODIFIER_GROUP_FIELDS, data=data)
    except IntegrityError as error:
        raise _duplicate("name", "A modifier group with this name exists.") from error
    return group


def _check_option_item(*, restaurant_id: int, inventory_item_id: int | None) -> None:
    if inventory_item_id is not None and not InventoryItem.objects.filter(
        restaurant_id=restaurant_id, pk=inventory_item_id
    ).exists():
        message = "No such inventory item."
        raise InventoryError("invalid", message, fields={"inventory_item_id": [message]})


def _touch_group(group: ModifierGroup) -> None:
    """A group is listed with its options: an option's change is the group's, for a till's copy (updated_since)."""
    model_update(instance=group, fields=["updated_at"], data={"updated_at": timezone.now()})


def modifier_option_create(*, group: ModifierGroup, data: dict) -> ModifierOption:
    """Add an option to a modifier group; linked to an inventory item, it takes stock when sold."""
    _check_option_item(restaurant_id=group.restaurant_id, inventory_item_id=data.get("inventory_item_id"))
    try:
        with transaction.atomic():
            option = ModifierOption.objects.create(
                restaurant_id=group.restaurant_id, group=group,
                **{name: data[name] for name in MODIFIER_OPTION_FIELDS if name in data},
            )
            _touch_group(group)
            return option
    except IntegrityError as error:
        raise _duplicate("name", "This group has an option with this name.") from error


def modifier_option_update(*, option: ModifierOption, data: dict) -> ModifierOption:
    """Change an option's name, price change, order, active flag or stock link."""
    if "inventory_item_id" in data:
        _check_option_item(restaurant_id=option.restaurant_id, inventory_item_id=data["inventory_item_id"])
    try:
        with transaction.atomic():
            _, changed = model_update(instance=option, fields=MODIFIER_OPTION_FIELDS, data=data)
            if changed:
                _touch_group(option.group)
    except IntegrityError as error:
        raise _duplicate("name", "This group has an option with this name.") from error
    return option


# --- Stock ---------------------------------------------------------------------------------


def inventory_item_update(*, item: InventoryItem, data: dict) -> InventoryItem:
    """Change an inventory item's supplier, thresholds, cost or unit (never its stock: see stock_adjust)."""
    if "supplier_id" in data:
        _check_supplier(restaurant_id=item.restaurant_id, supplier_id=data["supplier_id"])
    model_update(instance=item, fields=INVENTORY_ITEM_FIELDS, data=data)
    return item


def _movement(item: InventoryItem, *, movement_type: str, quantity: Decimal, unit_cost: Decimal | None = None,
              reference_type: str | None = None, reference_id: int | None = None, notes: str | None = None,
              user=None, oversold_offline: bool = False) -> StockMovement:
    cost = item.unit_cost if unit_cost is None else unit_cost
    return cached_related(new_row(
        StockMovement,
        restaurant_id=item.restaurant_id,
        inventory_item_id=item.pk,
        movement_type=movement_type,
        quantity=quantity,
        unit_cost=cost,
        total_cost=quantize(abs(quantity) * cost),
        reference_type=reference_type,
        reference_id=reference_id,
        notes=notes,
        created_by_id=user.pk if user is not None else None,
        oversold_offline=oversold_offline,
    ), inventory_item=item, created_by=user)


@transaction.atomic
def stock_adjust(
    *, restaurant_id: int, item_id: int, quantity: Decimal, movement_type: str, notes: str | None = None, user=None
) -> StockMovement:
    """Change an item's stock by a signed quantity (waste or a count correction); never below zero."""
    if movement_type not in ADJUSTMENT_TYPES:
        raise InventoryError("invalid", "Use waste or adjustment.", fields={"movement_type": ["Use waste or adjustment."]})
    if quantity == 0:
        raise InventoryError("invalid", "The quantity must not be zero.", fields={"quantity": ["Must not be zero."]})
    if movement_type == MovementType.WASTE and quantity > 0:
        message = "Waste takes stock away: the quantity must be negative."
        raise InventoryError("invalid", message, fields={"quantity": [message]})
    item = get_or_404(
        InventoryItem.objects.select_for_update().filter(restaurant_id=restaurant_id), pk=item_id, what="inventory item"
    )
    if item.current_stock + quantity < 0:
        raise InsufficientStock(
            {item.product_id: item.current_stock},
            fields={"quantity": [f"Only {item.current_stock.normalize():f} in stock."]},
        )
    item.current_stock += quantity
    item.updated_at = timezone.now()
    item.save(update_fields=["current_stock", "updated_at"])
    movement = _movement(
        item, movement_type=movement_type, quantity=quantity, reference_type=MovementReferenceType.ADJUSTMENT,
        notes=notes, user=user,
    )
    movement.save()
    return movement


def _lock_items(*, restaurant_id: int, **lookup) -> list[InventoryItem]:
    return list(
        InventoryItem.objects.select_for_update().filter(restaurant_id=restaurant_id, **lookup).order_by("pk")
    )


def products_for_sale(
    *, restaurant_id: int, product_ids: set[int], item_ids: set[int] = frozenset()
) -> tuple[dict[int, Product], list[InventoryItem]]:
    """The restaurant's products among these ids, and the stock rows an order of them may take
    from (the tracked products' and these inventory items', e.g. modifier options'), locked
    in primary-key order for the rest of the transaction; one statement, of fixed text (the ids
    go as arrays: no ORM compiling on the order path). A `SELECT` (the stock locked in a sub-select,
    not a `WITH`): it may go with the idempotency key's claim before its check (fynlo.core.postgresql).

    The full join reads every locked row even where no product matches it."""
    return products_for_sale_later(restaurant_id=restaurant_id, product_ids=product_ids, item_ids=item_ids)()


def products_for_sale_later(
    *, restaurant_id: int, product_ids: set[int], item_ids: set[int] = frozenset()
) -> Callable[[], tuple[dict[int, Product], list[InventoryItem]]]:
    """products_for_sale, its statement deferred (it goes with the transaction's next statement in
    its round trip, fynlo.core.postgresql; the rows are locked when it runs): call what this
    returns for the products and the locked stock rows."""
    products = Product._meta.db_table
    rows = connection.defer(
        f"SELECT p.*, s.* FROM (SELECT {columns(Product)} FROM {products}"
        " WHERE restaurant_id = %(r)s AND id = ANY(%(products)s)) p FULL JOIN"
        f" (SELECT {columns(InventoryItem)} FROM {InventoryItem._meta.db_table}"
        " WHERE restaurant_id = %(r)s AND (id = ANY(%(items)s) OR product_id IN"
        f" (SELECT id FROM {products} WHERE restaurant_id = %(r)s AND id = ANY(%(products)s) AND track_inventory))"
        " ORDER BY id FOR UPDATE) s ON s.product_id = p.id",
        {"r": restaurant_id, "items": sorted(item_ids), "products": sorted(product_ids)}, rows=True,
    )

    def read() -> tuple[dict[int, Product], list[InventoryItem]]:
        found: dict[int, Product] = {}
        locked: dict[int, InventoryItem] = {}
        split = width(Product)
        for row in rows.fetchall():
            product_row, item_row = row[:split], row[split:]
            if product_row[0] is not None:
                found[product_row[0]] = from_row(Product, product_row, connection.alias)
            if item_row[0] is not None:
                locked[item_row[0]] = from_row(InventoryItem, item_row, connection.alias)
        return found, sorted(locked.values(), key=lambda item: item.pk)

    return read


def _change(locked: list[InventoryItem], products: dict[int, int], items: dict[int, int]) -> dict[int, int]:
    """Units each locked stock row gives (positive) for these products' and items' units."""
    return {item.pk: products.get(item.product_id, 0) + items.get(item.pk, 0) for item in locked}


def stock_oversold(*, locked: list[InventoryItem], products: dict[int, int], items: dict[int, int]) -> bool:
    """Whether selling these units of products and items takes any of these locked stock rows
    below zero: an offline sale does so anyway (stock_move_for_order's `offline`), and its
    order says so before it is written."""
    change = _change(locked, products, items)
    return any(change[item.pk] > max(item.current_stock, 0) for item in locked)


def stock_move_for_order(
    *, restaurant_id: int, order_id: int, products: dict[int, int] | None = None, items: dict[int, int] | None = None,
    notes: str | None = None, user=None, offline: bool = False, locked: list[InventoryItem] | None = None,
    defer: bool = False,
) -> list[StockMovement]:
    """Move stock for an order by signed quantities of products (product id -> units, through
    their stock rows) and of inventory items (item id -> units, e.g. a modifier option's):
    positive is sold (a `sale` movement), negative is given back (an `adjustment`, never more
    than the order took). InsufficientStock, by product id, when a sale would go below zero
    (a tracked product without a stock row has none). `locked`: the stock rows the caller
    already locked in this transaction (products_for_sale), else they are locked here.

    `offline`: the sale already happened (a till that was offline): nothing is refused, an item
    may go below zero and its movement is flagged `oversold_offline`.

    Runs inside the caller's transaction (the order's): it writes only after every check
    passed, the stock and its movements in one statement. `defer`: that statement goes with the
    transaction's next one (the commit, for a new order) in its round trip, nothing read back:
    the movements come back without their ids (fynlo.core.postgresql `defer`).
    """
    products = {product_id: units for product_id, units in (products or {}).items() if units}
    items = {item_id: units for item_id, units in (items or {}).items() if units}
    if not products and not items:
        return []
    if locked is None:
        locked = list(
            InventoryItem.objects.select_for_update()
            .filter(Q(product_id__in=list(products)) | Q(pk__in=list(items)), restaurant_id=restaurant_id)
            .order_by("pk")
        )
    else:
        locked = [item for item in locked if item.product_id in products or item.pk in items]
    tracked = {item.product_id for item in locked}
    change = _change(locked, products, items)
    short = {product_id: Decimal("0") for product_id, units in products.items() if units > 0 and product_id not in tracked}
    short_items = {item.pk: item.current_stock for item in locked if change[item.pk] > item.current_stock}
    short.update({item.product_id: item.current_stock for item in locked if item.pk in short_items})
    if short and not offline:
        raise InsufficientStock(short, items=short_items)
    if any(units < 0 for units in change.values()):
        taken = _taken_by_order(restaurant_id=restaurant_id, order_id=order_id)
        change = {pk: max(units, -taken.get(pk, 0)) for pk, units in change.items()}
    moved = [item for item in locked if change[item.pk]]
    if not moved:
        return []
    now = timezone.now()
    for item in moved:
        item.current_stock -= change[item.pk]
        item.updated_at = now
    movements = insert([
        _movement(
            item, movement_type=MovementType.SALE if change[item.pk] > 0 else MovementType.ADJUSTMENT,
            quantity=Decimal(-change[item.pk]), reference_type=MovementReferenceType.ORDER, reference_id=order_id,
            notes=None if change[item.pk] > 0 else notes, user=user,
            oversold_offline=offline and change[item.pk] > 0 and item.current_stock < 0,
        )
        for item in moved
    ])
    values = ", ".join(["(%s::int, %s::numeric)"] * len(moved))
    sql = (
        f"WITH stock AS (UPDATE inventory_items SET current_stock = v.stock, updated_at = %s"
        f" FROM (VALUES {values}) AS v(id, stock)"
        f" WHERE inventory_items.id = v.id AND inventory_items.restaurant_id = %s) {movements.sql}"
    )
    params = (now, *(value for item in moved for value in (item.pk, item.current_stock)), restaurant_id, *movements.params)
    if defer:
        connection.defer(sql, params)
        return movements.objs
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        movements.assign(cursor.fetchall())
    return movements.objs


def _taken_by_order(*, restaurant_id: int, order_id: int) -> dict[int, Decimal]:
    """What an order has taken from stock and not given back, per inventory item."""
    net = (
        StockMovement.objects.filter(
            restaurant_id=restaurant_id, reference_type=MovementReferenceType.ORDER, reference_id=order_id
        )
        .values_list("inventory_item_id")
        .annotate(total=Sum("quantity"))
        .values_list("inventory_item_id", "total")
    )
    return {item_id: -total for item_id, total in net if total < 0}


def stock_return_for_order(*, restaurant_id: int, order_id: int, notes: str, user=None) -> list[StockMovement]:
    """Put back what an order took from stock and has not yet been returned (none: an empty list).

    Runs inside the caller's transaction, which holds the order's row lock, so two returns of
    one order cannot interleave.
    """
    owed = _taken_by_order(restaurant_id=restaurant_id, order_id=order_id)
    if not owed:
        return []
    items = _lock_items(restaurant_id=restaurant_id, pk__in=list(owed))
    now = timezone.now()
    for item in items:
        item.current_stock += owed[item.pk]
        item.updated_at = now
    InventoryItem.objects.bulk_update(items, ["current_stock", "updated_at"])
    return StockMovement.objects.bulk_create(
        _movement(
            item, movement_type=MovementType.ADJUSTMENT, quantity=owed[item.pk],
            reference_type=MovementReferenceType.ORDER, reference_id=order_id, notes=notes, user=user,
        )
        for item in items
    )


# --- Suppliers and restock orders ----------------------------------------------------------


def supplier_create(*, restaurant_id: int, data: dict) -> Supplier:
    """Add a supplier."""
    return Supplier.objects.create(
        restaurant_id=restaurant_id, **{name: data[name] for name in SUPPLIER_FIELDS if name in data}
    )


def supplier_update(*, supplier: Supplier, data: dict) -> Supplier:
    """Change a supplier's details."""
    model_update(instance=supplier, fields=SUPPLIER_FIELDS, data=data)
    return supplier


def _next_restock_order_id() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('restock_orders', 'id'))")
        return cursor.fetchone()[0]


@transaction.atomic
def restock_order_create(
    *,
    restaurant_id: int,
    supplier_id: int,
    items: list[dict],
    expected_delivery: datetime.date | None = None,
    notes: str | None = None,
    user=None,
) -> RestockOrder:
    """Order stock from a supplier: lines of {inventory_item_id, quantity_ordered, unit_cost}."""
    _check_supplier(restaurant_id=restaurant_id, supplier_id=supplier_id)
    wanted = {line["inventory_item_id"] for line in items}
    known = set(
        InventoryItem.objects.filter(restaurant_id=restaurant_id, pk__in=wanted).values_list("pk", flat=True)
    )
    unknown = {
        f"items.{index}.inventory_item_id": ["No such inventory item."]
        for index, line in enumerate(items)
        if line["inventory_item_id"] not in known
    }
    if unknown:
        raise InventoryError("invalid", "Some inventory items do not exist.", fields=unknown)
    lines = [
        RestockOrderItem(
            restaurant_id=restaurant_id,
            inventory_item_id=line["inventory_item_id"],
            quantity_ordered=line["quantity_ordered"],
            unit_cost=line["unit_cost"],
            total_cost=quantize(line["quantity_ordered"] * line["unit_cost"]),
            notes=line.get("notes"),
        )
        for line in items
    ]
    # The number comes from the id's own sequence: unique everywhere, no counter to lock.
    order_id = _next_restock_order_id()
    order = RestockOrder.objects.create(
        pk=order_id,
        restaurant_id=restaurant_id,
        supplier_id=supplier_id,
        order_number=f"PO-{restaurant_id}-{order_id:06d}",
        order_date=timezone.localdate(),
        expected_delivery=expected_delivery,
        status=RestockStatus.ORDERED,
        total_amount=quantize(sum((line.total_cost for line in lines), Decimal("0"))),
        notes=notes,
        created_by=user,
    )
    for line in lines:
        line.restock_order = order
    RestockOrderItem.objects.bulk_create(lines)
    return order


@transaction.atomic
def restock_order_receive(
    *, restaurant_id: int, restock_order_id: int, received: dict[int, Decimal] | None = None, user=None
) -> RestockOrder:
    """Take a delivery into stock: each line as ordered, or `received` (line id -> quantity; lines
    not named received nothing); adds restock movements and closes the order."""
    order = get_or_404(
        RestockOrder.objects.select_for_update().filter(restaurant_id=restaurant_id),
        pk=restock_order_id, what="restock order",
    )
    if order.status in (RestockStatus.DELIVERED, RestockStatus.CANCELLED):
        raise InventoryError("restock_order_closed", f"This restock order is already {order.status}.", status=409)
    lines = list(RestockOrderItem.objects.filter(restaurant_id=restaurant_id, restock_order=order).order_by("pk"))
    if received is not None:
        unknown = sorted(set(received) - {line.pk for line in lines})
        if unknown:
            message = f"Restock order {order.order_number} has no line {unknown[0]}."
            raise InventoryError("invalid", message, fields={"items": [message]})
    for line in lines:
        line.quantity_received = line.quantity_ordered if received is None else received.get(line.pk, Decimal("0"))
    arriving = [line for line in lines if line.quantity_received > 0]
    items = {item.pk: item for item in _lock_items(
        restaurant_id=restaurant_id, pk__in=[line.inventory_item_id for line in arriving]
    )}
    now = timezone.now()
    movements = []
    for line in arriving:
        item = items[line.inventory_item_id]
        item.current_stock += line.quantity_received
        item.unit_cost = line.unit_cost
        item.last_restocked = now
        item.updated_at = now
        movements.append(_movement(
            item, movement_type=MovementType.RESTOCK, quantity=line.quantity_received, unit_cost=line.unit_cost,
            reference_type=MovementReferenceType.RESTOCK, reference_id=order.pk, user=user,
        ))
    InventoryItem.objects.bulk_update(
        sorted(items.values(), key=lambda item: item.pk), ["current_stock", "unit_cost", "last_restocked", "updated_at"]
    )
    StockMovement.objects.bulk_create(movements)
    RestockOrderItem.objects.bulk_update(lines, ["quantity_received"])
    delivered = {"status": RestockStatus.DELIVERED, "actual_delivery": timezone.localdate()}
    model_update(instance=order, fields=delivered, data=delivered, now=now)
    return order
