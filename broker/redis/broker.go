package redis

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nes-go/nes/nes"
	goredis "github.com/redis/go-redis/v9"
)

// confirmTimeout bounds how long Start waits for Redis to confirm the
// subscription when ctx has no earlier deadline.
const confirmTimeout = 10 * time.Second

// errClosed is returned by Start and Publish after Close. It wraps
// [nes.ErrServerClosed], which the in-memory broker returns in that case.
var errClosed = fmt.Errorf("nes/redis: broker closed: %w", nes.ErrServerClosed)

// state is where a Broker is in its life.
type state uint8

const (
	stateNew      state = iota // Start not called, or failed
	stateStarting              // Start is subscribing
	stateRunning               // the receive goroutine runs
	stateClosed                // Close was called
)

// Broker is a [nes.Broker] on Redis pub/sub. Create it with [New].
type Broker struct {
	client goredis.UniversalClient
	opts   Options
	stats  counters
	closed atomic.Bool // set by Close, read by Publish without the lock

	mu     sync.Mutex
	state  state
	pubsub *goredis.PubSub    // the subscription; replaced by the receive goroutine on a dead connection
	cancel context.CancelFunc // stops the receive goroutine
	done   chan struct{}      // closed when the receive goroutine ended

	finished chan struct{} // made by the first Close, closed when all ended
}

var _ nes.Broker = (*Broker)(nil)

// New returns a broker that publishes and subscribes through client: a
// *goredis.Client (standalone, or from goredis.NewFailoverClient for
// Sentinel) or a *goredis.ClusterClient. The client stays the
// application's: the broker never closes it, so close it after the
// server shut down. New does no I/O; Start subscribes.
func New(client goredis.UniversalClient, opts Options) *Broker {
	if client == nil {
		panic("nes/redis: New with a nil client")
	}
	return &Broker{client: client, opts: opts.withDefaults()}
}

// Start subscribes to the channel and returns once Redis confirmed the
// subscription, so an envelope published after Start returned is received.
// From then on a goroutine of the broker receives envelopes and calls
// deliver with them, one at a time, in the order Redis sent them, with a
// context that is cancelled by Close.
//
// Start returns an error when Redis is unreachable or does not confirm the
// subscription within 10 seconds or before ctx is done, when it was already
// started, or after Close. After a failed Start it may be called again.
// Dialing watches ctx; the connection's handshake (HELLO, AUTH) is bounded
// by the client's ReadTimeout, and by ctx only when the client's options set
// ContextTimeoutEnabled.
func (b *Broker) Start(ctx context.Context, deliver func(ctx context.Context, e *nes.Envelope)) error {
	if deliver == nil {
		return errors.New("nes/redis: Start with a nil deliver function")
	}
	b.mu.Lock()
	switch b.state {
	case stateClosed:
		b.mu.Unlock()
		return errClosed
	case stateStarting, stateRunning:
		b.mu.Unlock()
		return errors.New("nes/redis: broker already started")
	}
	// Subscribe without channels does no I/O. The PubSub is published
	// under the lock so a concurrent Close can end the subscribing.
	ps := b.client.Subscribe(ctx)
	b.state, b.pubsub = stateStarting, ps
	b.mu.Unlock()

	if err := b.subscribe(ctx, ps); err != nil {
		_ = ps.Close()
		b.mu.Lock()
		closed := b.state == stateClosed
		if !closed {
			b.state, b.pubsub = stateNew, nil
		}
		b.mu.Unlock()
		if closed {
			return errClosed
		}
		return err
	}

	b.mu.Lock()
	if b.state == stateClosed { // Close ran while we subscribed; it closed ps.
		b.mu.Unlock()
		return errClosed
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	b.state, b.cancel, b.done = stateRunning, cancel, make(chan struct{})
	go b.receive(rctx, ps, deliver, b.done)
	b.mu.Unlock()
	return nil
}

// subscribe sends SUBSCRIBE on ps and waits for Redis to confirm it.
func (b *Broker) subscribe(ctx context.Context, ps *goredis.PubSub) error {
	// A read does not watch ctx, only its deadline: closing ps ends a read
	// blocked past cancellation.
	aborted := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		_ = ps.Close()
		close(aborted)
	})
	defer func() {
		if !stop() {
			<-aborted
		}
	}()

	if err := ps.Subscribe(ctx, b.opts.Channel); err != nil {
		return b.startError(ctx, err)
	}
	deadline := time.Now().Add(confirmTimeout)
	for {
		timeout := time.Until(deadline)
		if timeout <= 0 {
			return fmt.Errorf("nes/redis: subscribe to %q: no confirmation from Redis within %v", b.opts.Channel, confirmTimeout)
		}
		msg, err := ps.ReceiveTimeout(ctx, timeout)
		if err != nil {
			return b.startError(ctx, err)
		}
		if s, ok := msg.(*goredis.Subscription); ok && s.Kind == "subscribe" && s.Channel == b.opts.Channel {
			return nil
		}
	}
}

// startError wraps err, the reason subscribing failed, preferring ctx's
// error when ctx ended it.
func (b *Broker) startError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	return fmt.Errorf("nes/redis: subscribe to %q: %w", b.opts.Channel, err)
}

// Close ends the subscription Start opened and waits for the receive
// goroutine to end: when Close returns nil, deliver is not called again and
// no goroutine of the broker runs. It returns ctx's error if ctx is done
// first; the goroutine then still ends soon, and calling Close again waits
// for it. Close does not close the client given to [New]. It may be called
// without Start, and more than once; Start and Publish fail after it.
func (b *Broker) Close(ctx context.Context) error {
	b.mu.Lock()
	if b.finished == nil {
		b.finished = make(chan struct{})
		ps, cancel, done := b.pubsub, b.cancel, b.done
		b.state, b.pubsub, b.cancel = stateClosed, nil, nil
		b.closed.Store(true)
		if cancel != nil {
			cancel() // interrupts a back-off wait or a dial
		}
		// PubSub.Close waits for a dial or resubscribe in progress, which
		// need not watch ctx: it runs apart so Close can honour ctx.
		go b.finish(ps, done, b.finished)
	}
	finished := b.finished
	b.mu.Unlock()

	select {
	case <-finished:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("nes/redis: close: receive goroutine still running: %w", ctx.Err())
	}
}

// finish closes ps, which interrupts a blocked read, waits for the receive
// goroutine to end when done is not nil, and closes finished.
func (b *Broker) finish(ps *goredis.PubSub, done <-chan struct{}, finished chan<- struct{}) {
	defer close(finished)
	if ps != nil {
		_ = ps.Close()
	}
	if done != nil {
		<-done
	}
}
