package main

import (
	"encoding/json"
	"net/http"
)

// errorBody is the hapi (Boom) error shape. The nes browser client reads
// "message" (then "error") from it when a request over the socket fails, so
// the same body serves plain HTTP and socket callers.
type errorBody struct {
	StatusCode int    `json:"statusCode"`
	Error      string `json:"error"`
	Message    string `json:"message"`
}

// writeJSON answers status with v encoded as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "An internal server error occurred")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeError answers status with a hapi style error body.
func writeError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, errorBody{
		StatusCode: status,
		Error:      http.StatusText(status),
		Message:    message,
	})
}

// notFound and methodNotAllowed replace chi's plain text answers, so a
// client calling an unknown route over the socket gets a readable error.
func notFound(w http.ResponseWriter, _ *http.Request) {
	writeError(w, http.StatusNotFound, "Not Found")
}

func methodNotAllowed(w http.ResponseWriter, _ *http.Request) {
	writeError(w, http.StatusMethodNotAllowed, "Method Not Allowed")
}
