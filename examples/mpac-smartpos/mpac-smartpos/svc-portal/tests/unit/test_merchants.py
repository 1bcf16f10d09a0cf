import pytest

from app.merchants import Merchant, MerchantDirectory, TerminalStatus, seed_directory


def test_seeded_directory_lookups_ignore_case() -> None:
    directory = seed_directory()
    assert len(directory) == 2
    merchant = directory.get("m-1001")
    assert merchant is not None
    assert merchant.name == "Ginza Coffee Stand"
    terminal = merchant.terminal("sp-000102")
    assert terminal is not None
    assert terminal.status is TerminalStatus.SUSPENDED
    assert not terminal.can_take_payments
    assert merchant.active_terminal_count == 1


def test_unknown_merchant_and_terminal() -> None:
    directory = seed_directory()
    assert directory.get("M-9999") is None
    merchant = directory.get("M-1002")
    assert merchant is not None
    assert merchant.terminal("SP-000101") is None


def test_duplicate_merchant_ids_are_rejected() -> None:
    merchant = Merchant(merchant_id="M-1", name="A", currency="JPY")
    with pytest.raises(ValueError, match="duplicate"):
        MerchantDirectory([merchant, Merchant(merchant_id="m-1", name="B", currency="JPY")])
