package protocol

import (
	"testing"
)

// BenchmarkMsgpackDecode decodes the frames of BenchmarkDecode converted to
// MessagePack (the "error-parse" frame becomes the byte 0xc1).
func BenchmarkMsgpackDecode(b *testing.B) {
	c := MessagePack()
	conv := func(b *testing.B, frame string) []byte {
		if mpf, ok := jsonToMsgpack(b, frame); ok {
			return mpf
		}
		return []byte{0xc1}
	}
	for _, bf := range benchClientFrames {
		frame := conv(b, bf.frame)
		b.Run("client/"+bf.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(frame)))
			for b.Loop() {
				_, _ = c.DecodeClient(frame)
			}
		})
	}
	for _, bf := range benchServerFrames {
		frame := conv(b, bf.frame)
		b.Run("server/"+bf.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(frame)))
			for b.Loop() {
				_, _ = c.DecodeServer(frame)
			}
		})
	}
}

// benchMessages are the messages of BenchmarkEncode and BenchmarkMsgpackEncode:
// every type, in both directions.
var benchMessages = []struct {
	name string
	msg  Message
}{
	{"hello", &Hello{ID: NumberID(1), Version: "2", Subs: []string{"/news"}}},
	{"hello-auth", &Hello{ID: NumberID(1), Version: "2", Auth: &Auth{Headers: map[string]string{"authorization": "Custom john"}}}},
	{"reauth", &Reauth{ID: NumberID(2), Auth: &Auth{Token: "Fe26.2**4bba0622c1K9h9"}}},
	{"request", &Request{ID: NumberID(2), Method: "GET", Path: "/hello"}},
	{"request-full", &Request{ID: NumberID(3), Method: "POST", Path: "/echo/5?q=1", Headers: map[string]string{"x-custom": "yes"}, Payload: raw(`{"a":1}`)}},
	{"sub", &Sub{ID: NumberID(13), Path: "/items/5"}},
	{"unsub", &Unsub{ID: NumberID(16), Path: "/news"}},
	{"message", &Custom{ID: NumberID(11), Message: raw(`"hi"`)}},
	{"ping-client", &Ping{ID: NumberID(15)}},
	{"hello-reply", &HelloReply{ID: NumberID(1), Heartbeat: &Heartbeat{Interval: 1000, Timeout: 500}, Socket: "1795355930290:vm:8546:mwrwkdpe:10000"}},
	{"reauth-reply", &ReauthReply{ID: NumberID(2)}},
	{"response", &Response{ID: NumberID(2), StatusCode: 200, Payload: raw(`{"greeting":"hi"}`)}},
	{"response-headers", &Response{ID: NumberID(2), StatusCode: 200, Payload: raw(`{"greeting":"hi"}`), Headers: map[string]any{"content-type": "application/json; charset=utf-8", "content-length": 16}}},
	{"response-64k", &Response{ID: NumberID(2), StatusCode: 200, Payload: raw(bigPayload)}},
	{"sub-reply", &SubReply{ID: NumberID(13), Path: "/items/5"}},
	{"unsub-reply", &UnsubReply{ID: NumberID(16)}},
	{"message-reply", &CustomReply{ID: NumberID(11), Message: raw(`{"echo":"hi"}`)}},
	{"ping-server", &Ping{}},
	{"update", &Update{Message: raw(`{"all":"clients"}`)}},
	{"pub", &Pub{Path: "/news", Message: raw(`"breaking"`)}},
	{"revoke", &Revoke{Path: "/items/7", Message: raw(`{"reason":"bye"}`)}},
	{"error", NewErrorReply(404, "Subscription not found").WithRequest(TypeHello, NumberID(1))},
	{"unknown", &Unknown{Type: "bogus", ID: NumberID(3)}},
}

// BenchmarkMsgpackEncode encodes the messages of BenchmarkEncode.
func BenchmarkMsgpackEncode(b *testing.B) {
	c := MessagePack()
	for _, bm := range benchMessages {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 128<<10)
			out, _ := c.AppendEncode(buf, bm.msg)
			b.SetBytes(int64(len(out)))
			for b.Loop() {
				buf, _ = c.AppendEncode(buf[:0], bm.msg)
			}
		})
	}
}

// BenchmarkFrameSize reports the encoded size of typical messages with both
// codecs (bytes/frame).
func BenchmarkFrameSize(b *testing.B) {
	msgs := []struct {
		name string
		msg  Message
	}{
		{"hello", &Hello{ID: NumberID(1), Version: "2", Subs: []string{"/news"}}},
		{"hello-reply", &HelloReply{ID: NumberID(1), Heartbeat: &Heartbeat{Interval: 15000, Timeout: 5000}, Socket: "1795355930290:vm:8546:mwrwkdpe:10000"}},
		{"request", &Request{ID: NumberID(42), Method: "POST", Path: "/todos", Payload: raw(`{"title":"buy milk","done":false,"priority":2}`)}},
		{"pub-chat", &Pub{Path: "/rooms/lobby", Message: raw(`{"user":"alice","text":"hello everyone!","ts":1795355930290}`)}},
		{"response", &Response{ID: NumberID(42), StatusCode: 200, Payload: raw(`{"id":17,"title":"buy milk","done":false,"priority":2}`)}},
		{"response-64k", &Response{ID: NumberID(2), StatusCode: 200, Payload: raw(bigPayload)}},
	}
	for _, codec := range []struct {
		name string
		c    Codec
	}{{"json", JSON()}, {"msgpack", MessagePack()}} {
		for _, m := range msgs {
			b.Run(codec.name+"/"+m.name, func(b *testing.B) {
				var out []byte
				for b.Loop() {
					out, _ = codec.c.AppendEncode(out[:0], m.msg)
				}
				b.ReportMetric(float64(len(out)), "bytes/frame")
			})
		}
	}
}
