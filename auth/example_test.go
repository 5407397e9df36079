package auth_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/nes-go/nes/auth"
)

func ExampleNewCookieSealer() {
	// In production, generate the keys randomly (e.g. with
	// securecookie.GenerateRandomKey) and load them from a secret store.
	key := auth.CookieKey{Hash: bytes.Repeat([]byte("h"), 32), Block: bytes.Repeat([]byte("b"), 32)}
	sealer, err := auth.NewCookieSealer([]auth.CookieKey{key}, auth.CookieOptions{TTL: time.Hour})
	if err != nil {
		panic(err)
	}
	now := time.Now()
	value, err := sealer.Seal(&auth.Credentials{User: "john", Scope: []string{"admin"}}, now)
	if err != nil {
		panic(err)
	}
	cookie := sealer.Cookie(value, now)
	fmt.Println(cookie.Name, cookie.MaxAge, cookie.HttpOnly, cookie.Secure, cookie.SameSite == http.SameSiteStrictMode)

	creds, err := sealer.Open(value, now.Add(time.Minute))
	fmt.Println(creds.User, creds.Scope, err)

	_, err = sealer.Open(value, now.Add(2*time.Hour))
	fmt.Println(err != nil)
	// Output:
	// nes 3600 true true true
	// john [admin] <nil>
	// true
}

func ExampleNewTokens() {
	tokens, err := auth.NewTokens(auth.TokenOptions{
		Algorithm: "HS256",
		Keys: []auth.TokenKey{
			{ID: "2026-03", Secret: []byte("a new secret of at least 32 bytes...")},
			{ID: "2026-02", Secret: []byte("last month's secret, still valid...")},
		},
		TTL:      15 * time.Minute,
		Audience: "chat",
	})
	if err != nil {
		panic(err)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	token, err := tokens.Issue(&auth.Credentials{User: "jane", Scope: []string{"read"}}, now)
	if err != nil {
		panic(err)
	}
	creds, err := tokens.Verify(token, now.Add(time.Minute))
	fmt.Println(creds.User, creds.Scope, creds.Expires.UTC().Format(time.RFC3339), err)

	_, err = tokens.Verify(token, now.Add(time.Hour))
	fmt.Println(err)
	// Output:
	// jane [read] 2026-03-01T12:15:00Z <nil>
	// auth: invalid token: token has invalid claims: token is expired
}

func ExampleTokenEndpoint() {
	tokens, err := auth.NewTokens(auth.TokenOptions{
		Keys: []auth.TokenKey{{ID: "k1", Secret: []byte("an example secret of 32+ bytes!!")}},
	})
	if err != nil {
		panic(err)
	}
	authn := func(r *http.Request) (*auth.Credentials, error) {
		user, pass, ok := r.BasicAuth()
		if !ok {
			return nil, nil // no credentials: 401 "Missing authentication" when required
		}
		if user != "john" || pass != "secret" {
			return nil, auth.Reject("Bad credentials")
		}
		return &auth.Credentials{User: user}, nil
	}
	h := auth.TokenEndpoint(authn, tokens, auth.Required)

	for _, pass := range []string{"", "wrong", "secret"} {
		r := httptest.NewRequest(http.MethodGet, "/nes/auth", nil)
		if pass != "" {
			r.SetBasicAuth("john", pass)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		body := w.Body.String()
		if strings.Contains(body, `"token"`) {
			body = body[:strings.Index(body, `"token"`)] + `"token":"…"}`
		}
		fmt.Println(w.Code, body)
	}
	// Output:
	// 401 {"statusCode":401,"error":"Unauthorized","message":"Missing authentication"}
	// 401 {"statusCode":401,"error":"Unauthorized","message":"Bad credentials"}
	// 200 {"status":"authenticated","token":"…"}
}
