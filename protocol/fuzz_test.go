package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"unicode/utf8"
)

// seedFrames are the captured frames plus some odd ones.
func seedFrames() [][]byte {
	var seeds [][]byte
	for _, tt := range capturedEncodes {
		seeds = append(seeds, []byte(tt.frame))
	}
	for _, s := range []string{
		`not json`, `{"id":1}`, `{"type":"hello","id":0,"version":"2"}`, `{"type":"bogus","id":3}`,
		`{"type":"ping","id":2}`, `{"type":"hello","id":"abc","version":1}`,
		`{"type":"unsub","id":11,"path":"/never-subscribed"}`,
		`{"type":"request","method":"GET","path":"/","headers":{"Authorization":"x"},"id":1e3}`,
		`{"type":"hello","version":"2","subs":["/a?b",5],"auth":{"headers":{"a":"b"}},"id":15.5}`,
		`{"t\u0079pe":"sub","path":"/\ud83d\ude00","id":"\u0000"}`,
		"{\"type\":\"message\",\"message\":\"\xff\",\"id\":-1}",
		`{"statusCode":400.5,"payload":{"message":"m"},"id":[1,{"a":null}]}`,
		`{"type":"hello","id":1,"heartbeat":{"interval":1e3,"timeout":5},"socket":"s"}`,
		`[[[[[[[[[[]]]]]]]]]]`, `{"a":{"b":{"c":{"d":[]}}}}`,
	} {
		seeds = append(seeds, []byte(s))
	}
	return seeds
}

// jsonDepth returns the nesting depth of a valid JSON text.
func jsonDepth(b []byte) int {
	depth, deepest := 0, 0
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			deepest = max(deepest, depth)
		case '}', ']':
			depth--
		}
	}
	return deepest
}

func FuzzDecodeClient(f *testing.F) {
	for _, s := range seedFrames() {
		f.Add(s)
	}
	c := JSON()
	f.Fuzz(func(t *testing.T, frame []byte) {
		// The scanner agrees with encoding/json.
		clean := validUTF8(frame)
		var fl fields
		i := skipWS(clean, 0)
		wantParse := json.Valid(clean) && i < len(clean) && clean[i] == '{' && jsonDepth(clean) <= MaxDepth
		if got := parseFields(clean, &fl); got != wantParse {
			t.Fatalf("parseFields(%q) = %v, encoding/json says %v", clean, got, wantParse)
		}

		m, err := c.DecodeClient(frame)
		checkDecodeInto(t, c, frame, m, err)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || de.Reply == nil || de.Reply.StatusCode != 400 {
				t.Fatalf("error %v (%T) is not a 400 *DecodeError", err, err)
			}
			if m != nil {
				t.Fatalf("message %#v with error", m)
			}
			out, err := c.AppendEncode(nil, de.Reply)
			if err != nil || !json.Valid(out) {
				t.Fatalf("reply encodes to %q, %v", out, err)
			}
			return
		}
		out, err := c.AppendEncode(nil, m)
		if err != nil {
			t.Fatalf("encoding %#v: %v", m, err)
		}
		if !json.Valid(out) {
			t.Fatalf("encoded %#v as invalid JSON %q", m, out)
		}
		back, err := c.DecodeClient(out)
		if err != nil {
			t.Fatalf("re-decoding %q: %v", out, err)
		}
		if !reflect.DeepEqual(back, m) {
			t.Fatalf("round trip through %q:\n got  %#v\n want %#v", out, back, m)
		}
	})
}

func FuzzDecodeServer(f *testing.F) {
	for _, s := range seedFrames() {
		f.Add(s)
	}
	c := JSON()
	f.Fuzz(func(t *testing.T, frame []byte) {
		m, err := c.DecodeServer(frame)
		if err != nil {
			checkServerDecodeError(t, m, err)
			return
		}
		out, err := c.AppendEncode(nil, m)
		if err != nil {
			t.Fatalf("encoding %#v: %v", m, err)
		}
		if !json.Valid(out) || out[0] != '{' {
			t.Fatalf("encoded %#v as %q", m, out)
		}
		back, err := c.DecodeServer(out)
		if err != nil {
			t.Fatalf("re-decoding %q: %v", out, err)
		}
		out2, err := c.AppendEncode(nil, back)
		if err != nil || string(out2) != string(out) {
			t.Fatalf("not stable: %q then %q (%v)", out, out2, err)
		}
	})
}

func FuzzChunks(f *testing.F) {
	for _, s := range seedFrames() {
		f.Add(s, 40)
		f.Add(s, 1)
	}
	f.Add([]byte("a😀b\xffc€"), 2)
	f.Add([]byte("😀"), 1)
	f.Fuzz(func(t *testing.T, frame []byte, maxChars int) {
		maxChars %= 300
		checkChunks(t, frame, maxChars, Chunks(frame, maxChars))
	})
}

// checkServerDecodeError checks that a DecodeServer failure is one of the
// documented errors, with a message only for an unknown type.
func checkServerDecodeError(t *testing.T, m Message, err error) {
	t.Helper()
	if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownType) {
		t.Fatalf("unexpected error %v", err)
	}
	if _, unknown := m.(*Unknown); m != nil && !(unknown && errors.Is(err, ErrUnknownType)) {
		t.Fatalf("message %#v with error %v", m, err)
	}
}

// checkStableRoundTrip checks that out, the encoding of m, decodes back to
// m and encodes again to the same bytes.
func checkStableRoundTrip(t *testing.T, c Codec, out []byte, m Message, decode func([]byte) (Message, error)) {
	t.Helper()
	back, err := decode(out)
	if err != nil {
		t.Fatalf("re-decoding %x: %v", out, err)
	}
	sameMessage(t, "round trip", back, m)
	out2, err := c.AppendEncode(nil, back)
	if err != nil || !bytes.Equal(out, out2) {
		t.Fatalf("not stable: %x then %x (%v)", out, out2, err)
	}
}

// FuzzValidJSON checks ValidJSON against encoding/json: the same answer for
// input in valid UTF-8 (shallower than encoding/json's nesting limit of
// 10,000, which needs more bytes than that), and false for the rest.
func FuzzValidJSON(f *testing.F) {
	for _, s := range []string{`{"ok":true}`, ` [1, 2.5e3, "a\u00e9", null] `, `"\ud800"`, `-0`, `01`, `{"a":}`, "\"\xff\"", `[`, ``, `1 2`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got := ValidJSON(b)
		if !utf8.Valid(b) {
			if got {
				t.Fatalf("ValidJSON(%q) = true for invalid UTF-8", b)
			}
			return
		}
		if want := json.Valid(b); len(b) <= 10000 && got != want {
			t.Fatalf("ValidJSON(%q) = %v, encoding/json says %v", b, got, want)
		}
	})
}

// checkDecodeInto checks that decoding frame into a Request left over from
// another request gives what DecodeClient gave: m and err.
func checkDecodeInto(t *testing.T, c Codec, frame []byte, m Message, err error) {
	t.Helper()
	req := Request{ID: StringID("old"), Method: "PUT", Path: "/old", Headers: map[string]string{"a": "b"}, Payload: []byte(`1`)}
	if m2, err2 := c.(ReusingDecoder).DecodeClientInto(frame, &req); !reflect.DeepEqual(m2, m) || !reflect.DeepEqual(err2, err) {
		t.Fatalf("%s DecodeClientInto(%x) = %#v, %v; DecodeClient: %#v, %v", c.Name(), frame, m2, err2, m, err)
	}
}
