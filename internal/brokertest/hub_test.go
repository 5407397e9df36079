package brokertest

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/nes-go/nes/internal/leakcheck"
	"github.com/nes-go/nes/nes"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// hub is an in-process stand-in for a broker server, so the suite itself is
// tested without one: envelopes cross it in their binary form.
type hub struct {
	mu      sync.Mutex
	down    bool
	members map[*hubBroker]struct{}
}

var errHubDown = errors.New("hub down")

func (h *hub) setDown(down bool) {
	h.mu.Lock()
	h.down = down
	h.mu.Unlock()
}

type hubBroker struct {
	hub  *hub
	in   chan []byte
	quit chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

func (h *hub) newBroker(testing.TB) nes.Broker {
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
					panic(err) // the suite's own stand-in: a bug, not input
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

func hubHarness() Harness {
	h := &hub{}
	return Harness{
		NewBroker:   h.newBroker,
		StopServer:  func(testing.TB) { h.setDown(true) },
		StartServer: func(testing.TB) { h.setDown(false) },
	}
}

// The suite passes against the in-process hub.
func TestSuiteOnHub(t *testing.T) { Run(t, hubHarness()) }

func TestFaultsOnHub(t *testing.T) { RunFaults(t, hubHarness()) }

// BenchmarkMemory is the single-node in-memory baseline of the adapters'
// BenchmarkCrossNode.
func BenchmarkMemory(b *testing.B) { Bench(b, nil) }

// BenchmarkHub is the in-process hub: the cost of the envelope's binary
// form and of a second node, without a network.
func BenchmarkHub(b *testing.B) { Bench(b, (&hub{}).newBroker) }
