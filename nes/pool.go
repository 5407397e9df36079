package nes

import (
	"sync"
	"time"
)

// What the writers (writers.go) and the handlers (handlers.go) share: a FIFO
// of sockets, and goroutines that wait a little for work before they end.

// sockQueue is a FIFO of sockets. Its owner's lock guards it.
type sockQueue struct {
	socks []*Socket // from head
	head  int
}

func (q *sockQueue) len() int { return len(q.socks) - q.head }

func (q *sockQueue) push(s *Socket) {
	q.resetIfEmpty()
	q.socks = append(q.socks, s)
}

func (q *sockQueue) pushAll(ss []*Socket) {
	q.resetIfEmpty()
	q.socks = append(q.socks, ss...)
}

// resetIfEmpty moves an empty queue back to the start of its array.
func (q *sockQueue) resetIfEmpty() {
	if q.head == len(q.socks) {
		q.socks, q.head = q.socks[:0], 0
	}
}

// pop takes the first socket, nil if there is none.
func (q *sockQueue) pop() *Socket {
	if q.head == len(q.socks) {
		q.resetIfEmpty()
		return nil
	}
	s := q.socks[q.head]
	q.socks[q.head] = nil
	q.head++
	if q.head >= 256 && 2*q.head >= len(q.socks) {
		// Reuse the consumed front instead of growing the array.
		n := copy(q.socks, q.socks[q.head:])
		clear(q.socks[n:])
		q.socks, q.head = q.socks[:n], 0
	}
	return s
}

// idleLinger is how long a pool's goroutine that ran out of work waits for
// more before it ends. Work that comes back sooner, as requests a few
// hundred microseconds apart do, reuses the goroutine: starting one costs
// more than waking one, mostly in growing its stack again (docs/benchmarks.md).
const idleLinger = time.Millisecond

// idlers are a pool's goroutines waiting for work. Their owner's lock
// guards them.
type idlers struct {
	waiting []*idler
	spare   []*idler // for goroutines to come: a channel and a timer each
}

type idler struct {
	wake  chan struct{} // capacity 1: a wake-up sent under the owner's lock never blocks
	timer *time.Timer
}

// wakeLocked wakes a waiting goroutine, if any, and reports whether it did.
func (is *idlers) wakeLocked() bool {
	n := len(is.waiting)
	if n == 0 {
		return false
	}
	w := is.waiting[n-1]
	is.waiting[n-1] = nil
	is.waiting = is.waiting[:n-1]
	w.wake <- struct{}{}
	return true
}

// waitLocked waits up to idleLinger for wakeLocked. Called with mu held, it
// releases it while waiting and holds it again on return. It reports false
// if the time ran out: the goroutine is no longer listed, and should end.
func (is *idlers) waitLocked(mu *sync.Mutex) bool {
	var w *idler
	if n := len(is.spare); n > 0 {
		w = is.spare[n-1]
		is.spare[n-1] = nil
		is.spare = is.spare[:n-1]
		w.timer.Reset(idleLinger)
	} else {
		w = &idler{wake: make(chan struct{}, 1), timer: time.NewTimer(idleLinger)}
	}
	is.waiting = append(is.waiting, w)
	mu.Unlock()
	woken := false
	select {
	case <-w.wake:
		woken = true
	case <-w.timer.C:
	}
	mu.Lock()
	if !woken {
		if i := indexIdler(is.waiting, w); i >= 0 {
			is.waiting = append(is.waiting[:i], is.waiting[i+1:]...)
		} else {
			// Woken as the time ran out: the wake-up was sent under
			// mu, so it is in the channel.
			<-w.wake
			woken = true
		}
	}
	w.timer.Stop()
	is.spare = append(is.spare, w)
	return woken
}

func indexIdler(ws []*idler, w *idler) int {
	for i, x := range ws {
		if x == w {
			return i
		}
	}
	return -1
}
