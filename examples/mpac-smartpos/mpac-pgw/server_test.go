package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const visa = `{"merchant_id":"M-1001","amount":1200,"currency":"JPY","card":{"number":"4111111111111111","expiry_month":6,"expiry_year":2029,"cvc":"123"}}`

func call(t *testing.T, h http.Handler, method, path, body string, header map[string]string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("not JSON: %q", rec.Body.String())
	}
	return rec.Code, out
}

func TestHealth(t *testing.T) {
	h := newServer(testGateway())
	code, body := call(t, h, http.MethodGet, "/health", "", nil)
	if code != 200 || body["status"] != "ok" || body["service"] != "mpac-pgw" {
		t.Fatalf("%d %v", code, body)
	}
	if code, _ := call(t, h, http.MethodPost, "/health", "", nil); code != http.StatusMethodNotAllowed {
		t.Fatal(code)
	}
}

func TestAuthorizeOverHTTP(t *testing.T) {
	h := newServer(testGateway())
	code, body := call(t, h, http.MethodPost, "/v1/payments/authorize", visa, map[string]string{"Idempotency-Key": "k1"})
	if code != http.StatusCreated || body["status"] != "authorized" || body["last4"] != "1111" {
		t.Fatalf("%d %v", code, body)
	}
	if strings.Contains(mustJSON(t, body), "4111111111111111") {
		t.Fatal("the full card number must never be returned")
	}
	id := body["id"].(string)
	code, again := call(t, h, http.MethodGet, "/v1/payments/"+id, "", nil)
	if code != http.StatusOK || again["id"] != id {
		t.Fatalf("%d %v", code, again)
	}
	replay := strings.Replace(visa, "1200", "1300", 1)
	if code, _ := call(t, h, http.MethodPost, "/v1/payments/authorize", replay, map[string]string{"Idempotency-Key": "k1"}); code != http.StatusConflict {
		t.Fatalf("replay: %d", code)
	}
	declined := strings.Replace(visa, "4111111111111111", "4000000000000002", 1)
	code, body = call(t, h, http.MethodPost, "/v1/payments/authorize", declined, nil)
	if code != http.StatusPaymentRequired || body["decline_reason"] != "card_declined" {
		t.Fatalf("decline: %d %v", code, body)
	}
}

func TestHTTPErrors(t *testing.T) {
	h := newServer(testGateway())
	long := map[string]string{"Idempotency-Key": strings.Repeat("k", 65)}
	cases := []struct {
		method, path, body string
		header             map[string]string
		want               int
	}{
		{http.MethodGet, "/v1/payments/authorize", "", nil, http.StatusMethodNotAllowed},
		{http.MethodPost, "/v1/payments/authorize", "{", nil, http.StatusBadRequest},
		{http.MethodPost, "/v1/payments/authorize", `{"pan":"4111"}`, nil, http.StatusBadRequest},
		{http.MethodPost, "/v1/payments/authorize", visa, long, http.StatusBadRequest},
		{http.MethodPost, "/v1/payments/authorize", strings.Replace(visa, "2029", "2019", 1), nil, http.StatusUnprocessableEntity},
		{http.MethodGet, "/v1/payments/auth_404", "", nil, http.StatusNotFound},
		{http.MethodDelete, "/v1/payments/auth_00000001", "", nil, http.StatusMethodNotAllowed},
	}
	for _, c := range cases {
		code, body := call(t, h, c.method, c.path, c.body, c.header)
		if code != c.want || body["error"] == nil {
			t.Errorf("%s %s: got %d %v, want %d", c.method, c.path, code, body, c.want)
		}
	}
}

func TestListenAddr(t *testing.T) {
	if addr, err := listenAddr(""); err != nil || addr != ":8004" {
		t.Fatalf("%q %v", addr, err)
	}
	if addr, err := listenAddr("18004"); err != nil || addr != ":18004" {
		t.Fatalf("%q %v", addr, err)
	}
	for _, bad := range []string{"eighty", "0", "65536"} {
		if _, err := listenAddr(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
