"""Row validation: every source row is checked before anything of it is written, and turned
into one line of COPY input (PostgreSQL's CSV format).

Per column (precompiled converters, one closure per column): type and format, NOT NULL,
length, allowed values, and the single-column checks of the models (no negative money or
quantity where the model forbids it). Per row: the other check constraints, the foreign
keys (present in the export or the database, not rejected), tenant consistency (a child's
restaurant is its parents'), and unique keys.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Callable

from django.contrib.auth.hashers import make_password
from django.db.models import F, Q

from fynlo.cutover.legacy.ids import PAGE_BITS, PAGE_MASK, IdMap, IdSet, KeySet
from fynlo.cutover.legacy.schema import (
    DEFAULT_NOW,
    Check,
    Column,
    TableSpec,
    check_leaf,
)
from fynlo.cutover.legacy.source import QuotedEmpty
from tenants.models import TenantScope
from tenants.passwords import is_legacy_bcrypt

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
# The tenant value of a user with neither restaurant nor platform (operations staff).
NO_TENANT = INT_MIN + 1
PRESENT = 1

_TRUE = {"t", "true", "1", "yes", "y", "on"}
_FALSE = {"f", "false", "0", "no", "n", "off"}
_BOOLEANS = {**{word: "t" for word in _TRUE}, **{word: "f" for word in _FALSE}}
_INT = re.compile(r"[+-]?\d{1,10}").fullmatch
_DECIMAL = re.compile(r"([+-]?)(\d*)(?:\.(\d*))?").fullmatch

def _reject_constant(constant: str):
    raise ValueError(f"{constant} is not valid JSON")


# PostgreSQL's jsonb has no NaN or Infinity, which Python's json would accept.
_JSON = json.JSONDecoder(parse_constant=_reject_constant)


def json_refusal(value: str) -> str | None:
    """Why PostgreSQL's jsonb would refuse a text (None: it takes it). Python's json reads more than
    jsonb does: NaN and Infinity, \\u0000, a lone surrogate (\\ud800)."""
    try:
        parsed = _JSON.decode(value)
    except (ValueError, RecursionError) as error:
        return f"is not valid JSON ({error})"
    if "\\u" in value:
        if "\\u0000" in value:
            return "holds \\u0000, which jsonb cannot store"
        try:
            json.dumps(parsed, ensure_ascii=False).encode()
        except UnicodeEncodeError:
            return "holds a lone surrogate, which jsonb cannot store"
    return None


# Messages for the check constraints that span several columns.
CHECK_MESSAGES = {
    "users_tenant_check": "a platform_owner has no restaurant_id; every other role has one (users_tenant_check)",
    "schedules_week_end_after_start": "week_end is before week_start",
}


class Invalid(Exception):
    """A value that fails its column's rules."""


class RowError(Exception):
    """A row that is rejected: the column at fault (or None) and why."""

    def __init__(self, column: str | None, reason: str):
        super().__init__(reason)
        self.column = column
        self.reason = reason


class HeaderError(Exception):
    """The header names an unknown column or lacks a required one."""


def csv_text(value: str) -> str:
    """A text value as a COPY CSV field (quoted when it must be; "" for the empty string)."""
    if not value:
        return '""'
    if '"' in value or "," in value or "\n" in value or "\r" in value:
        return '"' + value.replace('"', '""') + '"'
    return value


def _shown(value: str, limit: int = 40) -> str:
    text = value if len(value) <= limit else value[: limit - 1] + "…"
    return repr(text)


# --- Column converters ------------------------------------------------------------------


def _null_text(column: Column, now_text: str, replaced: dict) -> Callable[[], str]:
    """What an empty (NULL) field becomes: NULL, the column's default, or an error."""
    if column.nullable:
        return lambda: ""
    if column.default is not None:
        text = now_text if column.default == DEFAULT_NOW else (
            csv_text(column.default) if column.kind in ("text", "json") else column.default
        )

        def default() -> str:
            replaced[column.name] = replaced.get(column.name, 0) + 1
            return text

        return default

    def required() -> str:
        raise Invalid(f"{column.name} is empty; a value is required")

    return required


def _sign_rule(spec: TableSpec, column: Column) -> str | None:
    """'nonneg' or 'positive' when a single-column check says `column >= 0` or `> 0`."""
    for check in spec.checks:
        leaf = check_leaf(check.condition)
        if leaf and spec.field_columns.get(leaf[0]) == column.name and leaf[2] == 0 and not isinstance(leaf[2], bool):
            if leaf[1] == "gte":
                return "nonneg"
            if leaf[1] == "gt":
                return "positive"
    return None


def _folded_checks(spec: TableSpec) -> set[str]:
    """Checks that the column converters enforce themselves (signs against 0, choices)."""
    folded = set()
    for check in spec.checks:
        leaf = check_leaf(check.condition)
        if not leaf:
            continue
        column = spec.columns.get(spec.field_columns.get(leaf[0], ""))
        if column is None:
            continue
        if leaf[1] in ("gte", "gt") and leaf[2] == 0 and column.kind in ("int", "decimal"):
            folded.add(check.name)
        elif leaf[1] == "in" and column.choices and set(map(str, leaf[2])) >= set(column.choices):
            folded.add(check.name)
    return folded


def converter(spec: TableSpec, column: Column, *, now_text: str, replaced: dict) -> Callable[[str], str]:
    """The precompiled check-and-format function of one column: raw field -> COPY text."""
    null = _null_text(column, now_text, replaced)
    name = column.name
    kind = column.kind
    sign = _sign_rule(spec, column)

    if column.choices:
        allowed = frozenset(column.choices)
        listed = ", ".join(column.choices)

        def convert_choice(value: str) -> str:
            if not value:
                if type(value) is QuotedEmpty:
                    raise Invalid(f"{name} '' is not one of {listed}")
                return null()
            if value in allowed:
                return value
            raise Invalid(f"{name} {_shown(value)} is not one of {listed}")

        return convert_choice

    if kind == "int":
        def convert_int_slowly(value: str) -> str:
            if not value:
                if type(value) is QuotedEmpty:
                    raise Invalid(f"{name}: an empty string is not an integer")
                return null()
            if not _INT(value):
                raise Invalid(f"{name} {_shown(value)} is not an integer")
            number = int(value)
            if number < INT_MIN or number > INT_MAX:
                raise Invalid(f"{name} {value} is out of the integer range")
            if sign and (number < 0 or (sign == "positive" and number == 0)):
                raise Invalid(f"{name} {value} must be {'positive' if sign == 'positive' else 'zero or more'}")
            return str(number)

        if sign == "positive":
            def convert_int(value: str) -> str:
                if value.isdigit() and value.isascii() and len(value) < 10 and value[0] != "0":
                    return value
                return convert_int_slowly(value)
        else:
            def convert_int(value: str) -> str:
                if value.isdigit() and value.isascii() and len(value) < 10:
                    return value
                return convert_int_slowly(value)

        return convert_int

    if kind == "decimal":
        whole_digits = column.digits - column.places
        places = column.places

        def convert_decimal_slowly(value: str) -> str:
            if not value:
                if type(value) is QuotedEmpty:
                    raise Invalid(f"{name}: an empty string is not a number")
                return null()
            match = _DECIMAL(value)
            if match is None or not (match[2] or match[3]):
                raise Invalid(f"{name} {_shown(value)} is not a decimal number")
            whole, fraction = match[2], match[3] or ""
            if len(fraction) > places and fraction[places:].strip("0"):
                raise Invalid(f"{name} {value} has more than {places} decimal places")
            if len(whole.lstrip("0")) > whole_digits:
                raise Invalid(f"{name} {value} is too large for numeric({column.digits},{places})")
            if sign and match[1] == "-" and (whole + fraction).strip("0"):
                raise Invalid(f"{name} {value} must not be negative")
            if sign == "positive" and not (whole + fraction).strip("0"):
                raise Invalid(f"{name} {value} must be more than zero")
            return value

        def convert_decimal(value: str) -> str:
            whole, dot, fraction = value.partition(".")
            if (
                whole.isdigit() and value.isascii() and len(whole) <= whole_digits
                and (not dot or (fraction.isdigit() and len(fraction) <= places))
                and (sign != "positive" or value.strip("0.") != "")
            ):
                return value
            return convert_decimal_slowly(value)

        return convert_decimal

    if kind == "bool":
        def convert_bool(value: str) -> str:
            if not value:
                if type(value) is QuotedEmpty:
                    raise Invalid(f"{name}: an empty string is not a boolean")
                return null()
            text = _BOOLEANS.get(value) or _BOOLEANS.get(value.strip().lower())
            if text is None:
                raise Invalid(f"{name} {_shown(value)} is not a boolean (t/f, true/false, 1/0, yes/no)")
            return text

        return convert_bool

    if kind == "timestamp":
        def convert_timestamp(value: str) -> str:
            if not value:
                if type(value) is QuotedEmpty:
                    raise Invalid(f"{name}: an empty string is not a timestamp")
                return null()
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                raise Invalid(f"{name} {_shown(value)} is not an ISO 8601 timestamp") from None
            # A time without zone is read in the import's time zone (the session's TimeZone).
            # Forms PostgreSQL may read differently (basic, week or ordinal dates) are rewritten.
            if value[4:5] == "-" and value[7:8] == "-" and value[10:11] in ("T", " "):
                return value
            return moment.isoformat()

        return convert_timestamp

    if kind == "date":
        def convert_date(value: str) -> str:
            if not value:
                if type(value) is QuotedEmpty:
                    raise Invalid(f"{name}: an empty string is not a date")
                return null()
            try:
                day = date.fromisoformat(value)
            except ValueError:
                raise Invalid(f"{name} {_shown(value)} is not an ISO 8601 date") from None
            return value if len(value) == 10 else day.isoformat()

        return convert_date

    if kind == "time":
        def convert_time(value: str) -> str:
            if not value:
                if type(value) is QuotedEmpty:
                    raise Invalid(f"{name}: an empty string is not a time")
                return null()
            try:
                moment = time.fromisoformat(value)
            except ValueError:
                raise Invalid(f"{name} {_shown(value)} is not an ISO 8601 time") from None
            return moment.isoformat()

        return convert_time

    if kind == "json":
        def convert_json(value: str) -> str:
            if not value:
                if type(value) is QuotedEmpty:
                    raise Invalid(f"{name}: an empty string is not JSON")
                return null()
            refusal = json_refusal(value)
            if refusal is not None:
                raise Invalid(f"{name} {refusal}")
            return csv_text(value)

        return convert_json

    # text (and password hashes, whose format the users rule decides)
    limit = column.max_length

    def convert_text(value: str) -> str:
        if not value:
            if type(value) is QuotedEmpty:
                return '""'
            return null()
        if limit and len(value) > limit:
            raise Invalid(f"{name} is {len(value)} characters long; at most {limit} fit")
        if '"' in value or "," in value or "\n" in value or "\r" in value:
            return '"' + value.replace('"', '""') + '"'
        return value

    return convert_text


# --- Row-level checks (the model's multi-column CHECK constraints) ------------------------


def _typed(kind: str) -> Callable[[str], object]:
    if kind == "int":
        return int
    if kind == "decimal":
        return Decimal
    if kind == "date":
        return date.fromisoformat
    if kind == "time":
        return time.fromisoformat
    if kind == "timestamp":
        return datetime.fromisoformat
    if kind == "bool":
        return lambda text: text == "t"
    return lambda text: text


_COMPARE = {
    "exact": lambda a, b: a == b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


def compile_condition(condition: Q, spec: TableSpec, positions: dict[str, int]) -> Callable[[list], bool | None]:
    """A check constraint's condition over a row of COPY text, in SQL's three-valued logic
    (NULL is None; a CHECK fails only when its condition is False)."""
    parts = []
    for child in condition.children:
        if isinstance(child, Q):
            parts.append(compile_condition(child, spec, positions))
            continue
        lookup, value = child
        field_name, _, op = lookup.partition("__")
        op = op or "exact"
        column = spec.columns[spec.field_columns[field_name]]
        pos = positions.get(column.name)
        parts.append(_compile_leaf(column, pos, op, value, spec, positions))
    connector_and = condition.connector == Q.AND
    negated = condition.negated

    def evaluate(out: list) -> bool | None:
        unknown = False
        for part in parts:
            result = part(out)
            if result is None:
                unknown = True
            elif result is not connector_and:  # False in an AND, True in an OR decides
                return (not result) if negated else result
        if unknown:
            return None
        return (not connector_and) if negated else connector_and

    return evaluate


def _compile_leaf(column: Column, pos: int | None, op: str, value, spec: TableSpec, positions: dict[str, int]):
    typed = _typed(column.kind)

    def read(out: list, at: int | None, kind_typed=typed):
        if at is None:
            return None  # the column is not imported: the database default applies; unknown here
        text = out[at]
        if text == "":
            return None
        if text.startswith('"'):
            text = text[1:-1].replace('""', '"')
        return kind_typed(text)

    if op == "isnull":
        def isnull(out: list):
            if pos is None:
                return None
            return (out[pos] == "") is bool(value)

        return isnull
    if op == "in":
        allowed = {str(v) for v in value}

        def within(out: list):
            current = read(out, pos)
            return None if current is None else str(current) in allowed

        return within
    compare = _COMPARE[op]
    if isinstance(value, F):
        other = spec.columns[spec.field_columns[value.name]]
        other_pos = positions.get(other.name)
        other_typed = _typed(other.kind)

        def against_column(out: list):
            left, right = read(out, pos), read(out, other_pos, other_typed)
            return None if left is None or right is None else compare(left, right)

        return against_column
    constant = Decimal(str(value)) if column.kind == "decimal" else value

    def against_constant(out: list):
        current = read(out, pos)
        return None if current is None else compare(current, constant)

    return against_constant


# --- The plan of one source file ----------------------------------------------------------


@dataclass
class TableState:
    """What the import knows of one table's ids while it runs."""

    spec: TableSpec
    values: IdMap = field(default_factory=IdMap)  # id -> tenant (restaurant, platform, ...); 0: absent
    db_ids: IdSet = field(default_factory=IdSet)  # ids in the database before this table's load
    seen: IdSet = field(default_factory=IdSet)  # ids met in the export (when values are not kept)
    rejected: dict[int, int] = field(default_factory=dict)  # rejected id -> line (ids not in the database)
    source_name: str = ""
    unavailable: str | None = None  # why none of the export's rows could be loaded (unparseable file)


@dataclass
class Plan:
    """How one export file's rows become COPY lines of one target table."""

    spec: TableSpec
    file_name: str
    header: list[str]
    copy_columns: list[str]
    identity: tuple[str, ...]
    derived: list[str]
    row: Callable[[list[str]], tuple] = None
    replaced_by_default: dict[str, int] = field(default_factory=dict)
    source: str = ""  # the generated row function's code (for the curious and the debugger)


def normalise_header(header: list[str]) -> list[str]:
    return [name.strip().lstrip("\ufeff").strip().lower() for name in header]


def plan_columns(spec: TableSpec, header: list[str], file_name: str) -> tuple[list[str], tuple[str, ...], list[str]]:
    """(COPY columns, identity columns, derived columns) for a header; HeaderError when it
    names an unknown column or lacks a required one."""
    problems = []
    seen = set()
    for name in header:
        if name in seen:
            problems.append(f"{file_name}: column {name!r} appears twice")
        seen.add(name)
        if name not in spec.columns:
            problems.append(f"{file_name}: unknown column {name!r}")
    if problems:
        raise HeaderError("; ".join(problems))
    derived = []
    if "restaurant_id" in spec.columns and "restaurant_id" not in seen and spec.scope == TenantScope.RESTAURANT:
        if any(fk.column in seen for fk in spec.restaurant_parents):
            derived.append("restaurant_id")
    if "created_at" in seen:
        # A column the export lacks that the database would stamp with the time of writing
        # (orders.received_at, categories.updated_at, ...) takes the row's own created_at:
        # the legacy row was written then, not during the import (and a re-run or a resumed
        # run writes the same value).
        derived += [
            name for name, column in spec.columns.items()
            if name not in seen and column.default == DEFAULT_NOW and column.kind == "timestamp"
        ]
    available = seen | set(derived)
    if "id" in available:
        identity: tuple[str, ...] = ("id",)
    else:
        keys = [u.columns for u in spec.uniques if not u.lower and set(u.columns) <= available]
        if not keys:
            raise HeaderError(f"{file_name}: missing column 'id'")
        identity = keys[0]
    missing = [
        name for name, column in spec.columns.items()
        if name not in available and not column.optional and not column.primary_key
    ]
    if missing:
        raise HeaderError("; ".join(f"{file_name}: missing required column {name!r}" for name in missing))
    return list(header) + derived, identity, derived


def _fast_test(column: Column, var: str, index: int, spec: TableSpec) -> str | None:
    """A Python expression that is True when a raw field can go to COPY exactly as it is (the
    common case, checked inline); anything else goes through the column's converter."""
    sign = _sign_rule(spec, column)
    if column.choices:
        return f"{var} in A{index}"
    if column.kind == "int":
        test = f"{var}.isdigit() and {var}.isascii() and len({var}) < 10"
        return test + (f' and {var}[0] != "0"' if sign == "positive" else "")
    if column.kind == "decimal":
        test = (
            f'(_p := {var}.partition("."))[0].isdigit() and {var}.isascii() and len(_p[0]) <= '
            f"{column.digits - column.places} and (not _p[1] or (_p[2].isdigit() and len(_p[2]) <= {column.places}))"
        )
        return test + (f' and {var}.strip("0.") != ""' if sign == "positive" else "")
    if column.kind in ("text", "password"):
        test = f"""{var} and '"' not in {var} and ',' not in {var} and '\\n' not in {var} and '\\r' not in {var}"""
        return test + (f" and len({var}) <= {column.max_length}" if column.max_length else "")
    return None


def build_plan(
    spec: TableSpec,
    header: list[str],
    *,
    file_name: str,
    states: dict[str, TableState],
    now_text: str,
) -> Plan:
    """Compile the row function of one export file for one target table.

    The function is generated as Python source, specialised to this header: each column's
    usual case is checked inline and only the rest calls the column's converter; foreign
    keys read the parents' id pages directly. It runs for every row, millions of times.
    """
    copy_columns, identity, derived = plan_columns(spec, header, file_name)
    plan = Plan(spec, file_name, header, copy_columns, identity, derived)
    positions = {name: index for index, name in enumerate(copy_columns)}
    variables = {name: f"f{index}" for index, name in enumerate(header)}
    derives_restaurant = "restaurant_id" in derived
    if derives_restaurant:
        variables["restaurant_id"] = "restaurant_text"
    converters = [
        converter(spec, spec.columns[name], now_text=now_text, replaced=plan.replaced_by_default) for name in header
    ]
    folded = _folded_checks(spec)
    checks = [
        (check, compile_condition(check.condition, spec, positions)) for check in spec.checks if check.name not in folded
    ]
    restaurants = states["restaurants"].values

    def platform_of(restaurant: int) -> int:
        return restaurants.get(restaurant)

    def width_error(fields: list[str]) -> RowError:
        return RowError(None, f"the row has {len(fields)} fields, the header {len(header)}")

    def locate(fields: list[str]) -> RowError:
        for index, convert in enumerate(converters):
            try:
                convert(fields[index])
            except Invalid as error:
                return RowError(header[index], str(error))
        return RowError(None, "invalid row")

    def parent_error(column: str, target: TableState, key: int) -> RowError:
        target_name = target.spec.name
        line = target.rejected.get(key)
        if line is not None:
            where = f"{target.source_name} line {line}" if isinstance(line, int) else line
            return RowError(column, f"{column} {key}: depends on {target_name} id {key}, rejected ({where})")
        if target.unavailable:
            return RowError(column, f"{column} {key}: {target_name} id {key} was not imported ({target.unavailable})")
        return RowError(column, f"{column} {key}: no {target_name} row has this id (in the export or the database)")

    def other_restaurant(column: str, target_name: str, key: int, value: int, restaurant: int) -> RowError:
        return RowError(
            column, f"{column} {key}: that {target_name} row belongs to restaurant {value}, this row to restaurant {restaurant}"
        )

    def other_user(column: str, key: int, value: int, restaurant: int) -> RowError | None:
        if value == NO_TENANT or -value == platform_of(restaurant):
            return None
        where = f"restaurant {value}" if value > 0 else f"platform {-value}"
        return RowError(column, f"{column} {key}: that user belongs to {where}, this row to restaurant {restaurant}")

    def other_platform(column: str, target_name: str, key: int, value: int, restaurant: int) -> RowError | None:
        platform = platform_of(restaurant)
        if value == platform:
            return None
        if target_name == "platforms":
            return RowError(column, f"{column} {key}: restaurant {restaurant} belongs to platform {platform}")
        return RowError(
            column, f"{column} {key}: that {target_name} row belongs to platform {value}, "
                    f"restaurant {restaurant} to platform {platform}"
        )

    def failed_check(check: Check) -> RowError:
        return RowError(
            check.columns[0] if len(check.columns) == 1 else None, CHECK_MESSAGES.get(check.name, f"violates {check.name}")
        )

    def password(stored: str) -> str | None:
        """None for a legacy bcrypt hash (kept), else an unusable password (Django's, random)."""
        raw = stored[1:-1].replace('""', '"') if stored.startswith('"') else stored
        return None if is_legacy_bcrypt(raw) else make_password(None)

    namespace = {
        "Invalid": Invalid, "RowError": RowError, "BOOLEANS": _BOOLEANS, "width_error": width_error,
        "locate": locate, "parent_error": parent_error, "other_restaurant": other_restaurant,
        "other_user": other_user, "other_platform": other_platform, "failed_check": failed_check,
        "CHECKS": checks, "password": password, "NO_TENANT": NO_TENANT, "FROMISO": datetime.fromisoformat,
    }
    code = []
    emit = code.append
    names = [variables[name] for name in header]
    emit("def row(fields):")
    emit(f"    if len(fields) != {len(header)}:")
    emit("        raise width_error(fields)")
    emit(f"    {', '.join(names)}, = fields")
    emit("    try:")
    for index, name in enumerate(header):
        column = spec.columns[name]
        var = names[index]
        namespace[f"c{index}"] = converters[index]
        if column.choices:
            namespace[f"A{index}"] = frozenset(column.choices)
        if column.kind == "bool":
            emit(f"        {var} = BOOLEANS.get({var}) or c{index}({var})")
            continue
        if column.kind == "timestamp":
            # the usual ISO 8601 form, validated by Python's parser; anything else (NULL
            # included) by the converter
            emit("        try:")
            emit(f"            FROMISO({var})")
            emit("        except ValueError:")
            emit(f"            {var} = c{index}({var})")
            emit("        else:")
            emit(f'            if not (len({var}) > 16 and {var}[4] == "-" and {var}[7] == "-" and {var}[10] in "T "):')
            emit(f"                {var} = c{index}({var})")
            continue
        test = _fast_test(column, var, index, spec)
        if test and column.nullable:
            test = f"(not {var} and {var}.__class__ is str) or ({test})"  # NULL (not a quoted "")
        if test:
            emit(f"        if not ({test}):")
            emit(f"            {var} = c{index}({var})")
        else:
            emit(f"        {var} = c{index}({var})")
    emit("    except Invalid:")
    emit("        raise locate(fields) from None")
    if "id" in variables:
        emit(f"    ident = int({variables['id']})")
        emit("    if ident <= 0:")
        emit('        raise RowError("id", f"id {ident} is not a positive integer")')
    else:
        emit("    ident = None")

    def lookup(column: str, target: str, var: str, key: str = "key") -> None:
        """Emit: the tenant value of the parent row `key` of `target`, or the parent error."""
        namespace[f"P_{target}"] = states[target].values.pages
        namespace[f"T_{target}"] = states[target]
        emit(f"        {key} = int({var})")
        emit(f"        page = P_{target}.get({key} >> {PAGE_BITS})")
        emit(f"        value = page[{key} & {PAGE_MASK}] if page is not None else 0")
        emit("        if not value:")
        emit(f"            raise parent_error({column!r}, T_{target}, {key})")

    if derives_restaurant:
        parents = [fk for fk in spec.restaurant_parents if fk.column in variables]
        emit("    restaurant = None")
        for number, fk in enumerate(parents):
            emit(f"    {'if' if number == 0 else 'elif'} {variables[fk.column]}:")
            lookup(fk.column, fk.target, variables[fk.column])
            if fk.target == "users":
                emit("        if value <= 0:")
                emit(f'            raise RowError("restaurant_id", f"restaurant_id: user {{key}} ({fk.column}) '
                     f'belongs to no restaurant")')
            emit("        restaurant = value")
        emit("    if restaurant is None:")
        emit('        raise RowError("restaurant_id", "restaurant_id is missing and no parent row gives it")')
        emit("    restaurant_text = str(restaurant)")
    elif "restaurant_id" in variables:
        emit(f"    restaurant = int({variables['restaurant_id']}) if {variables['restaurant_id']} else None")
    else:
        emit("    restaurant = None")
    scope = spec.scope
    for fk in spec.foreign_keys:
        if fk.column not in variables or (
            derives_restaurant and (fk.column == "restaurant_id" or fk in spec.restaurant_parents[:1])
        ):
            continue  # a derived restaurant comes from a parent already looked up
        var = variables[fk.column]
        target_scope = states[fk.target].spec.scope
        emit(f"    if {var}:")
        lookup(fk.column, fk.target, var)
        if fk.column == "restaurant_id" or scope not in (TenantScope.RESTAURANT, TenantScope.USER):
            continue
        emit("        if restaurant is not None:")
        if target_scope == TenantScope.RESTAURANT:
            emit("            if value != restaurant:")
            emit(f"                raise other_restaurant({fk.column!r}, {fk.target!r}, key, value, restaurant)")
        elif target_scope == TenantScope.USER:
            emit("            if value != restaurant:")
            emit(f"                error = other_user({fk.column!r}, key, value, restaurant)")
            emit("                if error is not None:")
            emit("                    raise error")
        elif target_scope in (TenantScope.PLATFORM, TenantScope.PLATFORM_ROW):
            subject = "key" if target_scope == TenantScope.PLATFORM_ROW else "value"
            emit(f"            error = other_platform({fk.column!r}, {fk.target!r}, key, {subject}, restaurant)")
            emit("            if error is not None:")
            emit("                raise error")
        else:
            emit("            pass")
    derived_values = ["restaurant_text" if name == "restaurant_id" else variables["created_at"] for name in derived]
    emit(f"    out = [{', '.join(names + derived_values)}]")
    if checks:
        emit("    for check, evaluate in CHECKS:")
        emit("        if evaluate(out) is False:")
        emit("            raise failed_check(check)")
    if spec.name == "users" and "password_hash" in positions:
        at = positions["password_hash"]
        emit(f"    replaced = password(out[{at}])")
        emit("    if replaced is not None:")
        emit(f"        out[{at}] = replaced")
        emit("        return out, ident, restaurant, True")
    emit("    return out, ident, restaurant, False")
    plan.source = "\n".join(code)
    exec(compile(plan.source, f"<migrate_legacy row of {file_name} for {spec.name}>", "exec"), namespace)
    plan.row = namespace["row"]
    return plan


def tenant_value(spec: TableSpec, out: list[str], positions: dict[str, int], restaurant: int | None) -> int:
    """The value a table's IdMap keeps for a row: what its children's tenant checks compare."""
    scope = spec.scope
    if scope == TenantScope.RESTAURANT:
        return restaurant
    if scope in (TenantScope.PLATFORM, TenantScope.RESTAURANT_ROW):
        return int(out[positions["platform_id"]])
    if scope == TenantScope.USER:
        if restaurant:
            return restaurant
        platform = positions.get("platform_id")
        if platform is not None and out[platform]:
            return -int(out[platform])
        return NO_TENANT
    return PRESENT


# --- Unique keys ---------------------------------------------------------------------------


class UniqueGuard:
    """The unique keys of one table: values of the database and of this export so far (as
    hashes), and of the current batch (exactly). A hash hit is confirmed against the batch
    and the database before a row is rejected as a duplicate; in a dry run, where earlier
    batches are not in the database, a hit not in the batch counts as a duplicate (a 64-bit
    hash collision is the only way that is wrong)."""

    def __init__(self, spec: TableSpec, positions: dict[str, int], lookup: Callable, *, dry_run: bool,
                 capacity: int = 0):
        """`capacity`: the rows to come, so the hashes' table is made as big as they need at once
        (not doubled on the way: old and new both held while it grows)."""
        self.keys = []
        for unique in spec.uniques:
            if not all(column in positions for column in unique.columns):
                continue
            index = tuple(positions[column] for column in unique.columns)
            self.keys.append((unique, index, KeySet(capacity), {}))
        self.lookup = lookup
        self.dry_run = dry_run
        self.table = spec.name
        self.check = self._check_one if len(self.keys) == 1 else self._check_all
        self._seed_later = None  # lazy(): reads the database's keys, when looking them up one by one costs more
        self._lookups_left = 0

    def lazy(self, seed: Callable[[], None], limit: int) -> None:
        """Instead of the database's keys read first (seed), each new key not met in this export is
        looked up in the database (a catch-up: a few new rows in a big table); after `limit` lookups
        `seed` reads them all after all."""
        self._seed_later, self._lookups_left = seed, limit

    def _look_up(self, unique, key) -> None:
        """A key not met in this export, the database's keys not read: RowError when a row holds it."""
        owner = self.lookup(unique, key)
        if owner is not None:
            raise self._duplicate(unique, key, f"{self.table} id {owner} in the database has it")
        self._lookups_left -= 1
        if self._lookups_left <= 0:
            seed, self._seed_later = self._seed_later, None
            seed()

    def seed(self, unique_name: str, values) -> None:
        for unique, _, seen, _ in self.keys:
            if unique.name == unique_name:
                for value in values:
                    seen.add(value)

    @staticmethod
    def _key(unique, index: tuple[int, ...], out: list[str]):
        """A unique key's value as the database holds it (None when a part is NULL)."""
        if len(index) == 1:
            text = out[index[0]]
            if text == "":
                return None
            if text[0] == '"':
                text = text[1:-1].replace('""', '"')
            return text.lower() if unique.lower else text
        values = tuple(out[i] for i in index)
        if "" in values:
            return None
        return tuple(value[1:-1].replace('""', '"') if value[0] == '"' else value for value in values)

    def _confirm(self, unique, key, batch: dict) -> None:
        """A hash hit: RowError when the value is really taken."""
        if key in batch:
            raise self._duplicate(unique, key, f"line {batch[key]} has it too")
        owner = self.lookup(unique, key)
        if owner is not None:
            raise self._duplicate(unique, key, f"{self.table} id {owner} in the database has it")
        if self.dry_run:
            raise self._duplicate(unique, key, "an earlier row of the export has it")

    def _check_one(self, out: list[str], line: int) -> None:
        unique, index, seen, batch = self.keys[0]
        key = self._key(unique, index, out)
        if key is None:
            return
        if not seen.add(key):
            self._confirm(unique, key, batch)
        elif self._seed_later is not None:
            self._look_up(unique, key)
        batch[key] = line

    def _check_all(self, out: list[str], line: int) -> None:
        """Register a new row's keys (all or none); RowError when one is already taken."""
        pending = []
        for unique, index, seen, batch in self.keys:
            key = self._key(unique, index, out)
            if key is None:
                continue
            if key in seen:
                self._confirm(unique, key, batch)
            elif self._seed_later is not None:
                self._look_up(unique, key)
            pending.append((seen, batch, key))
        for seen, batch, key in pending:
            seen.add(key)
            batch[key] = line

    def _duplicate(self, unique, key, where: str) -> RowError:
        shown = key if isinstance(key, str) else ", ".join(key)
        columns = ", ".join(unique.columns)
        return RowError(unique.columns[-1], f"duplicate {columns} {_shown(shown)}: {where} ({unique.name})")

    def end_batch(self) -> None:
        for _, _, _, batch in self.keys:
            batch.clear()


def decimal_or_none(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except (InvalidOperation, TypeError, ValueError):
        return None
