package main

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Tab is an open bill at a table: items are added while guests order and the
// tab is closed, with an optional tip, when they pay.
type Tab struct {
	ID         string    `json:"id"`
	Table      string    `json:"table"`
	Status     string    `json:"status"`
	Items      []Item    `json:"items"`
	Subtotal   int64     `json:"subtotal"`
	TipPercent int64     `json:"tip_percent"`
	Tip        int64     `json:"tip"`
	Total      int64     `json:"total"`
	OpenedAt   time.Time `json:"opened_at"`
}

// Item is one ordered line; amounts are in yen.
type Item struct {
	Name      string `json:"name"`
	UnitPrice int64  `json:"unit_price"`
	Quantity  int64  `json:"quantity"`
	Amount    int64  `json:"amount"`
}

const (
	StatusOpen   = "open"
	StatusClosed = "closed"

	maxItemsPerTab = 100
	maxQuantity    = 99
	maxUnitPrice   = 1_000_000
	maxTipPercent  = 30
)

var (
	ErrNotFound  = errors.New("tab not found")
	ErrClosed    = errors.New("tab is closed")
	ErrTableBusy = errors.New("table already has an open tab")
	ErrInvalid   = errors.New("invalid request")
)

// Store keeps tabs in memory. It is safe for concurrent use.
type Store struct {
	mu   sync.Mutex
	tabs map[string]*Tab
	next int
	now  func() time.Time
}

func NewStore() *Store {
	return &Store{tabs: map[string]*Tab{}, now: time.Now}
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Open starts a tab for a table; a table has at most one open tab.
func (s *Store) Open(table string) (Tab, error) {
	table = strings.TrimSpace(table)
	if table == "" || len(table) > 16 {
		return Tab{}, invalid("table must be 1 to 16 characters")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tabs {
		if t.Table == table && t.Status == StatusOpen {
			return Tab{}, fmt.Errorf("%w: %s (%s)", ErrTableBusy, table, t.ID)
		}
	}
	s.next++
	t := &Tab{
		ID:       fmt.Sprintf("tab-%06d", s.next),
		Table:    table,
		Status:   StatusOpen,
		Items:    []Item{},
		OpenedAt: s.now().UTC(),
	}
	s.tabs[t.ID] = t
	return t.snapshot(), nil
}

// Get returns a copy of a tab.
func (s *Store) Get(id string) (Tab, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tabs[id]
	if !ok {
		return Tab{}, ErrNotFound
	}
	return t.snapshot(), nil
}

// List returns the tabs with the given status ("" for all), oldest first.
func (s *Store) List(status string) []Tab {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []Tab{}
	for _, t := range s.tabs {
		if status == "" || t.Status == status {
			out = append(out, t.snapshot())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// AddItem orders an item on an open tab. Ordering the same item at the same
// price again increases its quantity instead of adding a line.
func (s *Store) AddItem(id, name string, unitPrice, quantity int64) (Tab, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return Tab{}, invalid("name is required")
	case unitPrice < 0 || unitPrice > maxUnitPrice:
		return Tab{}, invalid("unit_price must be between 0 and %d", maxUnitPrice)
	case quantity < 1 || quantity > maxQuantity:
		return Tab{}, invalid("quantity must be between 1 and %d", maxQuantity)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tabs[id]
	if !ok {
		return Tab{}, ErrNotFound
	}
	if t.Status != StatusOpen {
		return Tab{}, ErrClosed
	}
	merged := false
	for i := range t.Items {
		it := &t.Items[i]
		if it.Name == name && it.UnitPrice == unitPrice {
			if it.Quantity+quantity > maxQuantity {
				return Tab{}, invalid("quantity of %q would exceed %d", name, maxQuantity)
			}
			it.Quantity += quantity
			it.Amount = it.UnitPrice * it.Quantity
			merged = true
			break
		}
	}
	if !merged {
		if len(t.Items) >= maxItemsPerTab {
			return Tab{}, invalid("a tab holds at most %d items", maxItemsPerTab)
		}
		t.Items = append(t.Items, Item{Name: name, UnitPrice: unitPrice, Quantity: quantity, Amount: unitPrice * quantity})
	}
	t.recompute()
	return t.snapshot(), nil
}

// Close settles a tab with a tip of tipPercent of the subtotal, rounded down.
func (s *Store) Close(id string, tipPercent int64) (Tab, error) {
	if tipPercent < 0 || tipPercent > maxTipPercent {
		return Tab{}, invalid("tip_percent must be between 0 and %d", maxTipPercent)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tabs[id]
	if !ok {
		return Tab{}, ErrNotFound
	}
	if t.Status != StatusOpen {
		return Tab{}, ErrClosed
	}
	if len(t.Items) == 0 {
		return Tab{}, invalid("cannot close an empty tab")
	}
	t.TipPercent = tipPercent
	t.Status = StatusClosed
	t.recompute()
	return t.snapshot(), nil
}

func (t *Tab) recompute() {
	var subtotal int64
	for _, it := range t.Items {
		subtotal += it.Amount
	}
	t.Subtotal = subtotal
	t.Tip = subtotal * t.TipPercent / 100
	t.Total = t.Subtotal + t.Tip
}

func (t *Tab) snapshot() Tab {
	c := *t
	c.Items = append([]Item{}, t.Items...)
	return c
}
