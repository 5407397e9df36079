package auth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/securecookie"
)

// Cookie defaults and limits.
const (
	defaultCookieName = "nes"
	defaultCookiePath = "/"
	defaultCookieTTL  = 24 * time.Hour
	// maxCookieLength bounds the encoded cookie value, when sealing and
	// before any decoding when opening (browsers keep about 4 KiB per cookie).
	maxCookieLength = 4096
	// maxCookiesTried bounds how many cookies of the same name FromRequest
	// tries to open.
	maxCookiesTried = 4
)

// CookieKey is one key pair of a [CookieSealer]: Hash authenticates the
// cookie (HMAC-SHA256), Block encrypts it (AES). Generate them with a
// cryptographic random source, e.g. securecookie.GenerateRandomKey.
type CookieKey struct {
	// Hash is the HMAC key: 32 or 64 bytes.
	Hash []byte
	// Block is the AES key: 16, 24 or 32 bytes (AES-128, -192, -256).
	Block []byte
}

// CookieOptions configure a [CookieSealer]. The zero value gives nes's
// defaults: cookie "nes", path "/", 24h, Secure, HttpOnly, SameSite=Strict.
type CookieOptions struct {
	// Name is the cookie name; "" means "nes".
	Name string
	// Path is the cookie path; "" means "/".
	Path string
	// Domain is the cookie domain; "" means host-only.
	Domain string
	// TTL is how long a sealed cookie stays valid; 0 means 24h. It is
	// enforced inside the sealed value (a replayed cookie is refused after
	// it) and sent as Max-Age/Expires. It must be at least one second.
	TTL time.Duration
	// NotSecure drops the Secure attribute (plain-HTTP development only).
	NotSecure bool
	// NotHTTPOnly drops the HttpOnly attribute, letting scripts read it.
	NotHTTPOnly bool
	// SameSite defaults to http.SameSiteStrictMode; http.SameSiteLaxMode is
	// allowed, and http.SameSiteNoneMode only with Secure.
	SameSite http.SameSite
}

// CookieSealer seals [Credentials] into an authenticated, encrypted cookie
// value and opens such values again. It is safe for concurrent use.
type CookieSealer struct {
	name     string
	path     string
	domain   string
	ttl      time.Duration
	secure   bool
	httpOnly bool
	sameSite http.SameSite
	codecs   []securecookie.Codec
}

// sealedCookie is what a cookie carries, serialized as JSON (stable and safe
// to decode, unlike gob). Iat and Exp are Unix seconds.
type sealedCookie struct {
	User   string         `json:"u,omitempty"`
	Scope  []string       `json:"s,omitempty"`
	Claims map[string]any `json:"c,omitempty"`
	Iat    int64          `json:"iat"`
	Exp    int64          `json:"exp"`
}

// NewCookieSealer returns a sealer. keys[0] seals; every key opens, so a
// key is rotated by putting a new one first and keeping the old one until
// the cookies it sealed have expired (at most TTL), then removing it.
func NewCookieSealer(keys []CookieKey, opts CookieOptions) (*CookieSealer, error) {
	if len(keys) == 0 {
		return nil, errors.New("auth: cookie sealer: no keys")
	}
	s := &CookieSealer{
		name:     opts.Name,
		path:     opts.Path,
		domain:   opts.Domain,
		ttl:      opts.TTL,
		secure:   !opts.NotSecure,
		httpOnly: !opts.NotHTTPOnly,
		sameSite: opts.SameSite,
	}
	if s.name == "" {
		s.name = defaultCookieName
	}
	if s.path == "" {
		s.path = defaultCookiePath
	}
	if s.ttl == 0 {
		s.ttl = defaultCookieTTL
	}
	if s.ttl < time.Second {
		return nil, fmt.Errorf("auth: cookie sealer: TTL %v is less than a second", opts.TTL)
	}
	switch s.sameSite {
	case 0, http.SameSiteDefaultMode:
		s.sameSite = http.SameSiteStrictMode
	case http.SameSiteStrictMode, http.SameSiteLaxMode:
	case http.SameSiteNoneMode:
		if !s.secure {
			return nil, errors.New("auth: cookie sealer: SameSite=None requires Secure")
		}
	default:
		return nil, fmt.Errorf("auth: cookie sealer: invalid SameSite %d", opts.SameSite)
	}
	probe := &http.Cookie{Name: s.name, Value: "x", Path: s.path, Domain: s.domain}
	if err := probe.Valid(); err != nil {
		return nil, fmt.Errorf("auth: cookie sealer: %w", err)
	}
	maxAge := s.maxAge()
	for i, k := range keys {
		if n := len(k.Hash); n != 32 && n != 64 {
			return nil, fmt.Errorf("auth: cookie sealer: key %d: hash key is %d bytes, want 32 or 64", i, n)
		}
		if n := len(k.Block); n != 16 && n != 24 && n != 32 {
			return nil, fmt.Errorf("auth: cookie sealer: key %d: block key is %d bytes, want 16, 24 or 32", i, n)
		}
		// Copy the keys so later changes by the caller have no effect.
		sc := securecookie.New(append([]byte(nil), k.Hash...), append([]byte(nil), k.Block...))
		sc.SetSerializer(securecookie.JSONEncoder{})
		sc.MaxAge(maxAge)
		sc.MaxLength(maxCookieLength)
		s.codecs = append(s.codecs, sc)
	}
	return s, nil
}

// maxAge is the TTL in whole seconds, rounded up.
func (s *CookieSealer) maxAge() int {
	return int((s.ttl + time.Second - 1) / time.Second)
}

// Name returns the cookie name.
func (s *CookieSealer) Name() string { return s.name }

// Seal returns the cookie value carrying c, valid from now for the TTL, or
// until c.Expires when that comes first. It fails when c is nil, c.Expires
// is not after now, or the value would exceed 4096 bytes.
func (s *CookieSealer) Seal(c *Credentials, now time.Time) (string, error) {
	if c == nil {
		return "", errors.New("auth: seal cookie: nil credentials")
	}
	iat := now.Unix()
	exp := iat + int64(s.maxAge())
	if !c.Expires.IsZero() {
		if !c.Expires.After(now) {
			return "", errors.New("auth: seal cookie: credentials already expired")
		}
		if e := c.Expires.Unix(); e < exp {
			exp = e
		}
		if exp <= iat {
			return "", errors.New("auth: seal cookie: credentials expire within a second")
		}
	}
	v := sealedCookie{User: c.User, Scope: c.Scope, Claims: c.Claims, Iat: iat, Exp: exp}
	out, err := s.codecs[0].Encode(s.name, &v)
	if err != nil {
		return "", fmt.Errorf("auth: seal cookie: %w", err)
	}
	return out, nil
}

// Open returns the credentials sealed in value by any of the sealer's keys.
// It checks the MAC, decrypts, and refuses the value at or after the expiry
// sealed inside it (so a kept or stolen cookie dies with its TTL whatever
// the browser does). Credentials.Expires is set to that expiry. Every
// failure wraps [ErrInvalidCookie].
func (s *CookieSealer) Open(value string, now time.Time) (*Credentials, error) {
	if value == "" {
		return nil, fmt.Errorf("%w: empty", ErrInvalidCookie)
	}
	if len(value) > maxCookieLength {
		return nil, fmt.Errorf("%w: %d bytes", ErrInvalidCookie, len(value))
	}
	var v sealedCookie
	if err := securecookie.DecodeMulti(s.name, value, &v, s.codecs...); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidCookie, err)
	}
	switch {
	case v.Exp <= 0 || v.Iat <= 0:
		return nil, fmt.Errorf("%w: no iat or exp", ErrInvalidCookie)
	case v.Exp <= v.Iat || v.Exp-v.Iat > int64(s.maxAge()):
		// Also refuses cookies sealed under a longer TTL than today's.
		return nil, fmt.Errorf("%w: lifetime out of range", ErrInvalidCookie)
	case now.Unix() >= v.Exp:
		return nil, fmt.Errorf("%w: expired", ErrInvalidCookie)
	}
	return &Credentials{
		User:    v.User,
		Scope:   v.Scope,
		Claims:  v.Claims,
		Expires: time.Unix(v.Exp, 0),
	}, nil
}

// Cookie returns the Set-Cookie for value, sealed at now: name, path,
// domain, Max-Age and Expires from the TTL, Secure, HttpOnly and SameSite
// as configured.
func (s *CookieSealer) Cookie(value string, now time.Time) *http.Cookie {
	return &http.Cookie{
		Name:     s.name,
		Value:    value,
		Path:     s.path,
		Domain:   s.domain,
		MaxAge:   s.maxAge(),
		Expires:  now.Add(time.Duration(s.maxAge()) * time.Second).UTC(),
		Secure:   s.secure,
		HttpOnly: s.httpOnly,
		SameSite: s.sameSite,
	}
}

// Clear returns a Set-Cookie that deletes the cookie in the browser (same
// name, path, domain and attributes, Max-Age=0). A copy kept elsewhere stays
// valid until its sealed expiry: cookies are stateless (use Verify to revoke).
func (s *CookieSealer) Clear() *http.Cookie {
	return &http.Cookie{
		Name:     s.name,
		Path:     s.path,
		Domain:   s.domain,
		MaxAge:   -1,
		Secure:   s.secure,
		HttpOnly: s.httpOnly,
		SameSite: s.sameSite,
	}
}

// FromRequest opens the sealer's cookie from r. present is false (and err
// nil) when r has no such cookie; a cookie that is present but does not
// open gives present true and an error wrapping [ErrInvalidCookie]. When
// several cookies have the name (another path or a parent domain), the
// first that opens wins.
func (s *CookieSealer) FromRequest(r *http.Request, now time.Time) (creds *Credentials, present bool, err error) {
	cookies := r.CookiesNamed(s.name)
	if len(cookies) == 0 {
		if mentionsCookie(r.Header, s.name) {
			// net/http drops a malformed pair (nes="...); it was sent all the
			// same, and it is not a valid cookie.
			return nil, true, fmt.Errorf("%w: malformed %s cookie", ErrInvalidCookie, s.name)
		}
		return nil, false, nil
	}
	if len(cookies) > maxCookiesTried {
		cookies = cookies[:maxCookiesTried]
	}
	for _, ck := range cookies {
		creds, err = s.Open(ck.Value, now)
		if err == nil {
			return creds, true, nil
		}
	}
	return nil, true, err
}

// mentionsCookie reports whether a Cookie header has a pair named name,
// well-formed or not.
func mentionsCookie(h http.Header, name string) bool {
	for _, line := range h.Values("Cookie") {
		for _, part := range strings.Split(line, ";") {
			k, _, _ := strings.Cut(strings.TrimSpace(part), "=")
			if k == name {
				return true
			}
		}
	}
	return false
}
