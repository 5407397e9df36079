package brokertest

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/nes-go/nes/client"
	"github.com/nes-go/nes/nes"
)

// burst is how many publications the throughput figure is measured over.
const burst = 20000

// Bench measures publish → delivery through a broker: a Go client (JSON)
// subscribed on node B receives what node A publishes. With a nil
// newBroker it measures the in-memory broker on a single node (publisher
// and subscriber on the same server), the baseline.
//
// It reports the latency of one publication at a time from Publish to the
// client's handler (p50-µs, p99-µs over b.N publications) and the
// throughput of a burst of 20,000 publications made by 8 concurrent
// publishers (msgs/s, until the client has received them all).
func Bench(b *testing.B, newBroker func(testing.TB) nes.Broker) {
	var pub, sub *node
	if newBroker == nil {
		pub = newNode(b, "A", nil)
		sub = pub
	} else {
		nodes := newCluster(b, newBroker, 2)
		pub, sub = nodes[0], nodes[1]
	}
	const path = "/rooms/bench"
	got := make(chan struct{}, burst)
	c := client.New(sub.ws, &client.Options{Timeout: 10 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Connect(ctx, &client.ConnectOptions{NoReconnect: true}); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = c.Disconnect(context.Background()) }()
	if _, err := c.Subscribe(ctx, path, func(json.RawMessage, client.Flags) { got <- struct{}{} }); err != nil {
		b.Fatal(err)
	}
	msg := map[string]any{"text": "a chat message of a typical size, with some words in it", "user": "ann", "seq": 0}
	publish := func(i int) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return pub.srv.Publish(ctx, path, msg)
	}
	receive := func() {
		select {
		case <-got:
		case <-time.After(10 * time.Second):
			b.Fatal("publication not delivered within 10s")
		}
	}
	// Warm up connections and pools.
	for i := range 100 {
		if err := publish(i); err != nil {
			b.Fatal(err)
		}
		receive()
	}

	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if err := publish(i); err != nil {
			b.Fatal(err)
		}
		receive()
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")

	const publishers = 8
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, publishers)
	for p := range publishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := p; i < burst; i += publishers {
				if err := publish(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for range burst {
		select {
		case <-got:
		case err := <-errs:
			b.Fatal(err)
		case <-time.After(30 * time.Second):
			b.Fatal("burst not delivered within 30s")
		}
	}
	wg.Wait()
	b.ReportMetric(float64(burst)/time.Since(start).Seconds(), "msgs/s")
	b.ReportMetric(0, "ns/op") // the figures above are the measurement
}
