package redis

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nes-go/nes/nes"
	goredis "github.com/redis/go-redis/v9"
)

// sink collects what a broker delivers.
type sink struct {
	ch     chan *nes.Envelope
	closed atomic.Bool  // set once the broker's Close returned
	late   atomic.Int64 // deliveries after closed was set
}

func newSink() *sink { return &sink{ch: make(chan *nes.Envelope, 1024)} }

func (s *sink) deliver(_ context.Context, e *nes.Envelope) {
	if s.closed.Load() {
		s.late.Add(1)
		return
	}
	select {
	case s.ch <- e:
	default: // the tests never let this many pile up
	}
}

// next returns the next delivered envelope, failing the test after timeout.
func (s *sink) next(t testing.TB, timeout time.Duration) *nes.Envelope {
	t.Helper()
	select {
	case e := <-s.ch:
		return e
	case <-time.After(timeout):
		t.Fatalf("nothing delivered within %v", timeout)
		return nil
	}
}

// startBroker returns a started broker on its own client to srv, closed
// when the test ends.
func startBroker(t testing.TB, srv *redisServer, opts Options) (*Broker, *sink) {
	t.Helper()
	b := New(newClient(t, srv), opts)
	s := newSink()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.Start(ctx, s.deliver); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { closeBroker(t, b) })
	return b, s
}

func closeBroker(t testing.TB, b *Broker) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func publish(t testing.TB, b *Broker, e *nes.Envelope) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.Publish(ctx, e); err != nil {
		t.Fatalf("Publish: %v", err)
	}
}

func msg(i int) *nes.Envelope {
	return &nes.Envelope{Kind: nes.KindPublish, Path: "/n", Message: json.RawMessage(strconv.Itoa(i))}
}

// sameEnvelope fails the test unless got and want are equal, field by
// field and in their binary form.
func sameEnvelope(t testing.TB, got, want *nes.Envelope) {
	t.Helper()
	gb, err := got.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	wb, err := want.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(gb, wb) {
		t.Errorf("binary form: got %q, want %q", gb, wb)
	}
	if got.Kind != want.Kind || got.Path != want.Path || got.User != want.User || got.ToUser != want.ToUser ||
		!bytes.Equal(got.Message, want.Message) || !bytes.Equal(got.Internal, want.Internal) ||
		(got.Internal == nil) != (want.Internal == nil) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestRoundTrip(t *testing.T) {
	srv := startRedis(t)
	a, sa := startBroker(t, srv, Options{})
	_, sb := startBroker(t, srv, Options{})

	envelopes := []*nes.Envelope{
		{Kind: nes.KindPublish, Path: "/items/5", Message: json.RawMessage(`{"id":5,"name":"ünïcode ✓"}`)},
		{Kind: nes.KindBroadcast, Message: json.RawMessage(`"hello everyone"`)},
		{Kind: nes.KindPublish, Path: "/inbox", Message: json.RawMessage(`[1,2,3]`), User: "john", ToUser: true},
		{Kind: nes.KindBroadcast, Message: json.RawMessage(`null`), User: "", ToUser: true},
		{Kind: nes.KindPublish, Path: "/secret", Message: json.RawMessage(`{"a":1}`), Internal: json.RawMessage(`{"owner":"jane"}`)},
		{Kind: nes.KindPublish, Path: "/all", Message: json.RawMessage(`true`), Internal: json.RawMessage(`[]`), User: "x\x00y", ToUser: true},
		{Kind: nes.KindPublish, Path: "/big", Message: json.RawMessage(`"` + string(bytes.Repeat([]byte("z"), 100<<10)) + `"`)},
	}
	for _, e := range envelopes {
		publish(t, a, e)
	}
	for _, s := range []*sink{sa, sb} {
		for _, want := range envelopes {
			sameEnvelope(t, s.next(t, 5*time.Second), want)
		}
	}
	if st := a.Stats(); st.Published != uint64(len(envelopes)) || st.Received != uint64(len(envelopes)) || st.Malformed != 0 || st.Reconnects != 0 {
		t.Errorf("Stats() = %+v", st)
	}
}

func TestOrder(t *testing.T) {
	srv := startRedis(t)
	a, _ := startBroker(t, srv, Options{Channel: "ordered"})
	_, sb := startBroker(t, srv, Options{Channel: "ordered"})
	const n = 500
	for i := range n {
		publish(t, a, msg(i))
	}
	for i := range n {
		if got := string(sb.next(t, 5*time.Second).Message); got != strconv.Itoa(i) {
			t.Fatalf("envelope %d: got message %s", i, got)
		}
	}
}

func TestChannelsAreSeparate(t *testing.T) {
	srv := startRedis(t)
	a, sa := startBroker(t, srv, Options{Channel: "one"})
	b, sb := startBroker(t, srv, Options{Channel: "two"})
	publish(t, a, msg(1))
	publish(t, b, msg(2))
	if got := string(sa.next(t, 5*time.Second).Message); got != "1" {
		t.Errorf("channel one got %s", got)
	}
	if got := string(sb.next(t, 5*time.Second).Message); got != "2" {
		t.Errorf("channel two got %s", got)
	}
	select {
	case e := <-sa.ch:
		t.Errorf("channel one also got %s", e.Message)
	case e := <-sb.ch:
		t.Errorf("channel two also got %s", e.Message)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestStartTwice(t *testing.T) {
	srv := startRedis(t)
	b, s := startBroker(t, srv, Options{})
	if err := b.Start(context.Background(), s.deliver); err == nil {
		t.Fatal("second Start: no error")
	}
	// The first subscription still works.
	publish(t, b, msg(1))
	s.next(t, 5*time.Second)
}

func TestStartNilDeliver(t *testing.T) {
	srv := startRedis(t)
	b := New(newClient(t, srv), Options{})
	if err := b.Start(context.Background(), nil); err == nil {
		t.Fatal("Start(nil): no error")
	}
	closeBroker(t, b)
}

func TestClose(t *testing.T) {
	srv := startRedis(t)
	client := newClient(t, srv)

	t.Run("without Start", func(t *testing.T) {
		b := New(client, Options{})
		closeBroker(t, b)
		closeBroker(t, b)
		if err := b.Start(context.Background(), newSink().deliver); !errors.Is(err, nes.ErrServerClosed) {
			t.Errorf("Start after Close: %v, want ErrServerClosed", err)
		}
	})
	t.Run("idempotent", func(t *testing.T) {
		b := New(client, Options{})
		if err := b.Start(context.Background(), newSink().deliver); err != nil {
			t.Fatal(err)
		}
		closeBroker(t, b)
		closeBroker(t, b)
	})
	t.Run("publish after", func(t *testing.T) {
		b := New(client, Options{})
		if err := b.Start(context.Background(), newSink().deliver); err != nil {
			t.Fatal(err)
		}
		closeBroker(t, b)
		err := b.Publish(context.Background(), msg(1))
		if !errors.Is(err, nes.ErrServerClosed) {
			t.Errorf("Publish after Close: %v, want ErrServerClosed", err)
		}
	})
	t.Run("keeps the client", func(t *testing.T) {
		b := New(client, Options{})
		if err := b.Start(context.Background(), newSink().deliver); err != nil {
			t.Fatal(err)
		}
		closeBroker(t, b)
		if err := client.Ping(context.Background()).Err(); err != nil {
			t.Errorf("client unusable after Close: %v", err)
		}
	})
}

func TestPublishCancelled(t *testing.T) {
	srv := startRedis(t)
	b, s := startBroker(t, srv, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Publish(ctx, msg(1)); !errors.Is(err, context.Canceled) {
		t.Errorf("Publish with a cancelled context: %v", err)
	}
	publish(t, b, msg(2))
	if got := string(s.next(t, 5*time.Second).Message); got != "2" {
		t.Errorf("got %s, want the publication after the cancelled one", got)
	}
	if st := b.Stats(); st.Published != 1 {
		t.Errorf("Published = %d, want 1", st.Published)
	}
}

func TestPublishBadEnvelope(t *testing.T) {
	srv := startRedis(t)
	b, _ := startBroker(t, srv, Options{})
	err := b.Publish(context.Background(), &nes.Envelope{Kind: nes.KindPublish, Path: "/x"})
	if !errors.Is(err, nes.ErrBadEnvelope) {
		t.Errorf("Publish without a message: %v, want ErrBadEnvelope", err)
	}
}

func TestMalformed(t *testing.T) {
	srv := startRedis(t)
	logs := &logBuffer{}
	b, s := startBroker(t, srv, Options{Logger: logs.logger()})
	raw := newClient(t, srv)
	ctx := context.Background()
	for _, p := range []string{"", "not an envelope", "\x01\x01\x00\x02/x{", "\x09\x01\x00\x00{}"} {
		if err := raw.Publish(ctx, defaultChannel, p).Err(); err != nil {
			t.Fatal(err)
		}
	}
	publish(t, b, msg(7))
	if got := string(s.next(t, 5*time.Second).Message); got != "7" {
		t.Errorf("got %s", got)
	}
	if st := b.Stats(); st.Malformed != 4 || st.Received != 1 {
		t.Errorf("Stats() = %+v, want 4 malformed, 1 received", st)
	}
	if n := logs.count("not an envelope"); n != 4 {
		t.Errorf("%d malformed messages logged, want 4:\n%s", n, logs)
	}
}

func TestNoDeliverAfterClose(t *testing.T) {
	srv := startRedis(t)
	b, s := startBroker(t, srv, Options{})
	pub, _ := startBroker(t, srv, Options{})

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 20000 {
			select {
			case <-stop:
				return
			default:
			}
			if err := pub.Publish(context.Background(), msg(i)); err != nil {
				t.Errorf("Publish: %v", err)
				return
			}
		}
	})
	s.next(t, 5*time.Second) // deliveries are under way
	closeBroker(t, b)
	s.closed.Store(true)
	time.Sleep(200 * time.Millisecond) // let more publications arrive
	close(stop)
	wg.Wait()
	if n := s.late.Load(); n != 0 {
		t.Errorf("deliver called %d times after Close returned", n)
	}
}

func TestStartUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	client := goredis.NewClient(&goredis.Options{Addr: addr})
	defer client.Close()
	b := New(client, Options{})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := b.Start(ctx, newSink().deliver); err == nil {
		t.Fatal("Start against a closed port: no error")
	} else {
		t.Logf("Start error after %v: %v", time.Since(start).Round(time.Millisecond), err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Start took %v", d)
	}
	if err := b.Publish(ctx, msg(1)); err == nil {
		t.Error("Publish to a closed port: no error")
	}
	closeBroker(t, b)
}

func TestStartAgainAfterFailure(t *testing.T) {
	srv := startRedis(t)
	srv.Stop(t)
	b := New(newClient(t, srv), Options{})
	t.Cleanup(func() { closeBroker(t, b) })
	s := newSink()
	if err := b.Start(context.Background(), s.deliver); err == nil {
		t.Fatal("Start with the server stopped: no error")
	}
	srv.Start(t)
	if err := b.Start(context.Background(), s.deliver); err != nil {
		t.Fatalf("Start again: %v", err)
	}
	publish(t, b, msg(1))
	s.next(t, 5*time.Second)
}

func TestStartDeadline(t *testing.T) {
	// A listener that accepts and never answers: Start gives up when its
	// context's deadline passes, before the client's ReadTimeout, when the
	// client honours contexts during its handshake.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	defer func() {
		_ = l.Close()
		wg.Wait()
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	client := goredis.NewClient(&goredis.Options{Addr: l.Addr().String(), ReadTimeout: 30 * time.Second, ContextTimeoutEnabled: true})
	defer client.Close()
	b := New(client, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = b.Start(ctx, newSink().deliver)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Start: %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Start returned %v after its context's deadline", d)
	}
	closeBroker(t, b)
}

func TestReconnect(t *testing.T) {
	t.Run("SIGTERM", func(t *testing.T) { testReconnect(t, (*redisServer).Stop) })
	t.Run("SIGKILL", func(t *testing.T) { testReconnect(t, (*redisServer).Kill) })
}

func testReconnect(t *testing.T, stop func(*redisServer, testing.TB)) {
	srv := startRedis(t)
	logs := &logBuffer{}
	a, sa := startBroker(t, srv, Options{Logger: logs.logger()})
	b, sb := startBroker(t, srv, Options{})
	publish(t, a, msg(0))
	sa.next(t, 5*time.Second)
	sb.next(t, 5*time.Second)

	stop(srv, t)
	stopped := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err := a.Publish(ctx, msg(1))
	cancel()
	if err == nil {
		t.Fatal("Publish with redis-server stopped: no error")
	}
	t.Logf("Publish while stopped failed after %v: %v", time.Since(stopped).Round(time.Millisecond), err)
	time.Sleep(500 * time.Millisecond) // the subscriptions retry meanwhile

	srv.Start(t)
	restarted := time.Now()
	// Publish every 100ms until both nodes receive again.
	got := map[*sink]bool{}
	var sent int
	for i := 2; len(got) < 2; i++ {
		if time.Since(restarted) > 20*time.Second {
			t.Fatalf("no delivery within 20s of the restart (got %d of 2 nodes)", len(got))
		}
		if err := a.Publish(context.Background(), msg(i)); err == nil {
			sent++
		}
		deadline := time.After(100 * time.Millisecond)
	drain:
		for {
			select {
			case <-sa.ch:
				got[sa] = true
			case <-sb.ch:
				got[sb] = true
			case <-deadline:
				break drain
			}
		}
	}
	t.Logf("both nodes receive again %v after the restart (%d publications accepted meanwhile)",
		time.Since(restarted).Round(time.Millisecond), sent)
	for name, br := range map[string]*Broker{"a": a, "b": b} {
		if st := br.Stats(); st.Reconnects == 0 {
			t.Errorf("%s: Stats() = %+v, want Reconnects > 0", name, st)
		}
	}
	if logs.count("level=WARN") == 0 || logs.count("subscribed again") == 0 {
		t.Errorf("lost connection and reconnect not logged:\n%s", logs)
	}
	if testing.Verbose() {
		t.Logf("stopped at %s, restarted at %s; log:\n%s",
			stopped.Format("15:04:05.000"), restarted.Format("15:04:05.000"), logs)
	}
}

func TestHealthCheck(t *testing.T) {
	srv := startRedis(t)
	t.Cleanup(func() { srv.Signal(t, syscall.SIGCONT) }) // before the server's own cleanup stops it
	logs := &logBuffer{}
	a, sa := startBroker(t, srv, Options{HealthCheck: 100 * time.Millisecond, Logger: logs.logger()})
	publish(t, a, msg(0))
	sa.next(t, 5*time.Second)

	// A frozen server keeps its connections open and answers nothing: only
	// the health check notices.
	srv.Signal(t, syscall.SIGSTOP)
	frozen := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	err := a.Publish(ctx, msg(1)) // go-redis retries on new connections until ctx ends
	cancel()
	if err == nil {
		t.Error("Publish to a frozen server: no error")
	}
	t.Logf("Publish to the frozen server failed after %v: %v", time.Since(frozen).Round(time.Millisecond), err)
	if st := a.Stats(); st.Reconnects != 0 {
		t.Errorf("Reconnects = %d while the server is frozen", st.Reconnects)
	}
	srv.Signal(t, syscall.SIGCONT)

	thawed := time.Now()
	for i := 2; ; i++ {
		if time.Since(thawed) > 20*time.Second {
			t.Fatal("no delivery within 20s after the server was resumed")
		}
		publish(t, a, msg(i))
		select {
		case <-sa.ch:
		case <-time.After(100 * time.Millisecond):
			continue
		}
		break
	}
	t.Logf("delivery resumed %v after SIGCONT", time.Since(thawed).Round(time.Millisecond))
	if st := a.Stats(); st.Reconnects == 0 {
		t.Errorf("Stats() = %+v, want Reconnects > 0", st)
	}
	if logs.count("no answer to the health-check ping") == 0 {
		t.Errorf("the dead connection was not detected by the health check:\n%s", logs)
	}
	if testing.Verbose() {
		t.Logf("log:\n%s", logs)
	}
}

func TestDefaults(t *testing.T) {
	b := New(goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1"}), Options{})
	defer b.client.Close()
	if b.opts.Channel != "nes" || b.opts.HealthCheck != 3*time.Second || b.opts.Logger != nil {
		t.Errorf("defaults: %+v", b.opts)
	}
	defer func() {
		if recover() == nil {
			t.Error("New(nil) did not panic")
		}
	}()
	New(nil, Options{})
}
