package auth

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	secretA = bytes.Repeat([]byte("a"), 32)
	secretB = bytes.Repeat([]byte("b"), 32)

	edKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, ed25519.SeedSize))

	keysOnce sync.Once
	rsaKey   *rsa.PrivateKey
	ecKey    *ecdsa.PrivateKey
)

func asymKeys(t testing.TB) (*rsa.PrivateKey, *ecdsa.PrivateKey) {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		if rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if ecKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
	})
	return rsaKey, ecKey
}

func newTokens(t testing.TB, opts TokenOptions) *Tokens {
	t.Helper()
	if opts.Keys == nil {
		opts.Keys = []TokenKey{{ID: "k1", Secret: secretA}}
	}
	tk, err := NewTokens(opts)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func b64(v []byte) string { return base64.RawURLEncoding.EncodeToString(v) }

// craft builds a JWT by hand: header and claims as given, signed by sign
// over "header.payload" (nil: empty signature).
func craft(t testing.TB, header, claims map[string]any, sign func(string) []byte) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	in := b64(h) + "." + b64(c)
	var sig []byte
	if sign != nil {
		sig = sign(in)
	}
	return in + "." + b64(sig)
}

func hs256(secret []byte) func(string) []byte {
	return func(in string) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(in))
		return m.Sum(nil)
	}
}

func signerFunc(s crypto.Signer, hashed bool) func(string) []byte {
	return func(in string) []byte {
		d := sha256.Sum256([]byte(in))
		if k, ok := s.(*ecdsa.PrivateKey); ok { // JWS wants r||s, not ASN.1
			r, ss, err := ecdsa.Sign(rand.Reader, k, d[:])
			if err != nil {
				panic(err)
			}
			return append(r.FillBytes(make([]byte, 32)), ss.FillBytes(make([]byte, 32))...)
		}
		msg, opt := []byte(in), crypto.SignerOpts(crypto.Hash(0))
		if hashed {
			msg, opt = d[:], crypto.SHA256
		}
		sig, err := s.Sign(rand.Reader, msg, opt)
		if err != nil {
			panic(err)
		}
		return sig
	}
}

func claimsAt(now time.Time) map[string]any {
	return map[string]any{"sub": "john", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "scope": []string{"a"}}
}

func TestTokenRoundTrip(t *testing.T) {
	rk, ek := asymKeys(t)
	for _, o := range []TokenOptions{
		{},
		{Algorithm: "EdDSA", Keys: []TokenKey{{ID: "ed", Signer: edKey}}},
		{Algorithm: "ES256", Keys: []TokenKey{{ID: "ec", Signer: ek}}},
		{Algorithm: "RS256", Keys: []TokenKey{{ID: "rs", Signer: rk, Public: &rk.PublicKey}}},
		{Issuer: "https://issuer", Audience: "nes", Leeway: time.Second, TTL: 10 * time.Minute},
	} {
		tk := newTokens(t, o)
		s, err := tk.Issue(testCreds(), testNow)
		if err != nil {
			t.Fatalf("%s: %v", o.Algorithm, err)
		}
		got, err := tk.Verify(s, testNow.Add(time.Minute))
		if err != nil {
			t.Fatalf("%s: %v", o.Algorithm, err)
		}
		ttl := o.TTL
		if ttl == 0 {
			ttl = time.Hour
		}
		if !got.Expires.Equal(testNow.Add(ttl)) {
			t.Fatalf("Expires = %v", got.Expires)
		}
		got.Expires = time.Time{}
		if !reflect.DeepEqual(got, testCreds()) {
			t.Fatalf("%s: got %+v", o.Algorithm, got)
		}
	}
	// No sub: application credentials.
	tk := newTokens(t, TokenOptions{})
	s, _ := tk.Issue(&Credentials{Scope: []string{"svc"}}, testNow)
	if c, err := tk.Verify(s, testNow); err != nil || c.User != "" || !c.HasScope("svc") {
		t.Fatalf("app creds: %+v %v", c, err)
	}
	// Expires of the credentials caps exp.
	c := testCreds()
	c.Expires = testNow.Add(5 * time.Minute)
	s, _ = tk.Issue(c, testNow)
	if got, err := tk.Verify(s, testNow); err != nil || !got.Expires.Equal(c.Expires) {
		t.Fatalf("capped: %v %v", got, err)
	}
	c.Expires = testNow
	if _, err := tk.Issue(c, testNow); err == nil {
		t.Fatal("issued expired credentials")
	}
}

func TestTokenRotation(t *testing.T) {
	rk, _ := asymKeys(t)
	oldHS := newTokens(t, TokenOptions{Keys: []TokenKey{{ID: "old", Secret: secretA}}})
	tok, _ := oldHS.Issue(testCreds(), testNow)
	both := newTokens(t, TokenOptions{Keys: []TokenKey{{ID: "new", Secret: secretB}, {ID: "old", Secret: secretA}}})
	if _, err := both.Verify(tok, testNow); err != nil {
		t.Fatalf("old key listed: %v", err)
	}
	newTok, _ := both.Issue(testCreds(), testNow)
	if _, err := oldHS.Verify(newTok, testNow); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("new token must use the new kid: %v", err)
	}
	retired := newTokens(t, TokenOptions{Keys: []TokenKey{{ID: "new", Secret: secretB}}})
	if _, err := retired.Verify(tok, testNow); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("retired key: %v", err)
	}

	// Asymmetric: the old key kept verify-only.
	oldRS := newTokens(t, TokenOptions{Algorithm: "RS256", Keys: []TokenKey{{ID: "rs-old", Signer: rk}}})
	tok, _ = oldRS.Issue(testCreds(), testNow)
	rk2, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rot := newTokens(t, TokenOptions{Algorithm: "RS256", Keys: []TokenKey{{ID: "rs-new", Signer: rk2}, {ID: "rs-old", Public: &rk.PublicKey}}})
	if _, err := rot.Verify(tok, testNow); err != nil {
		t.Fatalf("verify-only old key: %v", err)
	}
	// Same kid, other key: the signature fails.
	swapped := newTokens(t, TokenOptions{Algorithm: "RS256", Keys: []TokenKey{{ID: "rs-old", Signer: rk2}}})
	if _, err := swapped.Verify(tok, testNow); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("kid with another key: %v", err)
	}
}

func TestTokenHostile(t *testing.T) {
	rk, ek := asymKeys(t)
	hs := newTokens(t, TokenOptions{Issuer: "iss", Audience: "aud"})
	rs := newTokens(t, TokenOptions{Algorithm: "RS256", Keys: []TokenKey{{ID: "rs", Signer: rk}}})
	ed := newTokens(t, TokenOptions{Algorithm: "EdDSA", Keys: []TokenKey{{ID: "ed", Signer: edKey}}})
	es := newTokens(t, TokenOptions{Algorithm: "ES256", Keys: []TokenKey{{ID: "ec", Signer: ek}}})

	good := func() map[string]any {
		c := claimsAt(testNow)
		c["iss"], c["aud"] = "iss", "aud"
		return c
	}
	with := func(k string, v any) map[string]any {
		c := good()
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	hsHdr := map[string]any{"alg": "HS256", "typ": "JWT", "kid": "k1"}
	valid := craft(t, hsHdr, good(), hs256(secretA))
	if _, err := hs.Verify(valid, testNow); err != nil {
		t.Fatalf("control token refused: %v", err)
	}

	pubDER, _ := x509.MarshalPKIXPublicKey(&rk.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	rsClaims := claimsAt(testNow)

	cases := []struct {
		name  string
		tk    *Tokens
		token string
	}{
		{"alg none", hs, craft(t, map[string]any{"alg": "none", "kid": "k1"}, good(), nil)},
		{"alg None", hs, craft(t, map[string]any{"alg": "None", "kid": "k1"}, good(), nil)},
		{"alg lowercase hs256", hs, craft(t, map[string]any{"alg": "hs256", "kid": "k1"}, good(), hs256(secretA))},
		{"no signature", hs, strings.Join(strings.Split(valid, ".")[:2], ".") + "."},
		{"other HS key", hs, craft(t, hsHdr, good(), hs256(secretB))},
		{"RS/HS confusion (PEM)", rs, craft(t, map[string]any{"alg": "HS256", "kid": "rs"}, rsClaims, hs256(pubPEM))},
		{"RS/HS confusion (DER)", rs, craft(t, map[string]any{"alg": "HS256", "kid": "rs"}, rsClaims, hs256(pubDER))},
		{"RS256 on HS256", hs, craft(t, map[string]any{"alg": "RS256", "kid": "k1"}, good(), signerFunc(rk, true))},
		{"ES256 on HS256", hs, craft(t, map[string]any{"alg": "ES256", "kid": "k1"}, good(), signerFunc(ek, true))},
		{"EdDSA on HS256", hs, craft(t, map[string]any{"alg": "EdDSA", "kid": "k1"}, good(), signerFunc(edKey, false))},
		{"ES256 on RS256", rs, craft(t, map[string]any{"alg": "ES256", "kid": "rs"}, rsClaims, signerFunc(ek, true))},
		{"PS256 on RS256", rs, craft(t, map[string]any{"alg": "PS256", "kid": "rs"}, rsClaims, signerFunc(rk, true))},
		{"RS256 on EdDSA", ed, craft(t, map[string]any{"alg": "RS256", "kid": "ed"}, rsClaims, signerFunc(rk, true))},
		{"HS256 on EdDSA (pubkey secret)", ed, craft(t, map[string]any{"alg": "HS256", "kid": "ed"}, rsClaims, hs256(edKey.Public().(ed25519.PublicKey)))},
		{"EdDSA on ES256", es, craft(t, map[string]any{"alg": "EdDSA", "kid": "ec"}, rsClaims, signerFunc(edKey, false))},
		{"expired", hs, craft(t, hsHdr, with("exp", testNow.Add(-time.Second).Unix()), hs256(secretA))},
		{"exp now", hs, craft(t, hsHdr, with("exp", testNow.Unix()), hs256(secretA))},
		{"missing exp", hs, craft(t, hsHdr, with("exp", nil), hs256(secretA))},
		{"exp string", hs, craft(t, hsHdr, with("exp", "tomorrow"), hs256(secretA))},
		{"nbf future", hs, craft(t, hsHdr, with("nbf", testNow.Add(time.Minute).Unix()), hs256(secretA))},
		{"iat future", hs, craft(t, hsHdr, with("iat", testNow.Add(time.Minute).Unix()), hs256(secretA))},
		{"wrong audience", hs, craft(t, hsHdr, with("aud", "other"), hs256(secretA))},
		{"missing audience", hs, craft(t, hsHdr, with("aud", nil), hs256(secretA))},
		{"wrong issuer", hs, craft(t, hsHdr, with("iss", "evil"), hs256(secretA))},
		{"missing issuer", hs, craft(t, hsHdr, with("iss", nil), hs256(secretA))},
		{"scope not a list", hs, craft(t, hsHdr, with("scope", "admin"), hs256(secretA))},
		{"unknown kid", hs, craft(t, map[string]any{"alg": "HS256", "kid": "k9"}, good(), hs256(secretA))},
		{"missing kid", hs, craft(t, map[string]any{"alg": "HS256"}, good(), hs256(secretA))},
		{"empty kid", hs, craft(t, map[string]any{"alg": "HS256", "kid": ""}, good(), hs256(secretA))},
		{"numeric kid", hs, craft(t, map[string]any{"alg": "HS256", "kid": 1}, good(), hs256(secretA))},
		{"huge", hs, craft(t, hsHdr, with("pad", strings.Repeat("x", 9000)), hs256(secretA))},
		{"empty", hs, ""},
		{"garbage", hs, "not a token"},
		{"dots", hs, ".."},
		{"two parts", hs, strings.Join(strings.Split(valid, ".")[:2], ".")},
		{"four parts", hs, valid + ".x"},
		{"truncated", hs, valid[:len(valid)-1]},
		{"truncated half", hs, valid[:len(valid)/2]},
		{"padded base64", hs, valid + "="},
		{"header not JSON", hs, b64([]byte("{")) + "." + strings.SplitN(valid, ".", 2)[1]},
		{"bearer prefix", hs, "Bearer " + valid},
	}
	for _, c := range cases {
		got, err := c.tk.Verify(c.token, testNow)
		if got != nil || !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: got %+v, %v", c.name, got, err)
			continue
		}
		t.Logf("%-30s refused: %v", c.name, err)
	}

	// Leeway admits small skews only.
	lee := newTokens(t, TokenOptions{Leeway: 5 * time.Second})
	near := craft(t, hsHdr, with("exp", testNow.Add(-3*time.Second).Unix()), hs256(secretA))
	if _, err := lee.Verify(near, testNow); err != nil {
		t.Errorf("within leeway: %v", err)
	}
	far := craft(t, hsHdr, with("exp", testNow.Add(-10*time.Second).Unix()), hs256(secretA))
	if _, err := lee.Verify(far, testNow); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("beyond leeway: %v", err)
	}
}

func TestNewTokensErrors(t *testing.T) {
	rk, ek := asymKeys(t)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	cases := map[string]TokenOptions{
		"no keys":            {Keys: []TokenKey{}},
		"alg none":           {Algorithm: "none", Keys: []TokenKey{{ID: "k", Secret: secretA}}},
		"alg HS512":          {Algorithm: "HS512", Keys: []TokenKey{{ID: "k", Secret: secretA}}},
		"short secret":       {Keys: []TokenKey{{ID: "k", Secret: secretA[:31]}}},
		"no kid":             {Keys: []TokenKey{{Secret: secretA}}},
		"duplicate kid":      {Keys: []TokenKey{{ID: "k", Secret: secretA}, {ID: "k", Secret: secretB}}},
		"HS with Signer":     {Keys: []TokenKey{{ID: "k", Secret: secretA, Signer: edKey}}},
		"RS with Secret":     {Algorithm: "RS256", Keys: []TokenKey{{ID: "k", Secret: secretA}}},
		"RS 1024":            {Algorithm: "RS256", Keys: []TokenKey{{ID: "k", Signer: small}}},
		"RS with EC key":     {Algorithm: "RS256", Keys: []TokenKey{{ID: "k", Signer: ek}}},
		"ES P-384":           {Algorithm: "ES256", Keys: []TokenKey{{ID: "k", Signer: p384}}},
		"EdDSA with RSA":     {Algorithm: "EdDSA", Keys: []TokenKey{{ID: "k", Public: &rk.PublicKey}}},
		"first verify-only":  {Algorithm: "EdDSA", Keys: []TokenKey{{ID: "k", Public: edKey.Public()}}},
		"mismatched public":  {Algorithm: "RS256", Keys: []TokenKey{{ID: "k", Signer: rk, Public: &ek.PublicKey}}},
		"no key material":    {Algorithm: "ES256", Keys: []TokenKey{{ID: "k"}}},
		"tiny TTL":           {TTL: time.Millisecond, Keys: []TokenKey{{ID: "k", Secret: secretA}}},
		"negative leeway":    {Leeway: -time.Second, Keys: []TokenKey{{ID: "k", Secret: secretA}}},
		"bad second HS":      {Keys: []TokenKey{{ID: "k", Secret: secretA}, {ID: "j", Secret: []byte("short")}}},
		"second key wrong t": {Algorithm: "EdDSA", Keys: []TokenKey{{ID: "k", Signer: edKey}, {ID: "j", Public: &ek.PublicKey}}},
	}
	for name, o := range cases {
		if _, err := NewTokens(o); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
