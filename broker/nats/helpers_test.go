package nats

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/nes-go/nes/internal/syncbuf"
	"github.com/nes-go/nes/nes"
)

// wait bounds every wait for an envelope in these tests.
const wait = 10 * time.Second

// connect makes a connection with Connect and closes it when the test ends.
func connect(t testing.TB, ts *testServer, opts ...natsgo.Option) *natsgo.Conn {
	t.Helper()
	conn, err := Connect(ts.URL(), opts...)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(conn.Close)
	return conn
}

// newBroker makes a broker on conn and closes it when the test ends.
func newBroker(t testing.TB, conn *natsgo.Conn, opts Options) *Broker {
	t.Helper()
	b, err := New(conn, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := b.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return b
}

// collector is a deliver function that hands envelopes to the test.
type collector struct {
	ch chan *nes.Envelope
}

func newCollector() *collector { return &collector{ch: make(chan *nes.Envelope, 4096)} }

func (c *collector) deliver(ctx context.Context, e *nes.Envelope) {
	select {
	case c.ch <- e:
	case <-ctx.Done(): // Close: the test no longer reads
	}
}

// next returns the next envelope, failing the test after wait.
func (c *collector) next(t testing.TB) *nes.Envelope {
	t.Helper()
	select {
	case e := <-c.ch:
		return e
	case <-time.After(wait):
		t.Fatal("no envelope delivered")
		return nil
	}
}

// none checks that nothing is waiting in the collector.
func (c *collector) none(t testing.TB) {
	t.Helper()
	select {
	case e := <-c.ch:
		t.Fatalf("unexpected envelope %+v", e)
	default:
	}
}

// started makes a broker on its own connection to ts and starts it.
func started(t testing.TB, ts *testServer, opts Options) (*Broker, *collector, *natsgo.Conn) {
	t.Helper()
	conn := connect(t, ts)
	b := newBroker(t, conn, opts)
	c := newCollector()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := b.Start(ctx, c.deliver); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return b, c, conn
}

func publishEnvelope(n int) *nes.Envelope {
	return &nes.Envelope{
		Kind:    nes.KindPublish,
		Path:    fmt.Sprintf("/items/%d", n),
		Message: fmt.Appendf(nil, `{"n":%d}`, n),
	}
}

func sameEnvelope(t testing.TB, got, want *nes.Envelope) {
	t.Helper()
	if got.Kind != want.Kind || got.Path != want.Path || got.User != want.User || got.ToUser != want.ToUser ||
		!bytes.Equal(got.Message, want.Message) || !bytes.Equal(got.Internal, want.Internal) ||
		(got.Internal == nil) != (want.Internal == nil) {
		t.Fatalf("envelope\n got %+v\nwant %+v", got, want)
	}
}

// logBuffer is a slog handler's output, safe for the goroutines of nats.go.
type logBuffer struct{ syncbuf.Buffer }

func (l *logBuffer) logger() *slog.Logger { return l.Logger() }

// eventually polls cond every 10ms until it holds, failing after d.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
