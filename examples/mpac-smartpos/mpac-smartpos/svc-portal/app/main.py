"""svc-portal: the merchant portal API of the MPAC SmartPOS platform."""

from __future__ import annotations

import os
from typing import Annotated

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

from app.merchants import Merchant, Terminal, seed_directory
from app.receipts import Line, TaxCategory, compute_totals

SERVICE_NAME = "svc-portal"
VERSION = "0.1.0"
DEFAULT_PORT = 8002

app = FastAPI(title=SERVICE_NAME, version=VERSION)
directory = seed_directory()


class Health(BaseModel):
    status: str
    service: str
    version: str


class TerminalOut(BaseModel):
    serial: str
    model: str
    status: str
    can_take_payments: bool


class MerchantOut(BaseModel):
    merchant_id: str
    name: str
    currency: str
    active_terminals: int
    terminals: list[TerminalOut]


class LineIn(BaseModel):
    sku: Annotated[str, Field(min_length=1, max_length=64)]
    unit_price: Annotated[int, Field(ge=0, le=10_000_000)]
    quantity: Annotated[int, Field(ge=1, le=999)] = 1
    category: TaxCategory = TaxCategory.STANDARD
    discount: Annotated[int, Field(ge=0)] = 0


class ReceiptIn(BaseModel):
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "JPY"
    prices_include_tax: bool = False
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=200)]


class TaxBucketOut(BaseModel):
    category: TaxCategory
    rate_percent: int
    taxable_amount: int
    tax: int


class ReceiptOut(BaseModel):
    currency: str
    subtotal: int
    discount_total: int
    tax_total: int
    total: int
    item_count: int
    tax_breakdown: list[TaxBucketOut]


def _terminal_out(terminal: Terminal) -> TerminalOut:
    return TerminalOut(
        serial=terminal.serial,
        model=terminal.model,
        status=terminal.status.value,
        can_take_payments=terminal.can_take_payments,
    )


def _find_merchant(merchant_id: str) -> Merchant:
    merchant = directory.get(merchant_id)
    if merchant is None:
        raise HTTPException(status_code=404, detail=f"merchant {merchant_id} not found")
    return merchant


@app.get("/health")
def health() -> Health:
    return Health(status="ok", service=SERVICE_NAME, version=VERSION)


@app.get("/v1/merchants/{merchant_id}")
def get_merchant(merchant_id: str) -> MerchantOut:
    merchant = _find_merchant(merchant_id)
    return MerchantOut(
        merchant_id=merchant.merchant_id,
        name=merchant.name,
        currency=merchant.currency,
        active_terminals=merchant.active_terminal_count,
        terminals=[_terminal_out(t) for t in merchant.terminals],
    )


@app.get("/v1/merchants/{merchant_id}/terminals/{serial}")
def get_terminal(merchant_id: str, serial: str) -> TerminalOut:
    terminal = _find_merchant(merchant_id).terminal(serial)
    if terminal is None:
        raise HTTPException(
            status_code=404, detail=f"terminal {serial} not registered to {merchant_id}"
        )
    return _terminal_out(terminal)


@app.post("/v1/receipts/total")
def receipt_total(receipt: ReceiptIn) -> ReceiptOut:
    try:
        lines = [
            Line(
                unit_price=line.unit_price,
                quantity=line.quantity,
                category=line.category,
                discount=line.discount,
            )
            for line in receipt.lines
        ]
    except ValueError as err:
        raise HTTPException(status_code=422, detail=str(err)) from err
    totals = compute_totals(lines, prices_include_tax=receipt.prices_include_tax)
    return ReceiptOut(
        currency=receipt.currency,
        subtotal=totals.subtotal,
        discount_total=totals.discount_total,
        tax_total=totals.tax_total,
        total=totals.total,
        item_count=totals.item_count,
        tax_breakdown=[
            TaxBucketOut(
                category=b.category,
                rate_percent=b.rate_percent,
                taxable_amount=b.taxable_amount,
                tax=b.tax,
            )
            for b in totals.buckets
        ],
    )


def port_from_env(env: dict[str, str] | None = None) -> int:
    value = (os.environ if env is None else env).get("PORT", "")
    if not value:
        return DEFAULT_PORT
    port = int(value)
    if not 0 < port < 65536:
        raise ValueError(f"PORT out of range: {value}")
    return port


def run() -> None:  # pragma: no cover - starts a server
    import uvicorn

    uvicorn.run(app, host="0.0.0.0", port=port_from_env())


if __name__ == "__main__":  # pragma: no cover
    run()
