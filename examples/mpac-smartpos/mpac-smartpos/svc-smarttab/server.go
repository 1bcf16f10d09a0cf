package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
)

const serviceName = "svc-smarttab"

type server struct {
	store *Store
}

func newServer(store *Store) http.Handler {
	s := &server{store: store}
	mux := http.NewServeMux()
	mux.HandleFunc("/health", s.health)
	mux.HandleFunc("/v1/tabs", s.tabs)
	mux.HandleFunc("/v1/tabs/", s.tab)
	return mux
}

func (s *server) health(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w, http.MethodGet)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "service": serviceName})
}

// /v1/tabs: GET lists (?status=open|closed), POST opens {"table": "12"}.
func (s *server) tabs(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		status := r.URL.Query().Get("status")
		if status != "" && status != StatusOpen && status != StatusClosed {
			writeError(w, http.StatusBadRequest, "status must be open or closed")
			return
		}
		writeJSON(w, http.StatusOK, map[string][]Tab{"tabs": s.store.List(status)})
	case http.MethodPost:
		var body struct {
			Table string `json:"table"`
		}
		if !decode(w, r, &body) {
			return
		}
		t, err := s.store.Open(body.Table)
		if err != nil {
			writeStoreError(w, err)
			return
		}
		writeJSON(w, http.StatusCreated, t)
	default:
		methodNotAllowed(w, "GET, POST")
	}
}

// /v1/tabs/{id}, /v1/tabs/{id}/items, /v1/tabs/{id}/close
func (s *server) tab(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/v1/tabs/"), "/")
	id := parts[0]
	switch {
	case len(parts) == 1 && id != "":
		if r.Method != http.MethodGet {
			methodNotAllowed(w, http.MethodGet)
			return
		}
		t, err := s.store.Get(id)
		if err != nil {
			writeStoreError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, t)
	case len(parts) == 2 && parts[1] == "items":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, http.MethodPost)
			return
		}
		var body struct {
			Name      string `json:"name"`
			UnitPrice int64  `json:"unit_price"`
			Quantity  *int64 `json:"quantity"`
		}
		if !decode(w, r, &body) {
			return
		}
		quantity := int64(1)
		if body.Quantity != nil {
			quantity = *body.Quantity
		}
		t, err := s.store.AddItem(id, body.Name, body.UnitPrice, quantity)
		if err != nil {
			writeStoreError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, t)
	case len(parts) == 2 && parts[1] == "close":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, http.MethodPost)
			return
		}
		var body struct {
			TipPercent int64 `json:"tip_percent"`
		}
		if !decode(w, r, &body) {
			return
		}
		t, err := s.store.Close(id, body.TipPercent)
		if err != nil {
			writeStoreError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, t)
	default:
		writeError(w, http.StatusNotFound, "not found")
	}
}

// decode reads a JSON body of at most 64 KiB; an empty body is an empty object.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		writeError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return false
	}
	return true
}

func writeStoreError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, ErrClosed), errors.Is(err, ErrTableBusy):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, ErrInvalid):
		writeError(w, http.StatusUnprocessableEntity, err.Error())
	default:
		writeError(w, http.StatusInternalServerError, "internal error")
	}
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
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
