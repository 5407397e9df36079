package main

import "time"

// maxLag bounds, in intervals, how far behind its schedule a client may be
// and still catch up.
const maxLag = 10

// pacer spaces one client's requests so that clients of them together send
// rate requests a second (the rtt scenarios' -rate). A request sent late
// (the reply, or the sleep before it, took longer than planned) is made up
// for by sending the next ones sooner, back to back if need be, up to
// maxLag intervals: a client behind by more forgets the rest. So the rate
// holds against sleeps that overshoot and the odd slow reply, and a server
// that cannot keep up shows a lower achieved rate instead of drawing a long
// burst from the load tool.
type pacer struct {
	interval time.Duration // between one client's requests
	next     time.Time     // the next request's slot
}

// newPacer returns the pacer of client i of clients, or nil when rate is 0
// (each request is sent as soon as the previous reply came). The clients'
// first slots are spread over one interval.
func newPacer(rate float64, i, clients int, now time.Time) *pacer {
	if rate <= 0 {
		return nil
	}
	iv := time.Duration(float64(clients) / rate * float64(time.Second))
	return &pacer{interval: iv, next: now.Add(iv * time.Duration(i) / time.Duration(clients))}
}

// wait returns how long the client must wait before its next request, as
// of now, and books the slot after it.
func (p *pacer) wait(now time.Time) time.Duration {
	if lag := maxLag * p.interval; now.Sub(p.next) > lag {
		p.next = now.Add(-lag) // behind by more: forget the rest
	}
	d := max(p.next.Sub(now), 0)
	p.next = p.next.Add(p.interval)
	return d
}

// sleepUnless waits d, or less if stop is closed first; it reports whether
// it waited the whole of d.
func sleepUnless(d time.Duration, stop <-chan struct{}) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-stop:
		return false
	}
}
