package nats

import (
	"log/slog"
	"time"

	natsgo "github.com/nats-io/nats.go"
)

// DefaultSubject is the subject used when [Options.Subject] is empty.
const DefaultSubject = "nes"

// reconnectWait is the pause Connect sets between rounds of reconnect
// attempts.
const reconnectWait = 250 * time.Millisecond

// defaultFlushTimeout bounds the acknowledgement wait of a Publish whose
// context has no deadline (nats.go's FlushWithContext requires one). It is
// the timeout of nats.go's own Conn.Flush.
const defaultFlushTimeout = 10 * time.Second

// Options configures a [Broker]. The zero value is ready to use.
type Options struct {
	// Subject is the NATS subject all nodes of one deployment share. It
	// must be a valid subject without wildcards. Default "nes".
	Subject string

	// Async makes Publish return once the envelope is in the connection's
	// outbound buffer. By default Publish also flushes and waits for the
	// server's acknowledgement (a PING/PONG round trip), so an error
	// reports an envelope the server may not have got.
	Async bool

	// PendingMessages and PendingBytes limit the envelopes received but not
	// yet delivered (nats.go's subscription pending limits). Envelopes
	// beyond them are dropped by nats.go as a slow consumer, counted in
	// Stats().Dropped and logged. Zero means nats.go's default, a negative
	// value no limit.
	PendingMessages, PendingBytes int

	// Logger receives disconnects, reconnects, slow-consumer drops and
	// undecodable envelopes. With nil the broker logs nothing.
	Logger *slog.Logger
}

// Connect connects to the NATS server(s) at url (a comma-separated list is
// allowed) with the options this broker needs in front of the caller's,
// which override them: unlimited reconnects every 250ms, no buffering of
// publications while disconnected (so that Publish fails instead) and no
// retrying of the first connect, and an error handler that does nothing
// (nats.go's own prints to stderr; the broker reports through
// Options.Logger instead). See the package documentation for why.
// The connection belongs to the caller, who closes it.
func Connect(url string, options ...natsgo.Option) (*natsgo.Conn, error) {
	opts := make([]natsgo.Option, 0, 5+len(options))
	opts = append(opts,
		natsgo.ErrorHandler(func(*natsgo.Conn, *natsgo.Subscription, error) {}),
		natsgo.MaxReconnects(-1),
		natsgo.ReconnectBufSize(-1),
		natsgo.ReconnectWait(reconnectWait),
		natsgo.RetryOnFailedConnect(false),
	)
	opts = append(opts, options...)
	return natsgo.Connect(url, opts...)
}
