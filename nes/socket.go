package nes

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/nes-go/nes/auth"
	"github.com/nes-go/nes/protocol"
)

// wsConn is the part of *websocket.Conn a socket uses; tests and benchmarks
// substitute in-process connections. Write must not keep p once it returns,
// as *websocket.Conn does not: a socket reuses a written reply's buffer.
type wsConn interface {
	Read(ctx context.Context) (websocket.MessageType, []byte, error)
	Write(ctx context.Context, typ websocket.MessageType, p []byte) error
	Close(code websocket.StatusCode, reason string) error
	CloseNow() error
}

// Socket is one client connection.
//
// All methods may be called from any goroutine. Send, Publish and Revoke
// enqueue a frame and return without waiting for the network; frames are
// written in the order they were enqueued.
type Socket struct {
	out outQueue // first: see outQueue

	srv  *Server
	id   string
	conn wsConn
	cork *corkConn // conn's network connection; nil in tests with fake conns
	// directFrames: the writer frames messages itself into cork (no
	// websocket extension in use), instead of calling conn.Write.
	directFrames bool
	codec        protocol.Codec
	codecIdx     int // index in Server.codecs
	remoteAddr   string
	header       packedHeader // of the upgrade request (cookies included)
	host         string       // of the upgrade request
	created      time.Time

	ctx    context.Context // ends when the socket starts closing
	cancel context.CancelFunc

	helloed    atomic.Bool
	connected  atomic.Bool   // OnConnection succeeded: OnDisconnection will run
	ready      atomic.Bool   // the hello succeeded: other messages are served
	closed     atomic.Bool   // no more frames are accepted
	active     atomic.Bool   // inbound frame or outbound write since the last sweep
	processing atomic.Int32  // messages read and not yet handled
	in         chan []byte   // frames read, waiting for the handler
	handling   atomic.Bool   // a frame is being handled (by a handler goroutine or inline)
	onHandler  atomic.Bool   // a shared handler is handling a frame (enqueueReply)
	inline     atomic.Int64  // the inline word: state, listed, tick (stealwatch.go)
	replyBuf   *replyBuffers // the handler's (request.go)
	handlers   sync.WaitGroup
	helloTimer *time.Timer

	// Parking (read.go). poller is nil where sockets do not park; parkable
	// and pollFD belong to the current reader.
	poller      *poller
	parkable    bool
	pollFD      int32        // the descriptor registered with the poller; -1: none
	readState   atomic.Int32 // readRunning, readParking, readParked, readWake
	readGate    sync.Mutex   // orders the reader's look at its buffer with closing
	readClosing bool         // the connection is being closed: no more parking

	appMu sync.Mutex
	app   any

	creds    atomic.Pointer[auth.Credentials]
	verified atomic.Int64 // unix nanos of the last credential check
	expiryMu sync.Mutex
	expiry   *time.Timer // closes the socket when its credentials expire

	subMu sync.Mutex
	subs  map[string]*pathSubscribers // concrete path → its subscribers entry
}

// ID returns the socket's id, also sent to the client in the hello reply.
func (s *Socket) ID() string { return s.id }

// RemoteAddr returns the network address of the client, as seen by the HTTP
// server (http.Request.RemoteAddr of the upgrade).
func (s *Socket) RemoteAddr() string { return s.remoteAddr }

// Header returns a copy of the header of the websocket upgrade request.
func (s *Socket) Header() http.Header { return s.header.unpack() }

// App returns the application state stored with SetApp, or nil.
func (s *Socket) App() any {
	s.appMu.Lock()
	defer s.appMu.Unlock()
	return s.app
}

// SetApp stores per-socket application state (nes's socket.app).
func (s *Socket) SetApp(v any) {
	s.appMu.Lock()
	s.app = v
	s.appMu.Unlock()
}

// Context returns a context that ends when the socket starts closing: on
// Disconnect, Shutdown, a limit, or when the client goes away. Requests
// served over the socket and hooks run with it (or one derived from it).
func (s *Socket) Context() context.Context { return s.ctx }

// IsOpen reports whether the socket still accepts frames: false once it is
// closing or closed.
func (s *Socket) IsOpen() bool { return !s.closed.Load() }

// Send sends an "update" message (client onUpdate) to this socket only. It
// returns ErrSocketClosed if the socket is closed, ErrSlowConsumer if the
// frame overflowed the socket's queue, or the JSON encoding error of msg.
func (s *Socket) Send(ctx context.Context, msg any) error {
	raw, err := marshalMessage(msg)
	if err != nil {
		return err
	}
	return s.sendMessage(&protocol.Update{Message: raw})
}

// Publish sends a "pub" message for path to this socket only, without any
// subscription check or filter (nes's socket.publish). The client delivers it
// only if it has a handler for exactly that path.
func (s *Socket) Publish(ctx context.Context, path string, msg any) error {
	if !validPublishPath(path) {
		return ErrInvalidPath
	}
	raw, err := marshalMessage(msg)
	if err != nil {
		return err
	}
	return s.sendMessage(&protocol.Pub{Path: path, Message: raw})
}

// Revoke removes the socket's subscription to path (running OnUnsubscribe)
// and sends a "revoke" message. A nil msg sends no message field: the client
// then removes the subscription without calling its handler. It returns
// ErrSocketClosed if the socket is closed (the subscription is removed all
// the same).
func (s *Socket) Revoke(ctx context.Context, path string, msg any) error {
	var raw json.RawMessage
	if msg != nil {
		var err error
		if raw, err = marshalMessage(msg); err != nil {
			return err
		}
	}
	s.unsubscribe(ctx, path)
	return s.sendMessage(&protocol.Revoke{Path: path, Message: raw})
}

// Disconnect closes the socket (status 1000) once the frames already queued
// for it are written. It returns at once; OnDisconnection runs when the
// connection is gone.
func (s *Socket) Disconnect() {
	s.closeAfterQueue(websocket.StatusNormalClosure, "")
}

// Subscriptions returns the concrete paths the socket is subscribed to,
// sorted.
func (s *Socket) Subscriptions() []string {
	s.subMu.Lock()
	paths := make([]string, 0, len(s.subs))
	for p := range s.subs {
		paths = append(paths, p)
	}
	s.subMu.Unlock()
	sort.Strings(paths)
	return paths
}

// sendMessage encodes m for this socket and enqueues it.
func (s *Socket) sendMessage(m protocol.Message) error {
	if s.closed.Load() {
		return ErrSocketClosed
	}
	frame, err := s.codec.AppendEncode(nil, m)
	if err != nil {
		return err
	}
	return s.enqueue(frame)
}

// reply sends a reply to a client message; an encoding failure becomes a
// 500 error reply with the same type and id. It runs on the goroutine that
// handles the socket's messages (see enqueueReply for who writes it).
func (s *Socket) reply(m protocol.Message, t string, id protocol.ID) {
	s.replyIn(nil, m, t, id)
}

// replyIn is reply encoding into buf. It returns the frame, and whether
// the socket holds no reference to it (see enqueueReply): then the caller
// may reuse its buffer.
func (s *Socket) replyIn(buf []byte, m protocol.Message, t string, id protocol.ID) (frame []byte, released bool) {
	frame, err := s.codec.AppendEncode(buf, m)
	if err != nil {
		s.srv.log.Error("nes: encoding reply", "type", t, "error", err)
		e := protocol.NewErrorReply(http.StatusInternalServerError, "Failed serializing message")
		e.Type, e.HasType, e.ID = t, true, id
		if frame, err = s.codec.AppendEncode(nil, e); err != nil {
			return nil, false
		}
	}
	return frame, s.enqueueReply(frame)
}

var errInvalidJSON = errors.New("nes: message is a json.RawMessage that is not valid JSON")

// marshalMessage encodes a message value as JSON; a json.RawMessage is used
// as it is once checked.
func marshalMessage(msg any) (json.RawMessage, error) {
	if raw, ok := msg.(json.RawMessage); ok {
		if raw == nil {
			return json.RawMessage("null"), nil
		}
		if !protocol.ValidJSON(raw) {
			return nil, errInvalidJSON
		}
		return raw, nil
	}
	return json.Marshal(msg)
}
