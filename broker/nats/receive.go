package nats

import (
	natsgo "github.com/nats-io/nats.go"
	"github.com/nes-go/nes/nes"
)

// receive is the subscription's callback. nats.go calls it from the
// subscription's one goroutine, in the order the server sent; m.Data is
// the message's own copy, so the envelope can alias it.
func (b *Broker) receive(r *run, m *natsgo.Msg) {
	if r.stopped.Load() || b.closed.Load() {
		return
	}
	var e nes.Envelope
	if err := e.UnmarshalBinary(m.Data); err != nil {
		b.malformed.Add(1)
		if b.log != nil {
			b.log.Warn("nes/nats: skipped a message that is not an envelope",
				"subject", m.Subject, "bytes", len(m.Data), "err", err)
		}
		return
	}
	b.received.Add(1)
	r.deliver(r.ctx, &e)
}
