package nes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Defaults applied by [New] to zero-valued [Options] fields.
const (
	DefaultHeartbeatInterval = 15 * time.Second
	DefaultHeartbeatTimeout  = 5 * time.Second
	DefaultHelloTimeout      = 5 * time.Second
	DefaultMaxMessageBytes   = 1 << 20 // 1 MiB per inbound frame
	DefaultMaxQueueBytes     = 4 << 20 // 4 MiB of queued outbound frames per socket
	DefaultWriteTimeout      = 10 * time.Second
)

// Heartbeat configures the server's pings. The zero value means the defaults
// (15 s interval, 5 s timeout). A socket that sends nothing for Interval +
// Timeout is disconnected.
type Heartbeat struct {
	// Interval between pings. Zero means DefaultHeartbeatInterval.
	Interval time.Duration
	// Timeout is how long after a ping the server waits before it disconnects
	// a silent socket; it must be below Interval. Zero means
	// DefaultHeartbeatTimeout.
	Timeout time.Duration
	// Disabled turns heartbeats off (announced as "heartbeat": false).
	Disabled bool
}

// Options configures a [Server]. The zero value is a working configuration:
// every field documents what its zero value means.
type Options struct {
	// Heartbeat configures pings; see [Heartbeat].
	Heartbeat Heartbeat

	// HelloTimeout is how long a new socket may take to send a successful
	// hello before it is closed. Zero means DefaultHelloTimeout; a negative
	// value disables the timeout.
	HelloTimeout time.Duration

	// MaxConnections caps the number of open sockets; an upgrade beyond it is
	// accepted then closed at once (as nes does). Zero means no limit.
	MaxConnections int

	// Origins lists the origins allowed to open a socket, as full origins
	// ("https://app.example.com") or host patterns ("*.example.com",
	// "localhost:8080") matched with path.Match against the Origin's host.
	// A request whose Origin host equals its Host header is always allowed,
	// and a request without an Origin header (a non-browser client such as
	// the Node client or the Go client) is allowed. Anything else gets HTTP
	// 401 at the upgrade, as nes answers.
	Origins []string

	// InsecureSkipOriginCheck accepts upgrades from any origin. It exposes
	// every user to cross-site websocket hijacking once cookies authenticate
	// sockets; do not set it outside tests.
	InsecureSkipOriginCheck bool

	// MaxMessageBytes limits the size of one inbound frame; a larger frame
	// closes the socket with status 1009 (message too big). Zero means
	// DefaultMaxMessageBytes. The official client sets no limit on frames it
	// receives, so there is no outbound equivalent.
	MaxMessageBytes int64

	// MaxQueueBytes bounds the bytes queued for one socket and not yet
	// written. A socket over the bound is closed with [CloseSlowConsumer].
	// Zero means DefaultMaxQueueBytes.
	MaxQueueBytes int

	// WriteTimeout bounds one write to a socket's connection (a batch of
	// frames, at most 64 KiB). A socket whose write times out is closed.
	// Zero means DefaultWriteTimeout.
	WriteTimeout time.Duration

	// Compression negotiates permessage-deflate (without context takeover)
	// with clients that offer it. Off by default: it costs CPU on every frame
	// and memory per socket; see docs/benchmarks.md.
	Compression bool

	// MaxChunkChars splits every outbound frame longer than this many UTF-16
	// code units into chunks, as nes's payload.maxChunkChars. Zero means no
	// chunking.
	MaxChunkChars int

	// Headers selects the route response headers copied into request replies
	// (and protocol error replies): nil copies none, []string{"*"} copies
	// all, any other list is a case-insensitive allow list.
	Headers []string

	// HandleInline makes the goroutine that reads a socket's message handle
	// it and write the reply itself, as long as the message takes less than
	// 2 ms (a longer one goes on in that goroutine while a new one reads).
	// That saves the hand-off to a handler (and, while other sockets wait
	// for one, the hand-off of the reply to a writer): the most requests
	// per second and CPU time, and the lowest latency while cores are free.
	// By default messages go to the server's shared handler goroutines, and
	// replies made while other sockets wait for a handler to its shared
	// writers, which keeps the latency tail short when the server and its
	// clients saturate the cores. See docs/benchmarks.md.
	HandleInline bool

	// OnConnection runs during a successful hello, before its subscriptions;
	// an error fails the hello with the error's status (see [Error]).
	OnConnection func(ctx context.Context, s *Socket) error

	// OnDisconnection runs once after a socket closed and its subscriptions
	// were removed, for every socket whose hello got past OnConnection (so
	// the two hooks pair up).
	OnDisconnection func(s *Socket)

	// OnMessage answers custom messages (client.message()). Its result is
	// sent back as JSON; an error becomes an error reply (see [Error]).
	// Without it, custom messages get 501 Not Implemented.
	OnMessage func(ctx context.Context, s *Socket, msg json.RawMessage) (any, error)

	// Auth turns on authentication; nil means none: hello.auth is ignored
	// and every socket is anonymous. See AuthOptions.
	Auth *AuthOptions

	// Broker carries publications and broadcasts between nodes. Nil means an
	// in-memory broker: this process only.
	Broker Broker

	// Logger receives the server's diagnostics. Nil means silence.
	Logger *slog.Logger
}

// withDefaults returns a copy of o with zero values resolved.
func (o Options) withDefaults() Options {
	if o.Heartbeat.Interval == 0 {
		o.Heartbeat.Interval = DefaultHeartbeatInterval
	}
	if o.Heartbeat.Timeout == 0 {
		o.Heartbeat.Timeout = DefaultHeartbeatTimeout
	}
	if o.HelloTimeout == 0 {
		o.HelloTimeout = DefaultHelloTimeout
	}
	if o.MaxMessageBytes == 0 {
		o.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if o.MaxQueueBytes == 0 {
		o.MaxQueueBytes = DefaultMaxQueueBytes
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(discardHandler{})
	}
	o.Headers = append([]string(nil), o.Headers...)
	o.Origins = append([]string(nil), o.Origins...)
	return o
}

// validate reports the first invalid option of resolved options.
func (o Options) validate() error {
	var errs []error
	if !o.Heartbeat.Disabled {
		if o.Heartbeat.Interval < 0 || o.Heartbeat.Timeout < 0 {
			errs = append(errs, errors.New("heartbeat interval and timeout must be positive"))
		} else if o.Heartbeat.Timeout >= o.Heartbeat.Interval {
			errs = append(errs, fmt.Errorf("heartbeat timeout (%v) must be below its interval (%v)", o.Heartbeat.Timeout, o.Heartbeat.Interval))
		}
		if o.Heartbeat.Interval%time.Millisecond != 0 || o.Heartbeat.Timeout%time.Millisecond != 0 {
			errs = append(errs, errors.New("heartbeat interval and timeout must be whole milliseconds"))
		}
	}
	if o.MaxConnections < 0 {
		errs = append(errs, fmt.Errorf("MaxConnections must not be negative (got %d)", o.MaxConnections))
	}
	if o.MaxMessageBytes < 0 {
		errs = append(errs, fmt.Errorf("MaxMessageBytes must not be negative (got %d)", o.MaxMessageBytes))
	}
	if o.MaxQueueBytes < 0 {
		errs = append(errs, fmt.Errorf("MaxQueueBytes must not be negative (got %d)", o.MaxQueueBytes))
	}
	if o.WriteTimeout < 0 {
		errs = append(errs, fmt.Errorf("WriteTimeout must not be negative (got %v)", o.WriteTimeout))
	}
	if o.MaxChunkChars < 0 {
		errs = append(errs, fmt.Errorf("MaxChunkChars must not be negative (got %d)", o.MaxChunkChars))
	}
	for _, h := range o.Headers {
		if h == "" || strings.ContainsAny(h, " \t\r\n:") {
			errs = append(errs, fmt.Errorf("Headers: invalid header name %q", h))
		}
	}
	for _, p := range o.Origins {
		if err := checkOriginPattern(p); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("nes: invalid options: %w", errors.Join(errs...))
	}
	return nil
}

type discardHandler struct{}

func (discardHandler) Enabled(context.Context, slog.Level) bool  { return false }
func (discardHandler) Handle(context.Context, slog.Record) error { return nil }
func (d discardHandler) WithAttrs([]slog.Attr) slog.Handler      { return d }
func (d discardHandler) WithGroup(string) slog.Handler           { return d }
