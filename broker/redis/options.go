package redis

import (
	"log/slog"
	"time"
)

// Defaults for the zero [Options].
const (
	defaultChannel     = "nes"
	defaultHealthCheck = 3 * time.Second
)

// Options configure a [Broker]. The zero value is ready to use.
type Options struct {
	// Channel is the pub/sub channel all nodes of one deployment share.
	// Default "nes".
	Channel string
	// HealthCheck is how long the subscription may be silent before the
	// broker pings Redis over it to detect a dead connection. A ping that is
	// not answered within another HealthCheck closes the connection and
	// subscribes again on a new one. Default 3s.
	HealthCheck time.Duration
	// Logger receives lost connections, reconnects and undecodable
	// envelopes. nil: the adapter logs nothing.
	Logger *slog.Logger
}

// withDefaults returns o with its zero fields set to the defaults.
func (o Options) withDefaults() Options {
	if o.Channel == "" {
		o.Channel = defaultChannel
	}
	if o.HealthCheck <= 0 {
		o.HealthCheck = defaultHealthCheck
	}
	return o
}
