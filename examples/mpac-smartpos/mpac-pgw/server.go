package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

const serviceName = "mpac-pgw"

func newServer(g *Gateway) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			methodNotAllowed(w, http.MethodGet)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "service": serviceName})
	})
	mux.HandleFunc("/v1/payments/authorize", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			methodNotAllowed(w, http.MethodPost)
			return
		}
		var req AuthorizeRequest
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			writeError(w, http.StatusBadRequest, "invalid JSON body")
			return
		}
		key := r.Header.Get("Idempotency-Key")
		if len(key) > 64 {
			writeError(w, http.StatusBadRequest, "Idempotency-Key is longer than 64 characters")
			return
		}
		auth, err := g.Authorize(req, key)
		switch {
		case errors.Is(err, ErrReplay):
			writeError(w, http.StatusConflict, err.Error())
		case err != nil:
			writeError(w, http.StatusUnprocessableEntity, err.Error())
		case auth.Status == StatusDeclined:
			writeJSON(w, http.StatusPaymentRequired, auth)
		default:
			writeJSON(w, http.StatusCreated, auth)
		}
	})
	mux.HandleFunc("/v1/payments/", func(w http.ResponseWriter, r *http.Request) {
		id := strings.TrimPrefix(r.URL.Path, "/v1/payments/")
		if r.Method != http.MethodGet {
			methodNotAllowed(w, http.MethodGet)
			return
		}
		auth, err := g.Get(id)
		if err != nil {
			writeError(w, http.StatusNotFound, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, auth)
	})
	return mux
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeError(w, http.StatusMethodNotAllowed, "method not allowed")
}

func writeError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, map[string]string{"error": message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
