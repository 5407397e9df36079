package client

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/nes-go/nes/nes"
)

func subServer(t *testing.T) *testServer {
	return newServer(t, nes.Options{}, func(s *nes.Server, r chi.Router) {
		routes(s, r)
		must(t, s.Subscription("/items/{id}", nes.SubscriptionOptions{}))
		must(t, s.Subscription("/news", nes.SubscriptionOptions{}))
	})
}

// serverSubs returns the subscriptions of the server's sockets.
func serverSubs(ts *testServer) []string {
	var subs []string
	ts.EachSocket(func(s *nes.Socket) bool { subs = append(subs, s.Subscriptions()...); return true })
	slices.Sort(subs)
	return subs
}

func TestSubscribe(t *testing.T) {
	forEachEncoding(t, func(t *testing.T, enc Encoding) {
		ts := subServer(t)
		rec := newRecorder()
		c := newClient(t, ts.url, rec.options(enc))
		// Before Connect: recorded, subscribed by the hello.
		_, err := c.Subscribe(ctx5(t), "/news", func(msg json.RawMessage, f Flags) { rec.add("news %s %v", msg, f.Revoked) })
		must(t, err)
		connect(t, c, nil)
		a, err := c.Subscribe(ctx5(t), "/items/5", func(msg json.RawMessage, f Flags) { rec.add("a %s %v", msg, f.Revoked) })
		must(t, err)
		_, err = c.Subscribe(ctx5(t), "/items/5", func(msg json.RawMessage, f Flags) { rec.add("b %s %v", msg, f.Revoked) })
		must(t, err)
		if got := c.Subscriptions(); !slices.Equal(got, []string{"/items/5", "/news"}) {
			t.Fatalf("Subscriptions: %v", got)
		}
		if got := serverSubs(ts); !slices.Equal(got, []string{"/items/5", "/news"}) {
			t.Fatalf("server subscriptions: %v", got)
		}
		must(t, ts.Publish(ctx5(t), "/news", "breaking"))
		if e := rec.wait(t, "news"); e != `news "breaking" false` {
			t.Fatal(e)
		}
		must(t, ts.Publish(ctx5(t), "/items/6", "not for us"))
		must(t, ts.Publish(ctx5(t), "/items/5", map[string]string{"a": "b"}))
		if e := rec.wait(t, "a"); e != `a {"a":"b"} false` {
			t.Fatal(e)
		}
		if e := rec.wait(t, "b"); e != `b {"a":"b"} false` {
			t.Fatal(e)
		}
		// Remove one handler: the other still receives, the path stays.
		must(t, a.Unsubscribe(ctx5(t)))
		must(t, ts.Publish(ctx5(t), "/items/5", 2))
		if e := rec.wait(t, "b"); e != `b 2 false` {
			t.Fatal(e)
		}
		// Remove all handlers of the path: unsubscribed on the server.
		must(t, c.Unsubscribe(ctx5(t), "/items/5", nil))
		if got := serverSubs(ts); !slices.Equal(got, []string{"/news"}) {
			t.Fatalf("server subscriptions after unsubscribe: %v", got)
		}
		must(t, c.Unsubscribe(ctx5(t), "/never", nil))
		// Refused paths.
		var e *Error
		if _, err := c.Subscribe(ctx5(t), "/nothing", func(json.RawMessage, Flags) {}); !errors.As(err, &e) || e.StatusCode != 404 || e.Path != "/nothing" {
			t.Fatalf("undeclared path: %v", err)
		}
		if _, err := c.Subscribe(ctx5(t), "nothing", func(json.RawMessage, Flags) {}); !errors.Is(err, ErrUser) {
			t.Fatalf("bad path: %v", err)
		}
		if got := c.Subscriptions(); !slices.Equal(got, []string{"/news"}) {
			t.Fatalf("Subscriptions after refusal: %v", got)
		}
		// Revoke.
		ts.EachSocket(func(s *nes.Socket) bool { s.Revoke(context.Background(), "/news", "bye"); return true })
		if e := rec.wait(t, "news"); e != `news "bye" true` {
			t.Fatal(e)
		}
		if got := c.Subscriptions(); len(got) != 0 {
			t.Fatalf("Subscriptions after revoke: %v", got)
		}
		// Broadcast.
		must(t, ts.Broadcast(ctx5(t), map[string]bool{"all": true}))
		if e := rec.wait(t, "update"); e != `update {"all":true}` {
			t.Fatal(e)
		}
	})
}

func TestSubscribeJSON(t *testing.T) {
	forEachEncoding(t, func(t *testing.T, enc Encoding) {
		ts := subServer(t)
		rec := newRecorder()
		c := newClient(t, ts.url, rec.options(enc))
		connect(t, c, nil)
		type item struct{ N int }
		_, err := SubscribeJSON(ctx5(t), c, "/items/1", func(it item, f Flags) { rec.add("item %d %v", it.N, f.Revoked) })
		must(t, err)
		must(t, ts.Publish(ctx5(t), "/items/1", "not an item"))
		if e := rec.wait(t, "error"); e[:14] != "error protocol" {
			t.Fatal(e)
		}
		must(t, ts.Publish(ctx5(t), "/items/1", item{N: 7}))
		if e := rec.wait(t, "item"); e != "item 7 false" {
			t.Fatal(e)
		}
		ts.EachSocket(func(s *nes.Socket) bool { s.Revoke(context.Background(), "/items/1", nil); return true })
		if e := rec.wait(t, "item"); e != "item 0 true" {
			t.Fatal(e)
		}
	})
}

// A handler may call the client: Request, Unsubscribe, even Disconnect.
func TestHandlerCallsClient(t *testing.T) {
	forEachEncoding(t, func(t *testing.T, enc Encoding) {
		ts := subServer(t)
		rec := newRecorder()
		c := newClient(t, ts.url, rec.options(enc))
		connect(t, c, nil)
		var sub *Subscription
		sub, err := c.Subscribe(ctx5(t), "/news", func(msg json.RawMessage, _ Flags) {
			res, err := c.Request(context.Background(), Request{Path: "/hello"})
			if err != nil {
				rec.add("request error %v", err)
				return
			}
			rec.add("handler %s", res.Payload)
			if err := sub.Unsubscribe(context.Background()); err != nil {
				rec.add("unsubscribe error %v", err)
			}
			if err := c.Disconnect(context.Background()); err != nil {
				rec.add("disconnect error %v", err)
			}
			rec.add("handler done")
		})
		must(t, err)
		must(t, ts.Publish(ctx5(t), "/news", 1))
		if e := rec.wait(t, "handler"); e != `handler {"greeting":"hi"}` {
			t.Fatal(e)
		}
		rec.wait(t, "handler done")
		rec.wait(t, "disconnect will=false requested=true")
		deadline := time.Now().Add(5 * time.Second)
		for len(serverSubs(ts)) > 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
	})
}
