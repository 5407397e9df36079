package redis

import (
	"context"
	"fmt"
	"sync"

	"github.com/nes-go/nes/nes"
)

// maxPooledBuffer is the largest buffer Publish keeps for reuse; larger
// ones, from exceptional envelopes, are left to the garbage collector.
const maxPooledBuffer = 64 << 10

var buffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// Publish sends e to every node of the deployment, this one included, with
// one PUBLISH of its binary form. It returns an error when e cannot be
// encoded, when ctx is done, after Close, or when Redis did not accept the
// message (unreachable, timed out); that error wraps the client's error.
// Publish may be called concurrently, and before Start. As with every
// command of the client, a Redis that stopped answering is given up on
// after the client's ReadTimeout, or ctx's deadline when the client's
// options set ContextTimeoutEnabled.
func (b *Broker) Publish(ctx context.Context, e *nes.Envelope) error {
	if b.closed.Load() {
		return errClosed
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("nes/redis: publish: %w", err)
	}
	buf := buffers.Get().(*[]byte)
	data, err := e.AppendBinary((*buf)[:0])
	if err != nil {
		buffers.Put(buf)
		return fmt.Errorf("nes/redis: publish: %w", err)
	}
	err = b.client.Publish(ctx, b.opts.Channel, data).Err()
	if err != nil {
		// The buffer is not reused: a client that queues commands (an
		// AutoPipeliner) may still hold it after an error.
		return fmt.Errorf("nes/redis: publish on %q: %w", b.opts.Channel, err)
	}
	// Redis replied, so the command was written: the client is done with data.
	if cap(data) <= maxPooledBuffer {
		*buf = data[:0]
		buffers.Put(buf)
	}
	b.stats.published.Add(1)
	return nil
}
