package nes

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/coder/websocket"
	"github.com/go-chi/chi/v5"
)

// flakyBroker fails its first Start calls, then delivers locally.
type flakyBroker struct {
	mu        sync.Mutex
	failures  int
	starts    int
	closes    int
	deliver   func(context.Context, *Envelope)
	published []*Envelope
}

var errBrokerDown = errors.New("broker down")

func (b *flakyBroker) Start(ctx context.Context, deliver func(context.Context, *Envelope)) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.starts++
	if b.failures > 0 {
		b.failures--
		return errBrokerDown
	}
	b.deliver = deliver
	return nil
}

func (b *flakyBroker) Publish(ctx context.Context, e *Envelope) error {
	b.mu.Lock()
	b.published = append(b.published, e)
	deliver := b.deliver
	b.mu.Unlock()
	deliver(ctx, e)
	return nil
}

func (b *flakyBroker) Close(context.Context) error {
	b.mu.Lock()
	b.closes++
	b.mu.Unlock()
	return nil
}

func (b *flakyBroker) counts() (starts, closes int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.starts, b.closes
}

func TestStartRetriesAFailedBroker(t *testing.T) {
	b := &flakyBroker{failures: 2}
	ts := newTestServer(t, Options{Broker: b}, func(s *Server, _ chi.Router) { s.Subscription("/news", SubscriptionOptions{}) })

	// A connection while the broker cannot start is refused with 503.
	resp, err := http.Get(strings.Replace(ts.url, "ws", "http", 1))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("upgrade while the broker is down: status %d, want 503", resp.StatusCode)
	}
	// Publish reports the broker's error.
	if err := ts.Publish(context.Background(), "/news", "x"); !errors.Is(err, errBrokerDown) {
		t.Errorf("Publish while the broker is down = %v, want errBrokerDown", err)
	}
	// The third Start succeeds; later calls do not start again.
	if err := ts.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := ts.Start(context.Background()); err != nil {
		t.Fatalf("second Start: %v", err)
	}
	c := dial(t, ts.url, nil)
	c.hello("/news")
	if err := ts.Publish(context.Background(), "/news", "x"); err != nil {
		t.Fatal(err)
	}
	c.expect(`{"type":"pub","path":"/news","message":"x"}`)
	if starts, _ := b.counts(); starts != 3 {
		t.Errorf("broker started %d times, want 3", starts)
	}
	ctx := context.Background()
	done := make(chan error, 1)
	go func() { done <- ts.Shutdown(ctx) }()
	if code := c.closed(); code != websocket.StatusGoingAway {
		t.Errorf("close code on Shutdown = %d, want 1001", code)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, closes := b.counts(); closes != 1 {
		t.Errorf("broker closed %d times, want 1", closes)
	}
	if err := ts.Start(ctx); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Start after Shutdown = %v, want ErrServerClosed", err)
	}
}

func TestShutdownDoesNotCloseAnUnstartedBroker(t *testing.T) {
	b := &flakyBroker{}
	srv, err := New(Options{Broker: b})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if starts, closes := b.counts(); starts != 0 || closes != 0 {
		t.Errorf("starts %d, closes %d; want 0, 0", starts, closes)
	}
}
