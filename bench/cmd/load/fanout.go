package main

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/nes-go/nes/bench/internal/stats"
	"github.com/nes-go/nes/bench/internal/wire"
)

// subscribers tracks deliveries of all subscribed readers, round by round.
type subscribers struct {
	cls       []*wire.Client
	target    atomic.Int64 // cumulative messages each subscriber must hold
	remaining atomic.Int64
	done      atomic.Pointer[chan struct{}]
	hist      atomic.Pointer[stats.Hist]
	lastNanos atomic.Int64
	extra     atomic.Int64
	noT       atomic.Int64
	gone      atomic.Int64 // readers that ended before Close
	got       []atomic.Int64
	closing   atomic.Bool
	readers   chan struct{}
}

func startReaders(cls []*wire.Client) *subscribers {
	s := &subscribers{cls: cls, got: make([]atomic.Int64, len(cls)), readers: make(chan struct{}, len(cls))}
	s.hist.Store(new(stats.Hist))
	for i, cl := range cls {
		got := &s.got[i]
		cl.OnPub = func(t int64) {
			now := time.Now().UnixNano()
			if t == 0 {
				s.noT.Add(1)
			} else {
				s.hist.Load().Record(time.Duration(now - t))
			}
			g := got.Add(1)
			tg := s.target.Load()
			if g == tg {
				s.lastNanos.Store(now)
				if s.remaining.Add(-1) == 0 {
					if ch := s.done.Load(); ch != nil {
						close(*ch)
					}
				}
			} else if g > tg {
				s.extra.Add(1)
			}
		}
		go func() {
			err := cl.ReadPubs(context.Background())
			if !s.closing.Load() {
				s.gone.Add(1)
				logf("subscriber %d ended: %v", i, err)
			}
			s.readers <- struct{}{}
		}()
	}
	return s
}

func (s *subscribers) close() {
	s.closing.Store(true)
	closeAll(s.cls)
	t := time.After(10 * time.Second)
	for range s.cls {
		select {
		case <-s.readers:
		case <-t:
			return
		}
	}
}

type roundResult struct {
	seconds    float64
	deliveries int64
	rate       float64
	cpu        time.Duration
	cpuSrc     string
	cpuOK      bool
	hist       *stats.Hist
	selfCPU    time.Duration
	p99        float64 // slow: the worst burst's p99 (ms)
}

// burst publishes n messages and waits until every subscriber has them.
func (s *subscribers) burst(c *config, n int, during func()) (roundResult, error) {
	ch := make(chan struct{})
	h := new(stats.Hist)
	s.hist.Store(h)
	s.remaining.Store(int64(len(s.cls)))
	s.done.Store(&ch)
	s.lastNanos.Store(0)
	s.target.Add(int64(n))
	cpu0 := readCPU(c)
	self0, _, _ := stats.ThreadsCPU(os.Getpid())
	t0 := time.Now()
	pubErr := make(chan error, 1)
	go func() { pubErr <- publish(c, n) }()
	stop := make(chan struct{})
	if during != nil {
		go func() {
			tk := time.NewTicker(100 * time.Millisecond)
			defer tk.Stop()
			for {
				during()
				select {
				case <-stop:
					return
				case <-tk.C:
				}
			}
		}()
	}
	defer close(stop)
	timer := time.NewTimer(c.wait)
	defer timer.Stop()
	pubDone := false
	select {
	case <-ch:
	case err := <-pubErr:
		pubDone = true
		if err != nil {
			return roundResult{}, err
		}
		select {
		case <-ch:
		case <-timer.C:
			return roundResult{}, s.shortfall(c)
		}
	case <-timer.C:
		return roundResult{}, s.shortfall(c)
	}
	cpu1 := readCPU(c)
	self1, _, _ := stats.ThreadsCPU(os.Getpid())
	// The publish request must have completed too (it answers when done).
	if !pubDone {
		select {
		case err := <-pubErr:
			if err != nil {
				return roundResult{}, err
			}
		case <-time.After(c.wait):
			return roundResult{}, fmt.Errorf("publish request did not return within %v", c.wait)
		}
	}
	secs := float64(s.lastNanos.Load()-t0.UnixNano()) / 1e9
	del := int64(len(s.cls)) * int64(n)
	d, src, ok := cpuDelta(cpu0, cpu1)
	return roundResult{seconds: secs, deliveries: del, rate: float64(del) / secs, cpu: d, cpuSrc: src, cpuOK: ok, hist: h, selfCPU: self1 - self0}, nil
}

func (s *subscribers) shortfall(c *config) error {
	tg := s.target.Load()
	var missing int64
	short := 0
	for i := range s.got {
		if g := s.got[i].Load(); g < tg {
			missing += tg - g
			short++
		}
	}
	return fmt.Errorf("not all deliveries arrived within %v: %d subscribers short by %d messages in total (%d readers ended)", c.wait, short, missing, s.gone.Load())
}

func (r roundResult) fill(res *result, c *config) {
	res.set("deliveries", r.deliveries)
	res.set("seconds", r.seconds)
	res.set("deliveries_per_s", r.rate)
	if r.cpuOK {
		res.set("server_cpu_ms", float64(r.cpu.Microseconds())/1000)
		res.set("server_cpu_us_per_delivery", float64(r.cpu.Nanoseconds())/1000/float64(r.deliveries))
		res.set("cpu_source", r.cpuSrc)
	}
	res.set("load_cpu_ms", float64(r.selfCPU.Microseconds())/1000)
	res.set("p50_ms", r.hist.Quantile(0.50))
	res.set("p99_ms", r.hist.Quantile(0.99))
	res.set("max_ms", r.hist.MaxMs())
	res.set("mean_ms", r.hist.MeanMs())
}

// openSubscribers opens c.subs subscribers of c.path, starts their readers
// and lets the server settle (idle) before the first burst.
func openSubscribers(c *config) (*subscribers, error) {
	cls, err := openMany(c, newDialer(c, nil), c.subs, c.path)
	if err != nil {
		return nil, err
	}
	s := startReaders(cls)
	time.Sleep(time.Second + time.Duration(c.subs)*100*time.Microsecond)
	return s, nil
}

func runFanout(c *config) error {
	s, err := openSubscribers(c)
	if err != nil {
		return err
	}
	defer s.close()
	// The warm-up bursts pay what only a server's first bursts pay (a Go
	// heap growing to hold the queues, a JIT compiling the hot path) and are
	// left out of the medians, for every server alike.
	var rounds []roundResult
	for r := 1 - c.warmRounds; r <= c.rounds; r++ {
		rr, err := s.burst(c, c.burst, nil)
		if err != nil {
			return fmt.Errorf("round %d: %w", r, err)
		}
		if x := s.extra.Load(); x > 0 {
			return fmt.Errorf("round %d: %d unexpected extra deliveries", r, x)
		}
		res := fanoutBase(c)
		name := fmt.Sprint("round ", r)
		if r < 1 {
			name = fmt.Sprint("warm-up ", r+c.warmRounds)
			res.set("round", r+c.warmRounds)
			res.set("warmup", true)
		} else {
			rounds = append(rounds, rr)
			res.set("round", r)
		}
		rr.fill(res, c)
		res.emit()
		logf("%s fanout %s: %d deliveries in %.3fs = %.0f/s, cpu %.2f us/delivery, p50 %.2f ms p99 %.2f ms",
			c.label, name, rr.deliveries, rr.seconds, rr.rate, float64(rr.cpu.Nanoseconds())/1000/float64(rr.deliveries), rr.hist.Quantile(.5), rr.hist.Quantile(.99))
		time.Sleep(500 * time.Millisecond)
	}
	if s.gone.Load() > 0 {
		return fmt.Errorf("%d subscribers were disconnected", s.gone.Load())
	}
	// The median round by duration gives the rate and the latencies.
	idx := make([]int, len(rounds))
	for i := range idx {
		idx[i] = i
	}
	for i := 1; i < len(idx); i++ {
		for j := i; j > 0 && rounds[idx[j]].seconds < rounds[idx[j-1]].seconds; j-- {
			idx[j], idx[j-1] = idx[j-1], idx[j]
		}
	}
	m := rounds[idx[len(idx)/2]]
	res := fanoutBase(c)
	res.set("round", "median")
	m.fill(res, c)
	// The headline figure is the median of the rounds' own values, not the
	// value of the median round: a round of median duration may have had a
	// cheap or a dear spell of the machine.
	var rates, cpus []float64
	for _, r := range rounds {
		rates = append(rates, round3(r.rate))
		if r.cpuOK {
			cpus = append(cpus, float64(r.cpu.Nanoseconds())/1000/float64(r.deliveries))
		}
	}
	if len(cpus) == len(rounds) {
		res.set("server_cpu_us_per_delivery", median(cpus))
		for i := range cpus {
			cpus[i] = round3(cpus[i])
		}
		res.set("rounds_server_cpu_us_per_delivery", cpus)
	}
	res.set("rounds_deliveries_per_s", rates)
	res.set("no_t", s.noT.Load())
	res.emit()
	return nil
}

func fanoutBase(c *config) *result {
	res := newResult(c)
	res.set("subs", c.subs)
	res.set("burst", c.burst)
	res.set("size", c.size)
	return res
}
