package client

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/nes-go/nes/protocol"
)

// Request is a call to one of the server's HTTP routes over the socket.
type Request struct {
	// Method is the HTTP method; empty means GET.
	Method string
	// Path is the route path, starting with "/" and possibly carrying a
	// query, or a route id (nes servers only).
	Path string
	// Headers are sent to the route (an Authorization header is refused by
	// the server: the socket's own credentials apply).
	Headers map[string]string
	// Payload is the request body: nil for none, a json.RawMessage sent as
	// is, or any value encoded with encoding/json. As with nes, the server
	// hands a JSON string to the route as the raw string (without quotes).
	Payload any
}

// Response is a route's successful (status < 400) response.
type Response struct {
	StatusCode int
	// Payload is the response body as JSON: the body itself when the route
	// answered JSON, a JSON string otherwise, null for an empty body.
	Payload json.RawMessage
	// Headers are the response headers the server passes on (nes servers
	// pass none unless configured to).
	Headers map[string]any
}

// Request calls a route and returns its response. A route's error (status
// >= 400) is returned as an *Error of type TypeServer carrying StatusCode,
// Data (the route's error body) and Headers.
//
// Other errors: TypeUser for a bad Path or Payload, TypeDisconnect when not
// connected or when the connection drops before the reply, TypeTimeout
// when Options.Timeout or ctx's deadline passes first (the error then also
// matches context.DeadlineExceeded), ctx's error when it is canceled.
func (c *Client) Request(ctx context.Context, r Request) (*Response, error) {
	if r.Path == "" {
		return nil, newError(TypeUser, "Invalid path", nil)
	}
	if r.Method == "" {
		r.Method = "GET"
	}
	payload, err := encodeValue(r.Payload)
	if err != nil {
		return nil, err
	}
	id := c.newID()
	reply, err := c.call(ctx, id, &protocol.Request{ID: id, Method: r.Method, Path: r.Path, Headers: r.Headers, Payload: payload})
	if err != nil {
		return nil, err
	}
	res, ok := reply.(*protocol.Response)
	if !ok {
		return nil, c.invalidReply(reply)
	}
	return &Response{StatusCode: res.StatusCode, Payload: res.Payload, Headers: res.Headers}, nil
}

// Message sends a custom message to the server's OnMessage hook and returns
// what it answered (nil when it answered nothing). Errors are those of
// Request; a server without OnMessage answers 501.
func (c *Client) Message(ctx context.Context, msg any) (json.RawMessage, error) {
	raw, err := encodeValue(msg)
	if err != nil {
		return nil, err
	}
	id := c.newID()
	reply, err := c.call(ctx, id, &protocol.Custom{ID: id, Message: raw})
	if err != nil {
		return nil, err
	}
	res, ok := reply.(*protocol.CustomReply)
	if !ok {
		return nil, c.invalidReply(reply)
	}
	return res.Message, nil
}

// Reauthenticate replaces the connection's credentials (nes's reauth) and
// remembers auth for the reconnections to come, as OverrideReconnectionAuth
// does. auth takes the forms of ConnectOptions.Auth. When the server
// refuses the credentials (TypeServer, 401) it also closes the connection;
// the reconnection that follows with the refused credentials then fails and
// stops reconnecting.
func (c *Client) Reauthenticate(ctx context.Context, auth any) error {
	a, err := toAuth(auth)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if s := c.sess; s != nil && !s.ended {
		s.auth = a
	}
	c.mu.Unlock()
	id := c.newID()
	reply, err := c.call(ctx, id, &protocol.Reauth{ID: id, Auth: a})
	if err != nil {
		return err
	}
	if _, ok := reply.(*protocol.ReauthReply); !ok {
		return c.invalidReply(reply)
	}
	return nil
}

// OverrideReconnectionAuth sets the auth the next reconnections send in
// their hello, without touching the current connection. It returns false,
// changing nothing, when the client is not connected (or reconnecting), when
// reconnection is disabled (ConnectOptions.NoReconnect), or when auth
// cannot be encoded.
func (c *Client) OverrideReconnectionAuth(auth any) bool {
	a, err := toAuth(auth)
	if err != nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.sess
	if s == nil || s.ended || s.opts.NoReconnect {
		return false
	}
	s.auth = a
	return true
}

// encodeValue encodes a payload or custom message.
func encodeValue(v any) (json.RawMessage, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		if !json.Valid(v) {
			return nil, newError(TypeUser, "payload is not valid JSON", nil)
		}
		return v, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, newError(TypeUser, "cannot encode payload", err)
	}
	return b, nil
}

// call sends a message on the current connection and waits for its reply,
// within Options.Timeout and ctx.
func (c *Client) call(ctx context.Context, id protocol.ID, m protocol.Message) (protocol.Message, error) {
	if c.opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.opts.Timeout)
		defer cancel()
	}
	return c.roundTrip(ctx, nil, id, m)
}

// roundTrip sends m (whose id is id) on cn, or on the current connection
// when cn is nil, and waits for the reply with that id. An error reply is
// returned as a TypeServer *Error.
//
// When ctx ends first, the id stays registered until the connection ends,
// so that a late reply is absorbed silently instead of being reported as a
// reply to an unknown request.
func (c *Client) roundTrip(ctx context.Context, cn *conn, id protocol.ID, m protocol.Message) (protocol.Message, error) {
	frame, err := c.codec.AppendEncode(nil, m)
	if err != nil {
		return nil, newError(TypeUser, "cannot encode message", err)
	}
	ch := make(chan message, 1)
	c.mu.Lock()
	if cn == nil {
		cn = c.conn
	}
	if cn == nil {
		c.mu.Unlock()
		return nil, newError(TypeDisconnect, msgNotConnected, nil)
	}
	c.pending[id] = ch
	c.mu.Unlock()
	if err := cn.write(ctx, frame); err != nil {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		if ctx.Err() != nil {
			return nil, ctxError(ctx)
		}
		return nil, newError(TypeDisconnect, msgNotConnected, err)
	}
	select {
	case r := <-ch:
		return r.result()
	case <-cn.done:
		select {
		case r := <-ch: // the reply came in just before the end
			return r.result()
		default:
		}
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		return nil, newError(TypeDisconnect, msgDisconnected, cn.err)
	case <-ctx.Done():
		return nil, ctxError(ctx)
	}
}

func (r message) result() (protocol.Message, error) {
	if r.err != nil {
		return nil, r.err
	}
	if e, ok := r.msg.(*protocol.ErrorReply); ok {
		return nil, serverError(e)
	}
	return r.msg, nil
}

// ctxError is the error of a call whose context ended.
func ctxError(ctx context.Context) error {
	err := ctx.Err()
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Type: TypeTimeout, Message: msgTimedOut, Err: err}
	}
	return err
}

// invalidReply reports a reply of the wrong type.
func (c *Client) invalidReply(m protocol.Message) error {
	return &Error{Type: TypeProtocol, Message: msgInvalidReply + " (type " + string(m.MessageType()) + ")"}
}
