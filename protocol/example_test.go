package protocol_test

import (
	"errors"
	"fmt"

	"github.com/nes-go/nes/protocol"
)

func ExampleCodec_DecodeClient() {
	codec := protocol.JSON()
	for _, frame := range []string{
		`{"type":"request","method":"GET","path":"/hello","id":2}`,
		`{"type":"hello","id":0,"version":"2"}`,
		`{"type":"bogus","id":3}`,
	} {
		msg, err := codec.DecodeClient([]byte(frame))
		var reply protocol.Message
		var de *protocol.DecodeError
		switch m := msg.(type) {
		case *protocol.Request:
			fmt.Println("request", m.Method, m.Path, "id", m.ID)
			reply = &protocol.Response{ID: m.ID, StatusCode: 200, Payload: []byte(`{"greeting":"hi"}`)}
		case *protocol.Unknown:
			reply = m.Reply() // once the connection is initialized
		default:
			if errors.As(err, &de) {
				reply = de.Reply
			}
		}
		out, _ := codec.AppendEncode(nil, reply)
		fmt.Println(string(out))
	}
	// Output:
	// request GET /hello id 2
	// {"type":"request","id":2,"statusCode":200,"payload":{"greeting":"hi"}}
	// {"statusCode":400,"payload":{"error":"Bad Request","message":"Message missing id"},"type":"hello","id":0}
	// {"statusCode":400,"payload":{"error":"Bad Request","message":"Unknown message type"},"type":"bogus","id":3}
}

func ExampleChunks() {
	frame, _ := protocol.JSON().AppendEncode(nil, &protocol.Pub{Path: "/news", Message: []byte(`"breaking 😀"`)})
	for _, chunk := range protocol.Chunks(frame, 20) {
		fmt.Println(string(chunk))
	}
	// Output:
	// +{"type":"pub","path"
	// +:"/news","message":"
	// !breaking 😀"}
}
