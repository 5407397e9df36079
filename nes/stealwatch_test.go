package nes

import (
	"context"
	"slices"
	"testing"
	"time"
)

// watchState returns the watch's list and whether its goroutine runs.
func watchState(w *stealWatch) ([]*Socket, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.socks), w.running
}

// newWatchServer returns a server whose watch ticks every minWatchTick, shut
// down at the end of the test.
func newWatchServer(t *testing.T) *Server {
	t.Helper()
	srv, err := New(quietOptions())
	if err != nil {
		t.Fatal(err)
	}
	srv.stealAfter = 2 * minWatchTick
	t.Cleanup(func() {
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return srv
}

// A socket is listed at its first inline frame, and unlisted once quiet; the
// watch's goroutine ends with the last listed socket.
func TestStealWatchListsBusySocketsOnly(t *testing.T) {
	srv := newWatchServer(t)
	w := &srv.watch
	socks := []*Socket{{srv: srv}, {srv: srv}, {srv: srv}}
	for _, sock := range socks {
		word := w.begin(sock)
		if word&inlineStateMask != inlineRunning || word&inlineListed == 0 {
			t.Fatalf("begin returned %#x: not running and listed", word)
		}
		if !sock.endInline(word) {
			t.Fatal("a frame shorter than stealAfter ended as stolen")
		}
	}
	if list, running := watchState(w); len(list) != 3 || !running {
		t.Fatalf("%d sockets listed, running %v; want 3, true", len(list), running)
	}
	// A second frame keeps a listed socket listed, without listing it twice.
	if !socks[0].endInline(w.begin(socks[0])) {
		t.Fatal("a short frame ended as stolen")
	}
	if list, _ := watchState(w); len(list) != 3 {
		t.Fatalf("%d sockets listed after a second frame, want 3", len(list))
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		list, running := watchState(w)
		if len(list) == 0 && !running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s, %d sockets still listed (running %v)", len(list), running)
		}
		time.Sleep(time.Millisecond)
	}
	for i, sock := range socks {
		if word := sock.inline.Load(); word&inlineListed != 0 || word&inlineStateMask != inlineNone {
			t.Errorf("socket %d: inline word %#x after unlisting", i, word)
		}
	}
	// A frame after that lists the socket again and restarts the goroutine.
	word := w.begin(socks[1])
	if list, running := watchState(w); len(list) != 1 || list[0] != socks[1] || !running {
		t.Fatalf("relisting: %d sockets listed, running %v", len(list), running)
	}
	socks[1].endInline(word)
}

// Frames that start while the watch unlists their socket: a socket handling
// a frame is always in the list (else a frame that runs long would never be
// stolen). Frames come in bursts with pauses around the quiet time, so that
// begin sometimes meets the unlisting compare-and-swap.
func TestStealWatchBeginRacesUnlisting(t *testing.T) {
	srv := newWatchServer(t)
	w := &srv.watch
	sock := &Socket{srv: srv}
	relisted := 0
	for i := 0; i < 300; i++ {
		if sock.inline.Load()&inlineListed == 0 {
			relisted++
		}
		word := w.begin(sock)
		list, _ := watchState(w)
		if !slices.Contains(list, sock) {
			t.Fatalf("frame %d: the socket is handling a frame but not listed", i)
		}
		if n := len(list); n != 1 {
			t.Fatalf("frame %d: the socket is listed %d times", i, n)
		}
		if !sock.endInline(word) {
			t.Fatalf("frame %d: a short frame ended as stolen", i)
		}
		if i%10 == 9 {
			// Pause for about the quiet time, counted in the watch's ticks
			// (timers may fire later than asked): from 2 ticks short of it
			// to 2 past it, or until unlisted (the ticks then stop).
			target := word>>inlineTickShift + watchQuiet - 2 + int64(i/10%5)
			for limit := time.Now().Add(2 * time.Second); w.now.Load() < target &&
				sock.inline.Load()&inlineListed != 0 && time.Now().Before(limit); {
				time.Sleep(10 * time.Microsecond)
			}
		}
	}
	if relisted < 2 {
		t.Fatalf("the socket was listed %d times: the pauses did not unlist it", relisted)
	}
	t.Logf("listed %d times in 300 frames", relisted)
}

// A socket listed after Shutdown starts no goroutine.
func TestStealWatchStopped(t *testing.T) {
	srv := newWatchServer(t)
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	sock := &Socket{srv: srv}
	word := srv.watch.begin(sock)
	if _, running := watchState(&srv.watch); running {
		t.Fatal("the watch runs after Shutdown")
	}
	if !sock.endInline(word) {
		t.Fatal("a frame ended as stolen after Shutdown")
	}
}

// Shutdown does not wait for the watch's next tick, however far apart its
// ticks are.
func TestStealWatchStopsAtOnce(t *testing.T) {
	srv, err := New(quietOptions())
	if err != nil {
		t.Fatal(err)
	}
	srv.stealAfter = time.Hour // a tick every half hour
	sock := &Socket{srv: srv}
	word := srv.watch.begin(sock)
	if _, running := watchState(&srv.watch); !running {
		t.Fatal("the watch does not run with a socket listed")
	}
	if !sock.endInline(word) {
		t.Fatal("a frame was stolen")
	}
	start := time.Now()
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("Shutdown took %v", d)
	}
	if _, running := watchState(&srv.watch); running {
		t.Fatal("the watch runs after Shutdown")
	}
}
