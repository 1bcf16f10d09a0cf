package main

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Authorization is the gateway's answer to an authorize request.
type Authorization struct {
	ID            string    `json:"id"`
	Status        string    `json:"status"`
	DeclineReason string    `json:"decline_reason,omitempty"`
	MerchantID    string    `json:"merchant_id"`
	Amount        int64     `json:"amount"`
	Currency      string    `json:"currency"`
	Brand         string    `json:"brand"`
	Last4         string    `json:"last4"`
	CreatedAt     time.Time `json:"created_at"`
}

// AuthorizeRequest asks to hold Amount (in the currency's minor unit) on a card.
type AuthorizeRequest struct {
	MerchantID string `json:"merchant_id"`
	Amount     int64  `json:"amount"`
	Currency   string `json:"currency"`
	Card       Card   `json:"card"`
}

const (
	StatusAuthorized = "authorized"
	StatusDeclined   = "declined"
)

// Per-currency ceilings for a single authorization, in minor units.
var amountLimits = map[string]int64{
	"JPY": 1_000_000,
	"USD": 1_000_000, // 10,000.00
}

// Test numbers the issuer simulator declines, as card networks' sandboxes do.
var simulatedDeclines = map[string]string{
	"4000000000000002": "card_declined",
	"4000000000009995": "insufficient_funds",
	"5105105105105100": "do_not_honor",
}

var (
	ErrInvalid  = errors.New("invalid request")
	ErrNotFound = errors.New("authorization not found")
	ErrReplay   = errors.New("idempotency key reused with a different request")
)

type stored struct {
	auth        Authorization
	fingerprint string
}

// Gateway authorizes payments and remembers them in memory.
type Gateway struct {
	mu    sync.Mutex
	byID  map[string]*stored
	byKey map[string]*stored
	next  int
	now   func() time.Time
}

func NewGateway() *Gateway {
	return &Gateway{byID: map[string]*stored{}, byKey: map[string]*stored{}, now: time.Now}
}

// Authorize validates the request and authorizes or declines it. A repeated
// idempotency key returns the first answer instead of charging twice.
func (g *Gateway) Authorize(req AuthorizeRequest, idempotencyKey string) (Authorization, error) {
	now := g.now()
	req.Currency = strings.ToUpper(req.Currency)
	limit, ok := amountLimits[req.Currency]
	switch {
	case strings.TrimSpace(req.MerchantID) == "":
		return Authorization{}, fmt.Errorf("%w: merchant_id is required", ErrInvalid)
	case !ok:
		return Authorization{}, fmt.Errorf("%w: currency %q not supported", ErrInvalid, req.Currency)
	case req.Amount <= 0:
		return Authorization{}, fmt.Errorf("%w: amount must be positive", ErrInvalid)
	}
	number, brand, err := req.Card.validate(now)
	if err != nil {
		return Authorization{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	fingerprint := fmt.Sprintf("%s|%d|%s|%s", req.MerchantID, req.Amount, req.Currency, number)

	g.mu.Lock()
	defer g.mu.Unlock()
	if idempotencyKey != "" {
		if prev, ok := g.byKey[idempotencyKey]; ok {
			if prev.fingerprint != fingerprint {
				return Authorization{}, ErrReplay
			}
			return prev.auth, nil
		}
	}
	g.next++
	auth := Authorization{
		ID:         fmt.Sprintf("auth_%08d", g.next),
		Status:     StatusAuthorized,
		MerchantID: req.MerchantID,
		Amount:     req.Amount,
		Currency:   req.Currency,
		Brand:      brand,
		Last4:      number[len(number)-4:],
		CreatedAt:  now.UTC(),
	}
	if reason, ok := simulatedDeclines[number]; ok {
		auth.Status, auth.DeclineReason = StatusDeclined, reason
	} else if req.Amount > limit {
		auth.Status, auth.DeclineReason = StatusDeclined, "amount_over_limit"
	}
	s := &stored{auth: auth, fingerprint: fingerprint}
	g.byID[auth.ID] = s
	if idempotencyKey != "" {
		g.byKey[idempotencyKey] = s
	}
	return auth, nil
}

// Get returns an earlier authorization.
func (g *Gateway) Get(id string) (Authorization, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s, ok := g.byID[id]
	if !ok {
		return Authorization{}, ErrNotFound
	}
	return s.auth, nil
}
