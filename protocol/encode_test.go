package protocol

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func raw(s string) json.RawMessage { return json.RawMessage(s) }

func badRequest(msg string) *ErrorReply { return NewErrorReply(400, msg) }

// capturedEncodes are the captured frames of PROTOCOL.md §2 (and a few
// more), with the message that must encode to them byte for byte.
var capturedEncodes = []struct {
	name  string
	msg   Message
	frame string
}{
	// 2.1 hello
	{"C>S hello subs", &Hello{ID: NumberID(1), Version: "2", Subs: []string{"/news"}},
		`{"type":"hello","version":"2","subs":["/news"],"id":1}`},
	{"S>C hello", &HelloReply{ID: NumberID(1), Heartbeat: &Heartbeat{Interval: 1000, Timeout: 500}, Socket: "1795355930290:vm:8546:mwrwkdpe:10000"},
		`{"type":"hello","id":1,"heartbeat":{"interval":1000,"timeout":500},"socket":"1795355930290:vm:8546:mwrwkdpe:10000"}`},
	{"C>S hello direct auth", &Hello{ID: NumberID(1), Version: "2", Auth: &Auth{Headers: map[string]string{"authorization": "Custom john"}}},
		`{"type":"hello","version":"2","auth":{"headers":{"authorization":"Custom john"}},"id":1}`},
	{"C>S hello direct auth raw", &Hello{ID: NumberID(1), Version: "2", Auth: &Auth{Raw: raw(`{"headers":{"authorization":"Custom john"}}`)}},
		`{"type":"hello","version":"2","auth":{"headers":{"authorization":"Custom john"}},"id":1}`},
	{"C>S hello token", &Hello{ID: NumberID(1), Version: "2", Auth: &Auth{Token: "Fe26.2**4bba06…**22c1…*K9h9…"}},
		`{"type":"hello","version":"2","auth":"Fe26.2**4bba06…**22c1…*K9h9…","id":1}`},
	{"C>S hello bare", &Hello{ID: NumberID(1)},
		`{"type":"hello","version":"2","id":1}`},
	{"S>C hello no heartbeat", &HelloReply{ID: NumberID(1), Socket: "1795355932102:vm:8546:mwrwkf5r:10000"},
		`{"type":"hello","id":1,"heartbeat":false,"socket":"1795355932102:vm:8546:mwrwkf5r:10000"}`},
	{"S>C hello requires auth", NewErrorReply(401, "Connection requires authentication").WithRequest(TypeHello, NumberID(1)),
		`{"statusCode":401,"payload":{"error":"Unauthorized","message":"Connection requires authentication"},"type":"hello","id":1}`},
	{"S>C hello bad credentials", NewErrorReply(401, "Bad credentials").WithRequest(TypeHello, NumberID(1)),
		`{"statusCode":401,"payload":{"error":"Unauthorized","message":"Bad credentials"},"type":"hello","id":1}`},
	{"S>C hello sub not found", &ErrorReply{StatusCode: 404, Error: "Not Found", Message: "Subscription not found", Type: "hello", HasType: true, ID: NumberID(1), Path: "/nothing"},
		`{"statusCode":404,"payload":{"error":"Not Found","message":"Subscription not found"},"type":"hello","id":1,"path":"/nothing"}`},
	{"S>C hello version", badRequest("Incorrect protocol version (expected 2 but received 1)").WithRequest(TypeHello, StringID("abc")),
		`{"statusCode":400,"payload":{"error":"Bad Request","message":"Incorrect protocol version (expected 2 but received 1)"},"type":"hello","id":"abc"}`},
	{"S>C hello too many", NewErrorReply(503, "Too many connections for the authenticated user").WithRequest(TypeHello, NumberID(1)),
		`{"statusCode":503,"payload":{"error":"Service Unavailable","message":"Too many connections for the authenticated user"},"type":"hello","id":1}`},
	{"S>C hello already authenticated", badRequest("Connection already authenticated").WithRequest(TypeHello, NumberID(1)),
		`{"statusCode":400,"payload":{"error":"Bad Request","message":"Connection already authenticated"},"type":"hello","id":1}`},

	// 2.2 request
	{"C>S request", &Request{ID: NumberID(2), Method: "GET", Path: "/hello"},
		`{"type":"request","method":"GET","path":"/hello","id":2}`},
	{"S>C request", &Response{ID: NumberID(2), StatusCode: 200, Payload: raw(`{"greeting":"hi"}`)},
		`{"type":"request","id":2,"statusCode":200,"payload":{"greeting":"hi"}}`},
	{"C>S request full", &Request{ID: NumberID(3), Method: "POST", Path: "/echo/5?q=1", Headers: map[string]string{"x-custom": "yes"}, Payload: raw(`{"a":1}`)},
		`{"type":"request","method":"POST","path":"/echo/5?q=1","headers":{"x-custom":"yes"},"payload":{"a":1},"id":3}`},
	{"S>C request full", &Response{ID: NumberID(3), StatusCode: 200, Payload: raw(`{"id":"5","payload":{"a":1},"query":{"q":"1"},"hdr":"yes","socket":true,"ct":"application/json"}`)},
		`{"type":"request","id":3,"statusCode":200,"payload":{"id":"5","payload":{"a":1},"query":{"q":"1"},"hdr":"yes","socket":true,"ct":"application/json"}}`},
	{"S>C request text", &Response{ID: NumberID(4), StatusCode: 200, Payload: raw(`"plain text"`)},
		`{"type":"request","id":4,"statusCode":200,"payload":"plain text"}`},
	{"S>C request raw json", &Response{ID: NumberID(5), StatusCode: 200, Payload: raw(` {"raw":true}` + "\n")},
		`{"type":"request","id":5,"statusCode":200,"payload":{"raw":true}}`},
	{"S>C request null", &Response{ID: NumberID(6), StatusCode: 204},
		`{"type":"request","id":6,"statusCode":204,"payload":null}`},
	{"C>S request route id", &Request{ID: NumberID(7), Method: "GET", Path: "hello-route"},
		`{"type":"request","method":"GET","path":"hello-route","id":7}`},
	{"S>C request headers", &Response{ID: NumberID(2), StatusCode: 200, Payload: raw(`{"greeting":"hi"}`), Headers: map[string]any{"content-type": "application/json; charset=utf-8"}},
		`{"type":"request","id":2,"statusCode":200,"payload":{"greeting":"hi"},"headers":{"content-type":"application/json; charset=utf-8"}}`},
	{"S>C request 403", &Response{ID: NumberID(8), StatusCode: 403, Payload: raw(`{"statusCode":403,"error":"Forbidden","message":"Nope"}`)},
		`{"type":"request","id":8,"statusCode":403,"payload":{"statusCode":403,"error":"Forbidden","message":"Nope"}}`},
	{"S>C request 404", &Response{ID: NumberID(9), StatusCode: 404, Payload: raw(`{"statusCode":404,"error":"Not Found","message":"Not Found"}`)},
		`{"type":"request","id":9,"statusCode":404,"payload":{"statusCode":404,"error":"Not Found","message":"Not Found"}}`},
	{"S>C request authorization", badRequest("Cannot include an Authorization header").WithRequest(TypeRequest, NumberID(10)),
		`{"statusCode":400,"payload":{"error":"Bad Request","message":"Cannot include an Authorization header"},"type":"request","id":10}`},
	{"S>C request not initialized", badRequest("Connection is not initialized").WithRequest(TypeRequest, NumberID(1)),
		`{"statusCode":400,"payload":{"error":"Bad Request","message":"Connection is not initialized"},"type":"request","id":1}`},
	{"S>C request missing method", badRequest("Message missing method").WithRequest(TypeRequest, NumberID(4)),
		`{"statusCode":400,"payload":{"error":"Bad Request","message":"Message missing method"},"type":"request","id":4}`},
	{"S>C request auth endpoint", NewErrorReply(404, "").WithRequest(TypeRequest, NumberID(2)),
		`{"statusCode":404,"payload":{"error":"Not Found","message":"Not Found"},"type":"request","id":2}`},

	// 2.3 message
	{"C>S message", &Custom{ID: NumberID(11), Message: raw(`"hi"`)},
		`{"type":"message","message":"hi","id":11}`},
	{"S>C message", &CustomReply{ID: NumberID(11), Message: raw(`{"echo":"hi"}`)},
		`{"type":"message","id":11,"message":{"echo":"hi"}}`},
	{"S>C message undefined", &CustomReply{ID: NumberID(11)},
		`{"type":"message","id":11}`},
	{"S>C message error", badRequest("You asked me to fail").WithRequest(TypeMessage, NumberID(12)),
		`{"statusCode":400,"payload":{"error":"Bad Request","message":"You asked me to fail"},"type":"message","id":12}`},
	{"S>C message not implemented", NewErrorReply(501, "").WithRequest(TypeMessage, NumberID(13)),
		`{"statusCode":501,"payload":{"error":"Not Implemented","message":"Not Implemented"},"type":"message","id":13}`},
	{"S>C internal", NewErrorReply(500, "secret detail").WithRequest(TypeMessage, NumberID(14)),
		`{"statusCode":500,"payload":{"error":"Internal Server Error","message":"An internal server error occurred"},"type":"message","id":14}`},

	// 2.4 sub / unsub / pub / revoke / update
	{"C>S sub", &Sub{ID: NumberID(13), Path: "/items/5"},
		`{"type":"sub","path":"/items/5","id":13}`},
	{"S>C sub", &SubReply{ID: NumberID(13), Path: "/items/5"},
		`{"type":"sub","id":13,"path":"/items/5"}`},
	{"S>C sub not found", NewErrorReply(404, "Subscription not found").WithRequest(TypeSub, NumberID(14)),
		`{"statusCode":404,"payload":{"error":"Not Found","message":"Subscription not found"},"type":"sub","id":14}`},
	{"S>C sub query", badRequest("Subscription path cannot contain query").WithRequest(TypeSub, NumberID(9)),
		`{"statusCode":400,"payload":{"error":"Bad Request","message":"Subscription path cannot contain query"},"type":"sub","id":9}`},
	{"S>C sub auth", NewErrorReply(401, "Authentication required to subscribe").WithRequest(TypeSub, NumberID(2)),
		`{"statusCode":401,"payload":{"error":"Unauthorized","message":"Authentication required to subscribe"},"type":"sub","id":2}`},
	{"S>C pub", &Pub{Path: "/news", Message: raw(`"breaking"`)},
		`{"type":"pub","path":"/news","message":"breaking"}`},
	{"S>C pub object", &Pub{Path: "/items/5", Message: raw(`{"a":"b"}`)},
		`{"type":"pub","path":"/items/5","message":{"a":"b"}}`},
	{"S>C pub override", &Pub{Path: "/items/5", Message: raw(`{"overridden":true,"path":"/items/5"}`)},
		`{"type":"pub","path":"/items/5","message":{"overridden":true,"path":"/items/5"}}`},
	{"S>C pub nil", &Pub{Path: "/items/5"},
		`{"type":"pub","path":"/items/5","message":null}`},
	{"S>C broadcast", &Update{Message: raw(`{"all":"clients"}`)},
		`{"type":"update","message":{"all":"clients"}}`},
	{"S>C send", &Update{Message: raw(`"direct update"`)},
		`{"type":"update","message":"direct update"}`},
	{"S>C update nil", &Update{},
		`{"type":"update","message":null}`},
	{"C>S unsub", &Unsub{ID: NumberID(16), Path: "/news"},
		`{"type":"unsub","path":"/news","id":16}`},
	{"C>S unsub no path", &Unsub{ID: NumberID(16)},
		`{"type":"unsub","id":16}`},
	{"S>C unsub", &UnsubReply{ID: NumberID(16)},
		`{"type":"unsub","id":16}`},
	{"S>C unsub 11", &UnsubReply{ID: NumberID(11)},
		`{"type":"unsub","id":11}`},
	{"S>C revoke", &Revoke{Path: "/items/7", Message: raw(`{"reason":"bye"}`)},
		`{"type":"revoke","path":"/items/7","message":{"reason":"bye"}}`},
	{"S>C revoke null", &Revoke{Path: "/items/7"},
		`{"type":"revoke","path":"/items/7"}`},

	// 2.5 ping
	{"S>C ping", &Ping{}, `{"type":"ping"}`},
	{"C>S ping", &Ping{ID: NumberID(15)}, `{"type":"ping","id":15}`},

	// 2.6 reauth
	{"C>S reauth", &Reauth{ID: NumberID(2), Auth: &Auth{Headers: map[string]string{"authorization": "Custom john"}}},
		`{"type":"reauth","auth":{"headers":{"authorization":"Custom john"}},"id":2}`},
	{"S>C reauth", &ReauthReply{ID: NumberID(2)}, `{"type":"reauth","id":2}`},
	{"S>C reauth error", NewErrorReply(401, "Bad credentials").WithRequest(TypeReauth, NumberID(3)),
		`{"statusCode":401,"payload":{"error":"Unauthorized","message":"Bad credentials"},"type":"reauth","id":3}`},

	// 2.7 misc protocol errors
	{"S>C cannot parse", badRequest("Cannot parse message"),
		`{"statusCode":400,"payload":{"error":"Bad Request","message":"Cannot parse message"}}`},
	{"S>C cannot parse id", &ErrorReply{StatusCode: 400, Error: "Bad Request", Message: "Cannot parse message", ID: NumberID(1)},
		`{"statusCode":400,"payload":{"error":"Bad Request","message":"Cannot parse message"},"id":1}`},
	{"S>C unknown type", (&Unknown{Type: "bogus", ID: NumberID(3)}).Reply(),
		`{"statusCode":400,"payload":{"error":"Bad Request","message":"Unknown message type"},"type":"bogus","id":3}`},

	// extra shapes
	{"S>C error headers", &ErrorReply{StatusCode: 401, Message: "Missing authentication", Headers: map[string]any{"www-authenticate": "Custom", "content-length": 12}, Type: "hello", HasType: true, ID: NumberID(1)},
		`{"statusCode":401,"payload":{"error":"Unauthorized","message":"Missing authentication"},"headers":{"content-length":12,"www-authenticate":"Custom"},"type":"hello","id":1}`},
	{"S>C error empty type", &ErrorReply{StatusCode: 400, Error: "Bad Request", Message: "Cannot parse message", HasType: true, ID: NumberID(1)},
		`{"statusCode":400,"payload":{"error":"Bad Request","message":"Cannot parse message"},"type":"","id":1}`},
	{"S>C error payload", &ErrorReply{StatusCode: 404, Payload: raw(`{"statusCode":404,"error":"Not Found"}`), Type: "request", ID: StringID("x")},
		`{"statusCode":404,"payload":{"statusCode":404,"error":"Not Found"},"type":"request","id":"x"}`},
	{"S>C response headers", &Response{ID: NumberID(2), StatusCode: 200, Payload: raw(`1`), Headers: map[string]any{"b": []string{"x", "y"}, "a": 1.5, "c": int64(3)}},
		`{"type":"request","id":2,"statusCode":200,"payload":1,"headers":{"a":1.5,"b":["x","y"],"c":3}}`},
	{"S>C unknown", &Unknown{Type: "bogus", ID: NumberID(3)}, `{"type":"bogus","id":3}`},
	{"C>S hello empty subs", &Hello{ID: NumberID(1), Subs: []string{}}, `{"type":"hello","version":"2","subs":[],"id":1}`},
	{"C>S request empty headers", &Request{ID: StringID("r"), Method: "get", Path: "/x", Headers: map[string]string{}, Payload: raw(`null`)},
		`{"type":"request","method":"get","path":"/x","headers":{},"payload":null,"id":"r"}`},
	{"C>S message null", &Custom{ID: NumberID(1), Message: raw(`null`)}, `{"type":"message","message":null,"id":1}`},
	{"C>S reauth no auth", &Reauth{ID: NumberID(1)}, `{"type":"reauth","id":1}`},
}

func TestEncodeCaptured(t *testing.T) {
	for _, tt := range capturedEncodes {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte("xyz")
			got, err := JSON().AppendEncode(prefix, tt.msg)
			if err != nil {
				t.Fatalf("AppendEncode: %v", err)
			}
			if string(got[:3]) != "xyz" || string(got[3:]) != tt.frame {
				t.Errorf("got  %s\nwant xyz%s", got, tt.frame)
			}
			if !json.Valid(got[3:]) {
				t.Errorf("invalid JSON %s", got[3:])
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	tests := []struct {
		name string
		msg  Message
		want error
	}{
		{"nil", nil, ErrUnsupported},
		{"nil hello", (*Hello)(nil), ErrUnsupported},
		{"nil error reply", (*ErrorReply)(nil), ErrUnsupported},
		{"nil unknown", (*Unknown)(nil), ErrUnsupported},
		{"payload", &Response{ID: NumberID(1), StatusCode: 200, Payload: raw(`{"a":`)}, ErrInvalidJSON},
		{"payload two values", &Response{ID: NumberID(1), StatusCode: 200, Payload: raw(`1 2`)}, ErrInvalidJSON},
		{"payload empty", &Response{ID: NumberID(1), StatusCode: 200, Payload: raw(``)}, ErrInvalidJSON},
		{"payload utf8", &Response{ID: NumberID(1), StatusCode: 200, Payload: raw("\"\xff\"")}, ErrInvalidJSON},
		{"update", &Update{Message: raw(`{'a':1}`)}, ErrInvalidJSON},
		{"pub", &Pub{Path: "/a", Message: raw(`nul`)}, ErrInvalidJSON},
		{"revoke", &Revoke{Path: "/a", Message: raw(`[1,]`)}, ErrInvalidJSON},
		{"custom", &Custom{ID: NumberID(1), Message: raw(`01`)}, ErrInvalidJSON},
		{"custom reply", &CustomReply{ID: NumberID(1), Message: raw(`"a`)}, ErrInvalidJSON},
		{"request", &Request{ID: NumberID(1), Method: "GET", Path: "/", Payload: raw(`tru`)}, ErrInvalidJSON},
		{"auth", &Hello{ID: NumberID(1), Auth: &Auth{Raw: raw(`{`)}}, ErrInvalidJSON},
		{"reauth", &Reauth{ID: NumberID(1), Auth: &Auth{Raw: raw(`}`)}}, ErrInvalidJSON},
		{"error payload", &ErrorReply{StatusCode: 400, Payload: raw(`x`)}, ErrInvalidJSON},
		{"headers", &Response{ID: NumberID(1), StatusCode: 200, Headers: map[string]any{"a": func() {}}}, nil},
		{"error headers", &ErrorReply{StatusCode: 400, Headers: map[string]any{"a": make(chan int)}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []byte("keep")
			got, err := JSON().AppendEncode(dst, tt.msg)
			if err == nil {
				t.Fatalf("no error, encoded %s", got)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
			if string(got) != "keep" {
				t.Errorf("dst changed to %q", got)
			}
		})
	}
}

func TestAppendString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `""`},
		{"plain", `"plain"`},
		{`q"b\s/`, `"q\"b\\s/"`},
		{"\n\r\t\b\f\x00\x1f\x7f", `"\n\r\t\b\f\u0000\u001f` + "\x7f" + `"`},
		{"<&>", `"<&>"`},
		{"é€😀\u2028\u2029", "\"é€😀\u2028\u2029\""},
		{"a\xffb", `"a\ufffdb"`},
		{"\xe2\x82", `"\ufffd\ufffd"`},
		{"\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`}, // a UTF-8 encoded surrogate
		{"x\xf0\x9f\x98", `"x\ufffd\ufffd\ufffd"`},
	}
	for _, tt := range tests {
		got := string(appendString(nil, tt.in))
		if got != tt.want {
			t.Errorf("appendString(%q) = %s, want %s", tt.in, got, tt.want)
		}
		var back string
		if err := json.Unmarshal([]byte(got), &back); err != nil {
			t.Errorf("%s: %v", got, err)
		}
		if want := strings.ToValidUTF8(tt.in, "\uFFFD"); utf8.ValidString(tt.in) && back != want {
			t.Errorf("round trip %q, want %q", back, want)
		}
	}
}

func TestNewErrorReply(t *testing.T) {
	tests := []struct {
		status           int
		msg, error, want string
	}{
		{400, "", "Bad Request", "Bad Request"},
		{400, "x", "Bad Request", "x"},
		{401, "", "Unauthorized", "Unauthorized"},
		{403, "Credential verification failed", "Forbidden", "Credential verification failed"},
		{404, "", "Not Found", "Not Found"},
		{418, "", "I'm a Teapot", "I'm a Teapot"},
		{500, "", "Internal Server Error", "An internal server error occurred"},
		{500, "boom", "Internal Server Error", "An internal server error occurred"},
		{501, "", "Not Implemented", "Not Implemented"},
		{502, "", "Bad Gateway", "Bad Gateway"},
		{503, "busy", "Service Unavailable", "busy"},
		{499, "", "Unknown", "Unknown"},
	}
	for _, tt := range tests {
		r := NewErrorReply(tt.status, tt.msg)
		if r.StatusCode != tt.status || r.Error != tt.error || r.Message != tt.want || r.HasType || !r.ID.IsZero() {
			t.Errorf("NewErrorReply(%d, %q) = %+v", tt.status, tt.msg, r)
		}
	}
}
