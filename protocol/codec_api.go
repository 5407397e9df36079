package protocol

// Codec turns typed messages into frames and frames into typed messages.
// A Codec is safe for concurrent use.
type Codec interface {
	// Name is the codec's name, also the websocket subprotocol that selects it
	// ("" for the JSON codec, which is used when no subprotocol is negotiated).
	Name() string
	// Binary reports whether frames are sent as binary (true) or text frames.
	Binary() bool
	// AppendEncode appends the encoding of m to dst.
	AppendEncode(dst []byte, m Message) ([]byte, error)
	// DecodeClient decodes a client-to-server frame (the server's side).
	// A frame that is not a valid message yields a *DecodeError carrying the
	// exact nes error reply to send.
	DecodeClient(frame []byte) (Message, error)
	// DecodeServer decodes a server-to-client frame (the client's side).
	DecodeServer(frame []byte) (Message, error)
}

// ReusingDecoder is implemented by this package's codecs, [JSON] and
// [MessagePack]: a server that handles a connection's messages one at a time
// can decode every request message of the connection into one [Request].
type ReusingDecoder interface {
	// DecodeClientInto is [Codec.DecodeClient], except that a request
	// message is decoded into *req when req is not nil: req is overwritten
	// and returned as the message. Nothing else keeps req, and the fields
	// written into it share nothing with frame.
	DecodeClientInto(frame []byte, req *Request) (Message, error)
}

var (
	_ ReusingDecoder = jsonCodec{}
	_ ReusingDecoder = msgpackCodec{}
)
