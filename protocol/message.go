// Package protocol holds the hapi nes protocol v2 messages, the codecs that put
// them on the wire, the protocol error replies and the chunking of large frames.
//
// The package knows nothing of net/http or of sockets: it turns frames into
// typed messages and typed messages into frames. Client-to-server messages are
// decoded with [Codec.DecodeClient] (the server side of a connection) and
// server-to-client messages with [Codec.DecodeServer] (the client side).
// Every message type encodes with [Codec.AppendEncode]. [JSON] is the codec of
// the official client; large frames are split with [Chunks].
//
// Payload values (request payloads, custom messages, publications, auth) are
// carried as JSON ([json.RawMessage]) whatever the codec: nes is a JSON protocol,
// and a binary codec translates at its edge.
//
// # Order of a server's checks
//
// nes validates a client message in this order, and a server reproduces it
// with the decoder's results as follows:
//
//  1. [Codec.DecodeClient] fails with a [*DecodeError] whose Field is "":
//     the frame, its type or its id is bad; send its Reply.
//  2. (nes re-verifies credentials here: 403 "Credential verification failed".)
//  3. A ping ([*Ping]) is never answered.
//  4. A hello when the connection is already initialized: 400 "Connection
//     already initialized". Any other type (including [*Unknown] and a
//     DecodeError with a Field) before the hello: 400 "Connection is not
//     initialized".
//  5. A [*DecodeError] with a Field: send its Reply. An [*Unknown]: send
//     [Unknown.Reply].
//  6. Otherwise the message is valid (a decoded hello has version "2") and
//     the server runs it.
//
// Build the server's own errors with [NewErrorReply] and
// [ErrorReply.WithRequest].
package protocol

import "encoding/json"

// Version is the protocol version a client must send in its hello.
const Version = "2"

// Type is the value of a message's "type" field.
type Type string

// Message types of nes protocol v2.
const (
	TypeHello   Type = "hello"   // client: open the session; server: its reply
	TypeReauth  Type = "reauth"  // client: replace credentials; server: its reply
	TypeRequest Type = "request" // client: call a route; server: the route's response
	TypeSub     Type = "sub"     // client: subscribe; server: its reply
	TypeUnsub   Type = "unsub"   // client: unsubscribe; server: its reply
	TypeMessage Type = "message" // client: custom message; server: the OnMessage result
	TypePing    Type = "ping"    // server: heartbeat; client: its answer (never replied to)
	TypeUpdate  Type = "update"  // server: broadcast or Socket.Send
	TypePub     Type = "pub"     // server: publication on a subscribed path
	TypeRevoke  Type = "revoke"  // server: subscription removed server-side
)

// Message is any typed nes message, in either direction.
type Message interface {
	// MessageType reports the wire "type" of the message.
	MessageType() Type
}

// Auth is the "auth" field of a hello or reauth. nes accepts any JSON there;
// the forms it gives meaning to are a token string and {headers:{...}} for
// direct authentication.
type Auth struct {
	// Token is set when auth was a JSON string.
	Token string
	// Headers is set when auth was an object with a "headers" object of
	// string values (direct authentication).
	Headers map[string]string
	// Raw is the auth value exactly as received (JSON), whatever its form.
	Raw json.RawMessage
}

// ---- client to server ----

// Hello opens a session. A decoded Hello always has Version "2" (see
// [Codec.DecodeClient]); when encoding, an empty Version is written as "2".
// Auth and Subs are left out of the frame when nil, as the official client
// does (it omits an empty subs list).
type Hello struct {
	ID      ID
	Version string
	Auth    *Auth    // nil when absent
	Subs    []string // paths to subscribe during the hello
}

// Reauth replaces the credentials of an open session. Auth is nil when absent
// or falsy.
type Reauth struct {
	ID   ID
	Auth *Auth
}

// Request asks the server to call one of its HTTP routes.
type Request struct {
	ID      ID
	Method  string
	Path    string            // starts with "/" (may carry a query) or is a route id
	Headers map[string]string // nil when absent
	Payload json.RawMessage   // nil when absent
}

// Sub subscribes to a path.
type Sub struct {
	ID   ID
	Path string
}

// Unsub removes a subscription. A decoded Unsub has an empty Path when the
// client sent none (or a falsy one): nes answers it with success like any
// unsub, removing nothing. An empty Path is left out when encoding.
type Unsub struct {
	ID   ID
	Path string
}

// Custom is a custom message ("type":"message") for the server's OnMessage.
type Custom struct {
	ID      ID
	Message json.RawMessage // nil when absent
}

// Ping is a heartbeat. From the server it has no id; the client's answer
// carries one (and is never replied to).
type Ping struct {
	ID ID
}

// ---- server to client ----

// Heartbeat is the heartbeat setting announced in the hello reply; a nil
// *Heartbeat encodes as false.
type Heartbeat struct {
	Interval int64 `json:"interval"` // milliseconds
	Timeout  int64 `json:"timeout"`  // milliseconds
}

// HelloReply answers a successful hello.
type HelloReply struct {
	ID        ID
	Heartbeat *Heartbeat // nil: heartbeat disabled (false on the wire)
	Socket    string
}

// ReauthReply answers a successful reauth.
type ReauthReply struct {
	ID ID
}

// Response answers a request with the route's status, payload and (filtered)
// headers. It is sent for route errors too (status >= 400), but
// [Codec.DecodeServer] decodes those as an *ErrorReply, as the official
// client treats them.
type Response struct {
	ID         ID
	StatusCode int
	Payload    json.RawMessage // must be valid JSON; nil encodes as null
	Headers    map[string]any  // nil: no "headers" key
}

// SubReply answers a successful sub.
type SubReply struct {
	ID   ID
	Path string
}

// UnsubReply answers an unsub (always successful; no path on the wire).
type UnsubReply struct {
	ID ID
}

// CustomReply answers a custom message with the OnMessage result.
type CustomReply struct {
	ID      ID
	Message json.RawMessage // nil: the "message" key is omitted
}

// Update is a server push outside subscriptions (broadcast, Socket.Send).
type Update struct {
	Message json.RawMessage
}

// Pub is a publication on a subscribed path.
type Pub struct {
	Path    string
	Message json.RawMessage
}

// Revoke tells the client a subscription was removed server-side.
type Revoke struct {
	Path    string
	Message json.RawMessage // nil: no "message" key
}

// ErrorReply is a protocol error reply: shape 1 of PROTOCOL.md §1.4 when
// Type/ID are known, shape 3 (no type, no id) for an unparseable frame.
// Build one with [NewErrorReply].
//
// On the wire: {"statusCode", "payload":{"error","message"}, "headers"?,
// "type"?, "id"?, "path"?}. "type" is written when HasType is set or Type is
// not empty, "id" when ID is not zero, "path" when Path is not empty (as nes,
// which tests it for truthiness), "message" when Message is not empty; an
// empty Error is written as the status's reason phrase.
//
// [Codec.DecodeServer] returns an ErrorReply for every frame whose statusCode
// is 400 or more, whatever its type, as the official client does; that
// includes route errors answering a request (type "request"), whose payload
// is the route's own error body. Payload then holds that payload as
// received, and Error and Message are read from it.
type ErrorReply struct {
	StatusCode int
	Error      string         // the HTTP reason phrase, e.g. "Bad Request"
	Message    string         // the human message, e.g. "Message missing id"
	Headers    map[string]any // nil: no "headers" key
	Type       string         // echoed type of the offending message; "" with no type key
	HasType    bool
	ID         ID     // echoed id; zero ID with no id key
	Path       string // set only for a failed subscription inside hello
	// Payload, when not nil, is written as the "payload" instead of
	// {"error","message"} (it must be valid JSON). Set by DecodeServer.
	Payload json.RawMessage
}

// Unknown is a client message whose type nes does not know. DecodeClient
// returns it (with a nil error) rather than an error because nes answers an
// unknown type only once the connection is initialized: before the hello it
// gets "Connection is not initialized" like any other type. Send
// [Unknown.Reply] otherwise. DecodeServer returns it along with an error
// wrapping [ErrUnknownType], so that a client can fail the request with
// that id.
type Unknown struct {
	ID   ID
	Type string
}

// MessageType returns [TypeHello].
func (*Hello) MessageType() Type { return TypeHello }

// MessageType returns [TypeReauth].
func (*Reauth) MessageType() Type { return TypeReauth }

// MessageType returns [TypeRequest].
func (*Request) MessageType() Type { return TypeRequest }

// MessageType returns [TypeSub].
func (*Sub) MessageType() Type { return TypeSub }

// MessageType returns [TypeUnsub].
func (*Unsub) MessageType() Type { return TypeUnsub }

// MessageType returns [TypeMessage].
func (*Custom) MessageType() Type { return TypeMessage }

// MessageType returns [TypePing].
func (*Ping) MessageType() Type { return TypePing }

// MessageType returns [TypeHello].
func (*HelloReply) MessageType() Type { return TypeHello }

// MessageType returns [TypeReauth].
func (*ReauthReply) MessageType() Type { return TypeReauth }

// MessageType returns [TypeRequest].
func (*Response) MessageType() Type { return TypeRequest }

// MessageType returns [TypeSub].
func (*SubReply) MessageType() Type { return TypeSub }

// MessageType returns [TypeUnsub].
func (*UnsubReply) MessageType() Type { return TypeUnsub }

// MessageType returns [TypeMessage].
func (*CustomReply) MessageType() Type { return TypeMessage }

// MessageType returns [TypeUpdate].
func (*Update) MessageType() Type { return TypeUpdate }

// MessageType returns [TypePub].
func (*Pub) MessageType() Type { return TypePub }

// MessageType returns [TypeRevoke].
func (*Revoke) MessageType() Type { return TypeRevoke }

// MessageType reports the type as received.
func (u *Unknown) MessageType() Type { return Type(u.Type) }

// MessageType reports the echoed type of the offending message ("" if none).
func (e *ErrorReply) MessageType() Type { return Type(e.Type) }
