package client

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/nes-go/nes/nes"
)

// TestMixedRoom puts JSON and MessagePack clients (with and without
// compression) on one path: every client gets every publication, in order.
func TestMixedRoom(t *testing.T) {
	ts := newServer(t, nes.Options{Compression: true}, func(s *nes.Server, r chi.Router) {
		must(t, s.Subscription("/rooms/{room}", nes.SubscriptionOptions{}))
	})
	type member struct {
		name string
		got  chan string
	}
	var members []member
	for _, cfg := range []struct {
		name     string
		enc      Encoding
		compress bool
	}{{"json", JSON, false}, {"msgpack", MessagePack, false}, {"json+deflate", JSON, true}, {"msgpack+deflate", MessagePack, true}} {
		c := New(ts.url, &Options{Encoding: cfg.enc, Compression: cfg.compress})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		must(t, c.Connect(ctx, nil))
		m := member{name: cfg.name, got: make(chan string, 16)}
		_, err := c.Subscribe(ctx, "/rooms/lobby", func(msg json.RawMessage, f Flags) { m.got <- string(msg) })
		must(t, err)
		cancel()
		t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
		members = append(members, m)
	}
	msgs := []any{map[string]any{"text": "héllo 😀", "n": 1}, []any{1, "two", 3.5}, "plain", nil}
	for _, m := range msgs {
		must(t, ts.Publish(context.Background(), "/rooms/lobby", m))
	}
	for _, m := range members {
		for i, want := range []string{`{"n":1,"text":"héllo 😀"}`, `[1,"two",3.5]`, `"plain"`, `null`} {
			select {
			case got := <-m.got:
				if got != want {
					t.Fatalf("%s, publication %d: got %s want %s", m.name, i, got, want)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("%s: publication %d not delivered", m.name, i)
			}
		}
	}
}
