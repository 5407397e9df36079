package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Token defaults and limits.
const (
	defaultTokenTTL = time.Hour
	// maxTokenLength bounds a token before it is parsed.
	maxTokenLength = 8 << 10
	minHMACSecret  = 32
	minRSABits     = 2048
)

// Supported token algorithms.
const (
	algHS256 = "HS256"
	algEdDSA = "EdDSA"
	algES256 = "ES256"
	algRS256 = "RS256"
)

// TokenKey is one key of [Tokens], named by its ID (the JWT "kid" header).
type TokenKey struct {
	// ID is the kid: required, unique among the keys.
	ID string
	// Secret is the HS256 key, at least 32 bytes. Only for HS256.
	Secret []byte
	// Signer is the private key for EdDSA (ed25519.PrivateKey), ES256
	// (*ecdsa.PrivateKey on P-256) or RS256 (*rsa.PrivateKey, at least 2048
	// bits). Nil makes a verify-only key (e.g. one being retired).
	Signer crypto.Signer
	// Public is the verification key of an asymmetric algorithm
	// (ed25519.PublicKey, *ecdsa.PublicKey, *rsa.PublicKey). When nil it is
	// derived from Signer; when both are set they must match.
	Public crypto.PublicKey
}

// TokenOptions configure [Tokens].
type TokenOptions struct {
	// Algorithm is "HS256" (default), "EdDSA", "ES256" or "RS256". It is
	// pinned: tokens with any other "alg" are refused.
	Algorithm string
	// Keys[0] signs new tokens and must be able to; every key verifies the
	// tokens naming it by kid. Rotate by putting a new key first and keeping
	// the old one (verify-only is enough) for one TTL.
	Keys []TokenKey
	// TTL is the lifetime of issued tokens (their exp); 0 means 1h.
	TTL time.Duration
	// Issuer, when set, is put in "iss" and required when verifying.
	Issuer string
	// Audience, when set, is put in "aud" and required when verifying.
	Audience string
	// Leeway is the clock skew tolerated on exp, nbf and iat; 0 means none.
	Leeway time.Duration
}

// Tokens issues and verifies signed JWTs carrying [Credentials]: "sub" is
// the user, "scope" and "claims" the scope and claims, plus "iat", "exp",
// and "iss"/"aud" when configured. It is safe for concurrent use.
type Tokens struct {
	method   jwt.SigningMethod
	alg      string
	signKID  string
	signKey  any
	verify   map[string]any
	ttl      time.Duration
	issuer   string
	audience string
	leeway   time.Duration
}

// tokenClaims is the JWT claims set of a nes token.
type tokenClaims struct {
	Scope  []string       `json:"scope,omitempty"`
	Claims map[string]any `json:"claims,omitempty"`
	jwt.RegisteredClaims
}

// NewTokens validates opts and returns the token issuer and verifier.
func NewTokens(opts TokenOptions) (*Tokens, error) {
	t := &Tokens{
		alg:      opts.Algorithm,
		ttl:      opts.TTL,
		issuer:   opts.Issuer,
		audience: opts.Audience,
		leeway:   opts.Leeway,
		verify:   make(map[string]any, len(opts.Keys)),
	}
	if t.alg == "" {
		t.alg = algHS256
	}
	switch t.alg {
	case algHS256:
		t.method = jwt.SigningMethodHS256
	case algEdDSA:
		t.method = jwt.SigningMethodEdDSA
	case algES256:
		t.method = jwt.SigningMethodES256
	case algRS256:
		t.method = jwt.SigningMethodRS256
	default:
		return nil, fmt.Errorf("auth: tokens: unsupported algorithm %q (want HS256, EdDSA, ES256 or RS256)", opts.Algorithm)
	}
	if t.ttl == 0 {
		t.ttl = defaultTokenTTL
	}
	if t.ttl < time.Second {
		return nil, fmt.Errorf("auth: tokens: TTL %v is less than a second", opts.TTL)
	}
	if t.leeway < 0 {
		return nil, errors.New("auth: tokens: negative leeway")
	}
	if len(opts.Keys) == 0 {
		return nil, errors.New("auth: tokens: no keys")
	}
	for i, k := range opts.Keys {
		if k.ID == "" {
			return nil, fmt.Errorf("auth: tokens: key %d: empty ID", i)
		}
		if _, dup := t.verify[k.ID]; dup {
			return nil, fmt.Errorf("auth: tokens: duplicate key ID %q", k.ID)
		}
		sign, verify, err := t.keyPair(k)
		if err != nil {
			return nil, fmt.Errorf("auth: tokens: key %q: %w", k.ID, err)
		}
		if i == 0 {
			if sign == nil {
				return nil, fmt.Errorf("auth: tokens: key %q: the first key signs and has no private key", k.ID)
			}
			t.signKID, t.signKey = k.ID, sign
		}
		t.verify[k.ID] = verify
	}
	return t, nil
}

// keyPair checks k against the algorithm and returns its signing key (nil
// for a verify-only key) and verification key, in golang-jwt's types.
func (t *Tokens) keyPair(k TokenKey) (sign, verify any, err error) {
	if t.alg == algHS256 {
		if k.Signer != nil || k.Public != nil {
			return nil, nil, errors.New("HS256 takes a Secret, not Signer or Public")
		}
		if len(k.Secret) < minHMACSecret {
			return nil, nil, fmt.Errorf("HS256 secret is %d bytes, want at least %d", len(k.Secret), minHMACSecret)
		}
		secret := append([]byte(nil), k.Secret...)
		return secret, secret, nil
	}
	if k.Secret != nil {
		return nil, nil, fmt.Errorf("%s takes Signer or Public, not Secret", t.alg)
	}
	pub := k.Public
	if k.Signer != nil {
		derived := k.Signer.Public()
		if pub == nil {
			pub = derived
		} else if eq, ok := pub.(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(derived) {
			return nil, nil, errors.New("Public does not match Signer")
		}
	}
	if pub == nil {
		return nil, nil, errors.New("no Signer or Public key")
	}
	switch t.alg {
	case algEdDSA:
		p, ok := pub.(ed25519.PublicKey)
		if !ok || len(p) != ed25519.PublicKeySize {
			return nil, nil, fmt.Errorf("EdDSA wants an ed25519 key, got %T", pub)
		}
		verify = p
	case algES256:
		p, ok := pub.(*ecdsa.PublicKey)
		if !ok || p.Curve != elliptic.P256() {
			return nil, nil, fmt.Errorf("ES256 wants an ECDSA P-256 key, got %T", pub)
		}
		if k.Signer != nil {
			if _, ok := k.Signer.(*ecdsa.PrivateKey); !ok {
				return nil, nil, fmt.Errorf("ES256 signs with *ecdsa.PrivateKey, got %T", k.Signer)
			}
		}
		verify = p
	case algRS256:
		p, ok := pub.(*rsa.PublicKey)
		if !ok {
			return nil, nil, fmt.Errorf("RS256 wants an RSA key, got %T", pub)
		}
		if p.N.BitLen() < minRSABits {
			return nil, nil, fmt.Errorf("RSA key is %d bits, want at least %d", p.N.BitLen(), minRSABits)
		}
		if k.Signer != nil {
			if _, ok := k.Signer.(*rsa.PrivateKey); !ok {
				return nil, nil, fmt.Errorf("RS256 signs with *rsa.PrivateKey, got %T", k.Signer)
			}
		}
		verify = p
	}
	if k.Signer != nil {
		sign = k.Signer
	}
	return sign, verify, nil
}

// Issue returns a token for c, signed at now with the first key. Its exp is
// now plus the TTL, or c.Expires when that comes first.
func (t *Tokens) Issue(c *Credentials, now time.Time) (string, error) {
	if c == nil {
		return "", errors.New("auth: issue token: nil credentials")
	}
	exp := now.Add(t.ttl)
	if !c.Expires.IsZero() {
		if !c.Expires.After(now) {
			return "", errors.New("auth: issue token: credentials already expired")
		}
		if c.Expires.Before(exp) {
			exp = c.Expires
		}
	}
	if exp.Truncate(time.Second).Unix() <= now.Unix() {
		return "", errors.New("auth: issue token: credentials expire within a second")
	}
	claims := tokenClaims{
		Scope:  c.Scope,
		Claims: c.Claims,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   c.User,
			Issuer:    t.issuer,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
	}
	if t.audience != "" {
		claims.Audience = jwt.ClaimStrings{t.audience}
	}
	tok := jwt.NewWithClaims(t.method, claims)
	tok.Header["kid"] = t.signKID
	s, err := tok.SignedString(t.signKey)
	if err != nil {
		return "", fmt.Errorf("auth: issue token: %w", err)
	}
	return s, nil
}

// Verify returns the credentials of token if, at now, it is well formed,
// uses the pinned algorithm, names a known key by kid and is signed by it,
// has an exp in the future, no nbf or iat in the future, and the configured
// issuer and audience. Credentials.Expires is set to exp. Every failure
// wraps [ErrInvalidToken] together with the cause.
func (t *Tokens) Verify(token string, now time.Time) (*Credentials, error) {
	if token == "" {
		return nil, fmt.Errorf("%w: empty", ErrInvalidToken)
	}
	if len(token) > maxTokenLength {
		return nil, fmt.Errorf("%w: %d bytes", ErrInvalidToken, len(token))
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{t.alg}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(t.leeway),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithStrictDecoding(),
	}
	if t.issuer != "" {
		opts = append(opts, jwt.WithIssuer(t.issuer))
	}
	if t.audience != "" {
		opts = append(opts, jwt.WithAudience(t.audience))
	}
	var claims tokenClaims
	_, err := jwt.NewParser(opts...).ParseWithClaims(token, &claims, t.keyFunc)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if claims.ExpiresAt == nil { // guaranteed by WithExpirationRequired; kept as a guard
		return nil, fmt.Errorf("%w: no exp", ErrInvalidToken)
	}
	return &Credentials{
		User:    claims.Subject,
		Scope:   claims.Scope,
		Claims:  claims.Claims,
		Expires: claims.ExpiresAt.Time,
	}, nil
}

// keyFunc picks the verification key named by the token's kid.
func (t *Tokens) keyFunc(tok *jwt.Token) (any, error) {
	if tok.Method == nil || tok.Method.Alg() != t.alg {
		return nil, errors.New("unexpected algorithm")
	}
	kid, ok := tok.Header["kid"].(string)
	if !ok || kid == "" {
		return nil, errors.New("missing kid")
	}
	key, ok := t.verify[kid]
	if !ok {
		if len(kid) > 64 {
			kid = kid[:64] + "..."
		}
		return nil, fmt.Errorf("unknown kid %q", kid)
	}
	return key, nil
}
