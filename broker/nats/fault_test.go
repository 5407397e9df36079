package nats

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nes-go/nes/nes"
)

// TestServerRestart stops the NATS server under two nodes and starts it
// again on the same port: while it is down Publish fails, promptly and
// without buffering anything; once it is back both nodes deliver again,
// without a restart.
func TestServerRestart(t *testing.T) {
	for _, async := range []bool{false, true} {
		t.Run(map[bool]string{false: "sync", true: "async"}[async], func(t *testing.T) {
			testServerRestart(t, async)
		})
	}
}

func testServerRestart(t *testing.T, async bool) {
	ts := runServer(t)
	var logs logBuffer
	var appReconnects atomic.Uint64 // the application's callback still runs
	pubConn := connect(t, ts, natsgo.ReconnectHandler(func(*natsgo.Conn) { appReconnects.Add(1) }))
	pub := newBroker(t, pubConn, Options{Async: async, Logger: logs.logger()})
	cp := newCollector()
	if err := pub.Start(context.Background(), cp.deliver); err != nil {
		t.Fatal(err)
	}
	sub, cs, _ := started(t, ts, Options{})

	ctx := context.Background()
	if err := pub.Publish(ctx, publishEnvelope(0)); err != nil {
		t.Fatal(err)
	}
	sameEnvelope(t, cs.next(t), publishEnvelope(0))
	sameEnvelope(t, cp.next(t), publishEnvelope(0))

	ts.Stop(t)

	// Publish fails within a bounded time (at once, unless nats.go has not
	// noticed the loss yet), and returns no error again while down.
	down := func(i int) *nes.Envelope {
		return &nes.Envelope{Kind: nes.KindBroadcast, Message: fmt.Appendf(nil, `"down %d"`, i)}
	}
	deadline := time.Now().Add(5 * time.Second)
	var err error
	for i := 0; ; i++ {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		err = pub.Publish(pctx, down(i))
		cancel()
		if err != nil {
			break
		}
		if i >= 500 || time.Now().After(deadline) {
			t.Fatal("Publish kept succeeding with the server stopped")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.HasPrefix(err.Error(), "nes/nats: ") {
		t.Fatalf("error %q lacks the package prefix", err)
	}
	t.Logf("publish while down: %v", err)
	for i := range 20 {
		start := time.Now()
		if err := pub.Publish(ctx, down(1000+i)); err == nil {
			t.Fatal("Publish succeeded with the server stopped")
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("a failing Publish took %v", d)
		}
	}
	eventually(t, wait, "the disconnect logged", func() bool { return strings.Contains(logs.String(), "disconnected") })

	ts.Start(t)
	restarted := time.Now()

	// Poll: publish a probe every 100ms until both nodes deliver one.
	var probe *nes.Envelope
	deadline = time.Now().Add(20 * time.Second)
	got := map[*collector]bool{}
	for i := 0; len(got) < 2; i++ {
		if time.Now().After(deadline) || i > 200 {
			t.Fatal("no delivery within 20s of the server's restart")
		}
		probe = &nes.Envelope{Kind: nes.KindPublish, Path: "/probe", Message: fmt.Appendf(nil, "%d", i)}
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		_ = pub.Publish(pctx, probe) // fails until reconnected
		cancel()
		tick := time.After(100 * time.Millisecond)
	drain:
		for {
			for _, c := range []*collector{cp, cs} {
				select {
				case e := <-c.ch:
					if e.Path != "/probe" {
						// An envelope whose Publish failed was kept and sent later.
						t.Fatalf("envelope published while down delivered: %s", e.Message)
					}
					got[c] = true
				default:
				}
			}
			select {
			case <-tick:
				break drain
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	t.Logf("delivering again %v after the restart", time.Since(restarted).Round(time.Millisecond))

	// Once reconnected, publishing works normally.
	for i := 1; i <= 10; i++ {
		if err := pub.Publish(ctx, publishEnvelope(i)); err != nil {
			t.Fatalf("Publish after reconnecting: %v", err)
		}
	}
	for _, c := range []*collector{cp, cs} {
		for i := 1; i <= 10; i++ {
			e := c.next(t)
			for e.Path == "/probe" { // late probes of the loop above
				e = c.next(t)
			}
			sameEnvelope(t, e, publishEnvelope(i))
		}
	}
	for _, b := range []*Broker{pub, sub} {
		if s := b.Stats(); s.Reconnects == 0 {
			t.Fatalf("Reconnects = 0 after a restart: %+v", s)
		}
	}
	eventually(t, wait, "the reconnect logged", func() bool { return strings.Contains(logs.String(), "reconnected") })
	eventually(t, wait, "the application's reconnect handler called", func() bool { return appReconnects.Load() > 0 })
}

// TestStartWhileDown checks that Start fails at once while NATS is down and
// works once it is back.
func TestStartWhileDown(t *testing.T) {
	ts := runServer(t)
	conn := connect(t, ts)
	b := newBroker(t, conn, Options{})
	ts.Stop(t)
	eventually(t, wait, "the connection notices", func() bool { return !conn.IsConnected() })
	c := newCollector()
	start := time.Now()
	if err := b.Start(context.Background(), c.deliver); err == nil {
		t.Fatal("Start with NATS down: no error")
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("a failing Start took %v", d)
	}
	ts.Start(t)
	eventually(t, 20*time.Second, "the connection is back", conn.IsConnected)
	if err := b.Start(context.Background(), c.deliver); err != nil {
		t.Fatalf("Start after NATS came back: %v", err)
	}
	if err := b.Publish(context.Background(), publishEnvelope(1)); err != nil {
		t.Fatal(err)
	}
	sameEnvelope(t, c.next(t), publishEnvelope(1))
}
