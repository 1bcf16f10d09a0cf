package main

import (
	"errors"
	"testing"
	"time"
)

var now = time.Date(2026, 1, 28, 10, 30, 0, 0, time.UTC)

func TestLuhn(t *testing.T) {
	for _, n := range []string{"4111111111111111", "378282246310005", "3530111333300000", "5555555555554444", "79927398713"} {
		if !luhnValid(n) {
			t.Errorf("%s should pass", n)
		}
	}
	for _, n := range []string{"4111111111111112", "378282246310006", "79927398710"} {
		if luhnValid(n) {
			t.Errorf("%s should fail", n)
		}
	}
}

func TestBrandOf(t *testing.T) {
	cases := map[string]string{
		"4111111111111111":    BrandVisa,
		"4222222222222":       BrandVisa,
		"4111111111111111000": BrandVisa,
		"5555555555554444":    BrandMastercard,
		"2223003122003222":    BrandMastercard,
		"3530111333300000":    BrandJCB,
		"3566002020360505":    BrandJCB,
		"378282246310005":     BrandAmex,
		"371449635398431":     BrandAmex,
		"6011111111111117":    "", // Discover
		"30569309025904":      "", // Diners
		"41111111111111":      "", // Visa prefix, wrong length
	}
	for n, want := range cases {
		if got := brandOf(n); got != want {
			t.Errorf("brandOf(%s) = %q, want %q", n, got, want)
		}
	}
}

func TestNormalizeNumber(t *testing.T) {
	if n, err := normalizeNumber("4111 1111-1111 1111"); err != nil || n != "4111111111111111" {
		t.Fatalf("%q %v", n, err)
	}
	for _, bad := range []string{"", "41111111111", "41111111111111111111", "4111x11111111111"} {
		if _, err := normalizeNumber(bad); !errors.Is(err, errNumberFormat) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestExpired(t *testing.T) {
	cases := []struct {
		month, year int
		want        bool
	}{
		{1, 2026, false}, // valid through the end of January
		{12, 2025, true},
		{2, 2031, false},
		{0, 2027, true},
		{13, 2027, true},
		{5, 1999, true},
	}
	for _, c := range cases {
		if got := expired(c.month, c.year, now); got != c.want {
			t.Errorf("expired(%d, %d) = %v", c.month, c.year, got)
		}
	}
	if !expired(1, 2026, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)) {
		t.Error("a January card is expired on February 1st")
	}
}

func TestValidate(t *testing.T) {
	good := Card{Number: "4111 1111 1111 1111", ExpiryMonth: 12, ExpiryYear: 2028, CVC: "123"}
	if n, brand, err := good.validate(now); err != nil || n != "4111111111111111" || brand != BrandVisa {
		t.Fatalf("%s %s %v", n, brand, err)
	}
	amex := Card{Number: "378282246310005", ExpiryMonth: 12, ExpiryYear: 2028, CVC: "1234"}
	if _, _, err := amex.validate(now); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		card Card
		want error
	}{
		{Card{Number: "12", ExpiryMonth: 1, ExpiryYear: 2030, CVC: "123"}, errNumberFormat},
		{Card{Number: "4111111111111112", ExpiryMonth: 1, ExpiryYear: 2030, CVC: "123"}, errLuhn},
		{Card{Number: "6011111111111117", ExpiryMonth: 1, ExpiryYear: 2030, CVC: "123"}, errBrand},
		{Card{Number: "4111111111111111", ExpiryMonth: 1, ExpiryYear: 2020, CVC: "123"}, errExpiry},
		{Card{Number: "4111111111111111", ExpiryMonth: 1, ExpiryYear: 2030, CVC: "1234"}, errCVC},
		{Card{Number: "4111111111111111", ExpiryMonth: 1, ExpiryYear: 2030, CVC: "12a"}, errCVC},
		{Card{Number: "378282246310005", ExpiryMonth: 1, ExpiryYear: 2030, CVC: "123"}, errCVC},
	}
	for _, c := range cases {
		if _, _, err := c.card.validate(now); !errors.Is(err, c.want) {
			t.Errorf("%+v: got %v, want %v", c.card, err, c.want)
		}
	}
}
