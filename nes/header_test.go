package nes

import (
	"context"
	"net/http"
	"reflect"
	"testing"
)

func TestPackedHeader(t *testing.T) {
	h := http.Header{
		"Cookie":          {"a=1", "b=2"},
		"X-Forwarded-For": {"10.0.0.1", "10.0.0.2"},
		"User-Agent":      {"Mozilla/5.0 (X11; Linux x86_64)"},
		"Empty":           {""},
		"Long":            {string(make([]byte, 300))}, // a two-byte length
	}
	p := packHeader(h)
	if got := p.unpack(); !reflect.DeepEqual(got, h) {
		t.Fatalf("unpack:\n got %q\nwant %q", got, h)
	}
	if got := p.values("x-forwarded-for"); !reflect.DeepEqual(got, []string{"10.0.0.1", "10.0.0.2"}) {
		t.Fatalf("values: %q", got)
	}
	if got := p.values("Missing"); got != nil {
		t.Fatalf("values of a missing key: %q", got)
	}
	if got := packHeader(nil).unpack(); len(got) != 0 {
		t.Fatalf("empty header unpacks to %q", got)
	}
	// A copy: changing it does not change the socket's.
	u := p.unpack()
	u.Set("Cookie", "changed")
	if got := p.values("Cookie"); !reflect.DeepEqual(got, []string{"a=1", "b=2"}) {
		t.Fatalf("after changing a copy: %q", got)
	}
}

// FuzzPackedHeader checks the round trip, and that a damaged packing (which
// the server never makes) is read without a panic.
func FuzzPackedHeader(f *testing.F) {
	f.Add("Cookie", "a=1", "X-Forwarded-For", "10.0.0.1, 10.0.0.2", 3)
	f.Add("", "", "K", string(make([]byte, 200)), 1)
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string, cutAt int) {
		h := http.Header{k1: {v1, v2}}
		h[k2] = append(h[k2], v1)
		p := packHeader(h)
		if got := p.unpack(); !reflect.DeepEqual(got, h) {
			t.Fatalf("round trip:\n got %q\nwant %q", got, h)
		}
		if len(p) > 0 {
			cut := packedHeader(p[:(cutAt%len(p)+len(p))%len(p)])
			cut.unpack()
			cut.values(k1)
		}
	})
}

func TestSocketHeader(t *testing.T) {
	got := make(chan http.Header, 1)
	opts := quietOptions()
	opts.OnConnection = func(_ context.Context, sock *Socket) error {
		got <- sock.Header()
		return nil
	}
	ts := newTestServer(t, opts, nil)
	c := dial(t, ts.url, http.Header{"X-Test": {"one", "two"}, "Cookie": {"k=v"}})
	c.hello()
	h := <-got
	if !reflect.DeepEqual(h.Values("X-Test"), []string{"one", "two"}) || h.Get("Cookie") != "k=v" || h.Get("Upgrade") != "websocket" {
		t.Fatalf("Header() = %q", h)
	}
}
