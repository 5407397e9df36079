package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/nes-go/nes/protocol"
)

// Defaults of ConnectOptions.
const (
	DefaultDelay          = 1 * time.Second
	DefaultMaxDelay       = 10 * time.Second
	DefaultConnectTimeout = 10 * time.Second
)

// ConnectOptions configure Connect and the reconnections that follow. The
// zero value (or nil) means: no auth, reconnect forever with delays from
// 1 s doubling up to 10 s, a 10 s connection timeout.
type ConnectOptions struct {
	// Auth is sent in every hello (the first and each reconnection's): nil
	// for none, a token string (nes's token flow), a DirectAuth (direct
	// flow), or any value that encodes to JSON (a json.RawMessage is sent
	// as is). Cookies for the cookie flow go in Options.Header instead.
	Auth any
	// NoReconnect disables reconnection: the client stays disconnected once
	// the connection drops.
	NoReconnect bool
	// Delay is the base of the exponential backoff between reconnection
	// attempts; zero means DefaultDelay (1 s). The n-th consecutive failed
	// attempt is followed by a wait of Delay*2^n capped at MaxDelay, with
	// "equal jitter": a random duration between half of it and all of it.
	// The count starts again after every successful hello.
	Delay time.Duration
	// MaxDelay caps the backoff; zero means DefaultMaxDelay (10 s).
	MaxDelay time.Duration
	// Retries is how many consecutive reconnection attempts may fail before
	// the client gives up; zero (or negative) means no limit.
	Retries int
	// Timeout bounds each connection attempt: the websocket upgrade plus the
	// hello round trip. Zero means DefaultConnectTimeout (10 s).
	Timeout time.Duration
}

// DirectAuth is the auth of nes's direct flow: the server authenticates the
// hello with these headers as if they came with an HTTP request to its auth
// endpoint (typically {"authorization": "Bearer ..."}).
type DirectAuth struct {
	Headers map[string]string
}

func (o *ConnectOptions) withDefaults() ConnectOptions {
	var r ConnectOptions
	if o != nil {
		r = *o
	}
	if r.Delay <= 0 {
		r.Delay = DefaultDelay
	}
	if r.MaxDelay <= 0 {
		r.MaxDelay = DefaultMaxDelay
	}
	if r.MaxDelay < r.Delay {
		r.MaxDelay = r.Delay
	}
	if r.Retries < 0 {
		r.Retries = 0
	}
	if r.Timeout <= 0 {
		r.Timeout = DefaultConnectTimeout
	}
	return r
}

// toAuth converts a ConnectOptions.Auth value to its wire form.
func toAuth(a any) (*protocol.Auth, error) {
	switch v := a.(type) {
	case nil:
		return nil, nil
	case string:
		if v == "" {
			return nil, nil
		}
		return &protocol.Auth{Token: v}, nil
	case DirectAuth:
		return &protocol.Auth{Headers: maps(v.Headers)}, nil
	case *DirectAuth:
		if v == nil {
			return nil, nil
		}
		return &protocol.Auth{Headers: maps(v.Headers)}, nil
	case json.RawMessage:
		if !json.Valid(v) {
			return nil, newError(TypeUser, "auth is not valid JSON", nil)
		}
		return &protocol.Auth{Raw: v}, nil
	}
	b, err := json.Marshal(a)
	if err != nil {
		return nil, newError(TypeUser, "cannot encode auth", err)
	}
	return &protocol.Auth{Raw: b}, nil
}

func maps(h map[string]string) map[string]string {
	if h == nil {
		return map[string]string{}
	}
	return h
}

// session is the life of the client between Connect and the end of its
// reconnection (Disconnect, giving up, or a connection that fails for good).
type session struct {
	opts   ConnectOptions
	disp   *dispatcher
	ctx    context.Context // canceled by Disconnect
	cancel context.CancelFunc
	done   chan struct{} // closed when the session's goroutines (but the dispatcher) have ended

	// under Client.mu
	auth  *protocol.Auth
	ended bool  // no more connections will be made
	cur   *conn // the connection being set up or in use
}

// conn is one websocket connection.
type conn struct {
	ws      *websocket.Conn
	sess    *session
	bin     bool // binary frames
	helloID protocol.ID
	done    chan struct{} // closed when the read loop has returned
	err     error         // what ended the read loop (set before done is closed)

	hb        heartbeat
	hbExpired atomic.Bool

	// reader-only state
	chunks  []byte
	discard bool // dropping the rest of an oversized chunked message
}

// write sends one frame.
func (cn *conn) write(ctx context.Context, frame []byte) error {
	typ := websocket.MessageText
	if cn.bin {
		typ = websocket.MessageBinary
	}
	return cn.ws.Write(ctx, typ, frame)
}

// Connect opens the connection and says hello, waiting for the server's
// reply, and from then on keeps the client connected (see ConnectOptions)
// until Disconnect. ctx bounds this first connection only.
//
// When the first connection fails, Connect returns its error and the client
// stays disconnected: unlike the official nes client, it does not keep
// trying in the background. Retry in your own loop if the server may not
// be up yet.
//
// Paths subscribed before Connect are subscribed in the hello. A hello that
// fails on one of them (Error.Path set) removes that path from the client.
//
// Errors: TypeUser when already connected; TypeWS when the websocket
// cannot be opened (StatusCode set when the upgrade was answered with an
// HTTP error); TypeTimeout; TypeServer when the hello is refused (401 for
// bad credentials).
func (c *Client) Connect(ctx context.Context, opts *ConnectOptions) error {
	if c.cerr != nil {
		return c.cerr
	}
	o := opts.withDefaults()
	a, err := toAuth(o.Auth)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if old := c.sess; old != nil {
		if !old.ended {
			c.mu.Unlock()
			return newError(TypeUser, "Already connected", nil)
		}
		c.mu.Unlock()
		c.join(old) // it is ending on its own: let it finish first
		c.mu.Lock()
		if c.sess != old && c.sess != nil {
			c.mu.Unlock()
			return newError(TypeUser, "Already connected", nil)
		}
	}
	sctx, cancel := context.WithCancel(context.Background())
	s := &session{opts: o, disp: newDispatcher(), ctx: sctx, cancel: cancel, done: make(chan struct{}), auth: a}
	c.sess = s
	c.mu.Unlock()

	cn, err := c.attempt(ctx, s, false)
	if err != nil {
		c.mu.Lock()
		s.ended = true
		if c.sess == s {
			c.sess = nil
		}
		c.mu.Unlock()
		cancel()
		s.disp.close()
		close(s.done)
		if !s.disp.onDispatcher() {
			<-s.disp.done
		}
		return err
	}
	go c.manage(s, cn)
	return nil
}

// attempt dials and says hello. On success the connection is the client's
// current one and OnConnect is queued. retry tells whether a failure will
// be followed by another attempt (for the rare OnDisconnect it may owe).
func (c *Client) attempt(ctx context.Context, s *session, retry bool) (*conn, error) {
	actx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	stop := context.AfterFunc(s.ctx, cancel)
	defer stop()

	dopts := &websocket.DialOptions{HTTPClient: c.opts.HTTPClient, HTTPHeader: c.opts.Header.Clone()}
	if name := c.codec.Name(); name != "" {
		dopts.Subprotocols = []string{name}
	}
	if c.opts.Compression {
		dopts.CompressionMode = websocket.CompressionNoContextTakeover
	}
	ws, resp, err := websocket.Dial(actx, c.url, dopts)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		return nil, c.attemptError(ctx, s, "Connection failed", resp, err)
	}
	if name := c.codec.Name(); name != "" && ws.Subprotocol() != name {
		ws.CloseNow()
		return nil, newError(TypeWS, "server did not accept the "+name+" subprotocol", nil)
	}
	ws.SetReadLimit(c.opts.MaxMessageBytes)
	cn := &conn{ws: ws, sess: s, bin: c.codec.Binary(), done: make(chan struct{}), helloID: c.newID()}
	cn.hb.init(cn)

	c.mu.Lock()
	if s.ctx.Err() != nil {
		c.mu.Unlock()
		ws.CloseNow()
		return nil, newError(TypeDisconnect, "Disconnected while connecting", nil)
	}
	s.cur = cn
	subs := c.pathsLocked()
	hello := &protocol.Hello{ID: cn.helloID, Version: protocol.Version, Auth: s.auth, Subs: subs}
	c.mu.Unlock()
	go c.read(cn)

	reply, err := c.roundTrip(actx, cn, hello.ID, hello)
	if err == nil {
		if _, ok := reply.(*protocol.HelloReply); !ok {
			err = newError(TypeProtocol, msgInvalidReply, nil)
		}
	}
	if err != nil {
		ws.CloseNow()
		<-cn.done
		c.mu.Lock()
		delete(c.pending, hello.ID)
		installed := c.conn == cn // the reply raced the timeout: OnConnect is queued
		if installed {
			c.conn, c.socket = nil, ""
		}
		if f := c.opts.OnDisconnect; installed && f != nil {
			cause := err
			c.emit(s, func() { f(retry, DisconnectInfo{Err: cause}) })
		}
		var e *Error
		if errors.As(err, &e) && e.Type == TypeServer && e.Path != "" {
			delete(c.subs, e.Path) // as nes: a path the server refuses is dropped
		}
		c.mu.Unlock()
		if ctx.Err() == nil && s.ctx.Err() == nil && actx.Err() != nil {
			err = &Error{Type: TypeTimeout, Message: "Connection timed out", Err: context.DeadlineExceeded}
		}
		return nil, err
	}
	c.mu.Lock()
	if s.ctx.Err() != nil || c.conn != cn {
		// Disconnect came first: the reader did not install cn, or it did
		// and queued OnConnect, which OnDisconnect must then follow.
		installed := c.conn == cn
		if installed {
			c.conn, c.socket = nil, ""
		}
		c.mu.Unlock()
		ws.CloseNow()
		<-cn.done
		if f := c.opts.OnDisconnect; installed && f != nil {
			c.emit(s, func() { f(false, DisconnectInfo{Requested: true}) })
		}
		return nil, newError(TypeDisconnect, "Disconnected while connecting", nil)
	}
	c.mu.Unlock()
	c.syncSubs(actx, cn, subs)
	return cn, nil
}

// helloDone is called by the read loop when the hello reply arrives, before
// any later frame is handled: it makes cn the client's connection and
// queues OnConnect, so that OnConnect comes before the callbacks of what
// follows and may already use the connection.
func (c *Client) helloDone(cn *conn, r *protocol.HelloReply) {
	s := cn.sess
	c.mu.Lock()
	if s.ctx.Err() != nil || c.pending[r.ID] == nil {
		c.mu.Unlock() // stopped, or the hello timed out
		return
	}
	c.conn, c.socket = cn, r.Socket
	c.mu.Unlock()
	if f := c.opts.OnConnect; f != nil {
		c.emit(s, f)
	}
}

// attemptError classifies a dial failure.
func (c *Client) attemptError(ctx context.Context, s *session, msg string, resp *http.Response, err error) error {
	switch {
	case s.ctx.Err() != nil:
		return newError(TypeDisconnect, "Disconnected while connecting", nil)
	case ctx.Err() != nil:
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return &Error{Type: TypeTimeout, Message: "Connection timed out", Err: ctx.Err()}
		}
		return ctx.Err()
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Type: TypeTimeout, Message: "Connection timed out", Err: err}
	}
	e := newError(TypeWS, msg, err)
	if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
		e.StatusCode = resp.StatusCode
	}
	return e
}

// pathsLocked returns the subscribed paths, sorted.
func (c *Client) pathsLocked() []string {
	if len(c.subs) == 0 {
		return nil
	}
	paths := make([]string, 0, len(c.subs))
	for p := range c.subs {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	return paths
}

// Disconnect closes the connection (with status 1000), stops any pending
// reconnection at once, fails waiting requests with a TypeDisconnect error,
// and waits for the client's goroutines to end, including the callback
// goroutine after its queued callbacks (OnDisconnect with Requested set is
// the last). If ctx ends first, the connection is dropped without a close
// handshake and ctx's error is returned once the goroutines have ended.
//
// Subscriptions are kept: a later Connect subscribes them again. Calling
// Disconnect when not connected does nothing.
func (c *Client) Disconnect(ctx context.Context) error {
	c.mu.Lock()
	s := c.sess
	if s == nil {
		c.mu.Unlock()
		return nil
	}
	s.ended = true
	c.mu.Unlock()
	s.cancel()
	var err error
	select {
	case <-s.done:
	case <-ctx.Done():
		err = ctx.Err()
		c.mu.Lock()
		cn := s.cur
		c.mu.Unlock()
		if cn != nil {
			cn.ws.CloseNow()
		}
	}
	c.join(s)
	c.mu.Lock()
	if c.sess == s {
		c.sess = nil
	}
	c.mu.Unlock()
	return err
}

// join waits for the goroutines of an ending session.
func (c *Client) join(s *session) {
	<-s.done
	if !s.disp.onDispatcher() {
		<-s.disp.done
	}
}
