package client

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/nes-go/nes/protocol"
)

// FuzzClientFrames feeds arbitrary frames (separated by newlines) to the
// client's frame handling, with both codecs: nothing may panic, whatever
// the server sends.
func FuzzClientFrames(f *testing.F) {
	for _, seed := range []string{
		`{"type":"hello","id":1,"heartbeat":{"interval":1000,"timeout":500},"socket":"s"}`,
		`{"type":"hello","id":1,"heartbeat":false,"socket":"s"}`,
		`{"type":"request","id":2,"statusCode":200,"payload":{"greeting":"hi"}}`,
		`{"type":"request","id":2,"statusCode":403,"payload":{"statusCode":403,"error":"Forbidden","message":"Nope"}}`,
		`{"statusCode":400,"payload":{"error":"Bad Request","message":"Cannot parse message"}}`,
		`{"type":"pub","path":"/a","message":{"a":"b"}}`,
		`{"type":"revoke","path":"/a"}`,
		`{"type":"update","message":"x"}`,
		`{"type":"ping"}`,
		`{"type":"bogus","id":3}`,
		"+{\"type\":\"upd\n!ate\",\"message\":1}",
		"+{\"type\"\n{\"type\":\"ping\"}\n!}",
		`{"type":"message","id":3,"message":null}`,
		`{"type":"sub","id":3,"path":7}`,
		"",
		"\xff\xfe",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, enc := range encodings {
			fuzzFrames(t, enc, data)
		}
	})
}

func fuzzFrames(t *testing.T, enc Encoding, data []byte) {
	c := New("ws://fuzz.invalid", &Options{
		Encoding:        enc,
		MaxMessageBytes: 1 << 10,
		OnUpdate:        func(json.RawMessage) {},
		OnError: func(err error) {
			if _, ok := err.(*Error); !ok {
				t.Errorf("OnError got %T", err)
			}
		},
	})
	if c.cerr != nil {
		t.Fatal(c.cerr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{disp: newDispatcher(), ctx: ctx, cancel: cancel, done: make(chan struct{})}
	cn := &conn{sess: s, bin: c.codec.Binary(), done: make(chan struct{}), helloID: protocol.NumberID(1)}
	cn.hb.init(cn)
	c.subs["/a"] = []*Subscription{{c: c, path: "/a", h: func(json.RawMessage, Flags) {}}}
	for i := int64(1); i <= 3; i++ {
		c.pending[protocol.NumberID(i)] = make(chan message, 1)
	}
	frames := [][]byte{data}
	if !cn.bin {
		frames = bytes.Split(data, []byte("\n"))
	}
	for _, fr := range frames {
		c.handleFrame(cn, fr)
	}
	cn.hb.stop()
	s.disp.close()
	<-s.disp.done
	cancel()
}
