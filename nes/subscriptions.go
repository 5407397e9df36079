package nes

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/nes-go/nes/auth"
	"github.com/nes-go/nes/protocol"
	"github.com/nes-go/nes/router"
)

// SubscriptionOptions configures a subscription pattern declared with
// [Server.Subscription]. Every field is optional.
type SubscriptionOptions struct {
	// Filter runs for every socket subscribed to a published path, in the
	// publisher's goroutine. deliver=false skips the socket; a non-nil
	// override replaces the message for that socket only; an error skips the
	// socket (and is logged). msg is the publication as JSON, shared by every
	// call: do not modify it.
	Filter func(ctx context.Context, path string, msg json.RawMessage, info FilterInfo) (deliver bool, override any, err error)

	// OnSubscribe runs when a socket subscribes to a concrete path (not when
	// it is already subscribed to it). An error refuses the subscription with
	// the error's status (see [Error]).
	OnSubscribe func(ctx context.Context, s *Socket, path string, params map[string]string) error

	// OnUnsubscribe runs when a subscription ends: unsub, Revoke, or the
	// socket's disconnection (then ctx is already done).
	OnUnsubscribe func(ctx context.Context, s *Socket, path string, params map[string]string)

	// Auth says who may subscribe. Nil means: auth.Required when the server
	// has Options.Auth (anonymous sockets get 401), no check otherwise.
	Auth *SubscriptionAuth
}

// FilterInfo is what a Filter knows about the socket it decides for.
type FilterInfo struct {
	// Socket is the subscriber.
	Socket *Socket
	// Params are the path parameters of the published path (shared: do not
	// modify).
	Params map[string]string
	// Internal is the data given with [Internal] to Publish, as JSON, or nil.
	Internal json.RawMessage
}

// subscription is a declared pattern.
type subscription struct {
	pattern string
	opts    SubscriptionOptions
}

// pathSubscribers are the sockets subscribed to one concrete path.
type pathSubscribers struct {
	path   string
	sub    *subscription
	params map[string]string
	// The sockets, in a slice that a fan-out copies in one move, and each
	// one's position in it. Guarded by Server.subsMu.
	sockets []*Socket
	at      map[*Socket]int
}

// add adds sock if it is not there yet.
func (ps *pathSubscribers) add(sock *Socket) {
	if _, ok := ps.at[sock]; ok {
		return
	}
	ps.at[sock] = len(ps.sockets)
	ps.sockets = append(ps.sockets, sock)
}

// remove removes sock if it is there; the last socket takes its place.
func (ps *pathSubscribers) remove(sock *Socket) {
	i, ok := ps.at[sock]
	if !ok {
		return
	}
	delete(ps.at, sock)
	last := len(ps.sockets) - 1
	if i != last {
		moved := ps.sockets[last]
		ps.sockets[i] = moved
		ps.at[moved] = i
	}
	ps.sockets[last] = nil
	ps.sockets = ps.sockets[:last]
	if c := cap(ps.sockets); c > 64 && last < c/4 {
		ps.sockets = append(make([]*Socket, 0, 2*last), ps.sockets...)
	}
}

// Subscription declares a subscription pattern such as "/rooms/{room}" (see
// package router for the syntax). Clients may then subscribe to concrete
// paths it matches. It returns an error for an invalid pattern or one that
// matches the same paths as a pattern already declared.
func (s *Server) Subscription(pattern string, opts SubscriptionOptions) error {
	if a := opts.Auth; a != nil {
		if a.Mode != auth.Required && a.Mode != auth.Optional && a.Mode != auth.None {
			return fmt.Errorf("nes: subscription %q: invalid auth mode %v", pattern, a.Mode)
		}
		if a.Entity < EntityAny || a.Entity > EntityApp {
			return fmt.Errorf("nes: subscription %q: invalid auth entity %d", pattern, a.Entity)
		}
		p, err := router.Parse(pattern)
		if err != nil {
			return fmt.Errorf("nes: subscription %q: %w", pattern, err)
		}
		if err := checkScopeTemplates(a.Scope, p.ParamNames()); err != nil {
			return fmt.Errorf("nes: subscription %q: %w", pattern, err)
		}
		copied := *a
		copied.Scope = append([]string(nil), a.Scope...)
		opts.Auth = &copied
	}
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	if err := s.subs.Add(pattern, &subscription{pattern: pattern, opts: opts}); err != nil {
		return fmt.Errorf("nes: subscription %q: %w", pattern, err)
	}
	return nil
}

// subscribe adds the socket to path's subscribers, or returns the error reply.
func (sock *Socket) subscribe(ctx context.Context, path string) *protocol.ErrorReply {
	if strings.Contains(path, "?") {
		return protocol.NewErrorReply(http.StatusBadRequest, "Subscription path cannot contain query")
	}
	sock.subMu.Lock()
	_, already := sock.subs[path]
	sock.subMu.Unlock()
	if already {
		return nil
	}
	srv := sock.srv
	srv.subsMu.RLock()
	m, ok := srv.subs.Match(path)
	srv.subsMu.RUnlock()
	if !ok {
		return protocol.NewErrorReply(http.StatusNotFound, "Subscription not found")
	}
	sub := m.Value
	params := m.Params.Map()
	if e := sub.authorize(sock.Credentials(), params, srv.auth != nil); e != nil {
		return e
	}
	if sub.opts.OnSubscribe != nil {
		if err := callHook(func() error { return sub.opts.OnSubscribe(ctx, sock, path, params) }); err != nil {
			return srv.replyFor(err, "OnSubscribe")
		}
	}
	if sock.closed.Load() {
		return nil // closing: the reply will not be sent, and nothing to clean up
	}
	srv.subsMu.Lock()
	ps := srv.index[path]
	if ps == nil {
		ps = &pathSubscribers{path: path, sub: sub, params: params, at: make(map[*Socket]int)}
		srv.index[path] = ps
	}
	ps.add(sock)
	srv.subsMu.Unlock()
	sock.subMu.Lock()
	sock.subs[path] = ps
	sock.subMu.Unlock()
	return nil
}

// authorize applies the subscription's auth rules (nes's order: scope, then
// entity, for authenticated sockets; mode for anonymous ones).
func (sub *subscription) authorize(c *auth.Credentials, params map[string]string, serverAuth bool) *protocol.ErrorReply {
	a := sub.opts.Auth
	mode := auth.None
	switch {
	case a != nil:
		mode = a.Mode
	case serverAuth:
		mode = auth.Required
	}
	if mode == auth.None {
		return nil
	}
	if c == nil {
		if mode == auth.Required {
			return protocol.NewErrorReply(http.StatusUnauthorized, "Authentication required to subscribe")
		}
		return nil
	}
	if a == nil {
		return nil
	}
	if len(a.Scope) > 0 {
		scopes := make([]string, len(a.Scope))
		for i, sc := range a.Scope {
			scopes[i] = expandScope(sc, params)
		}
		if !c.HasScope(scopes...) {
			return protocol.NewErrorReply(http.StatusForbidden, "Insufficient scope to subscribe, expected any of: "+strings.Join(scopes, ","))
		}
	}
	switch {
	case a.Entity == EntityUser && c.User == "":
		return protocol.NewErrorReply(http.StatusForbidden, "Application credentials cannot be used on a user subscription")
	case a.Entity == EntityApp && c.User != "":
		return protocol.NewErrorReply(http.StatusForbidden, "User credentials cannot be used on an application subscription")
	}
	return nil
}

// unsubscribe removes the socket's subscription to path, if any, and runs
// OnUnsubscribe.
func (sock *Socket) unsubscribe(ctx context.Context, path string) {
	sock.subMu.Lock()
	ps := sock.subs[path]
	delete(sock.subs, path)
	sock.subMu.Unlock()
	if ps != nil {
		sock.srv.removeSubscriber(ps, sock)
		sock.onUnsubscribe(ctx, ps)
	}
}

// unsubscribeAll removes every subscription of a closed socket.
func (sock *Socket) unsubscribeAll() {
	sock.subMu.Lock()
	all := sock.subs
	sock.subs = make(map[string]*pathSubscribers)
	sock.subMu.Unlock()
	for _, ps := range all {
		sock.srv.removeSubscriber(ps, sock)
	}
	for _, ps := range all {
		sock.onUnsubscribe(sock.ctx, ps)
	}
}

func (s *Server) removeSubscriber(ps *pathSubscribers, sock *Socket) {
	s.subsMu.Lock()
	ps.remove(sock)
	if len(ps.sockets) == 0 && s.index[ps.path] == ps {
		delete(s.index, ps.path)
	}
	s.subsMu.Unlock()
}

func (sock *Socket) onUnsubscribe(ctx context.Context, ps *pathSubscribers) {
	if on := ps.sub.opts.OnUnsubscribe; on != nil {
		sock.srv.runHook("OnUnsubscribe", func() { on(ctx, sock, ps.path, ps.params) })
	}
}
