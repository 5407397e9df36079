package nats

import (
	"testing"

	"github.com/nes-go/nes/internal/brokertest"
	"github.com/nes-go/nes/nes"
)

// harness runs the conformance suite against an embedded nats-server: each
// node gets its own connection, made with Connect.
func harness(t testing.TB) brokertest.Harness {
	ts := runServer(t)
	return brokertest.Harness{
		NewBroker:   newBrokerFunc(ts, Options{}),
		StopServer:  ts.Stop,
		StartServer: ts.Start,
	}
}

// newBrokerFunc returns a function making a node's broker on its own
// connection to ts, closed when the test ends. The server under test calls
// Start and Close on the broker.
func newBrokerFunc(ts *testServer, opts Options) func(testing.TB) nes.Broker {
	return func(t testing.TB) nes.Broker {
		t.Helper()
		b, err := New(connect(t, ts), opts)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		return b
	}
}

func TestConformance(t *testing.T) { brokertest.Run(t, harness(t)) }

func TestFaults(t *testing.T) { brokertest.RunFaults(t, harness(t)) }

func BenchmarkCrossNode(b *testing.B) {
	ts := runServer(b)
	b.Run("memory", func(b *testing.B) { brokertest.Bench(b, nil) }) // the single-node baseline, same run
	b.Run("sync", func(b *testing.B) { brokertest.Bench(b, newBrokerFunc(ts, Options{})) })
	b.Run("async", func(b *testing.B) { brokertest.Bench(b, newBrokerFunc(ts, Options{Async: true})) })
}
