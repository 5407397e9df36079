package nes

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestEnvelopeRoundTrip(t *testing.T) {
	cases := []Envelope{
		{Kind: KindPublish, Path: "/rooms/a", Message: json.RawMessage(`{"text":"hi"}`)},
		{Kind: KindPublish, Path: "/x", Message: json.RawMessage(`"s"`), Internal: json.RawMessage(`{"from":"ann"}`)},
		{Kind: KindPublish, Path: "/x", Message: json.RawMessage(`1`), User: "ann", ToUser: true},
		{Kind: KindPublish, Path: "/x", Message: json.RawMessage(`null`), User: "", ToUser: true, Internal: json.RawMessage(`[]`)},
		{Kind: KindBroadcast, Message: json.RawMessage(`{"a":[1,2,3]}`)},
		{Kind: KindBroadcast, Message: json.RawMessage(`true`), User: "bob", ToUser: true},
		{Kind: KindPublish, Path: "/" + strings.Repeat("p", 300), Message: json.RawMessage(`"` + strings.Repeat("é", 1000) + `"`), User: strings.Repeat("u", 200), ToUser: true},
	}
	for _, want := range cases {
		b, err := want.MarshalBinary()
		if err != nil {
			t.Fatalf("MarshalBinary(%+v): %v", want, err)
		}
		var got Envelope
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatalf("UnmarshalBinary(%q): %v", b, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
		}
		// The message is the tail of the bytes: passed through, not copied.
		if len(got.Message) > 0 && &got.Message[len(got.Message)-1] != &b[len(b)-1] {
			t.Error("message was copied, want a sub-slice of the input")
		}
		// AppendBinary appends.
		prefixed, err := want.AppendBinary([]byte("xyz"))
		if err != nil || !bytes.Equal(prefixed, append([]byte("xyz"), b...)) {
			t.Errorf("AppendBinary = %q, %v", prefixed, err)
		}
	}
}

func TestEnvelopeEncodeErrors(t *testing.T) {
	for _, e := range []Envelope{
		{Kind: 0, Path: "/x", Message: json.RawMessage(`1`)},
		{Kind: 9, Path: "/x", Message: json.RawMessage(`1`)},
		{Kind: KindPublish, Path: "/x"},
	} {
		if _, err := e.MarshalBinary(); !errors.Is(err, ErrBadEnvelope) {
			t.Errorf("MarshalBinary(%+v) = %v, want ErrBadEnvelope", e, err)
		}
	}
}

func TestEnvelopeDecodeErrors(t *testing.T) {
	good, _ := (&Envelope{Kind: KindPublish, Path: "/p", Message: json.RawMessage(`{}`), Internal: json.RawMessage(`{}`), User: "u", ToUser: true}).MarshalBinary()
	cases := map[string][]byte{
		"empty":             nil,
		"short":             {1, 1},
		"version":           append([]byte{2}, good[1:]...),
		"kind":              append([]byte{1, 7}, good[2:]...),
		"flags":             append([]byte{1, 1, 0x80}, good[3:]...),
		"truncated path":    {1, 1, 0, 200, '/'},
		"huge length":       {1, 1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"bad varint":        {1, 1, 0, 0x80},
		"truncated user":    {1, 1, flagToUser, 2, '/', 'p', 9, 'u'},
		"internal not json": {1, 1, flagInternal, 2, '/', 'p', 1, '{', '1'},
		"message not json":  {1, 1, 0, 2, '/', 'p', '{'},
		"no message":        {1, 1, 0, 2, '/', 'p'},
		"relative path":     {1, 1, 0, 1, 'p', '1'},
		"path with query":   {1, 1, 0, 4, '/', 'p', '?', 'a', '1'},
		"truncated":         good[:len(good)-1],
	}
	for name, b := range cases {
		var e Envelope
		if err := e.UnmarshalBinary(b); !errors.Is(err, ErrBadEnvelope) {
			t.Errorf("%s: UnmarshalBinary(%q) = %v, want ErrBadEnvelope", name, b, err)
		}
	}
}

func FuzzEnvelope(f *testing.F) {
	for _, e := range []Envelope{
		{Kind: KindPublish, Path: "/rooms/a", Message: json.RawMessage(`{"text":"hi"}`), Internal: json.RawMessage(`{"k":1}`), User: "ann", ToUser: true},
		{Kind: KindBroadcast, Message: json.RawMessage(`[1,"x",null]`)},
	} {
		b, _ := e.MarshalBinary()
		f.Add(b)
	}
	f.Add([]byte{1, 1, 0, 1, '/', '1'})
	f.Fuzz(func(t *testing.T, data []byte) {
		var e Envelope
		if err := e.UnmarshalBinary(data); err != nil {
			if !errors.Is(err, ErrBadEnvelope) {
				t.Fatalf("error %v does not wrap ErrBadEnvelope", err)
			}
			return
		}
		again, err := e.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded %+v does not encode: %v", e, err)
		}
		var e2 Envelope
		if err := e2.UnmarshalBinary(again); err != nil || !reflect.DeepEqual(e, e2) {
			t.Fatalf("re-encoded envelope differs: %+v vs %+v (%v)", e, e2, err)
		}
	})
}
