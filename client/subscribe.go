package client

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/nes-go/nes/protocol"
)

// Handler receives the messages published on a subscribed path.
type Handler func(msg json.RawMessage, flags Flags)

// Flags describe a delivery.
type Flags struct {
	// Revoked is set on the last delivery of a subscription the server
	// removed (nes's Socket.Revoke). msg is then the revocation message, or
	// nil when the server sent none (the official client skips the handler
	// in that case; this one always tells it). The path is no longer
	// subscribed.
	Revoked bool
}

// Subscription is one handler registered on a path by Subscribe. Go
// functions cannot be compared, so this handle is how one handler is
// removed while others on the same path stay.
type Subscription struct {
	c    *Client
	path string
	h    Handler
}

// Path returns the subscribed path.
func (s *Subscription) Path() string { return s.path }

// Unsubscribe removes this handler; see Client.Unsubscribe.
func (s *Subscription) Unsubscribe(ctx context.Context) error {
	return s.c.Unsubscribe(ctx, s.path, s)
}

// Subscribe registers h for the publications on path (which must start
// with "/"; parameterised server patterns are subscribed with a concrete
// path such as "/rooms/lobby") and returns the handle that removes it.
//
// The first handler of a path subscribes it: when connected, Subscribe
// waits for the server's answer and returns its refusal (TypeServer: 404
// for an undeclared path, 401/403 for auth) with the path left
// unsubscribed; when not connected (before Connect or while reconnecting),
// the path is recorded and subscribed by the next hello, and a refusal then
// goes to OnError. Further handlers on a subscribed path are added locally.
// Every subscription is renewed after each reconnection.
//
// Handlers run on the client's callback goroutine, in order.
func (c *Client) Subscribe(ctx context.Context, path string, h Handler) (*Subscription, error) {
	if !strings.HasPrefix(path, "/") {
		return nil, newError(TypeUser, "Invalid path", nil)
	}
	if h == nil {
		return nil, newError(TypeUser, "nil handler", nil)
	}
	sub := &Subscription{c: c, path: path, h: h}
	c.mu.Lock()
	if hs, ok := c.subs[path]; ok {
		c.subs[path] = append(hs, sub)
		c.mu.Unlock()
		return sub, nil
	}
	c.subs[path] = []*Subscription{sub}
	connected := c.conn != nil
	c.mu.Unlock()
	if !connected {
		return sub, nil
	}
	id := c.newID()
	reply, err := c.call(ctx, id, &protocol.Sub{ID: id, Path: path})
	if err == nil {
		if _, ok := reply.(*protocol.SubReply); !ok {
			err = c.invalidReply(reply)
		}
	}
	if err != nil {
		c.mu.Lock()
		delete(c.subs, path)
		c.mu.Unlock()
		var e *Error
		if errors.As(err, &e) && e.Path == "" {
			e.Path = path
		}
		return nil, err
	}
	return sub, nil
}

// SubscribeJSON is Subscribe with a handler that takes the message decoded
// into a T. A message that does not decode is reported to OnError as a
// TypeProtocol error (with Path set) and not delivered. A revocation without
// a message is delivered as T's zero value.
func SubscribeJSON[T any](ctx context.Context, c *Client, path string, fn func(msg T, flags Flags)) (*Subscription, error) {
	if fn == nil {
		return nil, newError(TypeUser, "nil handler", nil)
	}
	return c.Subscribe(ctx, path, func(raw json.RawMessage, flags Flags) {
		var v T
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &v); err != nil {
				if f := c.opts.OnError; f != nil {
					f(&Error{Type: TypeProtocol, Message: "cannot decode message", Path: path, Err: err})
				}
				return
			}
		}
		fn(v, flags)
	})
}

// Unsubscribe removes a handler from path: sub, or every handler of path
// when sub is nil. When no handler is left, the path is unsubscribed on the
// server (if connected). Removing what is not subscribed does nothing.
//
// Errors: those of Request, except that a connection lost meanwhile is no
// error (the server forgets a closed socket's subscriptions).
func (c *Client) Unsubscribe(ctx context.Context, path string, sub *Subscription) error {
	c.mu.Lock()
	hs, ok := c.subs[path]
	if !ok {
		c.mu.Unlock()
		return nil
	}
	if sub != nil {
		i := slices.Index(hs, sub)
		if i < 0 {
			c.mu.Unlock()
			return nil
		}
		hs = slices.Delete(slices.Clone(hs), i, i+1)
	} else {
		hs = nil
	}
	if len(hs) > 0 {
		c.subs[path] = hs
		c.mu.Unlock()
		return nil
	}
	delete(c.subs, path)
	connected := c.conn != nil
	c.mu.Unlock()
	if !connected {
		return nil
	}
	id := c.newID()
	reply, err := c.call(ctx, id, &protocol.Unsub{ID: id, Path: path})
	if errors.Is(err, ErrDisconnect) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, ok := reply.(*protocol.UnsubReply); !ok {
		return c.invalidReply(reply)
	}
	return nil
}

// Subscriptions returns the subscribed paths, sorted.
func (c *Client) Subscriptions() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pathsLocked()
}

// syncSubs runs after a hello: paths subscribed or unsubscribed while the
// hello (which carried sent) was on its way are subscribed or unsubscribed
// now.
func (c *Client) syncSubs(ctx context.Context, cn *conn, sent []string) {
	c.mu.Lock()
	var add, drop []string
	for p := range c.subs {
		if _, ok := slices.BinarySearch(sent, p); !ok {
			add = append(add, p)
		}
	}
	for _, p := range sent {
		if _, ok := c.subs[p]; !ok {
			drop = append(drop, p)
		}
	}
	c.mu.Unlock()
	s := cn.sess
	for _, p := range add {
		id := c.newID()
		reply, err := c.roundTrip(ctx, cn, id, &protocol.Sub{ID: id, Path: p})
		if err == nil {
			if _, ok := reply.(*protocol.SubReply); !ok {
				err = c.invalidReply(reply)
			}
		}
		if err != nil {
			var e *Error
			if errors.As(err, &e) && e.Type == TypeServer {
				c.mu.Lock()
				delete(c.subs, p)
				c.mu.Unlock()
				if e.Path == "" {
					e.Path = p
				}
			}
			c.reportError(s, err)
		}
	}
	for _, p := range drop {
		id := c.newID()
		c.roundTrip(ctx, cn, id, &protocol.Unsub{ID: id, Path: p}) // errors: the socket is going anyway
	}
}

// deliver queues the delivery of a publication to the handlers of path, as
// registered when the callback runs.
func (c *Client) deliver(s *session, path string, msg json.RawMessage) {
	c.emit(s, func() {
		c.mu.Lock()
		hs := slices.Clone(c.subs[path])
		c.mu.Unlock()
		for _, sub := range hs {
			sub.h(msg, Flags{})
		}
	})
}

// revoke removes path and queues the revocation for its handlers.
func (c *Client) revoke(s *session, path string, msg json.RawMessage) {
	c.mu.Lock()
	hs := c.subs[path]
	delete(c.subs, path)
	c.mu.Unlock()
	if len(hs) == 0 {
		return
	}
	c.emit(s, func() {
		for _, sub := range hs {
			sub.h(msg, Flags{Revoked: true})
		}
	})
}
