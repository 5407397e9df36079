package protocol

import (
	"strings"
	"testing"
)

// bigPayload is a 64 KiB JSON object.
var bigPayload = func() string {
	var b strings.Builder
	b.WriteString(`{"items":[`)
	for i := 0; b.Len() < 64<<10; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"id":12345,"name":"item name with some text","tags":["a","b"],"ok":true,"price":12.5}`)
	}
	b.WriteString(`]}`)
	return b.String()
}()

var benchClientFrames = []struct{ name, frame string }{
	{"hello", `{"type":"hello","version":"2","subs":["/news"],"id":1}`},
	{"hello-auth", `{"type":"hello","version":"2","auth":{"headers":{"authorization":"Custom john"}},"id":1}`},
	{"reauth", `{"type":"reauth","auth":"Fe26.2**4bba0622c1K9h9","id":2}`},
	{"request", `{"type":"request","method":"GET","path":"/hello","id":2}`},
	{"request-full", `{"type":"request","method":"POST","path":"/echo/5?q=1","headers":{"x-custom":"yes"},"payload":{"a":1},"id":3}`},
	{"request-64k", `{"type":"request","method":"POST","path":"/echo","payload":` + bigPayload + `,"id":3}`},
	{"sub", `{"type":"sub","path":"/items/5","id":13}`},
	{"unsub", `{"type":"unsub","path":"/news","id":16}`},
	{"message", `{"type":"message","message":"hi","id":11}`},
	{"ping", `{"type":"ping","id":15}`},
	{"unknown", `{"type":"bogus","id":3}`},
	{"error-parse", `not json`},
	{"error-missing-id", `{"type":"hello","id":0,"version":"2"}`},
}

var benchServerFrames = []struct{ name, frame string }{
	{"hello-reply", `{"type":"hello","id":1,"heartbeat":{"interval":1000,"timeout":500},"socket":"1795355930290:vm:8546:mwrwkdpe:10000"}`},
	{"reauth-reply", `{"type":"reauth","id":2}`},
	{"response", `{"type":"request","id":2,"statusCode":200,"payload":{"greeting":"hi"}}`},
	{"response-headers", `{"type":"request","id":2,"statusCode":200,"payload":{"greeting":"hi"},"headers":{"content-type":"application/json; charset=utf-8"}}`},
	{"response-64k", `{"type":"request","id":2,"statusCode":200,"payload":` + bigPayload + `}`},
	{"sub-reply", `{"type":"sub","id":13,"path":"/items/5"}`},
	{"unsub-reply", `{"type":"unsub","id":16}`},
	{"message-reply", `{"type":"message","id":11,"message":{"echo":"hi"}}`},
	{"ping", `{"type":"ping"}`},
	{"update", `{"type":"update","message":{"all":"clients"}}`},
	{"pub", `{"type":"pub","path":"/news","message":"breaking"}`},
	{"revoke", `{"type":"revoke","path":"/items/7","message":{"reason":"bye"}}`},
	{"error", `{"statusCode":404,"payload":{"error":"Not Found","message":"Subscription not found"},"type":"hello","id":1,"path":"/nothing"}`},
}

func BenchmarkDecode(b *testing.B) {
	c := JSON()
	for _, bf := range benchClientFrames {
		frame := []byte(bf.frame)
		b.Run("client/"+bf.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(frame)))
			for b.Loop() {
				_, _ = c.DecodeClient(frame)
			}
		})
	}
	for _, bf := range benchServerFrames {
		frame := []byte(bf.frame)
		b.Run("server/"+bf.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(frame)))
			for b.Loop() {
				_, _ = c.DecodeServer(frame)
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	msgs := benchMessages
	c := JSON()
	for _, bm := range msgs {
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

// BenchmarkValidateRaw measures the check of a raw payload done by the
// encoder, against a plain copy of the same bytes.
func BenchmarkValidateRaw(b *testing.B) {
	p := []byte(bigPayload)
	b.Run("validate-64k", func(b *testing.B) {
		b.SetBytes(int64(len(p)))
		for b.Loop() {
			_, _ = validJSON(p)
		}
	})
	b.Run("copy-64k", func(b *testing.B) {
		dst := make([]byte, 0, len(p))
		b.SetBytes(int64(len(p)))
		for b.Loop() {
			dst = append(dst[:0], p...)
		}
	})
}

func BenchmarkChunks(b *testing.B) {
	ascii := []byte(`{"type":"request","id":2,"statusCode":200,"payload":` + bigPayload + `}`)
	mixed := []byte(strings.Repeat(`{"msg":"héllo wörld 😀 東京"}`, 2000))
	for _, bc := range []struct {
		name  string
		frame []byte
		max   int
	}{
		{"ascii-64k/1024", ascii, 1024},
		{"ascii-64k/40", ascii, 40},
		{"mixed-64k/1024", mixed, 1024},
		{"small/none", []byte(`{"type":"ping"}`), 1024},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.frame)))
			for b.Loop() {
				_ = Chunks(bc.frame, bc.max)
			}
		})
	}
}
