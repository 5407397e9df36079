// Package auth holds the credentials of nes sockets and the three ways nes
// authenticates them: direct (credentials in the hello), cookie (a sealed
// cookie set by the auth endpoint, for browsers) and token (a signed JWT
// returned by the auth endpoint, for native clients).
//
// Every flow goes through one application function, an [Authenticator],
// called with a real or synthesized *http.Request; the package seals what it
// returns into a cookie ([CookieSealer], gorilla/securecookie) or a token
// ([Tokens], golang-jwt), and opens them again when a socket says hello.
package auth

import (
	"errors"
	"net/http"
	"time"
)

// Credentials identify who a socket or a request acts for. They are plain
// data, serialized into cookies and tokens: keep Claims small and JSON-friendly.
type Credentials struct {
	// User is the user id. Empty means application credentials (a service,
	// not a person): subscriptions with entity "user" refuse them.
	User string `json:"user,omitempty"`
	// Scope lists what the credentials grant; subscriptions may require any
	// of a set of scopes.
	Scope []string `json:"scope,omitempty"`
	// Claims is application data carried along (JSON values).
	Claims map[string]any `json:"claims,omitempty"`
	// Expires is when the credentials stop being valid: a token's exp, the
	// end of a cookie's TTL, or what the Authenticator set. Zero means no
	// expiry. A socket is closed when its credentials expire.
	Expires time.Time `json:"-"`
}

// HasScope reports whether c grants any of scopes.
func (c *Credentials) HasScope(scopes ...string) bool {
	if c == nil {
		return false
	}
	for _, have := range c.Scope {
		for _, want := range scopes {
			if have == want {
				return true
			}
		}
	}
	return false
}

// Authenticator authenticates an HTTP request: the real request to the auth
// endpoint (cookie and token flows), or, for direct authentication, a request
// built from the headers of the client's hello plus the peer address.
//
// It returns the credentials; (nil, nil) when the request carries none (in
// optional mode the socket is then anonymous); or an error to reject the
// request: [Reject] chooses the message the client sees (401), any other
// error is answered 401 "Unauthorized" without its text.
type Authenticator func(r *http.Request) (*Credentials, error)

// Mode says whether authentication is required.
type Mode int

const (
	// Required refuses connections (or subscriptions) without credentials.
	Required Mode = iota
	// Optional accepts them anonymously.
	Optional
	// None skips authentication checks (subscriptions only).
	None
)

// String returns "required", "optional" or "none".
func (m Mode) String() string {
	switch m {
	case Required:
		return "required"
	case Optional:
		return "optional"
	case None:
		return "none"
	}
	return "invalid"
}

// RejectError is the error of [Reject].
type RejectError struct {
	// Message is shown to the client with status 401.
	Message string
}

// Error implements the error interface.
func (e *RejectError) Error() string { return "auth: rejected: " + e.Message }

// Reject returns an error that an Authenticator uses to refuse a request
// with 401 and message (e.g. "Bad credentials").
func Reject(message string) error { return &RejectError{Message: message} }

// Errors reported when opening cookies and tokens. They wrap the cause.
var (
	// ErrInvalidCookie: the cookie is not one this server sealed, was
	// tampered with, was sealed with a retired key, or has expired.
	ErrInvalidCookie = errors.New("auth: invalid cookie")
	// ErrInvalidToken: the token is malformed, signed with another key or
	// algorithm, expired, not yet valid, or for another issuer or audience.
	ErrInvalidToken = errors.New("auth: invalid token")
)
