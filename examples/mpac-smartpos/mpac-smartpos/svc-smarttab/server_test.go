package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func do(t *testing.T, h http.Handler, method, path, body string) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s %s: body is not a JSON object: %q", method, path, rec.Body.String())
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("content type %q", ct)
	}
	return rec, out
}

func TestHealth(t *testing.T) {
	h := newServer(NewStore())
	rec, body := do(t, h, http.MethodGet, "/health", "")
	if rec.Code != http.StatusOK || body["status"] != "ok" || body["service"] != "svc-smarttab" {
		t.Fatalf("%d %v", rec.Code, body)
	}
	rec, _ = do(t, h, http.MethodPost, "/health", "")
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET" {
		t.Fatalf("%d", rec.Code)
	}
}

func TestTabLifecycleOverHTTP(t *testing.T) {
	h := newServer(NewStore())
	rec, body := do(t, h, http.MethodPost, "/v1/tabs", `{"table":"12"}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("open: %d %v", rec.Code, body)
	}
	id := body["id"].(string)

	rec, body = do(t, h, http.MethodPost, "/v1/tabs/"+id+"/items", `{"name":"Highball","unit_price":500,"quantity":2}`)
	if rec.Code != http.StatusOK || body["subtotal"].(float64) != 1000 {
		t.Fatalf("add: %d %v", rec.Code, body)
	}
	rec, body = do(t, h, http.MethodPost, "/v1/tabs/"+id+"/items", `{"name":"Karaage","unit_price":680}`)
	if rec.Code != http.StatusOK || body["subtotal"].(float64) != 1680 {
		t.Fatalf("add with default quantity: %d %v", rec.Code, body)
	}
	rec, body = do(t, h, http.MethodGet, "/v1/tabs/"+id, "")
	if rec.Code != http.StatusOK || len(body["items"].([]any)) != 2 {
		t.Fatalf("get: %d %v", rec.Code, body)
	}
	rec, body = do(t, h, http.MethodPost, "/v1/tabs/"+id+"/close", `{"tip_percent":10}`)
	if rec.Code != http.StatusOK || body["total"].(float64) != 1848 || body["status"] != "closed" {
		t.Fatalf("close: %d %v", rec.Code, body)
	}
	rec, body = do(t, h, http.MethodGet, "/v1/tabs?status=closed", "")
	if rec.Code != http.StatusOK || len(body["tabs"].([]any)) != 1 {
		t.Fatalf("list: %d %v", rec.Code, body)
	}
	rec, _ = do(t, h, http.MethodPost, "/v1/tabs/"+id+"/items", `{"name":"Tea","unit_price":200}`)
	if rec.Code != http.StatusConflict {
		t.Fatalf("add to closed: %d", rec.Code)
	}
}

func TestHTTPErrors(t *testing.T) {
	h := newServer(NewStore())
	do(t, h, http.MethodPost, "/v1/tabs", `{"table":"1"}`)
	cases := []struct {
		method, path, body string
		want               int
	}{
		{http.MethodPost, "/v1/tabs", `{"table":"1"}`, http.StatusConflict},
		{http.MethodPost, "/v1/tabs", `{"table":""}`, http.StatusUnprocessableEntity},
		{http.MethodPost, "/v1/tabs", `{"tabel":"2"}`, http.StatusBadRequest},
		{http.MethodPost, "/v1/tabs", `{`, http.StatusBadRequest},
		{http.MethodDelete, "/v1/tabs", ``, http.StatusMethodNotAllowed},
		{http.MethodGet, "/v1/tabs?status=paid", ``, http.StatusBadRequest},
		{http.MethodGet, "/v1/tabs/tab-999999", ``, http.StatusNotFound},
		{http.MethodDelete, "/v1/tabs/tab-000001", ``, http.StatusMethodNotAllowed},
		{http.MethodGet, "/v1/tabs/tab-000001/items", ``, http.StatusMethodNotAllowed},
		{http.MethodPost, "/v1/tabs/tab-000001/items", `{"name":"x","unit_price":-5}`, http.StatusUnprocessableEntity},
		{http.MethodPost, "/v1/tabs/tab-000001/items", `[]`, http.StatusBadRequest},
		{http.MethodPost, "/v1/tabs/tab-000002/items", `{"name":"x","unit_price":5}`, http.StatusNotFound},
		{http.MethodGet, "/v1/tabs/tab-000001/close", ``, http.StatusMethodNotAllowed},
		{http.MethodPost, "/v1/tabs/tab-000001/close", `{"tip_percent":"ten"}`, http.StatusBadRequest},
		{http.MethodPost, "/v1/tabs/tab-000001/close", ``, http.StatusUnprocessableEntity},
		{http.MethodPost, "/v1/tabs/tab-000001/refund", ``, http.StatusNotFound},
		{http.MethodGet, "/v1/tabs/", ``, http.StatusNotFound},
	}
	for _, c := range cases {
		rec, body := do(t, h, c.method, c.path, c.body)
		if rec.Code != c.want || body["error"] == "" {
			t.Errorf("%s %s %s: got %d %v, want %d", c.method, c.path, c.body, rec.Code, body, c.want)
		}
	}
}

func TestUnexpectedStoreError(t *testing.T) {
	rec := httptest.NewRecorder()
	writeStoreError(rec, errTest{})
	if rec.Code != http.StatusInternalServerError {
		t.Fatal(rec.Code)
	}
}

type errTest struct{}

func (errTest) Error() string { return "boom" }

func TestListenAddr(t *testing.T) {
	if addr, err := listenAddr(""); err != nil || addr != ":8003" {
		t.Fatalf("default: %q %v", addr, err)
	}
	if addr, err := listenAddr("9000"); err != nil || addr != ":9000" {
		t.Fatalf("9000: %q %v", addr, err)
	}
	for _, bad := range []string{"x", "0", "70000", "-1"} {
		if _, err := listenAddr(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
