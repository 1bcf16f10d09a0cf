package main

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Card brands the gateway accepts.
const (
	BrandVisa       = "visa"
	BrandMastercard = "mastercard"
	BrandJCB        = "jcb"
	BrandAmex       = "amex"
)

// Card is what a terminal sends; the full number never leaves this package
// except as its brand and last four digits.
type Card struct {
	Number      string `json:"number"`
	ExpiryMonth int    `json:"expiry_month"`
	ExpiryYear  int    `json:"expiry_year"`
	CVC         string `json:"cvc"`
}

var (
	errNumberFormat = errors.New("card number must be 12 to 19 digits")
	errLuhn         = errors.New("card number fails the Luhn check")
	errBrand        = errors.New("card brand not accepted")
	errExpiry       = errors.New("card has expired or expiry is invalid")
	errCVC          = errors.New("cvc has the wrong length for the brand")
)

// normalizeNumber strips the spaces and dashes people type and checks that
// what is left is 12 to 19 digits.
func normalizeNumber(number string) (string, error) {
	n := strings.NewReplacer(" ", "", "-", "").Replace(number)
	if len(n) < 12 || len(n) > 19 {
		return "", errNumberFormat
	}
	for _, c := range n {
		if c < '0' || c > '9' {
			return "", errNumberFormat
		}
	}
	return n, nil
}

// luhnValid reports whether a string of digits passes the Luhn checksum.
func luhnValid(digits string) bool {
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// brandOf identifies the brand from the number's prefix (IIN range) and length.
func brandOf(n string) string {
	prefix := func(k int) int {
		v, _ := strconv.Atoi(n[:k])
		return v
	}
	switch {
	case n[0] == '4' && (len(n) == 13 || len(n) == 16 || len(n) == 19):
		return BrandVisa
	case len(n) == 16 && (between(prefix(2), 51, 55) || between(prefix(4), 2221, 2720)):
		return BrandMastercard
	case len(n) >= 16 && between(prefix(4), 3528, 3589):
		return BrandJCB
	case len(n) == 15 && (prefix(2) == 34 || prefix(2) == 37):
		return BrandAmex
	}
	return ""
}

func between(v, lo, hi int) bool { return v >= lo && v <= hi }

// expired reports whether the card is past the end of its expiry month.
func expired(month, year int, now time.Time) bool {
	if month < 1 || month > 12 || year < 2000 || year > 2100 {
		return true
	}
	firstOfNext := time.Date(year, time.Month(month)+1, 1, 0, 0, 0, 0, time.UTC)
	return !now.UTC().Before(firstOfNext)
}

// validate checks a card and returns its normalized number and brand.
func (c Card) validate(now time.Time) (number, brand string, err error) {
	number, err = normalizeNumber(c.Number)
	if err != nil {
		return "", "", err
	}
	if !luhnValid(number) {
		return "", "", errLuhn
	}
	brand = brandOf(number)
	if brand == "" {
		return "", "", errBrand
	}
	if expired(c.ExpiryMonth, c.ExpiryYear, now) {
		return "", "", errExpiry
	}
	wantCVC := 3
	if brand == BrandAmex {
		wantCVC = 4
	}
	if len(c.CVC) != wantCVC || strings.Trim(c.CVC, "0123456789") != "" {
		return "", "", errCVC
	}
	return number, brand, nil
}
