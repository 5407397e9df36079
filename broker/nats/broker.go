package nats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nes-go/nes/nes"
)

// ErrClosed is returned by Start and Publish after Close.
var ErrClosed = errors.New("nes/nats: broker closed")

// Broker is a [nes.Broker] on a NATS connection. Make one with [New]; its
// methods are safe for concurrent use.
type Broker struct {
	conn         *natsgo.Conn
	subject      string
	async        bool
	pendingMsgs  int
	pendingBytes int
	log          *slog.Logger

	closed    atomic.Bool // Close was called; read without the lock
	published atomic.Uint64
	received  atomic.Uint64
	malformed atomic.Uint64

	mu             sync.Mutex
	isClosed       bool          // closed, under mu: orders Close against Start
	starting       chan struct{} // non-nil while a Start runs, closed when it ends
	run            *run          // what a successful Start acquired
	droppedBefore  uint64        // drops of the subscriptions of failed Starts
	reconnectsBase uint64        // the connection's reconnect count at New
	final          *Stats        // the counts as Close froze them
}

// run is what one Start acquired: a subscription, its goroutine and the
// hooks on the connection's callbacks.
type run struct {
	deliver func(context.Context, *nes.Envelope)
	ctx     context.Context // passed to deliver; cancelled when stopped
	cancel  context.CancelFunc
	stopped atomic.Bool // set before unsubscribing: deliver no more
	sub     *natsgo.Subscription
	hooks   *hooks        // nil without a Logger
	dropped atomic.Uint64 // the subscription's drops, as last read

	stopOnce sync.Once
	done     chan struct{} // closed once the subscription's goroutine ended
	doneOnce sync.Once
}

// New returns a broker on conn, which stays the caller's: Close does not
// close it. It fails if conn is nil or closed, if conn was made with NoEcho
// (a node must receive its own envelopes) or if the subject is not valid.
func New(conn *natsgo.Conn, opts Options) (*Broker, error) {
	if conn == nil {
		return nil, errors.New("nes/nats: nil connection")
	}
	if conn.IsClosed() {
		return nil, errors.New("nes/nats: connection is closed")
	}
	if conn.Opts.NoEcho {
		return nil, errors.New("nes/nats: connection made with NoEcho: a node must receive its own envelopes")
	}
	subject := opts.Subject
	if subject == "" {
		subject = DefaultSubject
	}
	if err := checkSubject(subject); err != nil {
		return nil, err
	}
	msgs, bytes := opts.PendingMessages, opts.PendingBytes
	if msgs == 0 {
		msgs = natsgo.DefaultSubPendingMsgsLimit
	}
	if bytes == 0 {
		bytes = natsgo.DefaultSubPendingBytesLimit
	}
	return &Broker{
		conn:           conn,
		subject:        subject,
		async:          opts.Async,
		pendingMsgs:    msgs,
		pendingBytes:   bytes,
		log:            opts.Logger,
		reconnectsBase: conn.Stats().Reconnects,
	}, nil
}

// checkSubject accepts a NATS subject one can publish to: dot-separated
// non-empty tokens, no white space, no wildcard token.
func checkSubject(s string) error {
	if strings.ContainsAny(s, " \t\r\n") {
		return fmt.Errorf("nes/nats: subject %q contains white space", s)
	}
	for tok := range strings.SplitSeq(s, ".") {
		switch tok {
		case "":
			return fmt.Errorf("nes/nats: subject %q has an empty token", s)
		case "*", ">":
			return fmt.Errorf("nes/nats: subject %q has a wildcard", s)
		}
	}
	return nil
}

// Start subscribes to the subject and returns once the server has the
// subscription, so that every envelope published afterwards, by any node,
// reaches deliver. deliver is called from one goroutine, in the order the
// server sent the envelopes, with a context Close cancels. Start fails
// after a successful Start and after Close; after a failed Start it may be
// called again.
func (b *Broker) Start(ctx context.Context, deliver func(ctx context.Context, e *nes.Envelope)) error {
	if deliver == nil {
		return errors.New("nes/nats: start: nil deliver")
	}
	b.mu.Lock()
	switch {
	case b.isClosed:
		b.mu.Unlock()
		return ErrClosed
	case b.starting != nil || b.run != nil:
		b.mu.Unlock()
		return errors.New("nes/nats: already started")
	}
	starting := make(chan struct{})
	b.starting = starting
	b.mu.Unlock()
	defer close(starting)

	r, err := b.start(ctx, deliver)

	b.mu.Lock()
	b.starting = nil
	closed := b.isClosed
	if err == nil && !closed {
		b.run = r
	}
	b.mu.Unlock()
	if err == nil && closed {
		// Close ran meanwhile and is waiting for this Start to end.
		b.stopRun(r)
		<-r.done
		return ErrClosed
	}
	return err
}

// start subscribes and waits for the server to have the subscription. On
// failure it has undone everything.
func (b *Broker) start(ctx context.Context, deliver func(context.Context, *nes.Envelope)) (*run, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("nes/nats: start: %w", err)
	}
	// A subscription made while disconnected would wait for the reconnect;
	// the caller wants to know now that NATS is unreachable.
	if !b.conn.IsConnected() {
		return nil, fmt.Errorf("nes/nats: start: not connected to NATS (%v)", b.conn.Status())
	}
	r := &run{deliver: deliver, done: make(chan struct{})}
	r.ctx, r.cancel = context.WithCancel(context.WithoutCancel(ctx))
	sub, err := b.conn.Subscribe(b.subject, func(m *natsgo.Msg) { b.receive(r, m) })
	if err != nil {
		r.cancel()
		return nil, fmt.Errorf("nes/nats: subscribe: %w", err)
	}
	// nats.go calls this when the subscription's goroutine has left its
	// loop: after Unsubscribe, or when the connection closes. It does not
	// call deliver after that.
	sub.SetClosedHandler(func(string) { r.doneOnce.Do(func() { close(r.done) }) })
	r.sub = sub

	if err = sub.SetPendingLimits(b.pendingMsgs, b.pendingBytes); err != nil {
		err = fmt.Errorf("nes/nats: subscribe: pending limits: %w", err)
	} else {
		fctx, cancel := withFlushDeadline(ctx)
		err = b.conn.FlushWithContext(fctx)
		cancel()
		if err != nil {
			err = fmt.Errorf("nes/nats: subscribe: waiting for the server: %w", b.flushError(err))
		}
	}
	if err != nil {
		b.stopRun(r)
		<-r.done // the goroutine at most finishes a deliver call it began
		b.mu.Lock()
		b.droppedBefore += r.dropped.Load()
		b.mu.Unlock()
		return nil, err
	}
	r.hooks = b.installHooks(r)
	return r, nil
}

// stopRun stops the deliveries of r and ends its subscription, once. The
// subscription's goroutine ends soon after; r.done tells when.
func (b *Broker) stopRun(r *run) {
	r.stopOnce.Do(func() {
		r.stopped.Store(true)
		r.cancel()
		r.hooks.disable()
		b.readDropped(r)
		// Unsubscribe fails only when the subscription or the connection
		// is closed already, which ends the goroutine just as well.
		_ = r.sub.Unsubscribe()
	})
}

// Close stops deliveries and ends the subscription, then waits, until ctx
// is done, for the subscription's goroutine to end: when Close returns nil,
// deliver is not running and is not called again. Close does not close the
// connection. It may be called more than once, and without Start; called
// from deliver it can only end with ctx.
func (b *Broker) Close(ctx context.Context) error {
	b.mu.Lock()
	b.isClosed = true
	b.closed.Store(true)
	starting := b.starting
	b.mu.Unlock()

	if starting != nil { // a Start that sees isClosed undoes itself
		select {
		case <-starting:
		case <-ctx.Done():
			return fmt.Errorf("nes/nats: close: waiting for Start: %w", ctx.Err())
		}
	}
	b.mu.Lock()
	r := b.run
	b.mu.Unlock()
	if r != nil {
		b.stopRun(r)
	}
	b.freeze(r)
	if r == nil {
		return nil
	}
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("nes/nats: close: waiting for the subscription to end: %w", ctx.Err())
	}
}
