package nats

import (
	"context"
	"errors"
	"fmt"
	"sync"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nes-go/nes/nes"
)

// bufPool holds encoding buffers: nats.go copies a publication into its
// own buffer, so Publish can reuse its slice at once.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// maxPooled is the largest buffer Publish returns to bufPool, so that one
// large envelope does not pin its memory.
const maxPooled = 64 << 10

// Publish sends e to every node, this one included. Unless Options.Async is
// set it waits for the server's acknowledgement, until ctx is done or for
// at most 10 seconds if ctx has no deadline. It fails after Close, with a
// done ctx, and while the connection is down: nothing is buffered for
// later. Errors start with "nes/nats: ".
func (b *Broker) Publish(ctx context.Context, e *nes.Envelope) error {
	if b.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("nes/nats: publish: %w", err)
	}
	bp := bufPool.Get().(*[]byte)
	data, err := e.AppendBinary((*bp)[:0])
	if err != nil {
		bufPool.Put(bp)
		return fmt.Errorf("nes/nats: publish: %w", err)
	}
	var reconnects uint64
	if !b.async {
		reconnects = b.conn.Stats().Reconnects
	}
	err = b.conn.Publish(b.subject, data)
	if cap(data) <= maxPooled {
		*bp = data[:0]
		bufPool.Put(bp)
	}
	if err != nil {
		if errors.Is(err, natsgo.ErrReconnectBufExceeded) {
			return fmt.Errorf("nes/nats: publish: not connected to NATS: %w", err)
		}
		return fmt.Errorf("nes/nats: publish: %w", err)
	}
	if b.async {
		b.published.Add(1)
		return nil
	}
	fctx, cancel := withFlushDeadline(ctx)
	err = b.conn.FlushWithContext(fctx)
	cancel()
	if err != nil {
		return fmt.Errorf("nes/nats: publish: waiting for the server: %w", b.flushError(err))
	}
	// A flush begun while nats.go reconnects is acknowledged by the new
	// server, though the envelope went to the old connection, which may
	// have lost it.
	if b.conn.Stats().Reconnects != reconnects {
		return errors.New("nes/nats: publish: the connection was re-established before the server acknowledged: the envelope may be lost")
	}
	b.published.Add(1)
	return nil
}

// withFlushDeadline returns ctx with a deadline, which nats.go's
// FlushWithContext requires: defaultFlushTimeout if ctx has none.
func withFlushDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, defaultFlushTimeout)
}

// flushError explains nats.go's answer to a flush cut short by a lost
// connection: it closes the pending flushes' channels, which FlushWithContext
// reports as ErrConnectionClosed though the connection is reconnecting.
func (b *Broker) flushError(err error) error {
	if errors.Is(err, natsgo.ErrConnectionClosed) && !b.conn.IsClosed() {
		return fmt.Errorf("connection lost before the server acknowledged: %w", err)
	}
	return err
}
