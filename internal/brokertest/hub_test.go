package brokertest

import (
	"testing"

	"github.com/nes-go/nes/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func hubHarness() Harness {
	h := &Hub{}
	return Harness{
		NewBroker:   h.Broker,
		StopServer:  func(testing.TB) { h.SetDown(true) },
		StartServer: func(testing.TB) { h.SetDown(false) },
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
func BenchmarkHub(b *testing.B) { Bench(b, (&Hub{}).Broker) }
