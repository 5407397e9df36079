package nes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/nes-go/nes/protocol"
)

// PublishOption varies one Publish or Broadcast call.
type PublishOption func(*publishConfig)

type publishConfig struct {
	internal    any
	hasInternal bool
	user        string
	hasUser     bool
}

// Internal attaches data to a publication that filters see as
// FilterInfo.Internal (as JSON) and clients never see.
func Internal(data any) PublishOption {
	return func(c *publishConfig) { c.internal, c.hasInternal = data, true }
}

// EachOption narrows [Server.EachSocket].
type EachOption func(*eachConfig)

type eachConfig struct {
	subscription string
	hasSub       bool
	user         string
	hasUser      bool
}

// OnSubscription limits EachSocket to the sockets subscribed to the concrete
// path.
func OnSubscription(path string) EachOption {
	return func(c *eachConfig) { c.subscription, c.hasSub = path, true }
}

func validPublishPath(path string) bool {
	return strings.HasPrefix(path, "/") && !strings.Contains(path, "?")
}

// Publish sends msg (encoded as JSON) to every socket subscribed to the
// concrete path, through the subscription's filter when it has one. The
// publication is encoded once and the same bytes are queued for every
// subscriber; Publish never waits for a socket. Publishing to a path no
// declared pattern matches, or that no socket subscribed to, does nothing.
//
// It returns ErrInvalidPath for a path that does not start with "/" or has a
// query, ErrServerClosed after Shutdown, a JSON encoding error for msg, or
// the broker's error.
func (s *Server) Publish(ctx context.Context, path string, msg any, opts ...PublishOption) error {
	if !validPublishPath(path) {
		return fmt.Errorf("%w: publish to %q", ErrInvalidPath, path)
	}
	env, err := s.envelope(KindPublish, msg, opts)
	if err != nil {
		return fmt.Errorf("nes: publish to %q: %w", path, err)
	}
	env.Path = path
	if err := s.send(ctx, env); err != nil {
		if errors.Is(err, ErrServerClosed) {
			return err
		}
		return fmt.Errorf("nes: publish to %q: %w", path, err)
	}
	return nil
}

// Broadcast sends msg as an "update" (client onUpdate) to every socket that
// completed its hello. It returns ErrServerClosed after Shutdown, a JSON
// encoding error for msg, or the broker's error.
func (s *Server) Broadcast(ctx context.Context, msg any, opts ...PublishOption) error {
	env, err := s.envelope(KindBroadcast, msg, opts)
	if err == nil {
		err = s.send(ctx, env)
	}
	if err != nil && !errors.Is(err, ErrServerClosed) {
		return fmt.Errorf("nes: broadcast: %w", err)
	}
	return err
}

func (s *Server) envelope(kind EnvelopeKind, msg any, opts []PublishOption) (*Envelope, error) {
	var cfg publishConfig
	for _, o := range opts {
		o(&cfg)
	}
	raw, err := marshalMessage(msg)
	if err != nil {
		return nil, err
	}
	if cfg.hasUser && (s.auth == nil || !s.auth.opts.Index) {
		return nil, ErrNoUserIndex
	}
	env := &Envelope{Kind: kind, Message: raw, User: cfg.user, ToUser: cfg.hasUser}
	if cfg.hasInternal {
		if env.Internal, err = marshalMessage(cfg.internal); err != nil {
			return nil, fmt.Errorf("internal data: %w", err)
		}
	}
	return env, nil
}

func (s *Server) send(ctx context.Context, env *Envelope) error {
	s.mu.Lock()
	closing := s.closing
	s.mu.Unlock()
	if closing {
		return ErrServerClosed
	}
	if err := s.start(ctx); err != nil {
		return err
	}
	return s.broker.Publish(ctx, env)
}

// EachSocket calls fn for every socket that completed its hello (or, with
// OnSubscription, every socket subscribed to that path) until fn returns
// false. The sockets are collected first, so fn may call any method.
func (s *Server) EachSocket(fn func(*Socket) bool, opts ...EachOption) {
	var cfg eachConfig
	for _, o := range opts {
		o(&cfg)
	}
	bufp := socketSlices.Get().(*[]*Socket)
	socks := (*bufp)[:0]
	switch {
	case cfg.hasUser && cfg.hasSub:
		socks = s.userSubscribers(socks, cfg.user, cfg.subscription)
	case cfg.hasUser:
		socks = s.userSockets(socks, cfg.user)
	case cfg.hasSub:
		socks, _ = s.subscribers(socks, cfg.subscription)
	default:
		socks = s.snapshot(socks)
	}
	for _, sock := range socks {
		if !fn(sock) {
			break
		}
	}
	putSockets(bufp, socks)
}

var socketSlices = sync.Pool{New: func() any { s := make([]*Socket, 0, 64); return &s }}

func putSockets(bufp *[]*Socket, socks []*Socket) {
	clear(socks)
	*bufp = socks[:0]
	socketSlices.Put(bufp)
}

// subscribers appends the sockets subscribed to path to dst.
func (s *Server) subscribers(dst []*Socket, path string) ([]*Socket, *pathSubscribers) {
	s.subsMu.RLock()
	ps := s.index[path]
	if ps != nil {
		dst = append(dst, ps.sockets...)
	}
	s.subsMu.RUnlock()
	return dst, ps
}

// deliver hands an envelope to this node's sockets; brokers call it.
func (s *Server) deliver(ctx context.Context, e *Envelope) {
	switch e.Kind {
	case KindPublish:
		s.deliverPublish(ctx, e)
	case KindBroadcast:
		s.deliverBroadcast(e)
	}
}

// userSubscribers appends the sockets of user subscribed to path to dst.
func (s *Server) userSubscribers(dst []*Socket, user, path string) []*Socket {
	all := s.userSockets(nil, user)
	for _, sock := range all {
		sock.subMu.Lock()
		_, ok := sock.subs[path]
		sock.subMu.Unlock()
		if ok {
			dst = append(dst, sock)
		}
	}
	return dst
}

func (s *Server) deliverPublish(ctx context.Context, e *Envelope) {
	bufp := socketSlices.Get().(*[]*Socket)
	socks, ps := s.subscribers((*bufp)[:0], e.Path)
	if e.ToUser {
		socks = keepUser(socks, e.User)
	}
	defer putSockets(bufp, socks)
	if len(socks) == 0 {
		return
	}
	frames := frameCache{srv: s, msg: &protocol.Pub{Path: e.Path, Message: e.Message}}
	filter := ps.sub.opts.Filter
	fo := newFanOut(s)
	defer fo.finish() // deferred: a panic (of a filter override's JSON) must not strand a socket
	for _, sock := range socks {
		if filter != nil {
			deliver, override, err := s.runFilter(ctx, filter, e, ps, sock)
			if err != nil {
				s.log.Error("nes: filter failed", "path", e.Path, "socket", sock.id, "error", err)
				continue
			}
			if !deliver {
				continue
			}
			if override != nil {
				var raw json.RawMessage
				err := callHook(func() (err error) { raw, err = marshalMessage(override); return err })
				if err != nil {
					s.log.Error("nes: encoding filter override", "path", e.Path, "error", err)
					continue
				}
				_ = sock.sendMessage(&protocol.Pub{Path: e.Path, Message: raw})
				continue
			}
		}
		if frame := frames.frame(int(sock.out.codec)); frame != nil {
			fo.enqueue(sock, frame)
		}
	}
}

func (s *Server) runFilter(ctx context.Context, filter func(context.Context, string, json.RawMessage, FilterInfo) (bool, any, error), e *Envelope, ps *pathSubscribers, sock *Socket) (deliver bool, override any, err error) {
	err = callHook(func() error {
		var ferr error
		deliver, override, ferr = filter(ctx, e.Path, e.Message, FilterInfo{Socket: sock, Params: ps.params, Internal: e.Internal})
		return ferr
	})
	return deliver, override, err
}

func (s *Server) deliverBroadcast(e *Envelope) {
	frames := frameCache{srv: s, msg: &protocol.Update{Message: e.Message}}
	bufp := socketSlices.Get().(*[]*Socket)
	var socks []*Socket
	if e.ToUser {
		socks = s.userSockets((*bufp)[:0], e.User)
	} else {
		socks = s.snapshot((*bufp)[:0])
	}
	fo := newFanOut(s)
	for _, sock := range socks {
		if frame := frames.frame(int(sock.out.codec)); frame != nil {
			fo.enqueue(sock, frame)
		}
	}
	fo.finish()
	putSockets(bufp, socks)
}

// keepUser filters socks in place down to the sockets of user.
func keepUser(socks []*Socket, user string) []*Socket {
	out := socks[:0]
	for _, sock := range socks {
		if userOf(sock.creds.Load()) == user {
			out = append(out, sock)
		}
	}
	clear(socks[len(out):])
	return out
}
