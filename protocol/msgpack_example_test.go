package protocol_test

import (
	"fmt"

	"github.com/nes-go/nes/protocol"
)

func ExampleMessagePack() {
	codec := protocol.MessagePack()
	fmt.Println(codec.Name(), codec.Binary())

	// A client's request: a map of the same keys as the JSON frame.
	frame, _ := codec.AppendEncode(nil, &protocol.Request{
		ID: protocol.NumberID(2), Method: "POST", Path: "/echo", Payload: []byte(`{"n":1,"ok":true}`),
	})
	fmt.Printf("% x\n", frame[:8])

	msg, err := codec.DecodeClient(frame)
	req := msg.(*protocol.Request)
	fmt.Println(req.Method, req.Path, string(req.Payload), req.ID, err)

	// The payload of the reply is JSON, converted on the wire.
	reply, _ := codec.AppendEncode(nil, &protocol.Response{ID: req.ID, StatusCode: 200, Payload: req.Payload})
	back, _ := codec.DecodeServer(reply)
	fmt.Println(string(back.(*protocol.Response).Payload))
	// Output:
	// nes.v2.msgpack true
	// 85 a4 74 79 70 65 a7 72
	// POST /echo {"n":1,"ok":true} 2 <nil>
	// {"n":1,"ok":true}
}
