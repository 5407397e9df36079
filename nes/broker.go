package nes

import (
	"context"
	"encoding/json"
	"sync"
)

// EnvelopeKind tells what an [Envelope] carries.
type EnvelopeKind uint8

// Envelope kinds.
const (
	// KindPublish is a publication on a subscription path.
	KindPublish EnvelopeKind = iota + 1
	// KindBroadcast is an update for every socket.
	KindBroadcast
)

// Envelope is a publication or broadcast on its way between nodes. Its
// message is already JSON so every node delivers the same bytes. Brokers
// that cross a network carry it in the form [Envelope.AppendBinary] writes.
type Envelope struct {
	Kind     EnvelopeKind
	Path     string          // KindPublish: the concrete path
	Message  json.RawMessage // the message, as JSON
	Internal json.RawMessage // nes.Internal data for filters, nil if none
	User     string          // with ToUser: deliver only to this user's sockets
	ToUser   bool
}

// Broker carries envelopes to every node of a deployment, this one included.
// Delivery is at most once, like nes; an envelope the broker could not accept
// is reported by Publish as an error, never dropped silently.
//
// The server calls Start once (again only after a failed Start), before the
// first publication, with the function that delivers an envelope to this
// node's sockets. The broker calls deliver from one goroutine at a time, in
// the order the envelopes of one publisher reached it; deliver only queues
// frames and runs filters, it never waits for a socket. Publish may be called
// concurrently. Close is called once by [Server.Shutdown], after the sockets
// closed: when it returns, deliver is not called again and every goroutine
// the broker started has ended. Close releases what Start acquired, not the
// connection the broker was built on, which belongs to the application.
type Broker interface {
	Start(ctx context.Context, deliver func(ctx context.Context, e *Envelope)) error
	Publish(ctx context.Context, e *Envelope) error
	Close(ctx context.Context) error
}

// memoryBroker delivers every envelope on this node, synchronously.
type memoryBroker struct {
	mu      sync.RWMutex
	deliver func(ctx context.Context, e *Envelope)
}

// NewMemoryBroker returns the in-memory broker used when Options.Broker is
// nil: it delivers on this node only, in the publisher's goroutine, without
// copying the envelope.
func NewMemoryBroker() Broker { return &memoryBroker{} }

func (b *memoryBroker) Start(_ context.Context, deliver func(ctx context.Context, e *Envelope)) error {
	b.mu.Lock()
	b.deliver = deliver
	b.mu.Unlock()
	return nil
}

func (b *memoryBroker) Publish(ctx context.Context, e *Envelope) error {
	b.mu.RLock()
	deliver := b.deliver
	b.mu.RUnlock()
	if deliver == nil {
		return ErrServerClosed
	}
	deliver(ctx, e)
	return nil
}

func (b *memoryBroker) Close(context.Context) error {
	b.mu.Lock()
	b.deliver = nil
	b.mu.Unlock()
	return nil
}
