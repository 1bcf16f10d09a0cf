package main

import (
	"errors"
	"sync"
	"testing"
	"time"
)

func fixedStore() *Store {
	s := NewStore()
	s.now = func() time.Time { return time.Date(2026, 1, 28, 10, 30, 0, 0, time.UTC) }
	return s
}

func TestOpenAddClose(t *testing.T) {
	s := fixedStore()
	tab, err := s.Open(" 12 ")
	if err != nil {
		t.Fatal(err)
	}
	if tab.ID != "tab-000001" || tab.Table != "12" || tab.Status != StatusOpen || !tab.OpenedAt.Equal(s.now()) {
		t.Fatalf("unexpected tab %+v", tab)
	}
	if _, err := s.AddItem(tab.ID, "Draft beer", 650, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddItem(tab.ID, "Edamame", 380, 1); err != nil {
		t.Fatal(err)
	}
	// Same item, same price: merged into the first line.
	tab, err = s.AddItem(tab.ID, "Draft beer", 650, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.Items) != 2 || tab.Items[0].Quantity != 3 || tab.Items[0].Amount != 1950 {
		t.Fatalf("items not merged: %+v", tab.Items)
	}
	if tab.Subtotal != 2330 || tab.Total != 2330 {
		t.Fatalf("subtotal %d total %d", tab.Subtotal, tab.Total)
	}
	tab, err = s.Close(tab.ID, 15)
	if err != nil {
		t.Fatal(err)
	}
	// 2330 * 15% = 349.5 -> 349
	if tab.Status != StatusClosed || tab.Tip != 349 || tab.Total != 2679 {
		t.Fatalf("closed tab %+v", tab)
	}
	if _, err := s.AddItem(tab.ID, "Tea", 300, 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("add to closed tab: %v", err)
	}
	if _, err := s.Close(tab.ID, 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("close twice: %v", err)
	}
	// The table is free again once its tab is closed.
	if _, err := s.Open("12"); err != nil {
		t.Fatal(err)
	}
}

func TestOneOpenTabPerTable(t *testing.T) {
	s := fixedStore()
	if _, err := s.Open("A1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open("A1"); !errors.Is(err, ErrTableBusy) {
		t.Fatalf("got %v", err)
	}
}

func TestValidation(t *testing.T) {
	s := fixedStore()
	for _, table := range []string{"", "   ", "a-table-name-that-is-too-long"} {
		if _, err := s.Open(table); !errors.Is(err, ErrInvalid) {
			t.Errorf("Open(%q): %v", table, err)
		}
	}
	tab, _ := s.Open("5")
	cases := []struct {
		name          string
		price, amount int64
	}{
		{"", 100, 1},
		{"Sake", -1, 1},
		{"Sake", maxUnitPrice + 1, 1},
		{"Sake", 100, 0},
		{"Sake", 100, maxQuantity + 1},
	}
	for _, c := range cases {
		if _, err := s.AddItem(tab.ID, c.name, c.price, c.amount); !errors.Is(err, ErrInvalid) {
			t.Errorf("AddItem(%q, %d, %d): %v", c.name, c.price, c.amount, err)
		}
	}
	if _, err := s.Close(tab.ID, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("closing an empty tab: %v", err)
	}
	if _, err := s.Close(tab.ID, maxTipPercent+1); !errors.Is(err, ErrInvalid) {
		t.Errorf("tip too high: %v", err)
	}
	if _, err := s.AddItem(tab.ID, "Sake", 800, maxQuantity); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddItem(tab.ID, "Sake", 800, 1); !errors.Is(err, ErrInvalid) {
		t.Errorf("merged quantity over the limit: %v", err)
	}
}

func TestItemLimit(t *testing.T) {
	s := fixedStore()
	tab, _ := s.Open("7")
	for i := 0; i < maxItemsPerTab; i++ {
		if _, err := s.AddItem(tab.ID, "Skewer", int64(100+i), 1); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AddItem(tab.ID, "Skewer", 1, 1); !errors.Is(err, ErrInvalid) {
		t.Fatalf("got %v", err)
	}
}

func TestUnknownTab(t *testing.T) {
	s := fixedStore()
	if _, err := s.Get("tab-404"); !errors.Is(err, ErrNotFound) {
		t.Error(err)
	}
	if _, err := s.AddItem("tab-404", "Tea", 1, 1); !errors.Is(err, ErrNotFound) {
		t.Error(err)
	}
	if _, err := s.Close("tab-404", 0); !errors.Is(err, ErrNotFound) {
		t.Error(err)
	}
}

func TestSnapshotsAreCopies(t *testing.T) {
	s := fixedStore()
	tab, _ := s.Open("9")
	tab, _ = s.AddItem(tab.ID, "Tea", 300, 1)
	tab.Items[0].Quantity = 50
	again, _ := s.Get(tab.ID)
	if again.Items[0].Quantity != 1 {
		t.Fatal("a returned tab shares memory with the store")
	}
}

func TestListAndConcurrency(t *testing.T) {
	s := fixedStore()
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			tab, err := s.Open(string(rune('a' + i)))
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := s.AddItem(tab.ID, "Water", 0, 1); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	all := s.List("")
	if len(all) != 20 || all[0].ID != "tab-000001" || all[19].ID != "tab-000020" {
		t.Fatalf("list: %d tabs", len(all))
	}
	if _, err := s.Close(all[3].ID, 0); err != nil {
		t.Fatal(err)
	}
	if len(s.List(StatusOpen)) != 19 || len(s.List(StatusClosed)) != 1 {
		t.Fatal("status filter")
	}
}
