package nes

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/nes-go/nes/auth"
)

// ErrNoUserIndex is returned by Publish and Broadcast with ToUser when
// Options.Auth.Index is off.
var ErrNoUserIndex = errors.New("nes: user index disabled (set Options.Auth.Index)")

// ToUser limits a Publish or Broadcast to the sockets authenticated as user
// (requires Options.Auth.Index).
func ToUser(user string) PublishOption {
	return func(c *publishConfig) { c.user, c.hasUser = user, true }
}

// ForUser limits EachSocket to the sockets authenticated as user (requires
// Options.Auth.Index; without it EachSocket visits nothing).
func ForUser(user string) EachOption {
	return func(c *eachConfig) { c.user, c.hasUser = user, true }
}

// indexUser moves sock in the user index from its current user to c's. The
// socket is never indexed twice, and a reauth as the same user is not a new
// connection for MaxConnectionsPerUser.
func (s *Server) indexUser(sock *Socket, c *auth.Credentials) *authFailure {
	oldUser, newUser := userOf(sock.creds.Load()), userOf(c)
	s.mu.Lock()
	defer s.mu.Unlock()
	if newUser != "" && newUser != oldUser {
		if max := s.auth.opts.MaxConnectionsPerUser; max > 0 && len(s.users[newUser]) >= max {
			return authError(http.StatusServiceUnavailable, "Too many connections for the authenticated user")
		}
	}
	if oldUser != "" && oldUser != newUser {
		s.unindexLocked(sock, oldUser)
	}
	if newUser != "" {
		set := s.users[newUser]
		if set == nil {
			set = make(map[*Socket]struct{})
			s.users[newUser] = set
		}
		set[sock] = struct{}{}
	}
	return nil
}

func (s *Server) unindexLocked(sock *Socket, user string) {
	if set := s.users[user]; set != nil {
		delete(set, sock)
		if len(set) == 0 {
			delete(s.users, user)
		}
	}
}

func userOf(c *auth.Credentials) string {
	if c == nil {
		return ""
	}
	return c.User
}

// userSockets appends the ready sockets of user to dst.
func (s *Server) userSockets(dst []*Socket, user string) []*Socket {
	s.mu.Lock()
	for sock := range s.users[user] {
		if sock.ready.Load() {
			dst = append(dst, sock)
		}
	}
	s.mu.Unlock()
	return dst
}

// CredentialsFrom returns the credentials of a request: those of the socket
// it arrived on, or those stored by [Authenticated]; nil when anonymous.
func CredentialsFrom(ctx context.Context) *auth.Credentials {
	if c, ok := ctx.Value(credentialsKey{}).(*auth.Credentials); ok {
		return c
	}
	if s := SocketFrom(ctx); s != nil {
		return s.Credentials()
	}
	return nil
}

type credentialsKey struct{}

// WithSocketCredentials wraps an HTTP authenticator so that a request made
// over an authenticated socket is authenticated by the socket's credentials
// (such a request cannot carry an Authorization header), and any other
// request by authn.
func WithSocketCredentials(authn auth.Authenticator) auth.Authenticator {
	return func(r *http.Request) (*auth.Credentials, error) {
		if s := SocketFrom(r.Context()); s != nil {
			return s.Credentials(), nil
		}
		return authn(r)
	}
}

// Authenticated is chi middleware that authenticates requests with
// WithSocketCredentials(authn) and stores the credentials for
// CredentialsFrom. In auth.Required mode a request without credentials gets
// 401 {"statusCode":401,"error":"Unauthorized","message":"Missing
// authentication"}; an authn error gets 401 with the auth.Reject message.
func Authenticated(authn auth.Authenticator, mode auth.Mode) func(http.Handler) http.Handler {
	authn = WithSocketCredentials(authn)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := authn(r)
			if err != nil {
				status, msg := auth.Status(err)
				writeHapiError(w, status, msg)
				return
			}
			if c == nil && mode == auth.Required {
				writeHapiError(w, http.StatusUnauthorized, "Missing authentication")
				return
			}
			if c != nil {
				r = r.WithContext(context.WithValue(r.Context(), credentialsKey{}, c))
			}
			next.ServeHTTP(w, r)
		})
	}
}

func writeHapiError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"statusCode": status, "error": http.StatusText(status), "message": message})
}

// Entity restricts a subscription to user or application credentials.
type Entity int

const (
	// EntityAny accepts user and application credentials.
	EntityAny Entity = iota
	// EntityUser accepts only credentials with a User.
	EntityUser
	// EntityApp accepts only credentials without a User.
	EntityApp
)

// SubscriptionAuth configures who may subscribe to a pattern.
type SubscriptionAuth struct {
	// Mode is auth.Required (zero: anonymous sockets get 401), auth.Optional
	// (anonymous sockets may subscribe; authenticated ones are checked) or
	// auth.None (no check at all).
	Mode auth.Mode
	// Scope, when set, requires credentials with any of these scopes. An
	// entry may contain "{params.name}", replaced by the path parameter
	// name ("room:{params.room}").
	Scope []string
	// Entity restricts the kind of credentials (zero: any).
	Entity Entity
}

// checkScopeTemplates reports scope templates naming unknown parameters.
func checkScopeTemplates(scopes []string, params []string) error {
	for _, sc := range scopes {
		rest := sc
		for {
			i := strings.Index(rest, "{params.")
			if i < 0 {
				break
			}
			j := strings.IndexByte(rest[i:], '}')
			if j < 0 {
				return errors.New("unterminated {params.} in scope " + sc)
			}
			name := rest[i+len("{params.") : i+j]
			found := false
			for _, p := range params {
				found = found || p == name
			}
			if !found {
				return errors.New("scope " + sc + " names unknown parameter " + name)
			}
			rest = rest[i+j+1:]
		}
	}
	return nil
}

func expandScope(sc string, params map[string]string) string {
	if !strings.Contains(sc, "{params.") {
		return sc
	}
	for name, v := range params {
		sc = strings.ReplaceAll(sc, "{params."+name+"}", v)
	}
	return sc
}
