package redis

import "sync/atomic"

// Stats are counters of a [Broker] since [New].
type Stats struct {
	// Published is the number of envelopes Redis accepted from Publish.
	Published uint64
	// Received is the number of envelopes received on the channel and
	// handed to deliver.
	Received uint64
	// Malformed is the number of payloads received on the channel that were
	// not envelopes; they were skipped.
	Malformed uint64
	// Reconnects is the number of times the subscription was established
	// again after its connection was lost.
	Reconnects uint64
}

// counters are the live values behind [Stats].
type counters struct {
	published, received, malformed, reconnects atomic.Uint64
}

// Stats returns the broker's counters. It may be called at any time, from
// any goroutine.
func (b *Broker) Stats() Stats {
	return Stats{
		Published:  b.stats.published.Load(),
		Received:   b.stats.received.Load(),
		Malformed:  b.stats.malformed.Load(),
		Reconnects: b.stats.reconnects.Load(),
	}
}
