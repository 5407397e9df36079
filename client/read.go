package client

import (
	"context"
	"fmt"
	"time"

	"github.com/nes-go/nes/protocol"
)

// pingWriteTimeout bounds the answer to a server ping.
const pingWriteTimeout = 5 * time.Second

// read is a connection's read loop: one goroutine per connection, which
// ends when the connection does.
func (c *Client) read(cn *conn) {
	defer close(cn.done)
	defer cn.hb.stop()
	for {
		_, data, err := cn.ws.Read(context.Background())
		if err != nil {
			cn.err = err
			return
		}
		cn.hb.reset()
		c.handleFrame(cn, data)
	}
}

// handleFrame handles one frame from the server. With the JSON codec, a
// frame that does not start with '{' is a chunk of a larger message: it is
// buffered (without its first byte) until a chunk starting with '!' ends
// it, as nes's payload.maxChunkChars splits them. Nothing the server sends
// makes it panic; what it cannot use goes to OnError as TypeProtocol.
func (c *Client) handleFrame(cn *conn, data []byte) {
	s := cn.sess
	if cn.bin {
		c.handleMessage(cn, data)
		return
	}
	if len(data) == 0 {
		c.reportError(s, newError(TypeProtocol, "Received an empty frame", nil))
		return
	}
	if data[0] != '{' {
		last := data[0] == '!'
		if cn.discard {
			cn.discard = !last
			return
		}
		if int64(len(cn.chunks)+len(data)-1) > c.opts.MaxMessageBytes {
			cn.chunks, cn.discard = nil, !last
			c.reportError(s, newError(TypeProtocol, fmt.Sprintf("Chunked message larger than %d bytes", c.opts.MaxMessageBytes), nil))
			return
		}
		cn.chunks = append(cn.chunks, data[1:]...)
		if !last {
			return
		}
		data, cn.chunks = cn.chunks, nil
	} else if len(cn.chunks) > 0 || cn.discard {
		cn.chunks, cn.discard = nil, false
		c.reportError(s, newError(TypeProtocol, msgIncomplete, nil))
	}
	c.handleMessage(cn, data)
}

// handleMessage handles one whole message.
func (c *Client) handleMessage(cn *conn, data []byte) {
	s := cn.sess
	m, err := c.codec.DecodeServer(data)
	if err != nil {
		if u, ok := m.(*protocol.Unknown); ok && !u.ID.IsZero() {
			c.resolve(s, u.ID, message{err: &Error{Type: TypeProtocol, Message: msgInvalidReply, Err: err}}, true)
		}
		c.reportError(s, &Error{Type: TypeProtocol, Message: "Received an invalid message", Err: err})
		return
	}
	switch m := m.(type) {
	case *protocol.Ping:
		id := c.newID()
		frame, err := c.codec.AppendEncode(nil, &protocol.Ping{ID: id})
		if err == nil && cn.ws != nil {
			ctx, cancel := context.WithTimeout(context.Background(), pingWriteTimeout)
			cn.write(ctx, frame) // a failure ends the read loop soon after
			cancel()
		}
	case *protocol.Update:
		if f := c.opts.OnUpdate; f != nil {
			msg := m.Message
			c.emit(s, func() { f(msg) })
		}
	case *protocol.Pub:
		if m.Message != nil {
			c.deliver(s, m.Path, m.Message)
		}
	case *protocol.Revoke:
		c.revoke(s, m.Path, m.Message)
	case *protocol.HelloReply:
		cn.hb.arm(m.Heartbeat)
		if m.ID == cn.helloID {
			c.helloDone(cn, m)
		}
		c.resolve(s, m.ID, message{msg: m}, false)
	case *protocol.ErrorReply:
		if m.ID.IsZero() {
			c.reportError(s, serverError(m))
			return
		}
		c.resolve(s, m.ID, message{msg: m}, false)
	case *protocol.ReauthReply:
		c.resolve(s, m.ID, message{msg: m}, false)
	case *protocol.Response:
		c.resolve(s, m.ID, message{msg: m}, false)
	case *protocol.SubReply:
		c.resolve(s, m.ID, message{msg: m}, false)
	case *protocol.UnsubReply:
		c.resolve(s, m.ID, message{msg: m}, false)
	case *protocol.CustomReply:
		c.resolve(s, m.ID, message{msg: m}, false)
	default:
		c.reportError(s, newError(TypeProtocol, "Received unexpected message type "+string(m.MessageType()), nil))
	}
}

// resolve hands a reply to the call waiting for id. A reply nobody waits
// for is reported (unless quiet).
func (c *Client) resolve(s *session, id protocol.ID, r message, quiet bool) {
	c.mu.Lock()
	ch := c.pending[id]
	delete(c.pending, id)
	c.mu.Unlock()
	if ch == nil {
		if !quiet {
			c.reportError(s, newError(TypeProtocol, msgUnknownRequest+" "+id.String(), nil))
		}
		return
	}
	ch <- r // capacity 1, one reply per id
}
