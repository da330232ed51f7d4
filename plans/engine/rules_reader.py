"""Reading a plan version's rules JSON: ``_Reader`` checks each value (objects, integers,
booleans, text, exact decimals, choices, lists) and collects every problem with its path
instead of stopping at the first, so a form can show them all. Split from
``plans.engine.rules``, whose ``parse_rules`` is built on it and which re-exports
``MONEY_MAX``. No Django.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from plans.engine.money import quantize_money

MONEY_MAX = Decimal("100000000")
_PLAIN_NUMBER = re.compile(r"^[0-9]+(\.[0-9]+)?$")

T = TypeVar("T")


class _Reader:
    """Collects every problem instead of stopping at the first, so a form can show them all."""

    def __init__(self) -> None:
        self.errors: list[tuple[str, str]] = []

    def fail(self, path: str, message: str) -> None:
        self.errors.append((path, message))

    def obj(self, data: Any, path: str, allowed: Iterable[str]) -> Mapping[str, Any]:
        if not isinstance(data, Mapping):
            self.fail(path, "应为一个对象（键值表）")
            return {}
        unknown = sorted(set(data) - set(allowed))
        for key in unknown:
            self.fail(_join(path, key), "不认识的规则项")
        return data

    def required(self, data: Mapping[str, Any], key: str, path: str) -> Any:
        if key not in data or data[key] is None:
            self.fail(_join(path, key), "必填")
            return None
        return data[key]

    def integer(
        self,
        data: Mapping[str, Any],
        key: str,
        path: str,
        *,
        minimum: int = 0,
        maximum: int | None = None,
        default: Any = ...,
        nullable: bool = False,
    ) -> int | None:
        where = _join(path, key)
        if key not in data or data[key] is None:
            if nullable and key in data:
                return None
            if default is not ...:
                return default
            self.fail(where, "必填")
            return None
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(where, "应为整数")
            return None
        if value < minimum:
            self.fail(where, f"不能小于 {minimum}")
        if maximum is not None and value > maximum:
            self.fail(where, f"不能大于 {maximum}")
        return value

    def boolean(self, data: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            self.fail(_join(path, key), "应为 true 或 false")
            return default
        return value

    def text(self, data: Mapping[str, Any], key: str, path: str, *, max_len: int = 200) -> str:
        value = self.required(data, key, path)
        if value is None:
            return ""
        if not isinstance(value, str) or not value.strip():
            self.fail(_join(path, key), "应为非空文字")
            return ""
        if len(value.strip()) > max_len:
            self.fail(_join(path, key), f"不能超过 {max_len} 个字")
        return value.strip()

    def decimal(
        self,
        data: Mapping[str, Any],
        key: str,
        path: str,
        *,
        money: bool = True,
        nullable: bool = False,
        default: Any = ...,
        maximum: Decimal | None = None,
    ) -> Decimal | None:
        where = _join(path, key)
        if key not in data or data[key] is None:
            if nullable and key in data:
                return None
            if default is not ...:
                return default
            self.fail(where, "必填")
            return None
        return self.decimal_value(data[key], where, money=money, maximum=maximum)

    def decimal_value(
        self, raw: Any, where: str, *, money: bool = True, maximum: Decimal | None = None
    ) -> Decimal | None:
        # Floats are refused: 0.1 + 0.2 is not 0.3, and rules about money must be exact.
        if isinstance(raw, bool) or not isinstance(raw, (str, int)):
            self.fail(where, '应为写成文字的数字，例如 "110.00"')
            return None
        text = str(raw).strip()
        if text.startswith("-"):
            self.fail(where, "不能为负数")
            return None
        # Only plain digits with an optional fraction: no exponents, signs, underscores or
        # full-width digits, so what an admin sees is exactly what the engine computes with.
        if not _PLAIN_NUMBER.match(text):
            self.fail(where, "不是有效的数字")
            return None
        try:
            value = Decimal(text)
        except InvalidOperation:
            self.fail(where, "不是有效的数字")
            return None
        if value > MONEY_MAX:
            self.fail(where, f"不能大于 {MONEY_MAX}")
            return None
        if maximum is not None and value > maximum:
            self.fail(where, f"不能大于 {maximum}")
        if money:
            if value != value.quantize(Decimal("0.01")):
                self.fail(where, "金额最多两位小数")
            return quantize_money(value)
        return value

    def choices(
        self,
        data: Mapping[str, Any],
        key: str,
        path: str,
        allowed: Iterable[str],
        *,
        default: Any = ...,
        allow_empty: bool = False,
    ) -> tuple[str, ...]:
        where = _join(path, key)
        if key not in data:
            if default is not ...:
                return default
            self.fail(where, "必填")
            return ()
        values = data[key]
        allowed = tuple(allowed)
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            self.fail(where, "应为文字列表")
            return ()
        if not values and not allow_empty:
            self.fail(where, "至少选择一项")
        for value in values:
            if value not in allowed:
                self.fail(where, f"“{value}”不是可选值（可选：{'、'.join(allowed)}）")
        if len(set(values)) != len(values):
            self.fail(where, "有重复项")
        return tuple(values)

    def one_of(
        self,
        data: Mapping[str, Any],
        key: str,
        path: str,
        allowed: Iterable[str],
        default: Any = ...,
    ) -> str:
        value = data.get(key, default)
        allowed = tuple(allowed)
        if value is ...:
            self.fail(_join(path, key), "必填")
            return allowed[0]
        if value not in allowed:
            self.fail(_join(path, key), f"应为以下之一：{'、'.join(allowed)}")
            return allowed[0]
        return value

    def items(
        self,
        data: Mapping[str, Any],
        key: str,
        path: str,
        parse: Callable[[Any, str], T],
        *,
        default: Any = ...,
    ) -> tuple[T, ...]:
        where = _join(path, key)
        if key not in data:
            if default is not ...:
                return default
            self.fail(where, "必填")
            return ()
        values = data[key]
        if not isinstance(values, list):
            self.fail(where, "应为列表")
            return ()
        return tuple(parse(value, f"{where}[{index}]") for index, value in enumerate(values))


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
