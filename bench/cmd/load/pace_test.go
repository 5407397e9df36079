package main

import (
	"testing"
	"time"
)

func TestPacerOffWithoutRate(t *testing.T) {
	if p := newPacer(0, 0, 50, time.Now()); p != nil {
		t.Fatalf("newPacer(0, ...) = %+v, want nil", p)
	}
}

func TestPacerSpacesAndSpreads(t *testing.T) {
	t0 := time.Unix(1000, 0)
	// 50 clients at 100,000 requests/s: each sends every 500 µs, client 10
	// first at 10/50 of an interval.
	p := newPacer(100000, 10, 50, t0)
	if p.interval != 500*time.Microsecond {
		t.Fatalf("interval = %v, want 500µs", p.interval)
	}
	if d := p.wait(t0); d != 100*time.Microsecond {
		t.Fatalf("first wait = %v, want 100µs", d)
	}
	// The reply came 50 µs after the slot: wait out the rest of the interval.
	if d := p.wait(t0.Add(150 * time.Microsecond)); d != 450*time.Microsecond {
		t.Fatalf("second wait = %v, want 450µs", d)
	}
}

func TestPacerMakesUpASmallLag(t *testing.T) {
	t0 := time.Unix(1000, 0)
	p := newPacer(1000, 0, 1, t0) // every 1 ms
	if d := p.wait(t0); d != 0 {
		t.Fatalf("first wait = %v, want 0", d)
	}
	// The second request goes out 300 µs late: it is sent at once, and the
	// third keeps its slot, 700 µs later.
	late := t0.Add(1300 * time.Microsecond)
	if d := p.wait(late); d != 0 {
		t.Fatalf("late wait = %v, want 0", d)
	}
	if d := p.wait(late); d != 700*time.Microsecond {
		t.Fatalf("wait after a small lag = %v, want 700µs", d)
	}
}

func TestPacerCatchesUpBoundedLag(t *testing.T) {
	t0 := time.Unix(1000, 0)
	p := newPacer(1000, 0, 1, t0) // every 1 ms
	p.wait(t0)
	// The reply took 4 ms: the late request and three more go out at once,
	// then one a millisecond.
	late := t0.Add(4 * time.Millisecond)
	for i, want := range []time.Duration{0, 0, 0, 0, time.Millisecond} {
		if d := p.wait(late); d != want {
			t.Fatalf("wait %d after a 3 ms lag = %v, want %v", i, d, want)
		}
	}
	// A reply 1 s after the next slot (t0+5ms): only maxLag requests are
	// made up.
	late = t0.Add(5*time.Millisecond + time.Second)
	for i := 0; i <= maxLag; i++ {
		if d := p.wait(late); d != 0 {
			t.Fatalf("wait %d after a 1 s lag = %v, want 0", i, d)
		}
	}
	if d := p.wait(late); d != time.Millisecond {
		t.Fatalf("wait after catching up = %v, want 1ms", d)
	}
}

func TestSleepUnlessEndsAtStop(t *testing.T) {
	if !sleepUnless(0, nil) {
		t.Fatal("sleepUnless(0) = false, want true")
	}
	if !sleepUnless(time.Millisecond, make(chan struct{})) {
		t.Fatal("sleepUnless(1ms) with no stop = false, want true")
	}
	stop := make(chan struct{})
	close(stop)
	start := time.Now()
	if sleepUnless(time.Hour, stop) {
		t.Fatal("sleepUnless(1h) after stop = true, want false")
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Fatalf("sleepUnless(1h) after stop took %v", el)
	}
}
