import pytest
from fastapi.testclient import TestClient

from app.main import DEFAULT_PORT, app, port_from_env

client = TestClient(app)


def test_health() -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "service": "svc-portal", "version": "0.1.0"}


def test_get_merchant() -> None:
    response = client.get("/v1/merchants/M-1002")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Umeda Books"
    assert body["active_terminals"] == 2
    assert [t["serial"] for t in body["terminals"]] == ["SP-000201", "SP-000202", "SP-000203"]


def test_get_terminal() -> None:
    response = client.get("/v1/merchants/M-1001/terminals/SP-000101")
    assert response.status_code == 200
    assert response.json() == {
        "serial": "SP-000101",
        "model": "SmartPOS S2",
        "status": "active",
        "can_take_payments": True,
    }


def test_unknown_merchant_and_terminal_are_404() -> None:
    assert client.get("/v1/merchants/M-0000").status_code == 404
    response = client.get("/v1/merchants/M-1001/terminals/SP-999999")
    assert response.status_code == 404
    assert "not registered" in response.json()["detail"]


def test_receipt_total() -> None:
    response = client.post(
        "/v1/receipts/total",
        json={
            "lines": [
                {"sku": "latte", "unit_price": 480, "quantity": 2},
                {"sku": "sandwich", "unit_price": 390, "category": "reduced", "discount": 50},
            ]
        },
    )
    assert response.status_code == 200
    assert response.json() == {
        "currency": "JPY",
        "subtotal": 1300,
        "discount_total": 50,
        "tax_total": 96 + 27,
        "total": 1423,
        "item_count": 3,
        "tax_breakdown": [
            {"category": "standard", "rate_percent": 10, "taxable_amount": 960, "tax": 96},
            {"category": "reduced", "rate_percent": 8, "taxable_amount": 340, "tax": 27},
        ],
    }


@pytest.mark.parametrize(
    "payload",
    [
        {"lines": []},
        {"lines": [{"sku": "x", "unit_price": -1}]},
        {"currency": "yen", "lines": [{"sku": "x", "unit_price": 1}]},
        {"lines": [{"sku": "x", "unit_price": 100, "discount": 101}]},
    ],
)
def test_invalid_receipts_are_422(payload: dict[str, object]) -> None:
    assert client.post("/v1/receipts/total", json=payload).status_code == 422


def test_port_from_env() -> None:
    assert port_from_env({}) == DEFAULT_PORT == 8002
    assert port_from_env({"PORT": ""}) == 8002
    assert port_from_env({"PORT": "9100"}) == 9100
    with pytest.raises(ValueError):
        port_from_env({"PORT": "70000"})
    with pytest.raises(ValueError):
        port_from_env({"PORT": "http"})
    assert port_from_env() > 0
