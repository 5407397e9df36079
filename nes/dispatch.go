package nes

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/nes-go/nes/auth"
	"github.com/nes-go/nes/protocol"
)

// handleFrame decodes one inbound frame and handles it, in the socket's read
// goroutine, following the order of nes's lifecycle: parse, type, id, then
// ping and hello, then the initialization check, then the message itself.
func (sock *Socket) handleFrame(data []byte) {
	msg, err := sock.decode(data)
	if err != nil {
		var de *protocol.DecodeError
		if !errors.As(err, &de) {
			sock.sendError(protocol.NewErrorReply(http.StatusBadRequest, "Cannot parse message"))
			return
		}
		sock.sendError(sock.orderDecodeError(de))
		return
	}
	if !sock.verify() {
		t, id := messageTypeID(msg)
		sock.sendError(errorFor(http.StatusForbidden, "Credential verification failed", t, id))
		sock.closeAfterQueue(CloseAuthRevoked, "credential verification failed")
		return
	}
	switch m := msg.(type) {
	case *protocol.Ping:
		return
	case *protocol.Hello:
		sock.handleHello(m)
		return
	}
	if !sock.ready.Load() {
		// Before a successful hello. After a failed one too: nes would go on
		// serving such a socket, but a hello that failed (authentication,
		// OnConnection) must not leave a usable connection behind.
		t, id := messageTypeID(msg)
		sock.sendError(errorFor(http.StatusBadRequest, "Connection is not initialized", t, id))
		return
	}
	switch m := msg.(type) {
	case *protocol.Reauth:
		sock.handleReauth(m)
	case *protocol.Request:
		sock.handleRequest(m)
	case *protocol.Sub:
		sock.handleSub(m)
	case *protocol.Unsub:
		sock.unsubscribe(sock.ctx, m.Path)
		sock.reply(&protocol.UnsubReply{ID: m.ID}, string(protocol.TypeUnsub), m.ID)
	case *protocol.Custom:
		sock.handleCustom(m)
	case *protocol.Unknown:
		sock.sendError(errorFor(http.StatusBadRequest, "Unknown message type", m.Type, m.ID))
	default:
		t, id := messageTypeID(msg)
		sock.sendError(errorFor(http.StatusBadRequest, "Unknown message type", t, id))
	}
}

// decode decodes a client frame. Once the socket has served a request, the
// next ones are decoded into its reply buffers' Request: the socket handles
// one message at a time, and nothing keeps a decoded Request past its
// handling (handleRequest copies what the http.Request needs).
func (sock *Socket) decode(data []byte) (protocol.Message, error) {
	d := sock.srv.codecs[sock.codecIdx].reuse
	if d == nil {
		return sock.codec.DecodeClient(data)
	}
	var into *protocol.Request
	if rb := sock.replyBuf; rb != nil {
		into = &rb.req
	}
	return d.DecodeClientInto(data, into)
}

// orderDecodeError applies nes's ordering to a decoding failure: a message
// of a valid type that is not ping or hello is refused as uninitialized
// before its fields are looked at, and a second hello as already
// initialized.
func (sock *Socket) orderDecodeError(de *protocol.DecodeError) *protocol.ErrorReply {
	r := de.Reply
	if !r.HasType || de.Field == "" {
		return r
	}
	switch protocol.Type(r.Type) {
	case protocol.TypePing:
		return r
	case protocol.TypeHello:
		if sock.helloed.Load() {
			return errorFor(http.StatusBadRequest, "Connection already initialized", r.Type, r.ID)
		}
		return r
	}
	if !sock.ready.Load() {
		return errorFor(http.StatusBadRequest, "Connection is not initialized", r.Type, r.ID)
	}
	return r
}

func errorFor(status int, message, t string, id protocol.ID) *protocol.ErrorReply {
	e := protocol.NewErrorReply(status, message)
	e.Type, e.HasType, e.ID = t, true, id
	return e
}

// hookError turns a hook's error into the reply for message t/id.
func (sock *Socket) hookError(err error, hook, t string, id protocol.ID) *protocol.ErrorReply {
	e := sock.srv.replyFor(err, hook)
	e.Type, e.HasType, e.ID = t, true, id
	return e
}

func (sock *Socket) handleHello(m *protocol.Hello) {
	t := string(protocol.TypeHello)
	if sock.helloed.Load() {
		sock.sendError(errorFor(http.StatusBadRequest, "Connection already initialized", t, m.ID))
		return
	}
	if m.Version != protocol.Version {
		got := m.Version
		if got == "" {
			got = "none"
		}
		sock.sendError(errorFor(http.StatusBadRequest, fmt.Sprintf("Incorrect protocol version (expected %s but received %s)", protocol.Version, got), t, m.ID))
		return
	}
	// From here on the socket is initialized, even if the hello fails: a
	// client cannot retry a hello on the same socket (nes semantics).
	sock.helloed.Store(true)
	// Without Options.Auth, hello.auth is ignored and the socket is
	// anonymous, as with nes's default settings (failing the hello would stop
	// the official client from ever reconnecting).
	srv := sock.srv
	if srv.auth != nil {
		creds, f := sock.authenticate(m.Auth, false)
		if f == nil && creds != nil {
			f = sock.setCredentials(creds)
		}
		if f != nil {
			f.reply.Type, f.reply.HasType, f.reply.ID = t, true, m.ID
			sock.sendError(f.reply)
			return
		}
	}
	if srv.opts.OnConnection != nil {
		if err := callHook(func() error { return srv.opts.OnConnection(sock.ctx, sock) }); err != nil {
			sock.sendError(sock.hookError(err, "OnConnection", t, m.ID))
			return
		}
	}
	sock.connected.Store(true)
	for _, path := range m.Subs {
		if e := sock.subscribe(sock.ctx, path); e != nil {
			e.Type, e.HasType, e.ID, e.Path = t, true, m.ID, path
			sock.sendError(e)
			return
		}
	}
	var hb *protocol.Heartbeat
	if !srv.opts.Heartbeat.Disabled {
		hb = &protocol.Heartbeat{
			Interval: srv.opts.Heartbeat.Interval.Milliseconds(),
			Timeout:  srv.opts.Heartbeat.Timeout.Milliseconds(),
		}
	}
	sock.ready.Store(true)
	if sock.helloTimer != nil {
		sock.helloTimer.Stop()
		sock.helloTimer = nil // the reader's teardown comes after this handler
	}
	sock.reply(&protocol.HelloReply{ID: m.ID, Heartbeat: hb, Socket: sock.id}, t, m.ID)
}

// handleReauth re-runs authentication. Success replaces the credentials;
// failure answers the error and closes the socket (nes semantics).
func (sock *Socket) handleReauth(m *protocol.Reauth) {
	t := string(protocol.TypeReauth)
	if sock.srv.auth == nil {
		// Nothing to re-run: the socket stays anonymous, as in nes without an
		// auth strategy.
		sock.reply(&protocol.ReauthReply{ID: m.ID}, t, m.ID)
		return
	}
	creds, f := sock.authenticate(m.Auth, true)
	if f == nil && creds != nil {
		f = sock.setCredentials(creds)
	}
	if f != nil {
		f.reply.Type, f.reply.HasType, f.reply.ID = t, true, m.ID
		sock.sendError(f.reply)
		sock.closeAfterQueue(CloseAuthRevoked, "reauthentication failed")
		return
	}
	sock.reply(&protocol.ReauthReply{ID: m.ID}, t, m.ID)
	if creds != nil {
		sock.recheckSubscriptions(creds)
	}
}

// recheckSubscriptions revokes the subscriptions that new credentials may
// not hold (nes keeps them: a socket could keep a scoped subscription after
// reauthenticating as someone else).
func (sock *Socket) recheckSubscriptions(c *auth.Credentials) {
	sock.subMu.Lock()
	var lost []string
	for path, ps := range sock.subs {
		if ps.sub.authorize(c, ps.params, true) != nil {
			lost = append(lost, path)
		}
	}
	sock.subMu.Unlock()
	for _, path := range lost {
		_ = sock.Revoke(sock.ctx, path, nil)
	}
}

func (sock *Socket) handleSub(m *protocol.Sub) {
	if e := sock.subscribe(sock.ctx, m.Path); e != nil {
		e.Type, e.HasType, e.ID = string(protocol.TypeSub), true, m.ID
		sock.sendError(e)
		return
	}
	sock.reply(&protocol.SubReply{ID: m.ID, Path: m.Path}, string(protocol.TypeSub), m.ID)
}

func (sock *Socket) handleCustom(m *protocol.Custom) {
	t := string(protocol.TypeMessage)
	on := sock.srv.opts.OnMessage
	if on == nil {
		sock.sendError(errorFor(http.StatusNotImplemented, "Not Implemented", t, m.ID))
		return
	}
	var result any
	err := callHook(func() error {
		var err error
		result, err = on(sock.ctx, sock, m.Message)
		return err
	})
	if err != nil {
		sock.sendError(sock.hookError(err, "OnMessage", t, m.ID))
		return
	}
	reply := &protocol.CustomReply{ID: m.ID}
	if result != nil {
		raw, err := marshalMessage(result)
		if err != nil {
			sock.srv.log.Error("nes: encoding OnMessage result", "error", err)
			sock.sendError(errorFor(http.StatusInternalServerError, "Failed serializing message", t, m.ID))
			return
		}
		reply.Message = raw
	}
	sock.reply(reply, t, m.ID)
}

// callHook runs a hook, turning a panic into an error.
func callHook(f func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("nes: hook panicked: %v", v)
		}
	}()
	return f()
}

// messageTypeID returns the wire type and id of a decoded client message.
func messageTypeID(m protocol.Message) (string, protocol.ID) {
	switch m := m.(type) {
	case *protocol.Hello:
		return string(protocol.TypeHello), m.ID
	case *protocol.Reauth:
		return string(protocol.TypeReauth), m.ID
	case *protocol.Request:
		return string(protocol.TypeRequest), m.ID
	case *protocol.Sub:
		return string(protocol.TypeSub), m.ID
	case *protocol.Unsub:
		return string(protocol.TypeUnsub), m.ID
	case *protocol.Custom:
		return string(protocol.TypeMessage), m.ID
	case *protocol.Ping:
		return string(protocol.TypePing), m.ID
	case *protocol.Unknown:
		return m.Type, m.ID
	}
	return string(m.MessageType()), protocol.ID{}
}

var _ = context.Background
