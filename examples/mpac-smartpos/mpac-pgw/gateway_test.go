package main

import (
	"errors"
	"testing"
	"time"
)

func testGateway() *Gateway {
	g := NewGateway()
	g.now = func() time.Time { return now }
	return g
}

func request(number string, amount int64) AuthorizeRequest {
	return AuthorizeRequest{
		MerchantID: "M-1001",
		Amount:     amount,
		Currency:   "jpy",
		Card:       Card{Number: number, ExpiryMonth: 6, ExpiryYear: 2029, CVC: "123"},
	}
}

func TestAuthorize(t *testing.T) {
	g := testGateway()
	auth, err := g.Authorize(request("5555 5555 5555 4444", 1980), "")
	if err != nil {
		t.Fatal(err)
	}
	want := Authorization{
		ID: "auth_00000001", Status: StatusAuthorized, MerchantID: "M-1001", Amount: 1980,
		Currency: "JPY", Brand: BrandMastercard, Last4: "4444", CreatedAt: now,
	}
	if auth != want {
		t.Fatalf("got %+v\nwant %+v", auth, want)
	}
	if got, err := g.Get(auth.ID); err != nil || got != auth {
		t.Fatalf("Get: %+v %v", got, err)
	}
	if _, err := g.Get("auth_99"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
}

func TestDeclines(t *testing.T) {
	g := testGateway()
	for number, reason := range simulatedDeclines {
		auth, err := g.Authorize(request(number, 500), "")
		if err != nil || auth.Status != StatusDeclined || auth.DeclineReason != reason {
			t.Errorf("%s: %+v %v", number, auth, err)
		}
	}
	auth, err := g.Authorize(request("4111111111111111", 1_000_001), "")
	if err != nil || auth.DeclineReason != "amount_over_limit" {
		t.Errorf("over limit: %+v %v", auth, err)
	}
}

func TestInvalidRequests(t *testing.T) {
	g := testGateway()
	bad := []AuthorizeRequest{
		func() AuthorizeRequest { r := request("4111111111111111", 100); r.MerchantID = " "; return r }(),
		func() AuthorizeRequest { r := request("4111111111111111", 100); r.Currency = "EUR"; return r }(),
		request("4111111111111111", 0),
		request("4111111111111112", 100),
	}
	for _, r := range bad {
		if _, err := g.Authorize(r, ""); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v", r, err)
		}
	}
}

func TestIdempotency(t *testing.T) {
	g := testGateway()
	first, err := g.Authorize(request("4111111111111111", 300), "key-1")
	if err != nil {
		t.Fatal(err)
	}
	again, err := g.Authorize(request("4111111111111111", 300), "key-1")
	if err != nil || again != first {
		t.Fatalf("replay returned %+v %v", again, err)
	}
	if _, err := g.Authorize(request("4111111111111111", 301), "key-1"); !errors.Is(err, ErrReplay) {
		t.Fatalf("different request with the same key: %v", err)
	}
	other, _ := g.Authorize(request("4111111111111111", 300), "key-2")
	if other.ID == first.ID {
		t.Fatal("a new key must create a new authorization")
	}
}
