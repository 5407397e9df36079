package auth

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func FuzzOpenCookie(f *testing.F) {
	s := newSealer(f, CookieOptions{TTL: time.Hour}, cookieKey(1), cookieKey(9))
	old := newSealer(f, CookieOptions{TTL: time.Hour}, cookieKey(9))
	sealed := testCreds()
	for _, sl := range []*CookieSealer{s, old} {
		v, err := sl.Seal(sealed, testNow)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(v)
		f.Add(v[:len(v)-1])
		f.Add(v[:len(v)/2])
		f.Add(strings.Replace(v, "A", "B", 1))
		f.Add(v + "==")
	}
	other := newSealer(f, CookieOptions{TTL: time.Hour}, cookieKey(5))
	v, _ := other.Seal(sealed, testNow)
	f.Add(v)
	f.Add("")
	f.Add("MTc3Mjk4NTYwMHx8")
	f.Add("Fe26.2**0cdd607945dd1dbb")

	f.Fuzz(func(t *testing.T, value string) {
		now := testNow.Add(time.Minute)
		c, err := s.Open(value, now)
		if err != nil {
			if c != nil || !errors.Is(err, ErrInvalidCookie) {
				t.Fatalf("Open = %v, %v", c, err)
			}
			return
		}
		// Success only for content we sealed: the MAC cannot be forged.
		c.Expires = time.Time{}
		if !reflect.DeepEqual(c, sealed) {
			t.Fatalf("opened unsealed credentials %+v from %q", c, value)
		}
	})
}

func FuzzVerifyToken(f *testing.F) {
	hs := newTokens(f, TokenOptions{Keys: []TokenKey{{ID: "k1", Secret: secretA}, {ID: "k0", Secret: secretB}}, Audience: "aud", Issuer: "iss"})
	hsOld := newTokens(f, TokenOptions{Keys: []TokenKey{{ID: "k0", Secret: secretB}}, Audience: "aud", Issuer: "iss"})
	ed := newTokens(f, TokenOptions{Algorithm: "EdDSA", Keys: []TokenKey{{ID: "ed", Signer: edKey}}})
	issued := map[string]bool{}
	for _, tk := range []*Tokens{hs, hsOld, ed} {
		tok, err := tk.Issue(testCreds(), testNow)
		if err != nil {
			f.Fatal(err)
		}
		issued[tok] = true
		f.Add(tok)
		f.Add(tok[:len(tok)-1])
		f.Add(tok + "=")
		parts := strings.Split(tok, ".")
		f.Add(parts[0] + "." + parts[1] + ".")
		f.Add(craft(f, map[string]any{"alg": "none", "kid": "k1"}, claimsAt(testNow), nil))
	}
	f.Add(craft(f, map[string]any{"alg": "HS256", "kid": "ed"}, claimsAt(testNow), hs256(edKey.Public().(ed25519.PublicKey))))
	f.Add(craft(f, map[string]any{"alg": "HS256", "kid": "k1"}, claimsAt(testNow), hs256(bytes.Repeat([]byte("c"), 32))))
	f.Add("")
	f.Add("..")
	f.Add("eyJhbGciOiJub25lIn0.e30.")

	f.Fuzz(func(t *testing.T, token string) {
		now := testNow.Add(time.Minute)
		for _, tk := range []*Tokens{hs, ed} {
			c, err := tk.Verify(token, now)
			if err != nil {
				if c != nil || !errors.Is(err, ErrInvalidToken) {
					t.Fatalf("Verify = %v, %v", c, err)
				}
				continue
			}
			// HMAC and Ed25519 are deterministic and strict decoding is on:
			// only the exact tokens we issued verify.
			if !issued[token] {
				t.Fatalf("verified a token we did not issue: %q -> %+v", token, c)
			}
		}
	})
}
