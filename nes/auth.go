package nes

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/nes-go/nes/auth"
	"github.com/nes-go/nes/protocol"
)

// AuthType selects how sockets authenticate (nes's auth.type).
type AuthType int

const (
	// AuthDirect: the client sends credentials in its hello
	// (hello.auth = {headers: {...}}); the server builds a request from those
	// headers and calls Authenticate. No HTTP route is exposed.
	AuthDirect AuthType = iota
	// AuthCookie: the browser fetches the auth endpoint, which calls
	// Authenticate on the real request and sets a sealed cookie; the cookie
	// sent with the websocket upgrade authenticates the hello.
	AuthCookie
	// AuthToken: the client fetches the auth endpoint, which returns a signed
	// token; the client passes it as connect({auth: token}).
	AuthToken
)

// String returns "direct", "cookie" or "token".
func (t AuthType) String() string {
	switch t {
	case AuthDirect:
		return "direct"
	case AuthCookie:
		return "cookie"
	case AuthToken:
		return "token"
	}
	return "invalid"
}

// AuthOptions configures authentication. Authenticate is required; every
// other zero value is documented.
type AuthOptions struct {
	// Type is the flow: AuthDirect (zero), AuthCookie or AuthToken.
	Type AuthType
	// Mode is auth.Required (zero: a hello without credentials fails with
	// 401) or auth.Optional (anonymous sockets are accepted).
	Mode auth.Mode
	// Authenticate authenticates every flow; see auth.Authenticator.
	Authenticate auth.Authenticator

	// Endpoint is the path of the cookie and token endpoint (GET). Empty
	// means the mount path followed by "/auth" ("/nes/auth" when mounted at
	// "/nes"). Unused by AuthDirect.
	Endpoint string
	// CookieKeys seal the cookie (AuthCookie): the first key seals, all
	// open, so a key can be rotated by putting a new one first and removing
	// the old one once every cookie it sealed has expired.
	CookieKeys []auth.CookieKey
	// Cookie sets the cookie's name and attributes (defaults: "nes", Path
	// "/", HttpOnly, Secure, SameSite=Strict, 24 h TTL).
	Cookie auth.CookieOptions
	// Token configures the JWTs of AuthToken: algorithm, keys selected by
	// kid, TTL, issuer, audience.
	Token auth.TokenOptions

	// Index keeps an index of sockets by Credentials.User, needed by
	// ToUser and ForUser.
	Index bool
	// MaxConnectionsPerUser limits the open sockets of one user (requires
	// Index); the hello of one more fails with 503. Zero means no limit.
	MaxConnectionsPerUser int

	// Verify re-checks an authenticated socket's credentials (revocation):
	// when an inbound message arrives at least MinAuthVerifyInterval after
	// the last check, Verify runs first; an error answers that message with
	// 403 "Credential verification failed" and closes the socket with
	// CloseAuthRevoked. Nil means no re-verification.
	Verify func(ctx context.Context, c *auth.Credentials) error
	// MinAuthVerifyInterval is the least time between two Verify calls for
	// one socket. Zero means the heartbeat interval (15 s when heartbeats
	// are disabled).
	MinAuthVerifyInterval time.Duration

	// UnsafeAllowCookiesFromAnyOrigin lets cookie authentication run with
	// Options.InsecureSkipOriginCheck. Any web page could then open a socket
	// with a visitor's cookie and act as them (cross-site websocket
	// hijacking). Never set it outside tests.
	UnsafeAllowCookiesFromAnyOrigin bool
}

// authState is the resolved authentication of a server.
type authState struct {
	opts     AuthOptions
	sealer   *auth.CookieSealer
	tokens   *auth.Tokens
	endpoint string // set by Mount unless configured
}

func newAuthState(o *Options) (*authState, error) {
	a := o.Auth
	if a == nil {
		return nil, nil
	}
	st := &authState{opts: *a}
	var errs []error
	if a.Authenticate == nil {
		errs = append(errs, errors.New("Auth.Authenticate is required"))
	}
	if a.Mode != auth.Required && a.Mode != auth.Optional {
		errs = append(errs, fmt.Errorf("Auth.Mode must be auth.Required or auth.Optional (got %v)", a.Mode))
	}
	if a.MaxConnectionsPerUser < 0 {
		errs = append(errs, fmt.Errorf("Auth.MaxConnectionsPerUser must not be negative (got %d)", a.MaxConnectionsPerUser))
	}
	if a.MaxConnectionsPerUser > 0 && !a.Index {
		errs = append(errs, errors.New("Auth.MaxConnectionsPerUser requires Auth.Index"))
	}
	if a.MinAuthVerifyInterval < 0 {
		errs = append(errs, fmt.Errorf("Auth.MinAuthVerifyInterval must not be negative (got %v)", a.MinAuthVerifyInterval))
	}
	if a.Endpoint != "" && !strings.HasPrefix(a.Endpoint, "/") {
		errs = append(errs, fmt.Errorf("Auth.Endpoint %q must start with /", a.Endpoint))
	}
	switch a.Type {
	case AuthDirect:
	case AuthCookie:
		s, err := auth.NewCookieSealer(a.CookieKeys, a.Cookie)
		if err != nil {
			errs = append(errs, fmt.Errorf("Auth cookie: %w", err))
		}
		st.sealer = s
		if o.InsecureSkipOriginCheck && !a.UnsafeAllowCookiesFromAnyOrigin {
			errs = append(errs, errors.New("cookie authentication with InsecureSkipOriginCheck allows cross-site websocket hijacking; list the allowed Origins instead (or set Auth.UnsafeAllowCookiesFromAnyOrigin in tests)"))
		}
	case AuthToken:
		t, err := auth.NewTokens(a.Token)
		if err != nil {
			errs = append(errs, fmt.Errorf("Auth token: %w", err))
		}
		st.tokens = t
	default:
		errs = append(errs, fmt.Errorf("Auth.Type %d is not AuthDirect, AuthCookie or AuthToken", a.Type))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if st.opts.MinAuthVerifyInterval == 0 {
		st.opts.MinAuthVerifyInterval = DefaultHeartbeatInterval
		if !o.Heartbeat.Disabled {
			st.opts.MinAuthVerifyInterval = o.Heartbeat.Interval
		}
	}
	st.endpoint = a.Endpoint
	return st, nil
}

// ClearAuthCookie writes a Set-Cookie that deletes the auth cookie in the
// browser (a logout route's job: the page cannot, the cookie is HttpOnly).
// It does nothing unless cookie authentication is configured.
func (s *Server) ClearAuthCookie(w http.ResponseWriter) {
	if s.auth != nil && s.auth.sealer != nil {
		http.SetCookie(w, s.auth.sealer.Clear())
	}
}

// Credentials returns the socket's credentials, nil when it is anonymous.
func (s *Socket) Credentials() *auth.Credentials { return s.creds.Load() }

// authFailure is an authentication error with its reply.
type authFailure struct{ reply *protocol.ErrorReply }

func (e *authFailure) Error() string { return "nes: authentication failed: " + e.reply.Message }

func authError(status int, message string) *authFailure {
	return &authFailure{reply: protocol.NewErrorReply(status, message)}
}

// authenticate runs nes's authentication for a hello or a reauth: the
// upgrade's cookie first, then the message's auth. It returns the new
// credentials (nil: anonymous, or unchanged for a reauth without any).
func (sock *Socket) authenticate(a *protocol.Auth, reauth bool) (*auth.Credentials, *authFailure) {
	st := sock.srv.auth
	var creds *auth.Credentials
	if st.sealer != nil {
		c, present, err := st.sealer.FromRequest(&http.Request{Header: http.Header{"Cookie": sock.header.values("Cookie")}}, time.Now())
		if present && err != nil {
			return nil, authError(http.StatusUnauthorized, "Invalid nes authentication cookie")
		}
		creds = c
	}
	if a == nil {
		if creds == nil && st.opts.Mode == auth.Required {
			return nil, authError(http.StatusUnauthorized, "Connection requires authentication")
		}
		return creds, nil
	}
	if creds != nil && !reauth {
		return nil, authError(http.StatusBadRequest, "Connection already authenticated")
	}
	switch st.opts.Type {
	case AuthDirect:
		// An auth without headers ({} or a string) authenticates a request
		// without headers, as nes injects one: optional mode lets it in
		// anonymously, required mode answers "Missing authentication".
		xff := strings.Join(sock.header.values("X-Forwarded-For"), ", ")
		r := auth.RequestFromHeaders(a.Headers, sock.remoteAddr, xff)
		r = r.WithContext(sock.ctx)
		var c *auth.Credentials
		err := callHook(func() error {
			var err error
			c, err = st.opts.Authenticate(r)
			return err
		})
		if err != nil {
			status, msg := auth.Status(err)
			var rej *auth.RejectError
			if !errors.As(err, &rej) {
				sock.srv.log.Warn("nes: authenticator failed", "socket", sock.id, "error", err)
			}
			return nil, authError(status, msg)
		}
		if c == nil && st.opts.Mode == auth.Required {
			return nil, authError(http.StatusUnauthorized, "Missing authentication")
		}
		return c, nil
	case AuthToken:
		c, err := st.tokens.Verify(a.Token, time.Now())
		if a.Token == "" || err != nil {
			return nil, authError(http.StatusUnauthorized, "Invalid token")
		}
		return c, nil
	default: // AuthCookie: as in nes, a sealed value may also come in hello.auth
		c, err := st.sealer.Open(a.Token, time.Now())
		if a.Token == "" || err != nil {
			return nil, authError(http.StatusUnauthorized, "Invalid token")
		}
		return c, nil
	}
}

// setCredentials gives the socket its credentials: the user index moves the
// socket (never twice; a reauth does not count as a new connection) and the
// expiry timer is armed.
func (sock *Socket) setCredentials(c *auth.Credentials) *authFailure {
	srv := sock.srv
	if srv.auth.opts.Index {
		if f := srv.indexUser(sock, c); f != nil {
			return f
		}
	}
	sock.creds.Store(c)
	sock.verified.Store(time.Now().UnixNano())
	sock.armExpiry(c)
	return nil
}

// armExpiry closes the socket when its credentials expire, even if idle.
func (sock *Socket) armExpiry(c *auth.Credentials) {
	sock.expiryMu.Lock()
	defer sock.expiryMu.Unlock()
	if sock.expiry != nil {
		sock.expiry.Stop()
		sock.expiry = nil
	}
	if c == nil || c.Expires.IsZero() {
		return
	}
	sock.expiry = time.AfterFunc(time.Until(c.Expires), func() {
		sock.closeAfterQueue(CloseAuthExpired, "credentials expired")
	})
}

func (sock *Socket) stopExpiry() {
	sock.expiryMu.Lock()
	if sock.expiry != nil {
		sock.expiry.Stop()
	}
	sock.expiryMu.Unlock()
}

// verify re-checks the credentials when MinAuthVerifyInterval has passed;
// false means the message must be refused and the socket closed.
func (sock *Socket) verify() bool {
	st := sock.srv.auth
	if st == nil || st.opts.Verify == nil {
		return true
	}
	c := sock.creds.Load()
	if c == nil {
		return true
	}
	now := time.Now().UnixNano()
	if now-sock.verified.Load() < int64(st.opts.MinAuthVerifyInterval) {
		return true
	}
	sock.verified.Store(now)
	if err := callHook(func() error { return st.opts.Verify(sock.ctx, c) }); err != nil {
		return false
	}
	return true
}
