package brokertest

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/nes-go/nes/nes"
)

// Hub is an in-process stand-in for a broker server, for tests of the
// suite itself and of applications with several nodes in one process:
// envelopes cross it in their binary form, in order, to every node.
type Hub struct {
	mu      sync.Mutex
	down    bool
	members map[*hubBroker]struct{}
}

var errHubDown = errors.New("brokertest: hub down")

// SetDown makes the hub unreachable (Publish and Start fail) or reachable
// again.
func (h *Hub) SetDown(down bool) {
	h.mu.Lock()
	h.down = down
	h.mu.Unlock()
}

type hubBroker struct {
	hub  *Hub
	in   chan []byte
	quit chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// Broker returns a new node's broker on the hub.
func (h *Hub) Broker(testing.TB) nes.Broker {
	return &hubBroker{hub: h, in: make(chan []byte, 1<<16), quit: make(chan struct{})}
}

func (b *hubBroker) Start(_ context.Context, deliver func(context.Context, *nes.Envelope)) error {
	b.hub.mu.Lock()
	defer b.hub.mu.Unlock()
	if b.hub.down {
		return errHubDown
	}
	if b.hub.members == nil {
		b.hub.members = make(map[*hubBroker]struct{})
	}
	b.hub.members[b] = struct{}{}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for {
			select {
			case <-b.quit:
				return
			case data := <-b.in:
				var e nes.Envelope
				if err := e.UnmarshalBinary(data); err != nil {
					continue // cannot happen: Publish encoded it
				}
				deliver(context.Background(), &e)
			}
		}
	}()
	return nil
}

func (b *hubBroker) Publish(ctx context.Context, e *nes.Envelope) error {
	data, err := e.MarshalBinary()
	if err != nil {
		return err
	}
	b.hub.mu.Lock()
	defer b.hub.mu.Unlock()
	if b.hub.down {
		return errHubDown
	}
	for m := range b.hub.members {
		select {
		case m.in <- data:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (b *hubBroker) Close(context.Context) error {
	b.once.Do(func() {
		b.hub.mu.Lock()
		delete(b.hub.members, b)
		b.hub.mu.Unlock()
		close(b.quit)
	})
	b.wg.Wait()
	return nil
}
