package brokertest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nes-go/nes/client"
)

// member is a Go client connected to one node that records what it
// receives, per subscription path and for broadcasts ("" key).
type member struct {
	name string
	c    *client.Client

	mu     sync.Mutex
	got    map[string][]json.RawMessage
	notify chan struct{}
}

// join connects a client to n: enc is client.JSON or client.MessagePack,
// user the direct-auth user ("" for anonymous).
func join(t testing.TB, n *node, name string, enc client.Encoding, user string, paths ...string) *member {
	t.Helper()
	m := &member{name: fmt.Sprintf("%s@%s", name, n.name), got: make(map[string][]json.RawMessage), notify: make(chan struct{}, 1)}
	m.c = client.New(n.ws, &client.Options{
		Encoding: enc,
		Timeout:  10 * time.Second,
		OnUpdate: func(msg json.RawMessage) { m.record("", msg) },
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var copts client.ConnectOptions
	copts.Delay = 50 * time.Millisecond
	copts.MaxDelay = 500 * time.Millisecond
	if user != "" {
		copts.Auth = client.DirectAuth{Headers: map[string]string{"authorization": user}}
	}
	if err := m.c.Connect(ctx, &copts); err != nil {
		t.Fatalf("%s: Connect: %v", m.name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = m.c.Disconnect(ctx)
	})
	for _, p := range paths {
		path := p
		if _, err := m.c.Subscribe(ctx, path, func(msg json.RawMessage, _ client.Flags) { m.record(path, msg) }); err != nil {
			t.Fatalf("%s: Subscribe(%s): %v", m.name, path, err)
		}
	}
	return m
}

func (m *member) record(key string, msg json.RawMessage) {
	m.mu.Lock()
	m.got[key] = append(m.got[key], append(json.RawMessage(nil), msg...))
	m.mu.Unlock()
	select {
	case m.notify <- struct{}{}:
	default:
	}
}

// messages returns a copy of what arrived under key.
func (m *member) messages(key string) []json.RawMessage {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]json.RawMessage(nil), m.got[key]...)
}

// waitFor waits until cond holds for what arrived under key.
func (m *member) waitFor(t testing.TB, key string, d time.Duration, what string, cond func([]json.RawMessage) bool) []json.RawMessage {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		msgs := m.messages(key)
		if cond(msgs) {
			return msgs
		}
		select {
		case <-m.notify:
		case <-deadline.C:
			t.Fatalf("%s: %s not received within %v; got %d messages on %q: %s", m.name, what, d, len(msgs), key, summary(msgs))
			return nil
		}
	}
}

// waitCount waits for at least n messages under key.
func (m *member) waitCount(t testing.TB, key string, n int, d time.Duration) []json.RawMessage {
	t.Helper()
	return m.waitFor(t, key, d, fmt.Sprintf("%d messages", n), func(msgs []json.RawMessage) bool { return len(msgs) >= n })
}

// contains reports whether a message under key decodes to a map whose
// field equals want.
func has(msgs []json.RawMessage, field string, want any) bool {
	wantJSON, _ := json.Marshal(want)
	for _, raw := range msgs {
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) == nil && string(m[field]) == string(wantJSON) {
			return true
		}
	}
	return false
}

func summary(msgs []json.RawMessage) string {
	const max = 5
	s := ""
	for i, m := range msgs {
		if i == max {
			s += fmt.Sprintf(" … (%d more)", len(msgs)-max)
			break
		}
		s += " " + string(m)
	}
	return s
}

// ctxFor returns a context bounded by d, canceled with the test.
func ctxFor(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
