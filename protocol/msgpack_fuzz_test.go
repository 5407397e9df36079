package protocol

import (
	"errors"
	"reflect"
	"testing"
)

// msgpackSeeds are the seed frames converted to MessagePack, plus some odd
// MessagePack frames.
func msgpackSeeds(f *testing.F) [][]byte {
	var seeds [][]byte
	for _, s := range seedFrames() {
		if b, ok := jsonToMsgpack(f, string(s)); ok {
			seeds = append(seeds, b)
		}
	}
	return append(seeds,
		mp(0x82, "type", "ping", "id", f64(3)),
		mp(0x83, "type", "message", "id", 1, "message", mpBin8, 1, 'x'),
		mp(0x83, "type", "message", "id", 1, "message", 0x81, 1, 2),
		mp(0x83, "type", "message", "id", "\xff", "message", f32(0.1)),
		mp(0x83, "type", "message", "id", 1, "message", deepArray(MaxDepth-1)),
	)
}

func FuzzMsgpackDecodeClient(f *testing.F) {
	for _, s := range msgpackSeeds(f) {
		f.Add(s)
	}
	c := MessagePack()
	f.Fuzz(func(t *testing.T, frame []byte) {
		m, err := c.DecodeClient(frame)
		checkDecodeInto(t, c, frame, m, err)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || de.Reply == nil || de.Reply.StatusCode != 400 || m != nil {
				t.Fatalf("error %v (%T), message %#v", err, err, m)
			}
			if _, err := c.AppendEncode(nil, de.Reply); err != nil {
				t.Fatalf("reply does not encode: %v", err)
			}
			if _, err := JSON().AppendEncode(nil, de.Reply); err != nil {
				t.Fatalf("reply does not encode in JSON: %v", err)
			}
			return
		}
		out, err := c.AppendEncode(nil, m)
		if err != nil {
			t.Fatalf("encoding %#v: %v", m, err)
		}
		checkStableRoundTrip(t, c, out, m, c.DecodeClient)
		// The JSON codec agrees with the decoded message.
		j, err := JSON().AppendEncode(nil, m)
		if err != nil {
			t.Fatalf("JSON-encoding %#v: %v", m, err)
		}
		jm, err := JSON().DecodeClient(j)
		if err != nil || reflect.TypeOf(jm) != reflect.TypeOf(m) {
			t.Fatalf("JSON decodes %s as %#v, %v", j, jm, err)
		}
	})
}

func FuzzMsgpackDecodeServer(f *testing.F) {
	for _, s := range msgpackSeeds(f) {
		f.Add(s)
	}
	c := MessagePack()
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
		checkStableRoundTrip(t, c, out, m, c.DecodeServer)
	})
}
