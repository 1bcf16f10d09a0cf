"""Merchants and their payment terminals.

The directory is an in-memory stand-in for the portal's database; it is seeded
with a few merchants so the API has something real to serve.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class TerminalStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    RETIRED = "retired"


@dataclass(frozen=True)
class Terminal:
    serial: str
    model: str
    status: TerminalStatus

    @property
    def can_take_payments(self) -> bool:
        return self.status is TerminalStatus.ACTIVE


@dataclass(frozen=True)
class Merchant:
    merchant_id: str
    name: str
    currency: str
    terminals: tuple[Terminal, ...] = field(default_factory=tuple)

    def terminal(self, serial: str) -> Terminal | None:
        for terminal in self.terminals:
            if terminal.serial == serial.upper():
                return terminal
        return None

    @property
    def active_terminal_count(self) -> int:
        return sum(1 for t in self.terminals if t.can_take_payments)


class MerchantDirectory:
    def __init__(self, merchants: list[Merchant]) -> None:
        self._by_id: dict[str, Merchant] = {}
        for merchant in merchants:
            key = merchant.merchant_id.upper()
            if key in self._by_id:
                raise ValueError(f"duplicate merchant id {merchant.merchant_id}")
            self._by_id[key] = merchant

    def get(self, merchant_id: str) -> Merchant | None:
        return self._by_id.get(merchant_id.upper())

    def __len__(self) -> int:
        return len(self._by_id)


def seed_directory() -> MerchantDirectory:
    return MerchantDirectory(
        [
            Merchant(
                merchant_id="M-1001",
                name="Ginza Coffee Stand",
                currency="JPY",
                terminals=(
                    Terminal("SP-000101", "SmartPOS S2", TerminalStatus.ACTIVE),
                    Terminal("SP-000102", "SmartPOS S2", TerminalStatus.SUSPENDED),
                ),
            ),
            Merchant(
                merchant_id="M-1002",
                name="Umeda Books",
                currency="JPY",
                terminals=(
                    Terminal("SP-000201", "SmartPOS Mini", TerminalStatus.ACTIVE),
                    Terminal("SP-000202", "SmartPOS Mini", TerminalStatus.ACTIVE),
                    Terminal("SP-000203", "SmartPOS S1", TerminalStatus.RETIRED),
                ),
            ),
        ]
    )
