// Package nes is a real-time subscription server for chi that speaks the hapi
// nes protocol v2, so the official @hapi/nes JavaScript client works against
// it unchanged.
//
// A [Server] is created with [New], given subscription patterns with
// [Server.Subscription] and mounted on a chi router with [Server.Mount]. Clients
// subscribe to concrete paths, send custom messages, and call the router's
// routes over the socket; the application publishes to concrete paths with
// [Server.Publish] from any goroutine, typically from its HTTP handlers.
package nes

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/nes-go/nes/auth"
	"github.com/nes-go/nes/protocol"
	"github.com/nes-go/nes/router"
)

// Server is a nes endpoint: the sockets connected to it, its subscriptions and
// its publications.
//
// Concurrency: every method may be called from any goroutine. Each socket has
// one read goroutine, on which its hooks (OnConnection, OnMessage,
// OnSubscribe, OnUnsubscribe) run in message order, and one writer goroutine
// draining a queue bounded in bytes; Publish, Broadcast and the Socket send
// methods only enqueue and never block on a socket. No lock is held while a
// hook or filter runs, so hooks may call any method of the Server or of any
// Socket. Shutdown closes every socket and returns once every goroutine the
// server started has ended.
type Server struct {
	opts   Options
	log    *slog.Logger
	codecs []codecSlot // codecs[0] is JSON, the default; the others are chosen by subprotocol

	handler atomic.Pointer[http.Handler] // serves requests over sockets

	subsMu sync.RWMutex
	subs   *router.Tree[*subscription] // declared patterns
	index  map[string]*pathSubscribers // concrete path → subscribers

	mu       sync.Mutex
	sockets  map[*Socket]struct{}
	closing  bool
	wg       sync.WaitGroup // socket handlers, writers, heartbeat
	stopBeat chan struct{}
	beatOnce sync.Once

	writers *writers
	// handlers handle the sockets' frames; nil with Options.HandleInline,
	// where each socket's reader does (read.go).
	handlers *handlers

	// Parking of idle sockets (read.go): the poller, made at the first
	// socket that can park, closed by Shutdown.
	poll       *poller
	pollTried  bool // guarded by mu
	readLinger time.Duration
	stealAfter time.Duration // how long a reader handles a frame itself (read.go)
	watch      stealWatch    // notices frames handled longer than that (stealwatch.go)
	// fastStopWait bounds the wait for a reader inside a frame on the fast
	// path before a close handshake (readframe.go).
	fastStopWait time.Duration
	// testHookSteal, set by tests before the first socket, runs inside
	// steal.
	testHookSteal func()

	broker  Broker
	startMu sync.Mutex // serializes Start; held only while the broker starts
	started atomic.Bool

	idPrefix string
	nextID   atomic.Uint64

	stats counters

	auth  *authState                      // nil: no authentication
	users map[string]map[*Socket]struct{} // Credentials.User → sockets (Auth.Index), guarded by mu
}

// Stats are counters of a server's activity since New.
type Stats struct {
	// Connections is the number of open sockets.
	Connections int
	// Accepted counts sockets accepted since New.
	Accepted uint64
	// SlowConsumerCloses counts sockets closed because their queue was full.
	SlowConsumerCloses uint64
	// HeartbeatCloses counts sockets closed for silence.
	HeartbeatCloses uint64
	// RejectedConnections counts upgrades refused by MaxConnections.
	RejectedConnections uint64
	// Parked is the number of open sockets that are idle and hold no
	// goroutine: their connection is watched by the server's poller until
	// the client sends something (Linux, plain TCP; see docs/guide.md).
	Parked int
}

type counters struct {
	accepted, slow, heartbeat, rejected atomic.Uint64
	parked                              atomic.Int64
}

// New returns a server configured by opts, or an error naming every invalid
// option. The zero Options are valid.
func New(opts Options) (*Server, error) {
	o := opts.withDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	st, err := newAuthState(&o)
	if err != nil {
		return nil, fmt.Errorf("nes: invalid options: %w", err)
	}
	s := &Server{
		opts:     o,
		log:      o.Logger,
		subs:     router.New[*subscription](),
		index:    make(map[string]*pathSubscribers),
		sockets:  make(map[*Socket]struct{}),
		stopBeat: make(chan struct{}),
		broker:   o.Broker,
		idPrefix: randomPrefix(),
		auth:     st,
		users:    make(map[string]map[*Socket]struct{}),

		readLinger:   defaultReadLinger,
		stealAfter:   defaultStealAfter,
		fastStopWait: defaultFastStopWait,
	}
	if s.broker == nil {
		s.broker = NewMemoryBroker()
	}
	s.watch.srv = s
	s.watch.quit = make(chan struct{})
	s.writers = newWriters(s)
	if !o.HandleInline {
		s.handlers = newHandlers(s)
	}
	for _, c := range []protocol.Codec{protocol.JSON(), protocol.MessagePack()} {
		ping, err := c.AppendEncode(nil, &protocol.Ping{})
		if err != nil {
			return nil, fmt.Errorf("nes: encoding ping: %w", err)
		}
		reuse, _ := c.(protocol.ReusingDecoder)
		s.codecs = append(s.codecs, codecSlot{codec: c, ping: ping, reuse: reuse})
	}
	return s, nil
}

func randomPrefix() string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// Start connects the server to its broker (Options.Broker), which then
// delivers this deployment's publications to the server's sockets. Calling
// it is optional: the first connection or publication starts the broker with
// its own context. Call it at boot to learn at once that the broker is
// unreachable; a failed Start may be tried again. It returns ErrServerClosed
// after Shutdown.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	closing := s.closing
	s.mu.Unlock()
	if closing {
		return ErrServerClosed
	}
	return s.start(ctx)
}

// start starts the broker unless it was already; callers checked that the
// server is not closing.
func (s *Server) start(ctx context.Context) error {
	if s.started.Load() {
		return nil
	}
	s.startMu.Lock()
	defer s.startMu.Unlock()
	s.mu.Lock()
	closing := s.closing
	s.mu.Unlock()
	if closing {
		return ErrServerClosed
	}
	if s.started.Load() {
		return nil
	}
	if err := s.broker.Start(ctx, s.deliver); err != nil {
		return fmt.Errorf("nes: starting broker: %w", err)
	}
	s.started.Store(true)
	return nil
}

// Mount registers the websocket endpoint as GET path on r, and makes r the
// handler of requests sent over sockets. With cookie or token
// authentication it also registers the auth endpoint (GET path + "/auth"
// unless Options.Auth.Endpoint says otherwise), so middleware installed on r
// applies to it. Mount panics, like chi, if path is not a valid chi pattern.
func (s *Server) Mount(r chi.Router, path string) {
	r.Get(path, s.ServeHTTP)
	if st := s.auth; st != nil && st.opts.Type != AuthDirect {
		if st.endpoint == "" {
			st.endpoint = strings.TrimSuffix(path, "/") + "/auth"
		}
		r.Get(st.endpoint, s.AuthHandler().ServeHTTP)
	}
	s.SetHandler(r)
}

// AuthHandler returns the cookie or token endpoint handler (nil for direct
// authentication or none), for routers other than the one given to Mount.
func (s *Server) AuthHandler() http.Handler {
	st := s.auth
	if st == nil {
		return nil
	}
	switch st.opts.Type {
	case AuthCookie:
		return auth.CookieEndpoint(st.opts.Authenticate, st.sealer, st.opts.Mode)
	case AuthToken:
		return auth.TokenEndpoint(st.opts.Authenticate, st.tokens, st.opts.Mode)
	}
	return nil
}

// SetHandler sets the handler that serves requests sent over sockets. Mount
// sets it to the router it mounts on; without one, every request over a
// socket gets 404.
func (s *Server) SetHandler(h http.Handler) {
	s.handler.Store(&h)
}

func (s *Server) requestHandler() http.Handler {
	if h := s.handler.Load(); h != nil && *h != nil {
		return *h
	}
	return http.NotFoundHandler()
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	n := len(s.sockets)
	s.mu.Unlock()
	return Stats{
		Connections:         n,
		Accepted:            s.stats.accepted.Load(),
		SlowConsumerCloses:  s.stats.slow.Load(),
		HeartbeatCloses:     s.stats.heartbeat.Load(),
		RejectedConnections: s.stats.rejected.Load(),
		Parked:              int(s.stats.parked.Load()),
	}
}

// getPoller returns the server's poller, made at the first call; nil where
// sockets cannot park or once the server is shutting down.
func (s *Server) getPoller() *poller {
	if !pollerSupported {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.poll == nil && !s.pollTried && !s.closing {
		s.pollTried = true
		p, err := newPoller()
		if err != nil {
			s.log.Warn("nes: idle sockets will keep their goroutine", "error", err)
		}
		s.poll = p
	}
	if s.closing {
		return nil
	}
	return s.poll
}

// newSocketID returns a unique socket id: a random per-server prefix and a
// counter.
func (s *Server) newSocketID() string {
	return s.idPrefix + ":" + strconv.FormatUint(s.nextID.Add(1), 10)
}

// snapshot appends the open, initialized sockets to dst.
func (s *Server) snapshot(dst []*Socket) []*Socket {
	s.mu.Lock()
	for sock := range s.sockets {
		if sock.ready.Load() {
			dst = append(dst, sock)
		}
	}
	s.mu.Unlock()
	return dst
}

// Shutdown closes every socket (with status 1001, going away, after the
// frames already queued for it) and waits until every goroutine of the
// server has ended. If ctx ends first, the remaining connections are dropped
// without a close handshake and Shutdown returns ctx's error once their
// goroutines have ended. New upgrades are refused with 503 from the start
// of Shutdown. Calling Shutdown again waits again.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	first := !s.closing
	s.closing = true
	socks := make([]*Socket, 0, len(s.sockets))
	for sock := range s.sockets {
		socks = append(socks, sock)
	}
	s.mu.Unlock()
	if first {
		close(s.stopBeat)
	}
	for _, sock := range socks {
		sock.closeAfterQueue(closeGoingAway, "server shutting down")
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		s.mu.Lock()
		for sock := range s.sockets {
			sock.abort()
		}
		s.mu.Unlock()
		<-done
	}
	// The last socket has ended: none parks any more, and no frame is
	// handled.
	s.watch.stop()
	s.mu.Lock()
	p := s.poll
	s.poll = nil
	s.mu.Unlock()
	if p != nil {
		p.close()
	}
	if first {
		s.startMu.Lock() // a Start in progress finishes first
		started := s.started.Load()
		s.startMu.Unlock()
		if !started {
			return err
		}
		if cerr := s.broker.Close(ctx); cerr != nil && err == nil {
			err = fmt.Errorf("nes: closing broker: %w", cerr)
		}
	}
	return err
}

// codecSlot is an encoding the server speaks, with its ping frame.
type codecSlot struct {
	codec protocol.Codec
	ping  []byte
	reuse protocol.ReusingDecoder // the codec's, if it has one
}

// subprotocols lists the websocket subprotocols that select a codec other
// than JSON.
func (s *Server) subprotocols() []string {
	var names []string
	for _, c := range s.codecs[1:] {
		names = append(names, c.codec.Name())
	}
	return names
}

// codecIndex returns the index of the codec a negotiated subprotocol
// selects: 0 (JSON) for none or an unknown one.
func (s *Server) codecIndex(subprotocol string) int {
	for i, c := range s.codecs {
		if i > 0 && c.codec.Name() == subprotocol {
			return i
		}
	}
	return 0
}

// frameCache encodes a message at most once per codec in use.
type frameCache struct {
	srv    *Server
	msg    protocol.Message
	frames [4][]byte
	failed [4]bool
}

func (f *frameCache) frame(i int) []byte {
	if f.frames[i] == nil && !f.failed[i] {
		b, err := f.srv.codecs[i].codec.AppendEncode(nil, f.msg)
		if err != nil {
			f.failed[i] = true
			f.srv.log.Error("nes: encoding message", "type", f.msg.MessageType(), "codec", f.srv.codecs[i].codec.Name(), "error", err)
			return nil
		}
		f.frames[i] = b
	}
	return f.frames[i]
}
