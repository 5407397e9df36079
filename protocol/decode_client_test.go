package protocol

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// replyFrame encodes the reply of a decode error.
func replyFrame(t *testing.T, err error) string {
	t.Helper()
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("error %v (%T) is not a *DecodeError", err, err)
	}
	if de.Reply.StatusCode != 400 {
		t.Errorf("status %d, want 400", de.Reply.StatusCode)
	}
	out, encErr := JSON().AppendEncode(nil, de.Reply)
	if encErr != nil {
		t.Fatalf("encoding the reply: %v", encErr)
	}
	return string(out)
}

func errFrame(msg, rest string) string {
	return `{"statusCode":400,"payload":{"error":"Bad Request","message":"` + msg + `"}` + rest + `}`
}

func nested(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }

const (
	parse   = "Cannot parse message"
	missing = "Message missing id"
)

var decodeClientErrorCases = []struct {
	name, frame, field, want string
}{
	// not a JSON object
	{"not json", `not json`, "", errFrame(parse, ``)},
	{"empty", ``, "", errFrame(parse, ``)},
	{"spaces", "  \n", "", errFrame(parse, ``)},
	{"array", `[]`, "", errFrame(parse, ``)},
	{"number", `5`, "", errFrame(parse, ``)},
	{"string", `"x"`, "", errFrame(parse, ``)},
	{"null", `null`, "", errFrame(parse, ``)},
	{"true", `true`, "", errFrame(parse, ``)},
	{"truncated", `{"type":"hello","id":1`, "", errFrame(parse, ``)},
	{"trailing garbage", `{"type":"ping","id":1} x`, "", errFrame(parse, ``)},
	{"two objects", `{"type":"ping","id":1}{}`, "", errFrame(parse, ``)},
	{"trailing comma", `{"type":"ping","id":1,}`, "", errFrame(parse, ``)},
	{"single quotes", `{'type':'ping','id':1}`, "", errFrame(parse, ``)},
	{"bad escape", `{"type":"p\ing","id":1}`, "", errFrame(parse, ``)},
	{"control char", "{\"type\":\"p\ting\",\"id\":1}", "", errFrame(parse, ``)},
	{"leading zero", `{"type":"ping","id":01}`, "", errFrame(parse, ``)},
	{"bad number", `{"type":"ping","id":1.}`, "", errFrame(parse, ``)},
	{"NaN", `{"type":"ping","id":NaN}`, "", errFrame(parse, ``)},
	{"comment", `{"type":"ping","id":1}//`, "", errFrame(parse, ``)},
	{"bad nested", `{"type":"message","id":1,"message":{"a":[1,2}]}`, "", errFrame(parse, ``)},
	{"too deep", `{"type":"message","id":1,"message":` + nested(MaxDepth) + `}`, "", errFrame(parse, ``)},
	{"too deep unknown key", `{"x":` + nested(MaxDepth) + `,"type":"message","id":1}`, "", errFrame(parse, ``)},
	{"invalid utf8 outside string", "{\"type\":\"ping\",\"id\":1}\xff", "", errFrame(parse, ``)},

	// type
	{"no type", `{"id":1}`, "", errFrame(parse, `,"id":1`)},
	{"empty type", `{"type":"","id":1}`, "", errFrame(parse, `,"type":"","id":1`)},
	{"null type", `{"type":null,"id":1}`, "", errFrame(parse, `,"id":1`)},
	{"number type", `{"type":5,"id":"a"}`, "", errFrame(parse, `,"id":"a"`)},
	{"object type", `{"type":{},"id":1}`, "", errFrame(parse, `,"id":1`)},
	{"no type no id", `{}`, "", errFrame(parse, ``)},
	{"no type zero id", `{"id":0}`, "", errFrame(parse, `,"id":0`)},
	{"no type, bad method", `{"method":5,"id":2}`, "", errFrame(parse, `,"id":2`)},

	// id
	{"id 0", `{"type":"hello","id":0,"version":"2"}`, "", errFrame(missing, `,"type":"hello","id":0`)},
	{"id -0", `{"type":"request","id":-0}`, "", errFrame(missing, `,"type":"request","id":-0`)},
	{"id 0.0", `{"type":"request","id":0.0}`, "", errFrame(missing, `,"type":"request","id":0.0`)},
	{"id 0e5", `{"type":"request","id":0e5}`, "", errFrame(missing, `,"type":"request","id":0e5`)},
	{"id underflow", `{"type":"request","id":1e-400}`, "", errFrame(missing, `,"type":"request","id":1e-400`)},
	{"id empty string", `{"type":"sub","id":""}`, "", errFrame(missing, `,"type":"sub","id":""`)},
	{"id false", `{"type":"sub","id":false}`, "", errFrame(missing, `,"type":"sub","id":false`)},
	{"id null", `{"type":"sub","id":null}`, "", errFrame(missing, `,"type":"sub","id":null`)},
	{"id missing", `{"type":"sub","path":"/a"}`, "", errFrame(missing, `,"type":"sub"`)},
	{"id true", `{"type":"sub","id":true}`, "", errFrame(missing, `,"type":"sub","id":true`)},
	{"id object", `{"type":"sub","id":{ "a" : [1, "b c"] }}`, "", errFrame(missing, `,"type":"sub","id":{"a":[1,"b c"]}`)},
	{"id array", `{"type":"sub","id":[]}`, "", errFrame(missing, `,"type":"sub","id":[]`)},
	{"ping without id", `{"type":"ping"}`, "", errFrame(missing, `,"type":"ping"`)},
	{"unknown without id", `{"type":"bogus"}`, "", errFrame(missing, `,"type":"bogus"`)},
	{"duplicate id, last wins", `{"type":"ping","id":1,"id":0}`, "", errFrame(missing, `,"type":"ping","id":0`)},

	// hello
	{"version 1", `{"type":"hello","id":"abc","version":1}`, "version", errFrame("Incorrect protocol version (expected 2 but received 1)", `,"type":"hello","id":"abc"`)},
	{"version missing", `{"type":"hello","id":1}`, "version", errFrame("Incorrect protocol version (expected 2 but received none)", `,"type":"hello","id":1`)},
	{"version empty", `{"type":"hello","id":1,"version":""}`, "version", errFrame("Incorrect protocol version (expected 2 but received none)", `,"type":"hello","id":1`)},
	{"version null", `{"type":"hello","id":1,"version":null}`, "version", errFrame("Incorrect protocol version (expected 2 but received none)", `,"type":"hello","id":1`)},
	{"version false", `{"type":"hello","id":1,"version":false}`, "version", errFrame("Incorrect protocol version (expected 2 but received none)", `,"type":"hello","id":1`)},
	{"version 0", `{"type":"hello","id":1,"version":0}`, "version", errFrame("Incorrect protocol version (expected 2 but received none)", `,"type":"hello","id":1`)},
	{"version number 2", `{"type":"hello","id":1,"version":2}`, "version", errFrame("Incorrect protocol version (expected 2 but received 2)", `,"type":"hello","id":1`)},
	{"version 2.0", `{"type":"hello","id":1,"version":2.0}`, "version", errFrame("Incorrect protocol version (expected 2 but received 2)", `,"type":"hello","id":1`)},
	{"version 1e21", `{"type":"hello","id":1,"version":1e21}`, "version", errFrame("Incorrect protocol version (expected 2 but received 1e+21)", `,"type":"hello","id":1`)},
	{"version string 1", `{"type":"hello","id":1,"version":"1"}`, "version", errFrame("Incorrect protocol version (expected 2 but received 1)", `,"type":"hello","id":1`)},
	{"version string 2 ", `{"type":"hello","id":1,"version":"2 "}`, "version", errFrame("Incorrect protocol version (expected 2 but received 2 )", `,"type":"hello","id":1`)},
	{"version true", `{"type":"hello","id":1,"version":true}`, "version", errFrame("Incorrect protocol version (expected 2 but received true)", `,"type":"hello","id":1`)},
	{"version object", `{"type":"hello","id":1,"version":{"v":2}}`, "version", errFrame("Incorrect protocol version (expected 2 but received [object Object])", `,"type":"hello","id":1`)},
	{"version array", `{"type":"hello","id":1,"version":[1,"a",null,[2,3],{}]}`, "version", errFrame("Incorrect protocol version (expected 2 but received 1,a,,2,3,[object Object])", `,"type":"hello","id":1`)},
	{"version empty array", `{"type":"hello","id":1,"version":[]}`, "version", errFrame("Incorrect protocol version (expected 2 but received )", `,"type":"hello","id":1`)},
	{"auth headers not object", `{"type":"hello","id":1,"version":"2","auth":{"headers":"x"}}`, "auth", errFrame("Invalid authentication headers", `,"type":"hello","id":1`)},
	{"auth headers array", `{"type":"hello","id":1,"version":"2","auth":{"headers":["a"]}}`, "auth", errFrame("Invalid authentication headers", `,"type":"hello","id":1`)},
	{"auth headers number value", `{"type":"hello","id":1,"version":"2","auth":{"headers":{"a":1}}}`, "auth", errFrame("Invalid authentication headers", `,"type":"hello","id":1`)},
	{"subs string", `{"type":"hello","id":1,"version":"2","subs":"/a"}`, "subs", errFrame("Invalid subscriptions", `,"type":"hello","id":1`)},
	{"subs object", `{"type":"hello","id":1,"version":"2","subs":{"0":"/a"}}`, "subs", errFrame("Invalid subscriptions", `,"type":"hello","id":1`)},
	{"subs non-string", `{"type":"hello","id":1,"version":"2","subs":["/a",5]}`, "subs", errFrame("Invalid subscription path", `,"type":"hello","id":1`)},
	{"subs null entry", `{"type":"hello","id":1,"version":"2","subs":[null]}`, "subs", errFrame("Invalid subscription path", `,"type":"hello","id":1`)},
	{"subs relative", `{"type":"hello","id":1,"version":"2","subs":["/a","b"]}`, "subs", errFrame("Invalid subscription path", `,"type":"hello","id":1,"path":"b"`)},
	{"subs empty path", `{"type":"hello","id":1,"version":"2","subs":[""]}`, "subs", errFrame("Invalid subscription path", `,"type":"hello","id":1`)},
	{"subs query", `{"type":"hello","id":1,"version":"2","subs":["/a?x=1"]}`, "subs", errFrame("Subscription path cannot contain query", `,"type":"hello","id":1,"path":"/a?x=1"`)},
	{"version before subs", `{"type":"hello","id":1,"version":"1","subs":[5]}`, "version", errFrame("Incorrect protocol version (expected 2 but received 1)", `,"type":"hello","id":1`)},

	// reauth
	{"reauth headers", `{"type":"reauth","id":4,"auth":{"headers":{"a":null}}}`, "auth", errFrame("Invalid authentication headers", `,"type":"reauth","id":4`)},

	// request
	{"method missing", `{"type":"request","id":4,"path":"/"}`, "method", errFrame("Message missing method", `,"type":"request","id":4`)},
	{"method empty", `{"type":"request","id":4,"method":"","path":"/"}`, "method", errFrame("Message missing method", `,"type":"request","id":4`)},
	{"method 0", `{"type":"request","id":4,"method":0,"path":"/"}`, "method", errFrame("Message missing method", `,"type":"request","id":4`)},
	{"method null", `{"type":"request","id":4,"method":null}`, "method", errFrame("Message missing method", `,"type":"request","id":4`)},
	{"method number", `{"type":"request","id":4,"method":5,"path":"/"}`, "method", errFrame("Invalid message method", `,"type":"request","id":4`)},
	{"method array", `{"type":"request","id":4,"method":["GET"],"path":"/"}`, "method", errFrame("Invalid message method", `,"type":"request","id":4`)},
	{"path missing", `{"type":"request","id":4,"method":"GET"}`, "path", errFrame("Message missing path", `,"type":"request","id":4`)},
	{"path empty", `{"type":"request","id":4,"method":"GET","path":""}`, "path", errFrame("Message missing path", `,"type":"request","id":4`)},
	{"path false", `{"type":"request","id":4,"method":"GET","path":false}`, "path", errFrame("Message missing path", `,"type":"request","id":4`)},
	{"path object", `{"type":"request","id":4,"method":"GET","path":{"a":1}}`, "path", errFrame("Invalid message path", `,"type":"request","id":4`)},
	{"headers string", `{"type":"request","id":4,"method":"GET","path":"/","headers":"x"}`, "headers", errFrame("Invalid message headers", `,"type":"request","id":4`)},
	{"headers array", `{"type":"request","id":4,"method":"GET","path":"/","headers":["x"]}`, "headers", errFrame("Invalid message headers", `,"type":"request","id":4`)},
	{"headers true", `{"type":"request","id":4,"method":"GET","path":"/","headers":true}`, "headers", errFrame("Invalid message headers", `,"type":"request","id":4`)},
	{"header number", `{"type":"request","id":4,"method":"GET","path":"/","headers":{"x":1}}`, "headers", errFrame("Invalid message headers", `,"type":"request","id":4`)},
	{"header object", `{"type":"request","id":4,"method":"GET","path":"/","headers":{"x":{}}}`, "headers", errFrame("Invalid message headers", `,"type":"request","id":4`)},
	{"authorization", `{"type":"request","id":10,"method":"GET","path":"/","headers":{"authorization":"Custom john"}}`, "headers", errFrame("Cannot include an Authorization header", `,"type":"request","id":10`)},
	{"Authorization", `{"type":"request","id":10,"method":"GET","path":"/","headers":{"x":"y","AuthoriZation":"Custom john"}}`, "headers", errFrame("Cannot include an Authorization header", `,"type":"request","id":10`)},
	{"authorization empty", `{"type":"request","id":10,"method":"GET","path":"/","headers":{"Authorization":"","authorization":"x"}}`, "headers", errFrame("Cannot include an Authorization header", `,"type":"request","id":10`)},
	{"authorization escaped", `{"type":"request","id":10,"method":"GET","path":"/","headers":{"\u0061uthorization":"x"}}`, "headers", errFrame("Cannot include an Authorization header", `,"type":"request","id":10`)},
	{"method before path", `{"type":"request","id":4}`, "method", errFrame("Message missing method", `,"type":"request","id":4`)},

	// sub / unsub
	{"sub no path", `{"type":"sub","id":14}`, "path", errFrame("Message missing path", `,"type":"sub","id":14`)},
	{"sub empty path", `{"type":"sub","id":14,"path":""}`, "path", errFrame("Message missing path", `,"type":"sub","id":14`)},
	{"sub number path", `{"type":"sub","id":14,"path":5}`, "path", errFrame("Invalid subscription path", `,"type":"sub","id":14`)},
	{"sub relative path", `{"type":"sub","id":14,"path":"items"}`, "path", errFrame("Invalid subscription path", `,"type":"sub","id":14`)},
	{"sub query", `{"type":"sub","id":9,"path":"/items?x=1"}`, "path", errFrame("Subscription path cannot contain query", `,"type":"sub","id":9`)},
	{"sub query before slash", `{"type":"sub","id":9,"path":"items?x=1"}`, "path", errFrame("Subscription path cannot contain query", `,"type":"sub","id":9`)},
	{"unsub number path", `{"type":"unsub","id":14,"path":5}`, "path", errFrame("Invalid subscription path", `,"type":"unsub","id":14`)},
	{"unsub array path", `{"type":"unsub","id":14,"path":["/a"]}`, "path", errFrame("Invalid subscription path", `,"type":"unsub","id":14`)},
}

func TestDecodeClientErrors(t *testing.T) {
	tests := decodeClientErrorCases
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, frame := range []string{tt.frame, " \t\r\n" + tt.frame + "\n"} {
				m, err := JSON().DecodeClient([]byte(frame))
				if err == nil {
					t.Fatalf("%s: no error, got %#v", frame, m)
				}
				if m != nil {
					t.Errorf("message %#v returned with the error", m)
				}
				if got := replyFrame(t, err); got != tt.want {
					t.Errorf("%s:\n got  %s\n want %s", frame, got, tt.want)
				}
				if got := err.(*DecodeError).Field; got != tt.field {
					t.Errorf("Field = %q, want %q", got, tt.field)
				}
				if err.Error() == "" {
					t.Error("empty Error()")
				}
			}
		})
	}
}

var decodeClientCases = []struct {
	name, frame string
	want        Message
}{
	// captured C>S frames
	{"hello subs", `{"type":"hello","version":"2","subs":["/news"],"id":1}`,
		&Hello{ID: NumberID(1), Version: "2", Subs: []string{"/news"}}},
	{"hello direct auth", `{"type":"hello","version":"2","auth":{"headers":{"authorization":"Custom john"}},"id":1}`,
		&Hello{ID: NumberID(1), Version: "2", Auth: &Auth{Headers: map[string]string{"authorization": "Custom john"}, Raw: raw(`{"headers":{"authorization":"Custom john"}}`)}}},
	{"hello token", `{"type":"hello","version":"2","auth":"Fe26.2**4bba06…**22c1…*K9h9…","id":1}`,
		&Hello{ID: NumberID(1), Version: "2", Auth: &Auth{Token: "Fe26.2**4bba06…**22c1…*K9h9…", Raw: raw(`"Fe26.2**4bba06…**22c1…*K9h9…"`)}}},
	{"hello bare", `{"type":"hello","version":"2","id":4}`, &Hello{ID: NumberID(4), Version: "2"}},
	{"request", `{"type":"request","method":"GET","path":"/hello","id":2}`,
		&Request{ID: NumberID(2), Method: "GET", Path: "/hello"}},
	{"request full", `{"type":"request","method":"POST","path":"/echo/5?q=1","headers":{"x-custom":"yes"},"payload":{"a":1},"id":3}`,
		&Request{ID: NumberID(3), Method: "POST", Path: "/echo/5?q=1", Headers: map[string]string{"x-custom": "yes"}, Payload: raw(`{"a":1}`)}},
	{"request route id", `{"type":"request","method":"GET","path":"hello-route","id":7}`,
		&Request{ID: NumberID(7), Method: "GET", Path: "hello-route"}},
	{"message", `{"type":"message","message":"hi","id":11}`, &Custom{ID: NumberID(11), Message: raw(`"hi"`)}},
	{"sub", `{"type":"sub","path":"/items/5","id":13}`, &Sub{ID: NumberID(13), Path: "/items/5"}},
	{"unsub", `{"type":"unsub","path":"/news","id":16}`, &Unsub{ID: NumberID(16), Path: "/news"}},
	{"unsub raw ws", `{"type":"unsub","id":11,"path":"/never-subscribed"}`, &Unsub{ID: NumberID(11), Path: "/never-subscribed"}},
	{"ping", `{"type":"ping","id":15}`, &Ping{ID: NumberID(15)}},
	{"ping before hello", `{"type":"ping","id":2}`, &Ping{ID: NumberID(2)}},
	{"reauth", `{"type":"reauth","auth":{"headers":{"authorization":"Custom john"}},"id":2}`,
		&Reauth{ID: NumberID(2), Auth: &Auth{Headers: map[string]string{"authorization": "Custom john"}, Raw: raw(`{"headers":{"authorization":"Custom john"}}`)}}},
	{"bogus", `{"type":"bogus","id":3}`, &Unknown{ID: NumberID(3), Type: "bogus"}},

	// more
	{"whitespace", " {\n\t\"type\" : \"sub\" ,\r\n \"path\":\"/a\", \"id\" : 2 } \n", &Sub{ID: NumberID(2), Path: "/a"}},
	{"escaped keys and type", `{"t\u0079pe":"re\u0071uest","method":"G\u0045T","\u0070ath":"/\u00e9","id":"\u0031"}`,
		&Request{ID: StringID("1"), Method: "GET", Path: "/é"}},
	{"duplicate keys, last wins", `{"type":"sub","path":"/a","type":"unsub","id":1,"path":"/b"}`, &Unsub{ID: NumberID(1), Path: "/b"}},
	{"extra members", `{"type":"ping","id":1,"x":{"deep":[1,2,{"y":null}]},"payload":"ignored"}`, &Ping{ID: NumberID(1)}},
	{"string id", `{"type":"sub","path":"/a","id":"str-id"}`, &Sub{ID: StringID("str-id"), Path: "/a"}},
	{"float id", `{"type":"sub","path":"/a","id":15.5}`, &Sub{ID: idFromJSON([]byte("15.5")), Path: "/a"}},
	{"hello falsy auth and subs", `{"type":"hello","version":"2","auth":"","subs":null,"id":1}`, &Hello{ID: NumberID(1), Version: "2"}},
	{"hello auth 0 subs false", `{"type":"hello","version":"2","auth":0,"subs":false,"id":1}`, &Hello{ID: NumberID(1), Version: "2"}},
	{"hello escaped version", `{"type":"hello","version":"\u0032","id":1}`, &Hello{ID: NumberID(1), Version: "2"}},
	{"hello empty subs", `{"type":"hello","version":"2","subs":[],"id":1}`, &Hello{ID: NumberID(1), Version: "2", Subs: []string{}}},
	{"hello auth object without headers", `{"type":"hello","version":"2","auth":{"user":"x"},"id":1}`,
		&Hello{ID: NumberID(1), Version: "2", Auth: &Auth{Raw: raw(`{"user":"x"}`)}}},
	{"hello auth null headers", `{"type":"hello","version":"2","auth":{"headers":null},"id":1}`,
		&Hello{ID: NumberID(1), Version: "2", Auth: &Auth{Raw: raw(`{"headers":null}`)}}},
	{"hello auth empty headers", `{"type":"hello","version":"2","auth":{"headers":{}},"id":1}`,
		&Hello{ID: NumberID(1), Version: "2", Auth: &Auth{Headers: map[string]string{}, Raw: raw(`{"headers":{}}`)}}},
	{"hello auth number", `{"type":"hello","version":"2","auth":42,"id":1}`,
		&Hello{ID: NumberID(1), Version: "2", Auth: &Auth{Raw: raw(`42`)}}},
	{"hello subs", `{"type":"hello","version":"2","subs":["/a","/b/c","/a"],"id":1}`,
		&Hello{ID: NumberID(1), Version: "2", Subs: []string{"/a", "/b/c", "/a"}}},
	{"reauth no auth", `{"type":"reauth","id":1}`, &Reauth{ID: NumberID(1)}},
	{"request headers null", `{"type":"request","method":"get","path":"/","headers":null,"payload":null,"id":1}`,
		&Request{ID: NumberID(1), Method: "get", Path: "/", Payload: raw(`null`)}},
	{"request headers empty", `{"type":"request","method":"GET","path":"/","headers":{},"id":1}`,
		&Request{ID: NumberID(1), Method: "GET", Path: "/", Headers: map[string]string{}}},
	{"request payload kept raw", `{"type":"request","method":"GET","path":"/","payload": [1, {"a" : "b"}] ,"id":1}`,
		&Request{ID: NumberID(1), Method: "GET", Path: "/", Payload: raw(`[1, {"a" : "b"}]`)}},
	{"request payload string", `{"type":"request","method":"PUT","path":"/","payload":"a string payload","id":1}`,
		&Request{ID: NumberID(1), Method: "PUT", Path: "/", Payload: raw(`"a string payload"`)}},
	{"message absent", `{"type":"message","id":1}`, &Custom{ID: NumberID(1)}},
	{"message null", `{"type":"message","message":null,"id":1}`, &Custom{ID: NumberID(1), Message: raw(`null`)}},
	{"unsub no path", `{"type":"unsub","id":1}`, &Unsub{ID: NumberID(1)}},
	{"unsub null path", `{"type":"unsub","id":1,"path":null}`, &Unsub{ID: NumberID(1)}},
	{"unsub relative path", `{"type":"unsub","id":1,"path":"x"}`, &Unsub{ID: NumberID(1), Path: "x"}},
	{"deepest allowed", `{"type":"message","id":1,"message":` + nested(MaxDepth-1) + `}`,
		&Custom{ID: NumberID(1), Message: raw(nested(MaxDepth - 1))}},
	{"unknown escaped", `{"type":"b\u00f6gus","id":3}`, &Unknown{ID: NumberID(3), Type: "bögus"}},
	{"unknown type case", `{"type":"Hello","id":3}`, &Unknown{ID: NumberID(3), Type: "Hello"}},
	{"invalid utf8 in strings", "{\"type\":\"sub\",\"path\":\"/a\xffb\",\"id\":\"\xc3\"}", &Sub{ID: StringID("\uFFFD"), Path: "/a\uFFFDb"}},
	{"invalid utf8 in payload", "{\"type\":\"message\",\"message\":\"\xe2\x82\",\"id\":1}", &Custom{ID: NumberID(1), Message: raw("\"\uFFFD\uFFFD\"")}},
	{"lone surrogate", `{"type":"sub","path":"/\ud800x\udc00","id":1}`, &Sub{ID: NumberID(1), Path: "/\uFFFDx\uFFFD"}},
	{"surrogate pair", `{"type":"sub","path":"/\ud83d\ude00","id":1}`, &Sub{ID: NumberID(1), Path: "/😀"}},
}

func TestDecodeClient(t *testing.T) {
	tests := decodeClientCases
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame := []byte(tt.frame)
			got, err := JSON().DecodeClient(frame)
			if err != nil {
				t.Fatalf("error %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %#v\nwant %#v", got, tt.want)
			}
			// The message does not alias the frame.
			for i := range frame {
				frame[i] = 'X'
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("message changed with the frame: %#v", got)
			}
			// It encodes and decodes back to itself.
			enc, err := JSON().AppendEncode(nil, got)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			back, err := JSON().DecodeClient(enc)
			if err != nil || !reflect.DeepEqual(back, got) {
				t.Fatalf("round trip through %s: %#v, %v", enc, back, err)
			}
		})
	}
}

// TestDecodeClientCapturedReencode checks that the captured frames of the
// official client re-encode byte for byte.
func TestDecodeClientCapturedReencode(t *testing.T) {
	for _, tt := range capturedEncodes {
		if !strings.HasPrefix(tt.name, "C>S ") {
			continue
		}
		m, err := JSON().DecodeClient([]byte(tt.frame))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		out, err := JSON().AppendEncode(nil, m)
		if err != nil || string(out) != tt.frame {
			t.Errorf("%s: re-encoded as %s (%v)", tt.name, out, err)
		}
	}
}

func TestUnknownReply(t *testing.T) {
	m, err := JSON().DecodeClient([]byte(`{"type":"bogus","id":3}`))
	if err != nil {
		t.Fatal(err)
	}
	u, ok := m.(*Unknown)
	if !ok || u.MessageType() != "bogus" {
		t.Fatalf("got %#v", m)
	}
	out, _ := JSON().AppendEncode(nil, u.Reply())
	if want := `{"statusCode":400,"payload":{"error":"Bad Request","message":"Unknown message type"},"type":"bogus","id":3}`; string(out) != want {
		t.Errorf("got %s", out)
	}
}

func TestJSONCodec(t *testing.T) {
	c := JSON()
	if c.Name() != "" || c.Binary() {
		t.Errorf("Name %q Binary %v", c.Name(), c.Binary())
	}
}

// TestDecodeClientInto decodes every client frame of the tests with both
// codecs, into a Request left over from a request with every field set:
// the result is DecodeClient's, a request comes back as the Request given,
// and nothing of the earlier request remains.
func TestDecodeClientInto(t *testing.T) {
	frames := clientCaseFrames()
	full := `{"type":"request","id":"x","method":"PATCH","path":"/old?q=1","headers":{"a":"b"},"payload":{"old":true}}`
	requests := 0
	for _, frame := range frames {
		for _, codec := range []Codec{JSON(), MessagePack()} {
			in := []byte(frame)
			prime := []byte(full)
			if codec.Binary() {
				var ok bool
				if in, ok = jsonToMsgpack(t, frame); !ok {
					continue
				}
				prime, _ = jsonToMsgpack(t, full)
			}
			d := codec.(ReusingDecoder)
			var req Request
			if _, err := d.DecodeClientInto(prime, &req); err != nil || req.Headers == nil || req.Payload == nil {
				t.Fatalf("priming: %v, %#v", err, req)
			}
			want, wantErr := codec.DecodeClient(in)
			got, gotErr := d.DecodeClientInto(in, &req)
			if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotErr, wantErr) {
				t.Errorf("%s %s:\n got %#v, %v\nwant %#v, %v", codec.Name(), frame, got, gotErr, want, wantErr)
			}
			if r, ok := got.(*Request); ok {
				requests++
				if r != &req {
					t.Errorf("%s %s: decoded into a new Request", codec.Name(), frame)
				}
			}
		}
	}
	if requests < 4 {
		t.Fatalf("only %d request frames among the cases", requests)
	}
}

// clientCaseFrames returns the client frames of the decoding tables and
// of the captured encodings.
func clientCaseFrames() []string {
	return caseFrames(decodeClientCases, decodeClientErrorCases, capturedEncodes)
}

// caseFrames returns the frame field of every case of the tables given,
// slices of structs with a frame string.
func caseFrames(tables ...any) []string {
	var frames []string
	for _, table := range tables {
		v := reflect.ValueOf(table)
		for i := range v.Len() {
			frames = append(frames, v.Index(i).FieldByName("frame").String())
		}
	}
	return frames
}
