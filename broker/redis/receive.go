package redis

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"time"

	"github.com/nes-go/nes/nes"
	goredis "github.com/redis/go-redis/v9"
)

// Back-off between attempts to reach Redis again after the subscription
// connection failed.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 2 * time.Second
)

// receive reads the subscription until ctx is cancelled by Close. It is the
// only goroutine that reads ps and the only one that calls deliver.
//
// go-redis's PubSub drops a connection that failed (EOF, reset, write
// error) and dials again and resubscribes in the same call, or in the next
// one when the dial failed; the subscription confirmation that follows is
// how a reconnect shows here. A connection that silently stopped answering
// only shows as read timeouts: a ping is sent after one, and a second one in
// a row replaces the PubSub.
func (b *Broker) receive(ctx context.Context, ps *goredis.PubSub, deliver func(context.Context, *nes.Envelope), done chan<- struct{}) {
	defer close(done)
	var (
		backoff time.Duration
		pinged  bool // a health-check ping is unanswered
		lost    bool // the connection failed since the last confirmation
	)
	for {
		msg, err := ps.ReceiveTimeout(ctx, b.opts.HealthCheck)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			switch {
			case isReadTimeout(err) && !pinged:
				pinged = true
				if err := ps.Ping(ctx); err != nil {
					// go-redis dropped the connection; it resubscribes
					// on the next receive.
					b.noteLost(&lost, "health-check ping failed", err)
				}
				continue
			case isReadTimeout(err):
				b.noteLost(&lost, "no answer to the health-check ping", err)
				pinged = false
				if ps = b.renew(ctx); ps == nil {
					return
				}
				continue
			}
			b.noteLost(&lost, "subscription connection failed", err)
			pinged = false
			backoff = min(max(2*backoff, minBackoff), maxBackoff)
			if !sleep(ctx, backoff) {
				return
			}
			continue
		}
		pinged, backoff = false, 0

		switch msg := msg.(type) {
		case *goredis.Message:
			b.handle(ctx, msg, deliver)
		case *goredis.Subscription:
			// Start consumed the first confirmation: any other one is
			// go-redis subscribing again on a new connection.
			if msg.Kind == "subscribe" {
				lost = false
				b.stats.reconnects.Add(1)
				b.log(slog.LevelInfo, "subscribed again after reconnecting")
			}
		}
	}
}

// handle decodes one message and delivers it.
func (b *Broker) handle(ctx context.Context, msg *goredis.Message, deliver func(context.Context, *nes.Envelope)) {
	// The envelope shares the bytes it is decoded from; this copy is its own.
	var e nes.Envelope
	if err := e.UnmarshalBinary([]byte(msg.Payload)); err != nil {
		b.stats.malformed.Add(1)
		b.log(slog.LevelWarn, "skipped a message that is not an envelope",
			slog.Int("bytes", len(msg.Payload)), slog.Any("error", err))
		return
	}
	b.stats.received.Add(1)
	deliver(ctx, &e)
}

// lost logs a failed subscription connection, at Warn the first time since
// the last confirmation and at Debug for the attempts that follow.
func (b *Broker) noteLost(lost *bool, msg string, err error) {
	level := slog.LevelWarn
	if *lost {
		level, msg = slog.LevelDebug, "still reconnecting: "+msg
	}
	*lost = true
	b.log(level, msg, slog.Any("error", err))
}

// renew replaces the broker's PubSub by a new one subscribed to the
// channel, closing the old one and its connection. It returns nil when
// Close ran.
func (b *Broker) renew(ctx context.Context) *goredis.PubSub {
	ps := b.client.Subscribe(ctx) // no I/O without channels
	b.mu.Lock()
	if b.state == stateClosed {
		b.mu.Unlock()
		_ = ps.Close()
		return nil
	}
	old := b.pubsub
	b.pubsub = ps
	b.mu.Unlock()
	_ = old.Close()
	// When this fails the PubSub keeps the channel and subscribes with the
	// next connection, which the next receive dials.
	if err := ps.Subscribe(ctx, b.opts.Channel); err != nil {
		b.log(slog.LevelDebug, "subscribing on a new connection failed", slog.Any("error", err))
	}
	return ps
}

// isReadTimeout reports whether err is a read that timed out on a
// connection that is still open, which go-redis keeps.
func isReadTimeout(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "read" && op.Timeout()
}

// sleep waits for d and reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
