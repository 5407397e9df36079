package nats

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nes-go/nes/nes"
)

func TestRoundTrip(t *testing.T) {
	ts := runServer(t)
	a, ca, _ := started(t, ts, Options{})
	_, cb, _ := started(t, ts, Options{})

	envelopes := []*nes.Envelope{
		{Kind: nes.KindPublish, Path: "/a/b", Message: json.RawMessage(`{"x":1}`)},
		{Kind: nes.KindBroadcast, Message: json.RawMessage(`"hello"`)},
		{Kind: nes.KindPublish, Path: "/u", Message: json.RawMessage(`[1,2,3]`), ToUser: true, User: "jane"},
		{Kind: nes.KindBroadcast, Message: json.RawMessage(`null`), ToUser: true, User: ""},
		{Kind: nes.KindPublish, Path: "/i", Message: json.RawMessage(`{"deep":{"é":"ü"}}`),
			Internal: json.RawMessage(`{"role":"admin"}`)},
		{Kind: nes.KindBroadcast, Message: json.RawMessage(` 1 `), Internal: json.RawMessage(`{}`),
			ToUser: true, User: "bob"},
		{Kind: nes.KindPublish, Path: "/big", Message: json.RawMessage(`"` + strings.Repeat("z", 200_000) + `"`)},
	}
	ctx := context.Background()
	for _, e := range envelopes {
		if err := a.Publish(ctx, e); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}
	for _, c := range []*collector{ca, cb} { // the publisher receives its own
		for _, want := range envelopes {
			got := c.next(t)
			sameEnvelope(t, got, want)
			wb, _ := want.MarshalBinary()
			gb, _ := got.MarshalBinary()
			if string(wb) != string(gb) {
				t.Fatalf("binary form differs")
			}
		}
		c.none(t)
	}
	if s := a.Stats(); s.Published != uint64(len(envelopes)) || s.Received != uint64(len(envelopes)) {
		t.Fatalf("stats %+v", s)
	}
}

func TestOrder(t *testing.T) {
	ts := runServer(t)
	for _, async := range []bool{false, true} {
		t.Run(map[bool]string{false: "sync", true: "async"}[async], func(t *testing.T) {
			pub, cp, _ := started(t, ts, Options{Async: async, Subject: "order"})
			_, cs, _ := started(t, ts, Options{Subject: "order"})
			const n = 2000
			for i := range n {
				if err := pub.Publish(context.Background(), publishEnvelope(i)); err != nil {
					t.Fatalf("Publish %d: %v", i, err)
				}
			}
			for _, c := range []*collector{cp, cs} {
				for i := range n {
					sameEnvelope(t, c.next(t), publishEnvelope(i))
				}
			}
			if s := pub.Stats(); s.Published != n {
				t.Fatalf("Published = %d, want %d", s.Published, n)
			}
		})
	}
}

func TestNewRefuses(t *testing.T) {
	ts := runServer(t)
	if _, err := New(nil, Options{}); err == nil {
		t.Error("New(nil): no error")
	}
	noEcho := connect(t, ts, natsgo.NoEcho())
	if _, err := New(noEcho, Options{}); err == nil || !strings.Contains(err.Error(), "NoEcho") {
		t.Errorf("New(NoEcho conn) = %v", err)
	}
	conn := connect(t, ts)
	for _, subject := range []string{"a b", "a..b", ".a", "a.>", "*", "a.*.b"} {
		if _, err := New(conn, Options{Subject: subject}); err == nil {
			t.Errorf("New(subject %q): no error", subject)
		}
	}
	closed := connect(t, ts)
	closed.Close()
	if _, err := New(closed, Options{}); err == nil {
		t.Error("New(closed conn): no error")
	}
}

func TestStartTwice(t *testing.T) {
	ts := runServer(t)
	b, c, _ := started(t, ts, Options{})
	if err := b.Start(context.Background(), c.deliver); err == nil {
		t.Fatal("second Start: no error")
	}
	// The first subscription still works, once.
	if err := b.Publish(context.Background(), publishEnvelope(1)); err != nil {
		t.Fatal(err)
	}
	sameEnvelope(t, c.next(t), publishEnvelope(1))
	c.none(t)
}

func TestStartAgainAfterFailedStart(t *testing.T) {
	ts := runServer(t)
	conn := connect(t, ts)
	b := newBroker(t, conn, Options{})
	c := newCollector()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Start(ctx, c.deliver); !errors.Is(err, context.Canceled) {
		t.Fatalf("Start(cancelled ctx) = %v", err)
	}
	if err := b.Start(context.Background(), nil); err == nil {
		t.Fatal("Start(nil deliver): no error")
	}
	if err := b.Start(context.Background(), c.deliver); err != nil {
		t.Fatalf("Start after a failed one: %v", err)
	}
	if err := b.Publish(context.Background(), publishEnvelope(2)); err != nil {
		t.Fatal(err)
	}
	sameEnvelope(t, c.next(t), publishEnvelope(2))
}

func TestClose(t *testing.T) {
	ts := runServer(t)
	ctx := context.Background()

	t.Run("without Start", func(t *testing.T) {
		b := newBroker(t, connect(t, ts), Options{})
		for range 3 {
			if err := b.Close(ctx); err != nil {
				t.Fatalf("Close: %v", err)
			}
		}
		if err := b.Start(ctx, newCollector().deliver); !errors.Is(err, ErrClosed) {
			t.Fatalf("Start after Close = %v", err)
		}
		if err := b.Publish(ctx, publishEnvelope(0)); !errors.Is(err, ErrClosed) {
			t.Fatalf("Publish after Close = %v", err)
		}
	})

	t.Run("idempotent", func(t *testing.T) {
		b, _, conn := started(t, ts, Options{})
		for range 3 {
			if err := b.Close(ctx); err != nil {
				t.Fatalf("Close: %v", err)
			}
		}
		if err := b.Publish(ctx, publishEnvelope(0)); !errors.Is(err, ErrClosed) ||
			!strings.HasPrefix(err.Error(), "nes/nats: ") {
			t.Fatalf("Publish after Close = %v", err)
		}
		if conn.IsClosed() {
			t.Fatal("Close closed the application's connection")
		}
		if n := conn.NumSubscriptions(); n != 0 {
			t.Fatalf("%d subscriptions left on the connection", n)
		}
	})

	t.Run("after the connection closed", func(t *testing.T) {
		b, _, conn := started(t, ts, Options{})
		conn.Close()
		cctx, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		if err := b.Close(cctx); err != nil {
			t.Fatalf("Close: %v", err)
		}
	})
}

// TestNoDeliverAfterClose closes a broker while another node publishes to
// it as fast as it can.
func TestNoDeliverAfterClose(t *testing.T) {
	ts := runServer(t)
	pub, _, _ := started(t, ts, Options{Async: true, Subject: "storm"})

	var closed, late atomic.Bool
	var delivered atomic.Uint64
	deliver := func(context.Context, *nes.Envelope) {
		if closed.Load() {
			late.Store(true)
		}
		delivered.Add(1)
		time.Sleep(50 * time.Microsecond) // a little work, so deliveries queue up
	}
	b := newBroker(t, connect(t, ts), Options{Subject: "storm"})
	if err := b.Start(context.Background(), deliver); err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; i < 200_000; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := pub.Publish(context.Background(), publishEnvelope(i)); err != nil {
				t.Errorf("Publish: %v", err)
				return
			}
		}
	})
	eventually(t, wait, "deliveries begin", func() bool { return delivered.Load() > 100 })

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := b.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	closed.Store(true)
	after := delivered.Load()
	// Keep publishing for a while: nothing may reach the closed broker.
	for range 200 {
		if err := pub.Publish(context.Background(), publishEnvelope(0)); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if err := pub.conn.FlushTimeout(wait); err != nil {
		t.Fatal(err)
	}
	if late.Load() || delivered.Load() != after {
		t.Fatalf("deliver called after Close returned (%d calls before, %d after)", after, delivered.Load())
	}
}

// TestCloseWaitsForDeliver checks that Close cancels the context deliver
// gets, waits for a running deliver call, and gives up at its own context's
// end.
func TestCloseWaitsForDeliver(t *testing.T) {
	ts := runServer(t)
	entered := make(chan struct{})
	release := make(chan struct{})
	var cancelled atomic.Bool
	deliver := func(ctx context.Context, e *nes.Envelope) {
		close(entered)
		<-release
		cancelled.Store(ctx.Err() != nil)
	}
	b := newBroker(t, connect(t, ts), Options{})
	if err := b.Start(context.Background(), deliver); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(context.Background(), publishEnvelope(1)); err != nil {
		t.Fatal(err)
	}
	<-entered

	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := b.Close(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close while deliver runs = %v, want deadline exceeded", err)
	}
	close(release)
	ctx, cancel2 := context.WithTimeout(context.Background(), wait)
	defer cancel2()
	if err := b.Close(ctx); err != nil {
		t.Fatalf("Close after deliver returned: %v", err)
	}
	if !cancelled.Load() {
		t.Fatal("deliver's context not cancelled by Close")
	}
}

func TestPublishContext(t *testing.T) {
	ts := runServer(t)
	b, c, _ := started(t, ts, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := b.Publish(ctx, publishEnvelope(1))
	if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "nes/nats: ") {
		t.Fatalf("Publish(cancelled ctx) = %v", err)
	}
	dctx, dcancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer dcancel()
	if err := b.Publish(dctx, publishEnvelope(2)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Publish(expired ctx) = %v", err)
	}
	// Neither was sent.
	if err := b.Publish(context.Background(), publishEnvelope(3)); err != nil {
		t.Fatal(err)
	}
	sameEnvelope(t, c.next(t), publishEnvelope(3))
	if s := b.Stats(); s.Published != 1 {
		t.Fatalf("Published = %d, want 1", s.Published)
	}
}

func TestPublishBadEnvelope(t *testing.T) {
	ts := runServer(t)
	b, _, _ := started(t, ts, Options{})
	err := b.Publish(context.Background(), &nes.Envelope{Kind: nes.KindPublish, Path: "/x"})
	if !errors.Is(err, nes.ErrBadEnvelope) || !strings.HasPrefix(err.Error(), "nes/nats: ") {
		t.Fatalf("Publish(no message) = %v", err)
	}
}

func TestMalformedSkipped(t *testing.T) {
	ts := runServer(t)
	var logs logBuffer
	b, c, _ := started(t, ts, Options{Logger: logs.logger()})
	raw := connect(t, ts)
	for _, data := range [][]byte{nil, []byte("garbage"), {1, 1, 0, 1, '/', '{'}, {9, 1, 0}} {
		if err := raw.Publish(DefaultSubject, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := raw.FlushTimeout(wait); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(context.Background(), publishEnvelope(7)); err != nil {
		t.Fatal(err)
	}
	sameEnvelope(t, c.next(t), publishEnvelope(7))
	// The raw messages went out first on a connection the server delivers
	// in order after raw's flush: they were all handled before.
	if s := b.Stats(); s.Malformed != 4 || s.Received != 1 {
		t.Fatalf("stats %+v, want 4 malformed and 1 received", s)
	}
	if n := strings.Count(logs.String(), "not an envelope"); n != 4 {
		t.Fatalf("%d log lines about malformed messages, want 4:\n%s", n, logs.String())
	}
}

func TestNoLoggerNoLogs(t *testing.T) {
	// Without a Logger the broker installs no callbacks on the connection.
	ts := runServer(t)
	conn := connect(t, ts)
	b := newBroker(t, conn, Options{})
	if err := b.Start(context.Background(), newCollector().deliver); err != nil {
		t.Fatal(err)
	}
	if conn.DisconnectErrHandler() != nil || conn.ReconnectHandler() != nil {
		t.Fatal("callbacks installed without a Logger")
	}
}

func TestSlowConsumerDropped(t *testing.T) {
	ts := runServer(t)
	var logs logBuffer
	var appErrors atomic.Uint64 // the application's own handler still runs
	conn := connect(t, ts, natsgo.ErrorHandler(func(_ *natsgo.Conn, _ *natsgo.Subscription, err error) {
		if errors.Is(err, natsgo.ErrSlowConsumer) {
			appErrors.Add(1)
		}
	}))
	b := newBroker(t, conn, Options{PendingMessages: 2, PendingBytes: -1, Logger: logs.logger()})
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	var delivered atomic.Uint64
	deliver := func(ctx context.Context, e *nes.Envelope) {
		select {
		case entered <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-ctx.Done():
		}
		delivered.Add(1)
	}
	if err := b.Start(context.Background(), deliver); err != nil {
		t.Fatal(err)
	}
	pub, _, _ := started(t, ts, Options{})
	if err := pub.Publish(context.Background(), publishEnvelope(0)); err != nil {
		t.Fatal(err)
	}
	<-entered // deliver now blocks on envelope 0
	const n = 50
	for i := 1; i <= n; i++ {
		if err := pub.Publish(context.Background(), publishEnvelope(i)); err != nil {
			t.Fatal(err)
		}
	}
	// The server sent the n envelopes to b's connection before the PONG
	// answering this flush, so nats.go has handled them all.
	if err := conn.FlushTimeout(wait); err != nil {
		t.Fatal(err)
	}
	s := b.Stats()
	if s.Dropped != n-1 { // the one being delivered counts: one more fits
		t.Fatalf("Dropped = %d, want %d", s.Dropped, n-1)
	}
	close(release)
	eventually(t, wait, "the pending envelopes delivered", func() bool { return delivered.Load() == 2 })
	eventually(t, wait, "slow consumer logged", func() bool {
		return strings.Contains(logs.String(), "slow consumer")
	})
	eventually(t, wait, "the application's error handler called", func() bool { return appErrors.Load() > 0 })
	if s := b.Stats(); s.Received != 2 || s.Dropped != n-1 {
		t.Fatalf("stats %+v", s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if s := b.Stats(); s.Dropped != n-1 {
		t.Fatalf("Dropped after Close = %d", s.Dropped)
	}
}

func TestConnectOptions(t *testing.T) {
	ts := runServer(t)
	conn := connect(t, ts)
	o := conn.Opts
	if o.MaxReconnect != -1 || o.ReconnectBufSize != -1 || o.ReconnectWait != reconnectWait || o.RetryOnFailedConnect {
		t.Fatalf("Connect options: MaxReconnect %d ReconnectBufSize %d ReconnectWait %v RetryOnFailedConnect %v",
			o.MaxReconnect, o.ReconnectBufSize, o.ReconnectWait, o.RetryOnFailedConnect)
	}
	over := connect(t, ts, natsgo.ReconnectWait(time.Second), natsgo.Name("node-1"))
	if over.Opts.ReconnectWait != time.Second || over.Opts.Name != "node-1" || over.Opts.ReconnectBufSize != -1 {
		t.Fatalf("caller options not applied: %+v", over.Opts)
	}

	url := ts.URL()
	ts.Stop(t)
	start := time.Now()
	if c, err := Connect(url, natsgo.Timeout(time.Second)); err == nil {
		c.Close()
		t.Fatal("Connect to a stopped server: no error")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Connect took %v to fail", d)
	}
}
