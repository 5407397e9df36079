package nats

import (
	"errors"
	"sync/atomic"

	natsgo "github.com/nats-io/nats.go"
)

// hooks are the broker's links in the connection's callback chains: they
// log, then call the callback the application had set. Start puts them in
// front; Close only disables them, since taking them out could undo a
// callback the application set since. A disabled link just forwards.
type hooks struct {
	off atomic.Bool
}

func (h *hooks) disable() {
	if h != nil {
		h.off.Store(true)
	}
}

func (h *hooks) on() bool { return !h.off.Load() }

// installHooks chains the broker's logging to the connection's disconnect,
// reconnect and async error callbacks. Without a Logger it installs nothing:
// the counts in Stats come from the connection and the subscription.
func (b *Broker) installHooks(r *run) *hooks {
	if b.log == nil {
		return nil
	}
	h := &hooks{}
	c := b.conn

	prevDisc := c.DisconnectErrHandler()
	var prevDiscOld natsgo.ConnHandler
	if prevDisc == nil {
		// nats.go calls the deprecated DisconnectedCB only when no
		// DisconnectedErrCB is set: installing ours must not lose it.
		prevDiscOld = c.Opts.DisconnectedCB
	}
	c.SetDisconnectErrHandler(func(nc *natsgo.Conn, err error) {
		if h.on() {
			b.log.Warn("nes/nats: disconnected from NATS, publishing fails until reconnected",
				"subject", b.subject, "err", err)
		}
		if prevDisc != nil {
			prevDisc(nc, err)
		} else if prevDiscOld != nil {
			prevDiscOld(nc)
		}
	})

	prevRec := c.ReconnectHandler()
	c.SetReconnectHandler(func(nc *natsgo.Conn) {
		if h.on() {
			b.log.Info("nes/nats: reconnected to NATS",
				"subject", b.subject, "url", nc.ConnectedUrlRedacted())
		}
		if prevRec != nil {
			prevRec(nc)
		}
	})

	prevErr := c.ErrorHandler()
	c.SetErrorHandler(func(nc *natsgo.Conn, sub *natsgo.Subscription, err error) {
		if h.on() && sub == r.sub {
			if errors.Is(err, natsgo.ErrSlowConsumer) {
				b.readDropped(r)
				b.log.Warn("nes/nats: deliver fell behind, envelopes dropped (slow consumer)",
					"subject", b.subject, "dropped", r.dropped.Load())
			} else {
				b.log.Error("nes/nats: subscription error", "subject", b.subject, "err", err)
			}
		}
		if prevErr != nil {
			prevErr(nc, sub, err)
		}
	})
	return h
}
