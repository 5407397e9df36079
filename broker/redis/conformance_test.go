package redis

import (
	"testing"

	"github.com/nes-go/nes/internal/brokertest"
	"github.com/nes-go/nes/nes"
)

// harness runs the conformance suite against one redis-server for the
// test, each node with its own client.
func harness(t testing.TB) brokertest.Harness {
	srv := startRedis(t)
	return brokertest.Harness{
		NewBroker:   newBrokerFunc(srv),
		StopServer:  srv.Stop,
		StartServer: srv.Start,
	}
}

// newBrokerFunc returns a function making a broker on a new client to srv;
// the client is closed when the test that asked for it ends.
func newBrokerFunc(srv *redisServer) func(t testing.TB) nes.Broker {
	return func(t testing.TB) nes.Broker {
		return New(newClient(t, srv), Options{})
	}
}

func TestConformance(t *testing.T) { brokertest.Run(t, harness(t)) }

func TestFaults(t *testing.T) { brokertest.RunFaults(t, harness(t)) }

func BenchmarkCrossNode(b *testing.B) {
	srv := startRedis(b)
	b.Run("memory", func(b *testing.B) { brokertest.Bench(b, nil) }) // the single-node baseline, same run
	b.Run("redis", func(b *testing.B) { brokertest.Bench(b, newBrokerFunc(srv)) })
}
