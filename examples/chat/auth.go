package main

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nes-go/nes/auth"
	"github.com/nes-go/nes/nes"
)

const (
	// maxUserChars is the longest user name accepted (runes).
	maxUserChars = 32
	// sessionTTL is the lifetime of the demo's cookies and tokens.
	sessionTTL = 12 * time.Hour
	// cookieName is the nes cookie of the cookie flow (nes's default name).
	cookieName = "nes"
)

// parseAuthType reads the -auth flag.
func parseAuthType(s string) (nes.AuthType, error) {
	switch s {
	case "cookie":
		return nes.AuthCookie, nil
	case "token":
		return nes.AuthToken, nil
	case "direct":
		return nes.AuthDirect, nil
	}
	return 0, fmt.Errorf("-auth %q: want cookie, token or direct", s)
}

// basicAuthenticator authenticates HTTP Basic credentials: any user name (1
// to 32 printable characters), the one shared password. It is the single
// Authenticator of the demo: nes calls it on the request to /nes/auth
// (cookie and token flows), on the request built from hello.auth.headers
// (direct flow), and the routes call it through nes.Authenticated for
// plain HTTP requests.
func basicAuthenticator(password string) auth.Authenticator {
	// Compare digests in constant time, so neither the content nor the
	// length of the password leaks through the timing of a refusal.
	want := sha256.Sum256([]byte(password))
	return func(r *http.Request) (*auth.Credentials, error) {
		user, pass, ok := r.BasicAuth()
		if !ok {
			if r.Header.Get("Authorization") != "" {
				return nil, auth.Reject("Bad credentials")
			}
			return nil, nil // anonymous; the mode decides whether that is enough
		}
		got := sha256.Sum256([]byte(pass))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			return nil, auth.Reject("Bad credentials")
		}
		if msg := checkUser(user); msg != "" {
			return nil, auth.Reject(msg)
		}
		return &auth.Credentials{User: user}, nil
	}
}

// checkUser returns why user is not an acceptable name, or "".
func checkUser(user string) string {
	n := utf8.RuneCountInString(user)
	if n == 0 || n > maxUserChars || !utf8.ValidString(user) || strings.TrimSpace(user) != user {
		return fmt.Sprintf("User names are 1 to %d characters, without surrounding spaces", maxUserChars)
	}
	for _, r := range user {
		if !unicode.IsPrint(r) {
			return "User names must be printable"
		}
	}
	return ""
}

// authKeys are the secrets of the cookie and token flows.
type authKeys struct {
	Cookie auth.CookieKey
	Token  auth.TokenKey
}

// randomKeys generates fresh keys. The demo calls it at start, so a restart
// ends every session; a real deployment loads its keys from configuration
// (see docs/auth.md, "Rotating keys").
func randomKeys() authKeys {
	return authKeys{
		Cookie: auth.CookieKey{Hash: randomBytes(32), Block: randomBytes(32)},
		Token:  auth.TokenKey{ID: "demo-" + hex.EncodeToString(randomBytes(4)), Secret: randomBytes(32)},
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand.Read panics rather than return an error)
	return b
}

// isLoopback reports whether addr (host:port) only listens on the loopback
// interface, where plain http cannot be sniffed by anyone else.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// authOptions builds the nes authentication options of the demo.
func authOptions(cfg config, authn auth.Authenticator) *nes.AuthOptions {
	return &nes.AuthOptions{
		Type: cfg.AuthType,
		// Anonymous sockets may connect and read; posting checks for a user.
		Mode:         auth.Optional,
		Authenticate: authn,
		CookieKeys:   []auth.CookieKey{cfg.Keys.Cookie},
		Cookie: auth.CookieOptions{
			Name: cookieName,
			TTL:  sessionTTL,
			// Secure cookies are not stored by browsers for a plain-http
			// page; run() sets this only when the demo listens on loopback.
			NotSecure: cfg.CookieNotSecure,
		},
		Token: auth.TokenOptions{
			Keys: []auth.TokenKey{cfg.Keys.Token},
			TTL:  sessionTTL,
		},
	}
}

// configHandler answers GET /config: what the page needs to know to log in.
func configHandler(t nes.AuthType) http.HandlerFunc {
	body := struct {
		Auth     string `json:"auth"`
		Endpoint string `json:"endpoint,omitempty"`
	}{Auth: t.String()}
	if t != nes.AuthDirect {
		body.Endpoint = "/nes/auth"
	}
	return func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, body)
	}
}

// meHandler answers GET /me (behind nes.Authenticated in optional mode):
// {"user":"ann"}, or {"user":null} when anonymous. Over the socket it tells
// the page who the socket is authenticated as, which the page cannot read
// from the HttpOnly cookie.
func meHandler(w http.ResponseWriter, r *http.Request) {
	var user *string
	if c := nes.CredentialsFrom(r.Context()); c != nil {
		user = &c.User
	}
	writeJSON(w, http.StatusOK, struct {
		User *string `json:"user"`
	}{user})
}

// logoutHandler answers POST /logout in the cookie flow: it clears the nes
// cookie, which the page cannot do itself since the cookie is HttpOnly. The
// sealed value stays valid until its expiry if someone kept a copy (the
// cookie is stateless); see docs/auth.md.
func logoutHandler(srv *nes.Server) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		srv.ClearAuthCookie(w)
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
	}
}
