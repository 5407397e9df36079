package auth

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/securecookie"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func cookieKey(b byte) CookieKey {
	return CookieKey{Hash: bytes.Repeat([]byte{b}, 32), Block: bytes.Repeat([]byte{b + 1}, 32)}
}

func newSealer(t testing.TB, opts CookieOptions, keys ...CookieKey) *CookieSealer {
	t.Helper()
	if len(keys) == 0 {
		keys = []CookieKey{cookieKey(1)}
	}
	s, err := NewCookieSealer(keys, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testCreds() *Credentials {
	return &Credentials{User: "john", Scope: []string{"a", "b"}, Claims: map[string]any{"name": "John", "n": 2.0}}
}

func TestCookieRoundTrip(t *testing.T) {
	s := newSealer(t, CookieOptions{TTL: time.Hour})
	v, err := s.Seal(testCreds(), testNow)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Open(v, testNow.Add(30*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	want := testCreds()
	if exp := got.Expires; !exp.Equal(testNow.Add(time.Hour)) {
		t.Fatalf("Expires = %v", exp)
	}
	got.Expires = time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	// Other valid key sizes: HMAC 64 bytes, AES-128 and AES-192.
	for _, k := range []CookieKey{
		{Hash: bytes.Repeat([]byte{1}, 64), Block: bytes.Repeat([]byte{2}, 16)},
		{Hash: bytes.Repeat([]byte{1}, 32), Block: bytes.Repeat([]byte{2}, 24)},
	} {
		ks := newSealer(t, CookieOptions{}, k)
		kv, err := ks.Seal(testCreds(), testNow)
		if err != nil {
			t.Fatal(err)
		}
		if c, err := ks.Open(kv, testNow); err != nil || c.User != "john" {
			t.Fatalf("key sizes %d/%d: %v %v", len(k.Hash), len(k.Block), c, err)
		}
	}
	// Application credentials (no user) round-trip too.
	v, _ = s.Seal(&Credentials{Scope: []string{"svc"}}, testNow)
	if got, err := s.Open(v, testNow); err != nil || got.User != "" || !got.HasScope("svc") {
		t.Fatalf("app creds: %+v %v", got, err)
	}
}

func TestCookieExpiresCapped(t *testing.T) {
	s := newSealer(t, CookieOptions{TTL: time.Hour})
	c := testCreds()
	c.Expires = testNow.Add(10 * time.Minute)
	v, err := s.Seal(c, testNow)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Open(v, testNow)
	if err != nil || !got.Expires.Equal(c.Expires) {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := s.Open(v, testNow.Add(11*time.Minute)); !errors.Is(err, ErrInvalidCookie) {
		t.Fatalf("after creds expiry: %v", err)
	}
	c.Expires = testNow.Add(-time.Second)
	if _, err := s.Seal(c, testNow); err == nil {
		t.Fatal("sealed expired credentials")
	}
	if _, err := s.Seal(nil, testNow); err == nil {
		t.Fatal("sealed nil credentials")
	}
}

func TestCookieTTLInsideValue(t *testing.T) {
	s := newSealer(t, CookieOptions{TTL: time.Hour})
	v, _ := s.Seal(testCreds(), testNow)
	if _, err := s.Open(v, testNow.Add(time.Hour-time.Second)); err != nil {
		t.Fatalf("just before TTL: %v", err)
	}
	// The MAC is valid (securecookie's own clock check passes), but the
	// expiry sealed inside refuses the replay.
	_, err := s.Open(v, testNow.Add(time.Hour+time.Second))
	if !errors.Is(err, ErrInvalidCookie) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("after TTL: %v", err)
	}
	// A sealer configured with a shorter TTL refuses longer-lived cookies.
	short := newSealer(t, CookieOptions{TTL: time.Minute})
	if _, err := short.Open(v, testNow); !errors.Is(err, ErrInvalidCookie) {
		t.Fatalf("longer lifetime than TTL accepted: %v", err)
	}
}

// forge seals an arbitrary payload with the sealer's real key, as a bug or
// an older version could have: Open must still check the content.
func forge(t *testing.T, k CookieKey, name string, v any, sz securecookie.Serializer) string {
	t.Helper()
	sc := securecookie.New(k.Hash, k.Block).SetSerializer(sz)
	out, err := sc.Encode(name, v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCookieContentChecks(t *testing.T) {
	k := cookieKey(1)
	s := newSealer(t, CookieOptions{TTL: time.Hour}, k)
	iat := testNow.Unix()
	cases := map[string]string{
		"no exp":        forge(t, k, "nes", sealedCookie{User: "x", Iat: iat}, securecookie.JSONEncoder{}),
		"no iat":        forge(t, k, "nes", sealedCookie{User: "x", Exp: iat + 60}, securecookie.JSONEncoder{}),
		"exp before":    forge(t, k, "nes", sealedCookie{User: "x", Iat: iat, Exp: iat - 1}, securecookie.JSONEncoder{}),
		"too long":      forge(t, k, "nes", sealedCookie{User: "x", Iat: iat, Exp: iat + 7200}, securecookie.JSONEncoder{}),
		"gob":           forge(t, k, "nes", sealedCookie{User: "x", Iat: iat, Exp: iat + 60}, securecookie.GobEncoder{}),
		"not an object": forge(t, k, "nes", []int{1, 2}, securecookie.JSONEncoder{}),
		"other name":    forge(t, k, "other", sealedCookie{User: "x", Iat: iat, Exp: iat + 60}, securecookie.JSONEncoder{}),
	}
	for name, v := range cases {
		if c, err := s.Open(v, testNow); !errors.Is(err, ErrInvalidCookie) {
			t.Errorf("%s: got %+v, %v", name, c, err)
		}
	}
	// Control: a well-formed forged value opens.
	ok := forge(t, k, "nes", sealedCookie{User: "x", Iat: iat, Exp: iat + 60}, securecookie.JSONEncoder{})
	if _, err := s.Open(ok, testNow); err != nil {
		t.Fatal(err)
	}
}

func TestCookieRotation(t *testing.T) {
	old, cur := cookieKey(1), cookieKey(7)
	before := newSealer(t, CookieOptions{}, old)
	v, _ := before.Seal(testCreds(), testNow)

	rotating := newSealer(t, CookieOptions{}, cur, old)
	if c, err := rotating.Open(v, testNow); err != nil || c.User != "john" {
		t.Fatalf("old key still listed: %v %v", c, err)
	}
	nv, _ := rotating.Seal(testCreds(), testNow)
	if _, err := before.Open(nv, testNow); err == nil {
		t.Fatal("new cookies must be sealed with keys[0]")
	}
	retired := newSealer(t, CookieOptions{}, cur)
	if _, err := retired.Open(v, testNow); !errors.Is(err, ErrInvalidCookie) {
		t.Fatalf("retired key: %v", err)
	}
	if _, err := retired.Open(nv, testNow); err != nil {
		t.Fatal(err)
	}
	// Same hash key, other block key: refused too.
	mixed := newSealer(t, CookieOptions{}, CookieKey{Hash: old.Hash, Block: cur.Block})
	if _, err := mixed.Open(v, testNow); !errors.Is(err, ErrInvalidCookie) {
		t.Fatalf("wrong block key: %v", err)
	}
}

func TestCookieTamper(t *testing.T) {
	s := newSealer(t, CookieOptions{})
	v, _ := s.Seal(testCreds(), testNow)
	hostile := []string{
		"", "x", "nes", v[:len(v)-1], v[:len(v)/2], v + "A", v + "=", strings.Repeat("A", 5000),
		"Fe26.2**abc", "MTIzfGFiY3xkZWY=", "|||", strings.ToUpper(v),
	}
	for i := 0; i < len(v); i += 7 {
		b := []byte(v)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		hostile = append(hostile, string(b))
	}
	for _, h := range hostile {
		if sameBytes(v, h) {
			// A change in the padding bits of base64's last character:
			// the cookie is the same bytes, not a tampered one.
			continue
		}
		if c, err := s.Open(h, testNow); !errors.Is(err, ErrInvalidCookie) {
			t.Errorf("Open(%.40q) = %+v, %v", h, c, err)
		}
	}
}

// sameBytes reports whether two cookie values decode to the same bytes.
func sameBytes(a, b string) bool {
	da, erra := base64.URLEncoding.DecodeString(a)
	db, errb := base64.URLEncoding.DecodeString(b)
	return erra == nil && errb == nil && bytes.Equal(da, db)
}

func TestCookieTooLarge(t *testing.T) {
	s := newSealer(t, CookieOptions{})
	c := &Credentials{User: "u", Claims: map[string]any{"blob": strings.Repeat("x", 4000)}}
	if _, err := s.Seal(c, testNow); err == nil {
		t.Fatal("sealed a cookie over 4096 bytes")
	}
}

func TestCookieAttributes(t *testing.T) {
	s := newSealer(t, CookieOptions{TTL: 90 * time.Minute})
	c := s.Cookie("v", testNow)
	want := "nes=v; Path=/; Expires=Sun, 01 Mar 2026 13:30:00 GMT; Max-Age=5400; HttpOnly; Secure; SameSite=Strict"
	if got := c.String(); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	s = newSealer(t, CookieOptions{Name: "sid", Path: "/app", Domain: "example.com", NotSecure: true, NotHTTPOnly: true, SameSite: http.SameSiteLaxMode, TTL: time.Minute})
	c = s.Cookie("v", testNow)
	want = "sid=v; Path=/app; Domain=example.com; Expires=Sun, 01 Mar 2026 12:01:00 GMT; Max-Age=60; SameSite=Lax"
	if got := c.String(); got != want || s.Name() != "sid" {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if _, err := NewCookieSealer([]CookieKey{cookieKey(1)}, CookieOptions{SameSite: http.SameSiteNoneMode}); err != nil {
		t.Fatalf("None+Secure: %v", err)
	}
}

func TestNewCookieSealerErrors(t *testing.T) {
	good := cookieKey(1)
	cases := map[string]struct {
		keys []CookieKey
		opts CookieOptions
	}{
		"no keys":         {nil, CookieOptions{}},
		"no hash":         {[]CookieKey{{Block: good.Block}}, CookieOptions{}},
		"no block":        {[]CookieKey{{Hash: good.Hash}}, CookieOptions{}},
		"short hash":      {[]CookieKey{{Hash: good.Hash[:16], Block: good.Block}}, CookieOptions{}},
		"bad block":       {[]CookieKey{{Hash: good.Hash, Block: good.Block[:20]}}, CookieOptions{}},
		"bad second key":  {[]CookieKey{good, {Hash: good.Hash}}, CookieOptions{}},
		"None not secure": {[]CookieKey{good}, CookieOptions{SameSite: http.SameSiteNoneMode, NotSecure: true}},
		"bad SameSite":    {[]CookieKey{good}, CookieOptions{SameSite: 42}},
		"tiny TTL":        {[]CookieKey{good}, CookieOptions{TTL: time.Millisecond}},
		"negative TTL":    {[]CookieKey{good}, CookieOptions{TTL: -time.Hour}},
		"bad name":        {[]CookieKey{good}, CookieOptions{Name: "a b"}},
		"bad path":        {[]CookieKey{good}, CookieOptions{Path: "/a;b"}},
	}
	for name, c := range cases {
		if _, err := NewCookieSealer(c.keys, c.opts); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestCookieFromRequest(t *testing.T) {
	s := newSealer(t, CookieOptions{})
	v, _ := s.Seal(testCreds(), testNow)

	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if c, present, err := s.FromRequest(r, testNow); c != nil || present || err != nil {
		t.Fatalf("absent: %v %v %v", c, present, err)
	}
	r.AddCookie(&http.Cookie{Name: "other", Value: v})
	if _, present, _ := s.FromRequest(r, testNow); present {
		t.Fatal("other cookie name counted")
	}
	r.AddCookie(&http.Cookie{Name: "nes", Value: "garbage"})
	if c, present, err := s.FromRequest(r, testNow); c != nil || !present || !errors.Is(err, ErrInvalidCookie) {
		t.Fatalf("invalid: %v %v %v", c, present, err)
	}
	// A second, valid cookie of the same name (e.g. tossed from a parent
	// domain first) still authenticates.
	r.AddCookie(&http.Cookie{Name: "nes", Value: v})
	if c, present, err := s.FromRequest(r, testNow); err != nil || !present || c.User != "john" {
		t.Fatalf("valid: %v %v %v", c, present, err)
	}
}

func TestFromRequestMalformedCookieIsPresent(t *testing.T) {
	s, err := NewCookieSealer([]CookieKey{{Hash: make([]byte, 32), Block: make([]byte, 32)}}, CookieOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, header := range []string{`nes="`, `a=1; nes="x`, `nes=a b`} {
		r, _ := http.NewRequest("GET", "/", nil)
		r.Header.Set("Cookie", header)
		c, present, err := s.FromRequest(r, time.Now())
		if c != nil || !present || !errors.Is(err, ErrInvalidCookie) {
			t.Errorf("%q: creds %v present %v err %v", header, c, present, err)
		}
	}
	for _, header := range []string{`"`, `other="`, `nest=1`} {
		r, _ := http.NewRequest("GET", "/", nil)
		r.Header.Set("Cookie", header)
		if c, present, err := s.FromRequest(r, time.Now()); c != nil || present || err != nil {
			t.Errorf("%q: creds %v present %v err %v", header, c, present, err)
		}
	}
}
