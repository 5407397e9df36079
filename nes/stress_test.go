package nes

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
)

// TestConcurrentPublishSubscribeClose runs publishers, broadcasts, EachSocket
// and revokes against clients that subscribe, unsubscribe and disconnect at
// the same time. Under -race it checks the locking; afterwards every socket
// and subscription must be gone.
func TestConcurrentPublishSubscribeClose(t *testing.T) {
	ts := newTestServer(t, Options{Heartbeat: Heartbeat{Interval: 20 * time.Millisecond, Timeout: 10 * time.Millisecond}},
		func(s *Server, r chi.Router) {
			must(t, s.Subscription("/rooms/{room}", SubscriptionOptions{}))
		})
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	for p := 0; p < 3; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				_ = ts.Publish(ctx, fmt.Sprintf("/rooms/r%d", i%4), map[string]int{"p": p, "i": i})
				if i%10 == 0 {
					_ = ts.Broadcast(ctx, i)
					ts.EachSocket(func(s *Socket) bool {
						_ = s.Revoke(ctx, "/rooms/r0", nil)
						return true
					}, OnSubscription("/rooms/r0"))
				}
				time.Sleep(100 * time.Microsecond)
			}
		}(p)
	}
	for c := 0; c < 6; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for round := 0; ctx.Err() == nil && round < 20; round++ {
				cl := dial(t, ts.url, nil)
				cl.send(`{"type":"hello","version":"2","subs":["/rooms/r0","/rooms/r1"],"id":1}`)
				for i := 0; i < 5; i++ {
					cl.send(fmt.Sprintf(`{"type":"sub","path":"/rooms/r%d","id":%d}`, (c+i)%4, i+2))
					cl.send(fmt.Sprintf(`{"type":"unsub","path":"/rooms/r%d","id":%d}`, (c+i+1)%4, i+20))
				}
				// Read a little, then vanish without a close handshake half
				// of the time.
				for i := 0; i < 3; i++ {
					if _, err := cl.next(200 * time.Millisecond); err != nil {
						break
					}
				}
				if round%2 == 0 {
					cl.conn.CloseNow()
				} else {
					cl.conn.Close(1000, "")
				}
			}
		}(c)
	}
	wg.Wait()
	waitFor(t, "every socket gone", func() bool { return ts.Stats().Connections == 0 })
	waitFor(t, "subscription index empty", func() bool {
		ts.subsMu.RLock()
		defer ts.subsMu.RUnlock()
		return len(ts.index) == 0
	})
}
