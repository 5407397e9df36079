package wire

import (
	"strings"
	"testing"
)

func TestFindT(t *testing.T) {
	cases := []struct {
		frame string
		want  int64
		ok    bool
	}{
		{`{"type":"pub","path":"/rooms/bench","message":{"t":1715000000123456789,"i":3,"pad":"xxxx"}}`, 1715000000123456789, true},
		{`{"push":{"channel":"rooms:bench","pub":{"data":{"t":42,"i":0,"pad":"x"},"offset":7}}}`, 42, true},
		{`{"type":"pub","message":{"t": 1.5e3,"i":0}}`, 1500, true},
		{`{"type":"pub","message":{"t":-5}}`, -5, true},
		{`{"type":"ping","id":4}`, 0, false},
		{`{"type":"pub","message":{"t":"x"}}`, 0, false},
		{`{"t":`, 0, false},
	}
	for _, c := range cases {
		got, ok := FindT([]byte(c.frame))
		if got != c.want || ok != c.ok {
			t.Errorf("FindT(%s) = %d,%v want %d,%v", c.frame, got, ok, c.want, c.ok)
		}
	}
}

func TestField(t *testing.T) {
	f := []byte(`{"type":"request","id":17,"statusCode":200,"payload":{"ok":true},"headers":{},"s":"a\"b"}`)
	for key, want := range map[string]string{"type": "request", "id": "17", "statusCode": "200", "s": `a\"b`} {
		if v, ok := Field(f, key); !ok || string(v) != want {
			t.Errorf("Field %s = %q %v, want %q", key, v, ok, want)
		}
	}
	if _, ok := Field(f, "payload"); ok {
		t.Error("objects are not returned")
	}
	if _, ok := Field(f, "missing"); ok {
		t.Error("missing key found")
	}
}

func TestNESKind(t *testing.T) {
	cases := map[string]Kind{
		`{"type":"pub","path":"/rooms/bench","message":{"t":1}}`:            KindPub,
		`{"type":"ping","id":3}`:                                            KindPing,
		`{"type":"ping"}`:                                                   KindPing,
		`{"type":"hello","id":1,"heartbeat":false,"socket":"a:1"}`:          KindReply,
		`{"statusCode":400,"payload":{"error":"Bad Request","message":""}}`: KindReply,
		`{"type":"update","message":1}`:                                     KindOther,
	}
	for f, want := range cases {
		if k, _ := NESKind([]byte(f)); k != want {
			t.Errorf("NESKind(%s) = %v, want %v", f, k, want)
		}
	}
}

func TestLinesBatched(t *testing.T) {
	frame := "{\"id\":2,\"subscribe\":{}}\n{\"push\":{\"channel\":\"rooms:bench\",\"pub\":{\"data\":{\"t\":10,\"i\":0,\"pad\":\"x\"}}}}\n{}\n{\"push\":{\"channel\":\"rooms:bench\",\"pub\":{\"data\":{\"t\":11,\"i\":1,\"pad\":\"x\"}}}}\n"
	var kinds []Kind
	var ts []int64
	Lines([]byte(frame), func(line []byte) bool {
		k := CFKind(line)
		kinds = append(kinds, k)
		if k == KindPub {
			v, _ := FindT(line)
			ts = append(ts, v)
		}
		return true
	})
	want := []Kind{KindReply, KindPub, KindPing, KindPub}
	if len(kinds) != len(want) {
		t.Fatalf("kinds %v", kinds)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("kinds %v, want %v", kinds, want)
		}
	}
	if len(ts) != 2 || ts[0] != 10 || ts[1] != 11 {
		t.Fatalf("ts %v", ts)
	}
	n := 0
	Lines([]byte("{}\n{}\n{}"), func([]byte) bool { n++; return n < 2 })
	if n != 2 {
		t.Fatalf("early stop: %d", n)
	}
	Lines([]byte("\n\n  \n"), func([]byte) bool { t.Fatal("empty line passed"); return true })
}

func TestCFKindReplies(t *testing.T) {
	if CFKind([]byte(`{"id":3,"rpc":{"data":{"ping":1}}}`)) != KindReply {
		t.Fatal("rpc reply")
	}
	if CFKind([]byte(`{"id":1,"error":{"code":101,"message":"unauthorized"}}`)) != KindReply {
		t.Fatal("error reply")
	}
	if CFKind([]byte(`{"push":{"channel":"rooms:bench","join":{}}}`)) != KindOther {
		t.Fatal("join push")
	}
}

func TestChannelFor(t *testing.T) {
	if got := ChannelFor("/rooms/bench"); got != "rooms:bench" {
		t.Fatal(got)
	}
	if got := ChannelFor("a/b/c"); got != "a:b:c" || strings.Contains(got, "/") {
		t.Fatal(got)
	}
}

func TestInt(t *testing.T) {
	for s, want := range map[string]int64{"0": 0, "123": 123, "-7": -7, "1e3": 1000, "9223372036854775807": 9223372036854775807} {
		if v, ok := Int([]byte(s)); !ok || v != want {
			t.Errorf("Int(%s) = %d %v", s, v, ok)
		}
	}
	for _, s := range []string{"", "-", "x", "1x"} {
		if _, ok := Int([]byte(s)); ok {
			t.Errorf("Int(%q) ok", s)
		}
	}
}
