package auth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type ctxKey struct{}

// middleware stands for chi middleware in front of the endpoint.
func middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, "via-middleware")))
	})
}

// testAuthn authenticates "Authorization: Custom <user>", rejects "bad",
// and fails with a secret-bearing error for "boom".
func testAuthn(r *http.Request) (*Credentials, error) {
	if r.Context().Value(ctxKey{}) != "via-middleware" {
		return nil, errors.New("middleware not applied")
	}
	h := r.Header.Get("Authorization")
	switch {
	case h == "":
		return nil, nil
	case h == "Custom bad":
		return nil, Reject("Bad credentials")
	case h == "Custom boom":
		return nil, errors.New("db password=hunter2 refused")
	case h == "Custom expired":
		return &Credentials{User: "old", Expires: time.Now().Add(-time.Minute)}, nil
	case h == "Custom huge":
		return &Credentials{User: "big", Claims: map[string]any{"x": strings.Repeat("x", 5000)}}, nil
	case strings.HasPrefix(h, "Custom "):
		return &Credentials{User: strings.TrimPrefix(h, "Custom "), Scope: []string{"a"}}, nil
	}
	return nil, Reject("Unknown scheme")
}

func call(h http.Handler, method, authz string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "/nes/auth", nil)
	if authz != "" {
		r.Header.Set("Authorization", authz)
	}
	w := httptest.NewRecorder()
	middleware(h).ServeHTTP(w, r)
	return w
}

const (
	bodyMissing = `{"statusCode":401,"error":"Unauthorized","message":"Missing authentication"}`
	bodyBad     = `{"statusCode":401,"error":"Unauthorized","message":"Bad credentials"}`
	bodyUnauth  = `{"statusCode":401,"error":"Unauthorized","message":"Unauthorized"}`
	bodyAnon    = `{"status":"unauthenticated"}`
	body405     = `{"statusCode":405,"error":"Method Not Allowed","message":"Method Not Allowed"}`
	body500     = `{"statusCode":500,"error":"Internal Server Error","message":"An internal server error occurred"}`
)

func checkResp(t *testing.T, name string, w *httptest.ResponseRecorder, code int, body string) {
	t.Helper()
	if w.Code != code || (body != "" && w.Body.String() != body) {
		t.Errorf("%s: %d %s, want %d %s", name, w.Code, w.Body, code, body)
	}
	if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("%s: Cache-Control %q", name, cc)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("%s: Content-Type %q", name, ct)
	}
}

func TestCookieEndpoint(t *testing.T) {
	s := newSealer(t, CookieOptions{})
	h := CookieEndpoint(testAuthn, s, Required)

	w := call(h, http.MethodGet, "Custom john")
	checkResp(t, "authenticated", w, 200, `{"status":"authenticated"}`)
	cookies := w.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Name != "nes" || !cookies[0].HttpOnly || !cookies[0].Secure ||
		cookies[0].SameSite != http.SameSiteStrictMode || cookies[0].Path != "/" || cookies[0].MaxAge != 86400 {
		t.Fatalf("Set-Cookie: %v", w.Header().Values("Set-Cookie"))
	}
	c, err := s.Open(cookies[0].Value, time.Now())
	if err != nil || c.User != "john" || !c.HasScope("a") {
		t.Fatalf("cookie opens to %+v, %v", c, err)
	}

	for _, tc := range []struct {
		name, authz string
		code        int
		body        string
	}{
		{"missing", "", 401, bodyMissing},
		{"reject", "Custom bad", 401, bodyBad},
		{"internal error hidden", "Custom boom", 401, bodyUnauth},
		{"expired credentials", "Custom expired", 401, bodyUnauth},
		{"too large for a cookie", "Custom huge", 500, body500},
	} {
		w := call(h, http.MethodGet, tc.authz)
		checkResp(t, tc.name, w, tc.code, tc.body)
		if sc := w.Header().Get("Set-Cookie"); sc != "" {
			t.Errorf("%s: Set-Cookie %q", tc.name, sc)
		}
	}
	for _, m := range []string{http.MethodPost, http.MethodHead, http.MethodPut, http.MethodOptions} {
		w := call(h, m, "Custom john")
		want := body405
		if m == http.MethodHead {
			want = ""
		}
		checkResp(t, m, w, 405, want)
		if w.Header().Get("Allow") != "GET" || w.Header().Get("Set-Cookie") != "" {
			t.Errorf("%s: headers %v", m, w.Header())
		}
	}

	opt := CookieEndpoint(testAuthn, s, Optional)
	checkResp(t, "optional anonymous", call(opt, http.MethodGet, ""), 200, bodyAnon)
	checkResp(t, "optional reject", call(opt, http.MethodGet, "Custom bad"), 401, bodyBad)
	none := CookieEndpoint(testAuthn, s, None)
	checkResp(t, "mode none anonymous", call(none, http.MethodGet, ""), 200, bodyAnon)
}

func TestTokenEndpoint(t *testing.T) {
	tk := newTokens(t, TokenOptions{})
	h := TokenEndpoint(testAuthn, tk, Required)

	w := call(h, http.MethodGet, "Custom jane")
	checkResp(t, "authenticated", w, 200, "")
	body := w.Body.String()
	const prefix = `{"status":"authenticated","token":"`
	if !strings.HasPrefix(body, prefix) || !strings.HasSuffix(body, `"}`) {
		t.Fatalf("body %s", body)
	}
	tok := strings.TrimSuffix(strings.TrimPrefix(body, prefix), `"}`)
	c, err := tk.Verify(tok, time.Now())
	if err != nil || c.User != "jane" {
		t.Fatalf("token verifies to %+v, %v", c, err)
	}
	if w.Header().Get("Set-Cookie") != "" {
		t.Fatal("token endpoint set a cookie")
	}

	checkResp(t, "missing", call(h, http.MethodGet, ""), 401, bodyMissing)
	checkResp(t, "reject", call(h, http.MethodGet, "Custom bad"), 401, bodyBad)
	checkResp(t, "internal error hidden", call(h, http.MethodGet, "Custom boom"), 401, bodyUnauth)
	checkResp(t, "post", call(h, http.MethodPost, "Custom jane"), 405, body405)
	opt := TokenEndpoint(testAuthn, tk, Optional)
	checkResp(t, "optional anonymous", call(opt, http.MethodGet, ""), 200, bodyAnon)

	// Without the middleware the Authenticator sees the bare request.
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/nes/auth", nil))
	checkResp(t, "no middleware", w, 401, bodyUnauth)
}

func TestStatus(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
		msg  string
	}{
		{nil, 200, ""},
		{Reject("Bad credentials"), 401, "Bad credentials"},
		{errors.Join(errors.New("x"), Reject("Wrapped")), 401, "Wrapped"},
		{Reject(""), 401, "Unauthorized"},
		{errors.New("secret detail"), 401, "Unauthorized"},
		{ErrInvalidToken, 401, "Unauthorized"},
	} {
		code, msg := Status(tc.err)
		if code != tc.code || msg != tc.msg {
			t.Errorf("Status(%v) = %d %q", tc.err, code, msg)
		}
	}
}

func TestRequestFromHeaders(t *testing.T) {
	r := RequestFromHeaders(map[string]string{
		"authorization":   "Custom john",
		"x-custom":        "  v  ",
		"X-Forwarded-For": "6.6.6.6",
		"host":            "evil.example",
		"bad name":        "x",
		"x-crlf":          "a\r\nInjected: 1",
		"x-nul":           "a\x00b",
		"":                "empty",
		"cookie":          "nes=abc",
	}, "10.0.0.1:5555", "1.2.3.4")
	if r.Method != http.MethodGet || r.URL.String() != "/" || r.Host != "nes" || r.RemoteAddr != "10.0.0.1:5555" || r.RequestURI != "/" {
		t.Fatalf("request %+v", r)
	}
	want := http.Header{
		"Authorization":   {"Custom john"},
		"X-Custom":        {"v"},
		"Cookie":          {"nes=abc"},
		"X-Forwarded-For": {"1.2.3.4"},
	}
	if len(r.Header) != len(want) {
		t.Fatalf("headers %v", r.Header)
	}
	for k, v := range want {
		if got := r.Header.Values(k); len(got) != 1 || got[0] != v[0] {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	if c, err := r.Cookie("nes"); err != nil || c.Value != "abc" {
		t.Errorf("cookie: %v %v", c, err)
	}
	if r.Context() == nil || r.Body == nil {
		t.Fatal("nil context or body")
	}
	// No X-Forwarded-For from the upgrade: none at all.
	r = RequestFromHeaders(map[string]string{"x-forwarded-for": "6.6.6.6"}, "10.0.0.1:1", "")
	if len(r.Header) != 0 {
		t.Fatalf("headers %v", r.Header)
	}
	// The request works with an Authenticator and a cookie sealer.
	s := newSealer(t, CookieOptions{})
	v, _ := s.Seal(testCreds(), testNow)
	r = RequestFromHeaders(map[string]string{"Cookie": "nes=" + v}, "", "")
	if c, present, err := s.FromRequest(r, testNow); err != nil || !present || c.User != "john" {
		t.Fatalf("FromRequest: %v %v %v", c, present, err)
	}
}
