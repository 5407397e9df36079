package nes

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/nes-go/nes/auth"
)

func testCookieKey(b byte) auth.CookieKey {
	k := auth.CookieKey{Hash: make([]byte, 32), Block: make([]byte, 32)}
	for i := range k.Hash {
		k.Hash[i], k.Block[i] = b, b+1
	}
	return k
}

// fetchAuth calls the auth endpoint over real HTTP.
func fetchAuth(t *testing.T, ts *testServer, authz string, hdr http.Header) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", ts.http.URL+"/nes/auth", nil)
	for k, v := range hdr {
		req.Header[k] = v
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	res, err := http.DefaultClient.Do(req)
	must(t, err)
	defer res.Body.Close()
	var body map[string]any
	raw, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("endpoint body %q: %v", raw, err)
	}
	return res, body
}

func whoRoute(s *Server, r chi.Router) {
	r.Get("/who", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(CredentialsFrom(r.Context()))
	})
}

func TestCookieFlow(t *testing.T) {
	var seen []string
	opts := Options{Heartbeat: Heartbeat{Disabled: true}, Auth: &AuthOptions{Type: AuthCookie, Authenticate: customAuth,
		CookieKeys: []auth.CookieKey{testCookieKey(1)}}}
	ts := newTestServer(t, opts, func(s *Server, r chi.Router) {
		// Middleware in front of the endpoint applies to it.
		r.Use(func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen = append(seen, r.URL.Path)
				next.ServeHTTP(w, r)
			})
		})
		whoRoute(s, r)
	})
	res, body := fetchAuth(t, ts, "Custom john", nil)
	if res.StatusCode != 200 || body["status"] != "authenticated" {
		t.Fatalf("endpoint: %d %v", res.StatusCode, body)
	}
	cookie := res.Header.Get("Set-Cookie")
	for _, attr := range []string{"nes=", "Path=/", "HttpOnly", "Secure", "SameSite=Strict"} {
		if !strings.Contains(cookie, attr) {
			t.Fatalf("Set-Cookie %q lacks %s", cookie, attr)
		}
	}
	if len(seen) == 0 || seen[0] != "/nes/auth" {
		t.Fatalf("middleware saw %v", seen)
	}
	value := strings.SplitN(strings.SplitN(cookie, ";", 2)[0], "=", 2)[1]
	hdr := http.Header{"Cookie": []string{"nes=" + value}}

	c := dial(t, ts.url, hdr)
	c.hello()
	c.roundTrip(`{"type":"request","method":"GET","path":"/who","id":2}`,
		`{"type":"request","id":2,"statusCode":200,"payload":{"user":"john","scope":["a"]}}`)
	c.roundTrip(`{"type":"request","method":"GET","path":"/nes/auth","id":3}`,
		`{"statusCode":404,"payload":{"error":"Not Found","message":"Not Found"},"type":"request","id":3}`)

	// Cookie and hello.auth together.
	c2 := dial(t, ts.url, hdr)
	c2.roundTrip(`{"type":"hello","version":"2","auth":"x","id":1}`,
		`{"statusCode":400,"payload":{"error":"Bad Request","message":"Connection already authenticated"},"type":"hello","id":1}`)
	// Tampered, truncated and foreign cookies.
	other, err := auth.NewCookieSealer([]auth.CookieKey{testCookieKey(9)}, auth.CookieOptions{})
	must(t, err)
	foreign, err := other.Seal(&auth.Credentials{User: "john"}, time.Now())
	must(t, err)
	for _, bad := range []string{value[:len(value)-4] + "AAAA", value[:len(value)/2], foreign, "garbage"} {
		c := dial(t, ts.url, http.Header{"Cookie": []string{"nes=" + bad}})
		c.roundTrip(`{"type":"hello","version":"2","id":1}`,
			`{"statusCode":401,"payload":{"error":"Unauthorized","message":"Invalid nes authentication cookie"},"type":"hello","id":1}`)
	}
	// No cookie in required mode.
	dial(t, ts.url, nil).roundTrip(`{"type":"hello","version":"2","id":1}`,
		`{"statusCode":401,"payload":{"error":"Unauthorized","message":"Connection requires authentication"},"type":"hello","id":1}`)
	// The endpoint refuses bad credentials and requires some.
	if res, body := fetchAuth(t, ts, "Custom nobody", nil); res.StatusCode != 401 || body["message"] != "Bad credentials" {
		t.Fatalf("bad credentials: %d %v", res.StatusCode, body)
	}
	if res, body := fetchAuth(t, ts, "", nil); res.StatusCode != 401 || body["message"] != "Missing authentication" {
		t.Fatalf("no credentials: %d %v", res.StatusCode, body)
	}
}

func TestCookieCrossOriginRefused(t *testing.T) {
	opts := Options{Heartbeat: Heartbeat{Disabled: true}, Origins: []string{"https://app.example"},
		Auth: &AuthOptions{Type: AuthCookie, Authenticate: customAuth, CookieKeys: []auth.CookieKey{testCookieKey(1)}}}
	ts := newTestServer(t, opts, nil)
	res, _ := fetchAuth(t, ts, "Custom john", nil)
	cookie := strings.SplitN(res.Header.Get("Set-Cookie"), ";", 2)[0]
	upgrade := func(origin string) int {
		req, _ := http.NewRequest("GET", ts.http.URL+"/nes", nil)
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Sec-WebSocket-Version", "13")
		req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		req.Header.Set("Origin", origin)
		req.Header.Set("Cookie", cookie)
		res, err := http.DefaultClient.Do(req)
		must(t, err)
		res.Body.Close()
		return res.StatusCode
	}
	if code := upgrade("https://evil.example"); code != http.StatusUnauthorized {
		t.Fatalf("cross-origin upgrade with a valid cookie got %d", code)
	}
	if code := upgrade("https://app.example"); code != http.StatusSwitchingProtocols {
		t.Fatalf("allowed origin got %d", code)
	}
}

func TestTokenFlow(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	opts := Options{Heartbeat: Heartbeat{Disabled: true}, Auth: &AuthOptions{Type: AuthToken, Authenticate: customAuth,
		Token: auth.TokenOptions{Keys: []auth.TokenKey{{ID: "k1", Secret: secret}}, TTL: time.Hour}}}
	ts := newTestServer(t, opts, whoRoute)
	res, body := fetchAuth(t, ts, "Custom ed", nil)
	token, _ := body["token"].(string)
	if res.StatusCode != 200 || body["status"] != "authenticated" || token == "" {
		t.Fatalf("endpoint: %d %v", res.StatusCode, body)
	}
	c := dial(t, ts.url, nil)
	c.send(`{"type":"hello","version":"2","auth":"` + token + `","id":1}`)
	if got := c.recv(); !strings.HasPrefix(got, `{"type":"hello","id":1,`) {
		t.Fatalf("hello: %s", got)
	}
	c.send(`{"type":"request","method":"GET","path":"/who","id":2}`)
	if got := c.recv(); !strings.Contains(got, `"user":"ed"`) || !strings.Contains(got, `"scope":["a","b"]`) {
		t.Fatalf("who: %s", got)
	}
	// Forged, truncated and wrongly-signed tokens, and non-string auth.
	other, err := auth.NewTokens(auth.TokenOptions{Keys: []auth.TokenKey{{ID: "k1", Secret: []byte("another secret of 32 bytes......")}}})
	must(t, err)
	forged, err := other.Issue(&auth.Credentials{User: "ed"}, time.Now())
	must(t, err)
	parts := strings.Split(token, ".")
	none := "eyJhbGciOiJub25lIiwidHlwIjoiSldUIiwia2lkIjoiazEifQ." + parts[1] + "."
	for _, bad := range []string{`"` + forged + `"`, `"` + token[:len(token)-3] + `"`, `"` + none + `"`, `{"headers":{"authorization":"Custom ed"}}`} {
		c := dial(t, ts.url, nil)
		c.roundTrip(`{"type":"hello","version":"2","auth":`+bad+`,"id":1}`,
			`{"statusCode":401,"payload":{"error":"Unauthorized","message":"Invalid token"},"type":"hello","id":1}`)
	}
	// An empty auth is no auth at all (nes tests truthiness).
	dial(t, ts.url, nil).roundTrip(`{"type":"hello","version":"2","auth":"","id":1}`,
		`{"statusCode":401,"payload":{"error":"Unauthorized","message":"Connection requires authentication"},"type":"hello","id":1}`)
}

func TestTokenExpiryClosesSocket(t *testing.T) {
	opts := Options{Heartbeat: Heartbeat{Disabled: true}, Auth: &AuthOptions{Type: AuthToken, Authenticate: customAuth,
		Token: auth.TokenOptions{Keys: []auth.TokenKey{{ID: "k1", Secret: []byte("0123456789abcdef0123456789abcdef")}}, TTL: 1 * time.Second}}}
	ts := newTestServer(t, opts, nil)
	_, body := fetchAuth(t, ts, "Custom john", nil)
	c := dial(t, ts.url, nil)
	c.send(`{"type":"hello","version":"2","auth":"` + body["token"].(string) + `","id":1}`)
	c.recv()
	start := time.Now()
	if code := c.closed(); code != CloseAuthExpired {
		t.Fatalf("close code %d", code)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("closed after %v", d)
	}
}

func TestClearAuthCookie(t *testing.T) {
	srv, err := New(Options{Auth: &AuthOptions{Type: AuthCookie, Authenticate: customAuth,
		CookieKeys: []auth.CookieKey{testCookieKey(1)}, Cookie: auth.CookieOptions{Name: "sess", Path: "/app"}}})
	must(t, err)
	rec := httptest.NewRecorder()
	srv.ClearAuthCookie(rec)
	sc := rec.Header().Get("Set-Cookie")
	for _, attr := range []string{"sess=", "Path=/app", "Max-Age=0", "HttpOnly", "Secure", "SameSite=Strict"} {
		if !strings.Contains(sc, attr) {
			t.Fatalf("Set-Cookie %q lacks %s", sc, attr)
		}
	}
	plain, err := New(Options{})
	must(t, err)
	rec = httptest.NewRecorder()
	plain.ClearAuthCookie(rec)
	if rec.Header().Get("Set-Cookie") != "" {
		t.Fatal("ClearAuthCookie without cookie auth wrote a cookie")
	}
}
