package nes

import (
	"context"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"github.com/nes-go/nes/protocol"
)

// ServeHTTP upgrades the request to a websocket and serves it as a nes
// socket until it closes. [Server.Mount] registers it; use it directly to
// mount the endpoint on another router.
//
// An upgrade from an origin that is not allowed gets HTTP 401 (as nes
// answers); an upgrade during Shutdown gets 503; an upgrade over
// MaxConnections is accepted then closed with CloseTooManyConnections.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.originAllowed(r) {
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	if err := s.start(r.Context()); err != nil {
		s.log.Error("nes: starting broker", "error", err)
		http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
		return
	}
	compression := websocket.CompressionDisabled
	if s.opts.Compression {
		compression = websocket.CompressionNoContextTakeover
	}
	uw := newUpgradeWriter(w, s.getPoller() != nil)
	conn, err := websocket.Accept(uw, r, &websocket.AcceptOptions{
		InsecureSkipVerify: true, // origins were checked above, with nes's semantics
		Subprotocols:       s.subprotocols(),
		CompressionMode:    compression,
		OnPingReceived:     uw.conn.pingReceived,
	})
	if err != nil {
		return // Accept answered the request
	}
	conn.SetReadLimit(s.opts.MaxMessageBytes)
	if cc := uw.conn; cc.br != nil && cc.br.Buffered() == 0 {
		// Accept made our reader read through an io.MultiReader of what it
		// had buffered (nothing: the upgrade's leftovers are in the
		// corkConn) and the connection; read the connection directly.
		cc.br.Reset(cc)
	}
	// The socket runs on goroutines of its own: returning lets net/http's
	// connection goroutine end, with its stack and buffers. The socket
	// holds s.wg until it is torn down (serveReads).
	s.wg.Add(1)
	go s.serveConn(r, conn, uw.conn, s.codecIndex(conn.Subprotocol()))
}

// serveConn runs a socket on an accepted connection: its first reader.
// s.wg is held for the socket.
func (s *Server) serveConn(r *http.Request, conn wsConn, cork *corkConn, codec int) {
	sock := s.newSocket(r, conn, codec)
	if cork != nil {
		sock.cork = cork
		cork.writing = &sock.out.writingSince
		sock.directFrames = !s.opts.Compression
		if cork.chunked {
			sock.poller = s.getPoller()
			sock.parkable = sock.poller != nil
			cork.afterControl = sock.beforeRead
		}
	}
	if !s.register(sock) {
		s.stats.rejected.Add(1)
		_ = conn.Close(CloseTooManyConnections, "too many connections")
		sock.cancel()
		s.wg.Done()
		return
	}
	s.stats.accepted.Add(1)
	s.startBackground()

	if s.opts.HelloTimeout > 0 {
		sock.helloTimer = time.AfterFunc(s.opts.HelloTimeout, func() {
			if !sock.ready.Load() {
				sock.closeAfterQueue(CloseHelloTimeout, "hello timeout")
			}
		})
	}
	sock.serveReads()
}

func (s *Server) newSocket(r *http.Request, conn wsConn, codec int) *Socket {
	sock := &Socket{
		srv:        s,
		id:         s.newSocketID(),
		conn:       conn,
		codec:      s.codecs[codec].codec,
		codecIdx:   codec,
		remoteAddr: r.RemoteAddr,
		header:     packHeader(r.Header),
		host:       r.Host,
		created:    time.Now(),
		subs:       make(map[string]*pathSubscribers),
		pollFD:     -1,
	}
	sock.ctx, sock.cancel = context.WithCancel(context.Background())
	sock.out.done = make(chan struct{})
	sock.out.codec = uint8(codec)
	sock.active.Store(true) // a new socket gets one free heartbeat cycle
	return sock
}

func (s *Server) register(sock *Socket) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing || (s.opts.MaxConnections > 0 && len(s.sockets) >= s.opts.MaxConnections) {
		return false
	}
	s.sockets[sock] = struct{}{}
	return true
}

// teardown runs once the read loop ended: the socket leaves the server, its
// writer stops, its subscriptions are removed (OnUnsubscribe) and
// OnDisconnection runs.
func (s *Server) teardown(sock *Socket) {
	sock.closed.Store(true)
	if sock.helloTimer != nil {
		sock.helloTimer.Stop()
	}
	sock.stopExpiry()
	s.mu.Lock()
	delete(s.sockets, sock)
	if u := userOf(sock.creds.Load()); u != "" {
		s.unindexLocked(sock, u)
	}
	s.mu.Unlock()
	sock.stopWriter()
	if sock.poller != nil {
		sock.poller.forget(sock)
	}
	sock.cancel()
	sock.unsubscribeAll()
	if s.opts.OnDisconnection != nil && sock.connected.Load() {
		s.runHook("OnDisconnection", func() { s.opts.OnDisconnection(sock) })
	}
}

// runHook calls a hook that returns nothing, turning a panic into a log line.
func (s *Server) runHook(name string, f func()) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("nes: hook panicked", "hook", name, "panic", v)
		}
	}()
	f()
}

// send encodes a protocol error reply and enqueues it.
func (sock *Socket) sendError(e *protocol.ErrorReply) {
	sock.reply(e, e.Type, e.ID)
}
