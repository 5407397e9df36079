// Package client is a Go client for the hapi nes protocol v2, as served by
// package nes of this module or by a hapi server with the nes plugin.
//
// A Client keeps one websocket connection open: it says hello, answers the
// server's pings, watches for a silent server, and, when the connection
// drops, reconnects with exponential backoff and jitter and resubscribes
// every path it had subscribed to. Over that connection it calls the
// server's HTTP routes ([Client.Request]), sends custom messages
// ([Client.Message]) and receives publications ([Client.Subscribe]) and
// broadcasts ([Options.OnUpdate]).
//
// # Concurrency
//
// All methods of a Client may be called from any goroutine, including from
// its callbacks. Callbacks (the On* functions of [Options] and subscription
// handlers) run one at a time, in the order their events arrived, on one
// goroutine owned by the client, and never while the client holds a lock:
// a handler may call Request, Subscribe, Unsubscribe or even Disconnect.
// A slow callback delays the ones after it but never the connection itself.
//
// Every goroutine the client starts ends before [Client.Disconnect] returns
// (Disconnect called from a callback does not wait for the callback
// goroutine, which ends right after that callback returns).
package client

import (
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nes-go/nes/protocol"
)

// Encoding selects the codec the client speaks.
type Encoding int

const (
	// JSON is nes's own encoding: JSON text frames, no subprotocol. It is the
	// only one the official nes server understands.
	JSON Encoding = iota
	// MessagePack asks the server for the protocol.MsgpackSubprotocol
	// ("nes.v2.msgpack") subprotocol: binary MessagePack frames, payloads
	// still handed to the application as JSON. Connect fails with a TypeWS error when the server
	// does not agree to it.
	MessagePack
)

// String returns "json" or "msgpack".
func (e Encoding) String() string {
	switch e {
	case JSON:
		return "json"
	case MessagePack:
		return "msgpack"
	}
	return "Encoding(?)"
}

// codec returns the codec of e, or an error if it is not available.
func (e Encoding) codec() (protocol.Codec, error) {
	switch e {
	case JSON:
		return protocol.JSON(), nil
	case MessagePack:
		return protocol.MessagePack(), nil
	}
	return nil, newError(TypeUser, "unknown encoding", nil)
}

// DefaultMaxMessageBytes is the default of Options.MaxMessageBytes.
const DefaultMaxMessageBytes = 16 << 20

// Options configure a Client. The zero value (or a nil *Options) is valid.
// Callbacks are optional; see the package documentation for how they run.
type Options struct {
	// Timeout bounds every request, message, subscribe, unsubscribe and
	// reauthenticate call, on top of the context's own deadline. Zero: no
	// timeout besides the context's.
	Timeout time.Duration
	// Encoding is JSON (the zero value) or MessagePack.
	Encoding Encoding
	// Header holds extra headers for the websocket upgrade request, such as
	// the Cookie of nes's cookie authentication flow or an Origin.
	Header http.Header
	// Compression offers permessage-deflate (without context takeover); it
	// is used when the server accepts it (nes.Options.Compression). Off by
	// default: it trades CPU for bytes, see docs/benchmarks.md.
	Compression bool
	// HTTPClient performs the upgrade. Nil means http.DefaultClient.
	HTTPClient *http.Client
	// MaxMessageBytes bounds one inbound message: a frame, or a chunked
	// message once reassembled. Zero means DefaultMaxMessageBytes (16 MiB).
	// A larger frame ends the connection (then reconnects); a larger chunked
	// message is discarded and reported to OnError.
	MaxMessageBytes int64

	// OnConnect is called after every successful hello (the first connection
	// and each reconnection).
	OnConnect func()
	// OnDisconnect is called when a connection that had completed its hello
	// ends, with whether the client will try to reconnect; and once more,
	// with willReconnect false and info.Err set to the last attempt's error,
	// when the client gives up reconnecting (Retries exhausted, credentials
	// refused).
	OnDisconnect func(willReconnect bool, info DisconnectInfo)
	// OnUpdate receives the server's broadcasts and Socket.Send messages.
	OnUpdate func(msg json.RawMessage)
	// OnError receives errors that no call returns: protocol errors in what
	// the server sent, failed reconnection attempts, heartbeat timeouts,
	// errors decoding a SubscribeJSON message. Always an *Error.
	OnError func(err error)
	// OnHeartbeatTimeout is called when the server has been silent for
	// longer than its heartbeat interval plus timeout, before the client
	// drops the connection (OnDisconnect follows).
	OnHeartbeatTimeout func(willReconnect bool)
}

// DisconnectInfo describes why a connection ended.
type DisconnectInfo struct {
	// Code is the websocket close status the server sent, or 0 when the
	// connection ended without one (nes itself never sends a status).
	Code int
	// Reason is the close reason the server sent, if any.
	Reason string
	// Requested is true when the application called Disconnect.
	Requested bool
	// Err is what ended the connection (nil when requested).
	Err error
}

// Client is a connection to a nes server, kept open until Disconnect.
// Create it with New; it connects with Connect.
type Client struct {
	url   string
	opts  Options
	codec protocol.Codec
	cerr  error // from opts.Encoding

	nextID atomic.Int64 // message ids: never reused, even across reconnections

	mu      sync.Mutex
	sess    *session                     // nil before Connect and after Disconnect
	conn    *conn                        // the connection requests go to; nil when not connected
	socket  string                       // server socket id of conn
	pending map[protocol.ID]chan message // replies awaited, by message id
	subs    map[string][]*Subscription   // handlers by path
}

// message is a decoded reply, or the error that replaces it.
type message struct {
	msg protocol.Message
	err error
}

// New returns a client for the nes endpoint at url (ws://, wss://, http://
// or https://). It does not connect. opts may be nil.
func New(url string, opts *Options) *Client {
	c := &Client{url: url, pending: make(map[protocol.ID]chan message), subs: make(map[string][]*Subscription)}
	if opts != nil {
		c.opts = *opts
		c.opts.Header = opts.Header.Clone()
	}
	if c.opts.MaxMessageBytes <= 0 {
		c.opts.MaxMessageBytes = DefaultMaxMessageBytes
	}
	c.codec, c.cerr = c.opts.Encoding.codec()
	return c
}

// ID returns the server's id of the current connection (the hello reply's
// socket), or "" when not connected.
func (c *Client) ID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.socket
}

// newID returns the next message id.
func (c *Client) newID() protocol.ID {
	return protocol.NumberID(c.nextID.Add(1))
}

// emit queues a callback on the current session's dispatcher, if any.
func (c *Client) emit(s *session, f func()) {
	if s != nil {
		s.disp.enqueue(f)
	}
}

// reportError queues err for OnError.
func (c *Client) reportError(s *session, err error) {
	if c.opts.OnError == nil || err == nil {
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		err = newError(TypeWS, "", err)
	}
	c.emit(s, func() { c.opts.OnError(err) })
}
