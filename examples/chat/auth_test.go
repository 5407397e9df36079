package main

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nes-go/nes/nes"
)

var authModes = []nes.AuthType{nes.AuthCookie, nes.AuthToken, nes.AuthDirect}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// postAs posts body to /rooms/lobby/messages over plain HTTP with Basic
// credentials (none when user is "").
func postAs(t *testing.T, ts *httptest.Server, user, pass, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("POST", ts.URL+"/rooms/lobby/messages", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if user != "" {
		req.Header.Set("Authorization", basic(user, pass))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// login calls the auth endpoint with Basic credentials.
func login(t *testing.T, ts *httptest.Server, user, pass string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", ts.URL+"/nes/auth", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", basic(user, pass))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, body
}

// cookieHeader logs user in through the cookie flow and returns the Cookie
// header a browser would send with the websocket upgrade.
func cookieHeader(t *testing.T, ts *httptest.Server, user string) http.Header {
	t.Helper()
	res, body := login(t, ts, user, "demo")
	if res.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != `{"status":"authenticated"}` {
		t.Fatalf("GET /nes/auth = %d %s, want 200 authenticated", res.StatusCode, body)
	}
	var cookies []string
	for _, c := range res.Cookies() {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	if len(cookies) != 1 {
		t.Fatalf("GET /nes/auth set %d cookies, want 1", len(cookies))
	}
	return http.Header{"Cookie": cookies}
}

// token logs user in through the token flow and returns the token.
func token(t *testing.T, ts *httptest.Server, user string) string {
	t.Helper()
	res, body := login(t, ts, user, "demo")
	var out struct{ Status, Token string }
	if err := json.Unmarshal(body, &out); err != nil || res.StatusCode != http.StatusOK || out.Status != "authenticated" || out.Token == "" {
		t.Fatalf("GET /nes/auth = %d %s, want 200 with a token", res.StatusCode, body)
	}
	return out.Token
}

// helloAs opens an authenticated session with the mode's flow and
// subscribes to the lobby.
func helloAs(t *testing.T, ts *httptest.Server, mode nes.AuthType, user string) *rawSocket {
	t.Helper()
	var ws *rawSocket
	switch mode {
	case nes.AuthCookie:
		ws = dialNesWith(t, ts, cookieHeader(t, ts, user))
		ws.send(`{"type":"hello","version":"2","subs":["/rooms/lobby"],"id":1}`)
	case nes.AuthToken:
		tok := token(t, ts, user)
		ws = dialNes(t, ts)
		ws.send(`{"type":"hello","version":"2","auth":` + jsonString(tok) + `,"subs":["/rooms/lobby"],"id":1}`)
	case nes.AuthDirect:
		ws = dialNes(t, ts)
		ws.send(`{"type":"hello","version":"2","auth":{"headers":{"authorization":` + jsonString(basic(user, "demo")) + `}},"subs":["/rooms/lobby"],"id":1}`)
	}
	ws.expect("hello")
	return ws
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// postOverSocket posts text with request id and returns the reply (skipping
// publications).
func (s *rawSocket) postOverSocket(id, text string) map[string]json.RawMessage {
	s.t.Helper()
	s.send(`{"type":"request","method":"POST","path":"/rooms/lobby/messages","payload":{"text":` + jsonString(text) + `},"id":` + id + `}`)
	for {
		m := s.next()
		if string(m["type"]) == `"pub"` {
			continue
		}
		if string(m["type"]) != `"request"` || string(m["id"]) != id {
			s.t.Fatalf("got %s, want the reply to request %s", frameString(m), id)
		}
		return m
	}
}

// errorMessage returns the message of an error payload (a hapi error body).
func errorMessage(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var e struct {
		StatusCode int
		Error      string
		Message    string
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatalf("error body %s: %v", raw, err)
	}
	return e.Message
}

func readBody(t *testing.T, res *http.Response) []byte {
	t.Helper()
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAuthAnonymousMayReadButNotPost(t *testing.T) {
	for _, mode := range authModes {
		t.Run(mode.String(), func(t *testing.T) {
			ts, a := startChatWith(t, config{AuthType: mode})

			res := postAs(t, ts, "", "", `{"text":"hi"}`)
			if body := readBody(t, res); res.StatusCode != http.StatusUnauthorized || errorMessage(t, body) != "Missing authentication" {
				t.Errorf("anonymous POST over HTTP = %d %s, want 401 Missing authentication", res.StatusCode, body)
			}

			// An anonymous socket connects and subscribes (reading is open)...
			ws := dialNes(t, ts)
			ws.helloAndSub("/rooms/lobby")
			// ...but cannot post.
			reply := ws.postOverSocket("3", "hi")
			if string(reply["statusCode"]) != "401" || errorMessage(t, reply["payload"]) != "Missing authentication" {
				t.Errorf("anonymous POST over the socket = %s, want 401 Missing authentication", frameString(reply))
			}
			if n := a.store.Rooms(); n != 0 {
				t.Errorf("store has %d rooms after refused posts", n)
			}

			res, err := http.Get(ts.URL + "/rooms/lobby/messages")
			if err != nil {
				t.Fatal(err)
			}
			if body := readBody(t, res); res.StatusCode != http.StatusOK {
				t.Errorf("anonymous GET = %d %s, want 200", res.StatusCode, body)
			}
		})
	}
}

func TestAuthPostOverHTTPWithBasic(t *testing.T) {
	for _, mode := range authModes {
		t.Run(mode.String(), func(t *testing.T) {
			ts, _ := startChatWith(t, config{AuthType: mode})
			ws := dialNes(t, ts) // an anonymous reader sees who posted
			ws.helloAndSub("/rooms/lobby")

			res := postAs(t, ts, "ann", "demo", `{"text":"hello from HTTP"}`)
			body := readBody(t, res)
			if res.StatusCode != http.StatusCreated {
				t.Fatalf("POST = %d %s, want 201", res.StatusCode, body)
			}
			assertLobbyMessage(t, body, "hello from HTTP", "ann")
			assertLobbyMessage(t, ws.expect("pub")["message"], "hello from HTTP", "ann")
		})
	}
}

func TestAuthPostOverTheSocket(t *testing.T) {
	for _, mode := range authModes {
		t.Run(mode.String(), func(t *testing.T) {
			ts, _ := startChatWith(t, config{AuthType: mode})
			ws := helloAs(t, ts, mode, "bob")

			reply := ws.postOverSocket("2", "hello from the socket")
			if string(reply["statusCode"]) != "201" {
				t.Fatalf("reply = %s, want statusCode 201", frameString(reply))
			}
			assertLobbyMessage(t, reply["payload"], "hello from the socket", "bob")

			// GET /me over the socket names the socket's user.
			ws.send(`{"type":"request","method":"GET","path":"/me","id":3}`)
			for {
				m := ws.next()
				if string(m["type"]) == `"pub"` {
					continue
				}
				if string(m["statusCode"]) != "200" || string(m["payload"]) != `{"user":"bob"}` {
					t.Errorf("GET /me = %s, want {\"user\":\"bob\"}", frameString(m))
				}
				break
			}
		})
	}
}

func TestAuthWrongPassword(t *testing.T) {
	for _, mode := range authModes {
		t.Run(mode.String(), func(t *testing.T) {
			ts, _ := startChatWith(t, config{AuthType: mode, Password: "s3cret"})

			res := postAs(t, ts, "ann", "demo", `{"text":"hi"}`)
			if body := readBody(t, res); res.StatusCode != http.StatusUnauthorized || errorMessage(t, body) != "Bad credentials" {
				t.Errorf("POST with a wrong password = %d %s, want 401 Bad credentials", res.StatusCode, body)
			}
			res = postAs(t, ts, "ann", "s3cret", `{"text":"hi"}`)
			if body := readBody(t, res); res.StatusCode != http.StatusCreated {
				t.Errorf("POST with -password = %d %s, want 201", res.StatusCode, body)
			}

			switch mode {
			case nes.AuthCookie, nes.AuthToken:
				res, body := login(t, ts, "ann", "demo")
				if res.StatusCode != http.StatusUnauthorized || errorMessage(t, body) != "Bad credentials" {
					t.Errorf("GET /nes/auth = %d %s, want 401 Bad credentials", res.StatusCode, body)
				}
				if len(res.Cookies()) != 0 {
					t.Errorf("a refused login set cookies: %v", res.Cookies())
				}
			case nes.AuthDirect:
				ws := dialNes(t, ts)
				ws.send(`{"type":"hello","version":"2","auth":{"headers":{"authorization":` + jsonString(basic("ann", "demo")) + `}},"id":1}`)
				m := ws.next()
				if string(m["type"]) != `"hello"` || string(m["statusCode"]) != "401" || errorMessage(t, m["payload"]) != "Bad credentials" {
					t.Errorf("hello with a wrong password = %s, want 401 Bad credentials", frameString(m))
				}
			}
		})
	}
}

func TestAuthTokenReauthenticatesAnAnonymousSocket(t *testing.T) {
	ts, _ := startChatWith(t, config{AuthType: nes.AuthToken})
	ws := dialNes(t, ts)
	ws.helloAndSub("/rooms/lobby")
	if reply := ws.postOverSocket("3", "too early"); string(reply["statusCode"]) != "401" {
		t.Fatalf("anonymous post = %s, want 401", frameString(reply))
	}

	// What client.reauthenticate(token) sends.
	ws.send(`{"type":"reauth","auth":` + jsonString(token(t, ts, "cy")) + `,"id":4}`)
	ws.expect("reauth")

	reply := ws.postOverSocket("5", "now as cy")
	if string(reply["statusCode"]) != "201" {
		t.Fatalf("reply = %s, want 201", frameString(reply))
	}
	assertLobbyMessage(t, reply["payload"], "now as cy", "cy")
}

func TestAuthCookieFlow(t *testing.T) {
	t.Run("attributes", func(t *testing.T) {
		for _, notSecure := range []bool{false, true} {
			ts, _ := startChatWith(t, config{AuthType: nes.AuthCookie, CookieNotSecure: notSecure})
			res, _ := login(t, ts, "ann", "demo")
			sc := res.Header.Get("Set-Cookie")
			for _, attr := range []string{"nes=", "Path=/", "HttpOnly", "SameSite=Strict", "Max-Age=43200"} {
				if !strings.Contains(sc, attr) {
					t.Errorf("Set-Cookie %q lacks %s", sc, attr)
				}
			}
			if got := strings.Contains(sc, "Secure"); got == notSecure {
				t.Errorf("CookieNotSecure=%v: Set-Cookie %q", notSecure, sc)
			}
		}
	})

	t.Run("logout clears the cookie", func(t *testing.T) {
		ts, _ := startChatWith(t, config{AuthType: nes.AuthCookie, CookieNotSecure: true})
		res, err := http.Post(ts.URL+"/logout", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		readBody(t, res)
		sc := res.Header.Get("Set-Cookie")
		if res.StatusCode != http.StatusNoContent || !strings.HasPrefix(sc, "nes=;") || !strings.Contains(sc, "Max-Age=0") {
			t.Errorf("POST /logout = %d, Set-Cookie %q; want 204 and an expired nes cookie", res.StatusCode, sc)
		}
	})

	t.Run("a cookie sealed by another server is refused", func(t *testing.T) {
		ts1, _ := startChatWith(t, config{AuthType: nes.AuthCookie})
		stale := cookieHeader(t, ts1, "ann")
		ts2, _ := startChatWith(t, config{AuthType: nes.AuthCookie}) // new random keys, as after a restart
		ws := dialNesWith(t, ts2, stale)
		ws.send(`{"type":"hello","version":"2","id":1}`)
		m := ws.next()
		if string(m["statusCode"]) != "401" || errorMessage(t, m["payload"]) != "Invalid nes authentication cookie" {
			t.Errorf("hello with a stale cookie = %s, want 401 Invalid nes authentication cookie", frameString(m))
		}
	})

	t.Run("another origin cannot use the cookie", func(t *testing.T) {
		ts, _ := startChatWith(t, config{AuthType: nes.AuthCookie})
		h := cookieHeader(t, ts, "ann")
		h.Set("Origin", "https://evil.example")
		req, err := http.NewRequest("GET", ts.URL+"/nes", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header = h
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Sec-WebSocket-Version", "13")
		req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		readBody(t, res)
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("cross-origin upgrade = %d, want 401", res.StatusCode)
		}
	})
}

func TestAuthEndpointIsNotReachableOverTheSocket(t *testing.T) {
	ts, _ := startChatWith(t, config{AuthType: nes.AuthToken})
	ws := dialNes(t, ts)
	ws.send(`{"type":"hello","version":"2","id":1}`)
	ws.expect("hello")
	ws.send(`{"type":"request","method":"GET","path":"/nes/auth","id":2}`)
	if m := ws.next(); string(m["statusCode"]) != "404" {
		t.Errorf("GET /nes/auth over the socket = %s, want 404", frameString(m))
	}
}

func TestConfigRoute(t *testing.T) {
	for _, tt := range []struct {
		mode nes.AuthType
		want string
	}{
		{nes.AuthCookie, `{"auth":"cookie","endpoint":"/nes/auth"}`},
		{nes.AuthToken, `{"auth":"token","endpoint":"/nes/auth"}`},
		{nes.AuthDirect, `{"auth":"direct"}`},
	} {
		ts, _ := startChatWith(t, config{AuthType: tt.mode})
		res, body := get(t, ts.URL+"/config")
		if res.StatusCode != http.StatusOK || strings.TrimSpace(body) != tt.want {
			t.Errorf("%v: GET /config = %d %s, want %s", tt.mode, res.StatusCode, body, tt.want)
		}
	}
}

func TestMeOverHTTP(t *testing.T) {
	ts, _ := startChat(t)
	for _, tt := range []struct {
		auth, want string
		status     int
	}{
		{"", `{"user":null}`, 200},
		{basic("ann", "demo"), `{"user":"ann"}`, 200},
		{basic("ann", "nope"), "Bad credentials", 401},
	} {
		req, _ := http.NewRequest("GET", ts.URL+"/me", nil)
		if tt.auth != "" {
			req.Header.Set("Authorization", tt.auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := string(readBody(t, res))
		if res.StatusCode != tt.status || !strings.Contains(body, tt.want) {
			t.Errorf("GET /me (%q) = %d %s, want %d %s", tt.auth, res.StatusCode, body, tt.status, tt.want)
		}
	}
}

func TestBasicAuthenticator(t *testing.T) {
	authn := basicAuthenticator("pw")
	for _, tt := range []struct {
		name, header, user, err string
	}{
		{"none", "", "", ""},
		{"good", basic("ann", "pw"), "ann", ""},
		{"unicode user", basic("Zoë", "pw"), "Zoë", ""},
		{"wrong password", basic("ann", "pW"), "", "Bad credentials"},
		{"not basic", "Bearer abc", "", "Bad credentials"},
		{"empty user", basic("", "pw"), "", "User names are"},
		{"long user", basic(strings.Repeat("a", maxUserChars+1), "pw"), "", "User names are"},
		{"padded user", basic(" ann", "pw"), "", "User names are"},
		{"control character", basic("a\x01", "pw"), "", "printable"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		if tt.header != "" {
			r.Header.Set("Authorization", tt.header)
		}
		c, err := authn(r)
		switch {
		case tt.err != "":
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: err = %v, want %q", tt.name, err, tt.err)
			}
		case err != nil:
			t.Errorf("%s: err = %v", tt.name, err)
		case tt.user == "" && c != nil:
			t.Errorf("%s: credentials %+v, want none", tt.name, c)
		case tt.user != "" && (c == nil || c.User != tt.user):
			t.Errorf("%s: credentials %+v, want user %s", tt.name, c, tt.user)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true,
		"[::1]:8080":     true,
		"localhost:80":   true,
		"0.0.0.0:8080":   false,
		":8080":          false,
		"10.0.0.1:8080":  false,
		"example.com:80": false,
		"nonsense":       false,
	} {
		if got := isLoopback(addr); got != want {
			t.Errorf("isLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

func TestParseAuthType(t *testing.T) {
	for s, want := range map[string]nes.AuthType{"cookie": nes.AuthCookie, "token": nes.AuthToken, "direct": nes.AuthDirect} {
		if got, err := parseAuthType(s); err != nil || got != want {
			t.Errorf("parseAuthType(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := parseAuthType("basic"); err == nil {
		t.Error("parseAuthType(basic) succeeded")
	}
}
