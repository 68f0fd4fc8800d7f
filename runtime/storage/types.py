"""Column types that keep values exact on both databases."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

ID_TYPE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class ExactDecimal(TypeDecorator[Decimal]):
    """NUMERIC(p, s) that always reads back a ``Decimal`` quantized to the scale.

    PostgreSQL stores it exactly. SQLite has no decimal type and keeps a double, which
    round-trips exactly up to 15 significant digits; values are quantized on the way out
    so ``272000`` reads back as ``Decimal("272000.00")``.
    """

    impl = sa.Numeric
    cache_ok = True

    def __init__(self, precision: int, scale: int) -> None:
        super().__init__(precision=precision, scale=scale, asdecimal=True)
        self.precision = precision
        self.scale = scale
        self._quantum = Decimal(1).scaleb(-scale)

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.Numeric(self.precision, self.scale, asdecimal=False))
        return dialect.type_descriptor(sa.Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        dec = Decimal(str(value))
        return float(dec) if dialect.name == "sqlite" else dec

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(repr(value) if isinstance(value, float) else str(value)).quantize(
            self._quantum
        )
