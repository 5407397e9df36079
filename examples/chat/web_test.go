package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(body)
}

func TestPageAndAssetsAreServed(t *testing.T) {
	ts, _ := startChat(t)
	for _, tt := range []struct {
		path, contentType, contains string
	}{
		{"/", "text/html", `src="/vendor/nes-client.js"`},
		{"/static/app.js", "javascript", "client.subscribe("},
		{"/static/style.css", "text/css", ".messages"},
		{"/vendor/nes-client.js", "text/javascript", "window.nes"},
	} {
		res, body := get(t, ts.URL+tt.path)
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d", tt.path, res.StatusCode)
			continue
		}
		if ct := res.Header.Get("Content-Type"); !strings.Contains(ct, tt.contentType) {
			t.Errorf("GET %s: Content-Type %q, want %s", tt.path, ct, tt.contentType)
		}
		if !strings.Contains(body, tt.contains) {
			t.Errorf("GET %s: body does not contain %q", tt.path, tt.contains)
		}
	}
}

func TestMissingClientIsAClearError(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nowhere", "client.js")
	if err := checkClient(missing); err == nil || !strings.Contains(err.Error(), "npm ci --prefix examples/chat/web") {
		t.Errorf("checkClient = %v, want an error telling how to install the client", err)
	}

	rec := httptest.NewRecorder()
	clientHandler(missing, slog.New(slog.DiscardHandler)).ServeHTTP(rec, httptest.NewRequest("GET", "/vendor/nes-client.js", nil))

	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500", rec.Code)
	}
	if body := rec.Body.String(); !strings.Contains(body, missing) || !strings.Contains(body, "npm ci") {
		t.Errorf("body = %q, want the path and how to install the client", body)
	}
}
