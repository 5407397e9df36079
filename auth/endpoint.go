package auth

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Messages of the auth endpoints, as hapi words them.
const (
	msgMissing      = "Missing authentication"
	msgUnauthorized = "Unauthorized"
)

// CookieEndpoint returns the handler of the cookie flow's auth endpoint
// (nes's GET /nes/auth with type "cookie"). It calls authn with the real
// request, so middleware in front of it applies, and answers:
//
//   - credentials: a Set-Cookie sealed by s and {"status":"authenticated"};
//   - no credentials: 401 "Missing authentication" when mode is Required,
//     otherwise {"status":"unauthenticated"} (and no cookie);
//   - an error: 401 with the [Reject] message, or "Unauthorized".
//
// Only GET is served (405 otherwise). Responses are JSON with
// Cache-Control: no-store. Mode None behaves like Optional.
func CookieEndpoint(authn Authenticator, s *CookieSealer, mode Mode) http.Handler {
	if authn == nil || s == nil {
		panic("auth: CookieEndpoint: nil Authenticator or CookieSealer")
	}
	return endpoint(authn, mode, func(w http.ResponseWriter, c *Credentials, now time.Time) (any, error) {
		v, err := s.Seal(c, now)
		if err != nil {
			return nil, err
		}
		http.SetCookie(w, s.Cookie(v, now))
		return statusBody{Status: "authenticated"}, nil
	})
}

// TokenEndpoint returns the handler of the token flow's auth endpoint
// (nes's GET /nes/auth with type "token"). Like [CookieEndpoint], except
// that credentials are answered {"status":"authenticated","token":"..."}
// with a token issued by t, which the client passes as hello.auth.
func TokenEndpoint(authn Authenticator, t *Tokens, mode Mode) http.Handler {
	if authn == nil || t == nil {
		panic("auth: TokenEndpoint: nil Authenticator or Tokens")
	}
	return endpoint(authn, mode, func(_ http.ResponseWriter, c *Credentials, now time.Time) (any, error) {
		tok, err := t.Issue(c, now)
		if err != nil {
			return nil, err
		}
		return statusBody{Status: "authenticated", Token: tok}, nil
	})
}

// statusBody is the success body of the endpoints.
type statusBody struct {
	Status string `json:"status"`
	Token  string `json:"token,omitempty"`
}

// errorBody is a hapi (boom) error body.
type errorBody struct {
	StatusCode int    `json:"statusCode"`
	Error      string `json:"error"`
	Message    string `json:"message"`
}

// endpoint runs the shared part of both endpoints; grant turns credentials
// into the success body (and headers).
func endpoint(authn Authenticator, mode Mode, grant func(http.ResponseWriter, *Credentials, time.Time) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			writeError(w, http.StatusMethodNotAllowed, http.StatusText(http.StatusMethodNotAllowed))
			return
		}
		creds, err := authn(r)
		if err != nil {
			code, msg := Status(err)
			writeError(w, code, msg)
			return
		}
		if creds == nil {
			if mode == Required {
				writeError(w, http.StatusUnauthorized, msgMissing)
				return
			}
			writeJSON(w, http.StatusOK, statusBody{Status: "unauthenticated"})
			return
		}
		now := time.Now()
		if !creds.Expires.IsZero() && !creds.Expires.After(now) {
			writeError(w, http.StatusUnauthorized, msgUnauthorized)
			return
		}
		body, err := grant(w, creds, now)
		if err != nil {
			// Sealing or signing failed (e.g. credentials too large for a
			// cookie): a server fault, not the client's.
			writeError(w, http.StatusInternalServerError, "An internal server error occurred")
			return
		}
		writeJSON(w, http.StatusOK, body)
	})
}

func writeError(w http.ResponseWriter, code int, message string) {
	writeJSON(w, code, errorBody{StatusCode: code, Error: http.StatusText(code), Message: message})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // not reachable with the bodies above
		code, b = http.StatusInternalServerError, []byte(`{"statusCode":500,"error":"Internal Server Error","message":"An internal server error occurred"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// Status maps an Authenticator error to the status and message the client
// sees: 401 with the message of a [RejectError] (see [Reject]), or 401
// "Unauthorized" for any other error, whose text is never shown. A nil
// error gives 200 and "".
func Status(err error) (status int, message string) {
	if err == nil {
		return http.StatusOK, ""
	}
	var re *RejectError
	if errors.As(err, &re) && re != nil && re.Message != "" {
		return http.StatusUnauthorized, re.Message
	}
	return http.StatusUnauthorized, msgUnauthorized
}

// RequestFromHeaders builds the synthetic request of direct authentication:
// GET / on host "nes" with exactly the given headers (names canonicalized),
// RemoteAddr set to remoteAddr (the socket's peer), and X-Forwarded-For set
// to xForwardedFor when not empty — that of the upgrade request; one sent
// in headers is dropped, as are Host and headers whose name or value is
// not valid HTTP (so the Authenticator sees only what a real request could
// carry). Its context is context.Background; use WithContext to change it.
func RequestFromHeaders(headers map[string]string, remoteAddr string, xForwardedFor string) *http.Request {
	h := make(http.Header, len(headers)+1)
	names := make([]string, 0, len(headers))
	for name := range headers {
		names = append(names, name)
	}
	sort.Strings(names) // deterministic order when names differ only by case
	for _, name := range names {
		value := headers[name]
		if !validHeaderName(name) || !validHeaderValue(value) {
			continue
		}
		key := http.CanonicalHeaderKey(name)
		if key == "Host" || key == "X-Forwarded-For" {
			continue
		}
		h.Add(key, strings.Trim(value, " \t"))
	}
	if xForwardedFor != "" && validHeaderValue(xForwardedFor) {
		h.Set("X-Forwarded-For", xForwardedFor)
	}
	return &http.Request{
		Method:     http.MethodGet,
		URL:        &url.URL{Path: "/"},
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     h,
		Body:       http.NoBody,
		Host:       "nes",
		RemoteAddr: remoteAddr,
		RequestURI: "/",
	}
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validHeaderValue reports whether s has no control characters other than
// horizontal tab (so no CR, LF or NUL).
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
