package nats

// Stats are a broker's counts since New.
type Stats struct {
	// Published counts the envelopes Publish sent: acknowledged by the
	// server, or with Options.Async written to the connection.
	Published uint64
	// Received counts the envelopes received and passed to deliver.
	Received uint64
	// Malformed counts the messages on the subject that were not envelopes.
	// They are skipped (and logged).
	Malformed uint64
	// Dropped counts the envelopes nats.go dropped because deliver fell
	// behind the subscription's pending limits (a slow consumer).
	Dropped uint64
	// Reconnects counts the times the connection was re-established.
	Reconnects uint64
}

// Stats returns the broker's counts. After Close, Dropped and Reconnects
// keep the values they had then.
func (b *Broker) Stats() Stats {
	b.mu.Lock()
	final, r, dropped := b.final, b.run, b.droppedBefore
	b.mu.Unlock()
	s := Stats{
		Published: b.published.Load(),
		Received:  b.received.Load(),
		Malformed: b.malformed.Load(),
	}
	if final != nil {
		s.Dropped, s.Reconnects = final.Dropped, final.Reconnects
		return s
	}
	if r != nil {
		b.readDropped(r)
		dropped += r.dropped.Load()
	}
	s.Dropped = dropped
	s.Reconnects = b.conn.Stats().Reconnects - b.reconnectsBase
	return s
}

// readDropped records the drop count of r's subscription, which nats.go
// only tells while the subscription is open.
func (b *Broker) readDropped(r *run) {
	n, err := r.sub.Dropped()
	if err != nil || n <= 0 {
		return
	}
	// Readers may race; the count only grows, so keep the largest.
	for {
		old := r.dropped.Load()
		if uint64(n) <= old || r.dropped.CompareAndSwap(old, uint64(n)) {
			return
		}
	}
}

// freeze keeps the counts that come from the subscription and the
// connection as they are when Close ends the subscription (r, nil without
// one), once.
func (b *Broker) freeze(r *run) {
	reconnects := b.conn.Stats().Reconnects - b.reconnectsBase
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.final != nil {
		return
	}
	dropped := b.droppedBefore
	if r != nil {
		dropped += r.dropped.Load()
	}
	b.final = &Stats{Dropped: dropped, Reconnects: reconnects}
}
