"""Receipt totals with Japanese consumption tax.

Amounts are integers in the currency's minor unit (yen have none). Tax is
computed once per tax rate over the whole receipt and rounded down, as a
qualified invoice requires, rather than per line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class TaxCategory(StrEnum):
    STANDARD = "standard"  # 10%
    REDUCED = "reduced"  # 8%: food and drink to take away, newspapers
    EXEMPT = "exempt"  # 0%

    @property
    def rate_percent(self) -> int:
        return _RATES[self]


_RATES = {TaxCategory.STANDARD: 10, TaxCategory.REDUCED: 8, TaxCategory.EXEMPT: 0}


@dataclass(frozen=True)
class Line:
    unit_price: int
    quantity: int
    category: TaxCategory = TaxCategory.STANDARD
    discount: int = 0

    def __post_init__(self) -> None:
        if self.unit_price < 0:
            raise ValueError("unit_price must not be negative")
        if self.quantity < 1:
            raise ValueError("quantity must be at least 1")
        if self.discount < 0:
            raise ValueError("discount must not be negative")
        if self.discount > self.gross:
            raise ValueError("discount exceeds the line amount")

    @property
    def gross(self) -> int:
        return self.unit_price * self.quantity

    @property
    def amount(self) -> int:
        return self.gross - self.discount


@dataclass(frozen=True)
class TaxBucket:
    category: TaxCategory
    rate_percent: int
    taxable_amount: int
    tax: int


@dataclass(frozen=True)
class Totals:
    subtotal: int
    tax_total: int
    total: int
    discount_total: int
    item_count: int
    buckets: tuple[TaxBucket, ...]


def compute_totals(lines: Iterable[Line], *, prices_include_tax: bool = False) -> Totals:
    """Totals for a receipt.

    With ``prices_include_tax`` the line amounts already contain tax and the tax
    is extracted (amount * rate / (100 + rate), rounded down); otherwise it is
    added on top (amount * rate / 100, rounded down).
    """
    lines = list(lines)
    if not lines:
        raise ValueError("a receipt needs at least one line")

    sums: dict[TaxCategory, int] = {}
    for line in lines:
        sums[line.category] = sums.get(line.category, 0) + line.amount

    buckets: list[TaxBucket] = []
    for category in TaxCategory:
        if category not in sums:
            continue
        amount = sums[category]
        rate = category.rate_percent
        tax = amount * rate // (100 + rate) if prices_include_tax else amount * rate // 100
        buckets.append(TaxBucket(category, rate, amount, tax))

    tax_total = sum(b.tax for b in buckets)
    line_total = sum(sums.values())
    subtotal = line_total - tax_total if prices_include_tax else line_total
    return Totals(
        subtotal=subtotal,
        tax_total=tax_total,
        total=subtotal + tax_total,
        discount_total=sum(line.discount for line in lines),
        item_count=sum(line.quantity for line in lines),
        buckets=tuple(buckets),
    )
