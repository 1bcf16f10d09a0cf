import pytest

from app.receipts import Line, TaxCategory, compute_totals


def test_tax_added_on_top_and_rounded_down_once_per_rate() -> None:
    totals = compute_totals(
        [
            Line(unit_price=333, quantity=1),
            Line(unit_price=333, quantity=2),
            Line(unit_price=129, quantity=1, category=TaxCategory.REDUCED),
        ]
    )
    # standard: 999 * 10 / 100 = 99.9 -> 99; reduced: 129 * 8 / 100 = 10.32 -> 10
    assert totals.subtotal == 1128
    assert totals.tax_total == 109
    assert totals.total == 1237
    assert totals.item_count == 4
    assert [(b.category, b.taxable_amount, b.tax) for b in totals.buckets] == [
        (TaxCategory.STANDARD, 999, 99),
        (TaxCategory.REDUCED, 129, 10),
    ]


def test_per_receipt_rounding_differs_from_per_line_rounding() -> None:
    # Three lines of 105 yen: per line 10.5 -> 10 each = 30; per receipt 31.5 -> 31.
    totals = compute_totals([Line(unit_price=105, quantity=1) for _ in range(3)])
    assert totals.tax_total == 31


def test_tax_included_prices_extract_the_tax() -> None:
    totals = compute_totals(
        [
            Line(unit_price=1100, quantity=1),
            Line(unit_price=540, quantity=1, category=TaxCategory.REDUCED),
        ],
        prices_include_tax=True,
    )
    assert totals.total == 1640
    assert totals.tax_total == 100 + 40
    assert totals.subtotal == 1500


def test_discounts_reduce_the_taxable_amount() -> None:
    totals = compute_totals([Line(unit_price=500, quantity=2, discount=200)])
    assert totals.discount_total == 200
    assert totals.subtotal == 800
    assert totals.tax_total == 80
    assert totals.total == 880


def test_exempt_lines_carry_no_tax() -> None:
    totals = compute_totals([Line(unit_price=3000, quantity=1, category=TaxCategory.EXEMPT)])
    assert totals.tax_total == 0
    assert totals.buckets[0].rate_percent == 0


def test_empty_receipt_is_rejected() -> None:
    with pytest.raises(ValueError, match="at least one line"):
        compute_totals([])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"unit_price": -1, "quantity": 1}, "unit_price"),
        ({"unit_price": 100, "quantity": 0}, "quantity"),
        ({"unit_price": 100, "quantity": 1, "discount": -5}, "discount must not"),
        ({"unit_price": 100, "quantity": 2, "discount": 201}, "exceeds"),
    ],
)
def test_invalid_lines_are_rejected(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Line(**kwargs)
