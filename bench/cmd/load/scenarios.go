package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nes-go/nes/bench/internal/stats"
	"github.com/nes-go/nes/bench/internal/wire"
)

// ---- conns: memory per idle subscribed connection ----

func runConns(c *config) error {
	before := readRSS(c)
	d := newDialer(c, nil)
	t0 := time.Now()
	cls, err := openMany(c, d, c.conns, c.path)
	if err != nil {
		return err
	}
	openSecs := time.Since(t0).Seconds()
	s := startReaders(cls) // answers pings
	defer s.close()
	time.Sleep(3 * time.Second)
	var after int64
	var samples []int64
	for i := 0; i < 5; i++ {
		after = readRSS(c)
		samples = append(samples, after)
		if i < 4 {
			time.Sleep(500 * time.Millisecond)
		}
	}
	if g := s.gone.Load(); g > 0 {
		return fmt.Errorf("%d connections were closed by the server while idle", g)
	}
	res := newResult(c)
	res.set("conns", c.conns)
	res.set("open_seconds", openSecs)
	res.set("rss_before_kb", before)
	res.set("rss_after_kb", after)
	res.set("rss_samples_kb", samples)
	if c.pid > 0 {
		res.set("bytes_per_conn", float64(after-before)*1024/float64(c.conns))
	}
	res.set("load_fds", fdCount())
	res.emit()
	logf("%s conns: %d connections, RSS %d → %d kB, %.0f bytes/conn (load tool fds %d)", c.label, c.conns, before, after, float64(after-before)*1024/float64(c.conns), fdCount())
	return nil
}

// ---- rtt: request/reply over the socket ----

// measured runs fn in c.clients goroutines for warmup+duration and records
// the latencies of calls that start inside the measured window.
func measured(c *config, fn func(i int) error, onStop func()) (*stats.Hist, int64, time.Duration, cpuSample, cpuSample, error) {
	h := new(stats.Hist)
	var reqs atomic.Int64
	var measuring, stopped atomic.Bool
	stopping := make(chan struct{}) // closed with stopped set: ends a pacer's wait
	var firstErr atomic.Pointer[error]
	var wg sync.WaitGroup
	for i := 0; i < c.clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pace := newPacer(c.rate, i, c.clients, time.Now())
			for !stopped.Load() {
				if pace != nil && !sleepUnless(pace.wait(time.Now()), stopping) {
					return
				}
				m := measuring.Load()
				t := time.Now()
				if err := fn(i); err != nil {
					if !stopped.Load() {
						firstErr.CompareAndSwap(nil, &err)
						stopped.Store(true)
					}
					return
				}
				if m && measuring.Load() {
					h.Record(time.Since(t))
					reqs.Add(1)
				}
			}
		}()
	}
	time.Sleep(c.warmup)
	cpu0 := readCPU(c)
	measuring.Store(true)
	t0 := time.Now()
	time.Sleep(c.duration)
	measuring.Store(false)
	el := time.Since(t0)
	cpu1 := readCPU(c)
	stopped.Store(true)
	close(stopping)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		if onStop != nil {
			onStop() // unblock stuck requests
		}
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			return nil, 0, 0, cpu0, cpu1, errors.New("clients did not stop within 15s")
		}
	}
	if p := firstErr.Load(); p != nil {
		return nil, 0, 0, cpu0, cpu1, *p
	}
	return h, reqs.Load(), el, cpu0, cpu1, nil
}

func rttResult(c *config, h *stats.Hist, n int64, el time.Duration, cpu0, cpu1 cpuSample) {
	res := newResult(c)
	res.set("clients", c.clients)
	if c.rate > 0 {
		res.set("rate", c.rate)
	}
	res.set("duration_s", el.Seconds())
	res.set("requests", n)
	res.set("requests_per_s", float64(n)/el.Seconds())
	res.set("p50_ms", h.Quantile(.5))
	res.set("p90_ms", h.Quantile(.90))
	res.set("p95_ms", h.Quantile(.95))
	res.set("p99_ms", h.Quantile(.99))
	res.set("p999_ms", h.Quantile(.999))
	res.set("max_ms", h.MaxMs())
	d, src, ok := cpuDelta(cpu0, cpu1)
	if ok && n > 0 {
		res.set("server_cpu_ms", float64(d.Microseconds())/1000)
		res.set("server_cpu_us_per_request", float64(d.Nanoseconds())/1000/float64(n))
		res.set("cpu_source", src)
	}
	res.emit()
	logf("%s %s: %d requests in %.2fs = %.0f/s, p50 %.3f ms p99 %.3f ms, cpu %.2f us/request",
		c.label, c.scenario, n, el.Seconds(), float64(n)/el.Seconds(), h.Quantile(.5), h.Quantile(.99), float64(d.Nanoseconds())/1000/float64(max(n, 1)))
}

func runRTT(c *config) error {
	d := newDialer(c, nil)
	cls, err := openMany(c, d, c.clients, "")
	if err != nil {
		return err
	}
	defer closeAll(cls)
	ctx := context.Background()
	h, n, el, cpu0, cpu1, err := measured(c, func(i int) error { return cls[i].Echo(ctx) }, func() { closeAll(cls) })
	if err != nil {
		return err
	}
	rttResult(c, h, n, el, cpu0, cpu1)
	return nil
}

func runHTTPRTT(c *config) error {
	tr := &http.Transport{MaxIdleConnsPerHost: c.clients, MaxConnsPerHost: c.clients, DisableCompression: true}
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	defer tr.CloseIdleConnections()
	u := c.httpURL + "/echo"
	buf := make([][]byte, c.clients)
	for i := range buf {
		buf[i] = make([]byte, 512)
	}
	h, n, el, cpu0, cpu1, err := measured(c, func(i int) error {
		resp, err := hc.Get(u)
		if err != nil {
			return err
		}
		for {
			_, err := resp.Body.Read(buf[i])
			if err == io.EOF {
				break
			}
			if err != nil {
				resp.Body.Close()
				return err
			}
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("GET /echo: HTTP %d", resp.StatusCode)
		}
		return nil
	}, nil)
	if err != nil {
		return err
	}
	rttResult(c, h, n, el, cpu0, cpu1)
	return nil
}

// ---- connect: handshake rate ----

func runConnect(c *config) error {
	d := newDialer(c, nil)
	h := new(stats.Hist)
	var count, errs atomic.Int64
	var firstErr atomic.Pointer[error]
	var wg sync.WaitGroup
	deadline := time.Now().Add(c.duration)
	cpu0 := readCPU(c)
	t0 := time.Now()
	for w := 0; w < c.concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if count.Add(1) > int64(c.maxHS) {
					count.Add(-1)
					return
				}
				t := time.Now()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				cl, err := openClient(ctx, c, d, "")
				cancel()
				if err != nil {
					count.Add(-1)
					errs.Add(1)
					firstErr.CompareAndSwap(nil, &err)
					if errs.Load() > 100 {
						return
					}
					continue
				}
				h.Record(time.Since(t))
				cl.CloseClean()
			}
		}()
	}
	wg.Wait()
	el := time.Since(t0)
	cpu1 := readCPU(c)
	n := count.Load()
	res := newResult(c)
	res.set("concurrency", c.concurrency)
	res.set("duration_s", el.Seconds())
	res.set("handshakes", n)
	res.set("handshakes_per_s", float64(n)/el.Seconds())
	res.set("errors", errs.Load())
	res.set("p50_ms", h.Quantile(.5))
	res.set("p99_ms", h.Quantile(.99))
	res.set("max_ms", h.MaxMs())
	res.set("capped", n >= int64(c.maxHS))
	if d, src, ok := cpuDelta(cpu0, cpu1); ok && n > 0 {
		res.set("server_cpu_us_per_handshake", float64(d.Nanoseconds())/1000/float64(n))
		res.set("cpu_source", src)
	}
	res.emit()
	logf("%s connect: %d handshakes in %.2fs = %.0f/s, p50 %.2f ms p99 %.2f ms, %d errors", c.label, n, el.Seconds(), float64(n)/el.Seconds(), h.Quantile(.5), h.Quantile(.99), errs.Load())
	if e := errs.Load(); e > 0 && (n == 0 || e*100 > n) {
		return fmt.Errorf("%d handshakes failed (first: %v)", e, *firstErr.Load())
	}
	return nil
}

// ---- slow: one stalled subscriber ----

func runSlow(c *config) error {
	s, err := openSubscribers(c)
	if err != nil {
		return err
	}
	defer s.close()

	// Bursts of c.burst messages, n times, each delivered to the healthy
	// subscribers before the next: they keep up, while the stalled one's
	// backlog grows by a burst each time. The rate of a phase is the
	// median of its bursts' rates, which a stray pause of the shared
	// machine does not move; both phases run the same watcher. Half the
	// baseline's bursts run before the phase with the stalled subscriber
	// and half after, so that a machine that gets slower or faster during
	// the scenario does not move the ratio.
	bursts := func(n int, during func()) (roundResult, []float64, error) {
		var total roundResult
		var p99 float64
		var rates []float64
		for range max(1, n) {
			r, err := s.burst(c, c.burst, during)
			if err != nil {
				return total, nil, err
			}
			total.seconds += r.seconds
			total.deliveries += r.deliveries
			total.hist = r.hist
			rates = append(rates, float64(r.deliveries)/r.seconds)
			p99 = max(p99, r.hist.Quantile(.99))
		}
		total.rate = median(rates)
		total.p99 = p99
		return total, rates, nil
	}
	// The watcher of the phase with the stalled subscriber (below) reads
	// the server's RSS at every tick (100 ms) and, every 5th tick, looks
	// up the stalled connection in /proc/net/tcp, which lists every socket
	// of the machine (thousands in TIME_WAIT after the connect scenario).
	// The baseline's watcher does the same work, looking up a connection
	// that is not there, so that the load tool spends the same in both.
	var ticks atomic.Int64
	watch := func(local, remote *net.TCPAddr, onRSS func(int64), onState func(string)) func() {
		return func() {
			onRSS(readRSS(c))
			if ticks.Add(1)%5 != 1 || local == nil || remote == nil {
				return
			}
			onState(tcpState(remote, local))
		}
	}
	nowhere := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}
	// Bursts not measured first, so that the baseline does not pay alone
	// for the first bursts of a fresh server and fresh connections.
	for range max(1, c.slowBursts/4) {
		if _, err := s.burst(c, c.burst, nil); err != nil {
			return fmt.Errorf("warm-up burst: %w", err)
		}
	}
	nBursts := max(1, c.slowBursts)
	baseWatch := watch(nowhere, nowhere, func(int64) {}, func(string) {})
	base, baseRates, err := bursts(max(1, nBursts/2), baseWatch)
	if err != nil {
		return fmt.Errorf("baseline burst: %w", err)
	}
	logf("%s slow baseline (first half): %.0f deliveries/s", c.label, base.rate)
	time.Sleep(time.Second)

	// The stalled subscriber: a small receive buffer so that the server's
	// queue, not the kernel, has to hold the backlog.
	var slowConn atomic.Pointer[net.Conn]
	nd := &net.Dialer{Timeout: 10 * time.Second}
	if c.slowRcvBuf > 0 {
		nd.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, c.slowRcvBuf)
			})
			return serr
		}
	}
	slowHC := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := nd.DialContext(ctx, network, addr)
		if err == nil {
			slowConn.Store(&conn)
		}
		return conn, err
	}}}
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	slow, err := wire.Dial(sctx, c.wsURL, c.proto, slowHC)
	if err == nil {
		err = slow.Handshake(sctx)
	}
	if err == nil {
		err = slow.Subscribe(sctx, c.path)
	}
	scancel()
	if err != nil {
		return fmt.Errorf("slow subscriber: %w", err)
	}
	var slowGot atomic.Int64
	slow.OnPub = func(int64) { slowGot.Add(1) }
	var local, remote *net.TCPAddr
	if p := slowConn.Load(); p != nil {
		local, _ = (*p).LocalAddr().(*net.TCPAddr)
		remote, _ = (*p).RemoteAddr().(*net.TCPAddr)
	}
	time.Sleep(500 * time.Millisecond)

	rssBefore := readRSS(c)
	var peak atomic.Int64
	peak.Store(rssBefore)
	t0 := time.Now()
	var closedAt atomic.Int64 // ns after t0 when the server's side left ESTABLISHED
	closedAt.Store(-1)
	var serverState atomic.Value
	serverState.Store("ESTABLISHED")
	ticks.Store(0)
	during := watch(local, remote, func(v int64) {
		if v > peak.Load() {
			peak.Store(v)
		}
	}, func(st string) {
		if st != "ESTABLISHED" && closedAt.Load() < 0 {
			closedAt.Store(int64(time.Since(t0)))
			serverState.Store(st)
		}
	})
	withSlow, _, err := bursts(nBursts, during)
	if err != nil {
		return fmt.Errorf("burst with a slow subscriber: %w", err)
	}
	during()
	// Keep watching a little: the server may drop the socket after the
	// healthy ones are done.
	for i := 0; i < 10 && closedAt.Load() < 0; i++ {
		time.Sleep(100 * time.Millisecond)
		during()
	}
	// Now read the slow socket: a close frame or EOF means the server
	// disconnected it; a read that stalls with all or part of the burst
	// means it is still connected.
	dctx, dcancel := context.WithTimeout(context.Background(), 3*time.Second)
	derr := slow.ReadPubs(dctx)
	dcancel()
	slow.Close()
	disconnected := !errors.Is(derr, context.DeadlineExceeded)

	time.Sleep(time.Second)
	after, afterRates, err := bursts(max(1, nBursts-nBursts/2), baseWatch)
	if err != nil {
		return fmt.Errorf("baseline burst (second half): %w", err)
	}
	base.rate = median(append(baseRates, afterRates...))
	base.p99 = max(base.p99, after.p99)

	res := newResult(c)
	res.set("subs", c.subs)
	res.set("burst", c.burst)
	res.set("bursts", nBursts)
	res.set("size", c.size)
	res.set("slow_rcvbuf", c.slowRcvBuf)
	res.set("healthy_rate_baseline", base.rate)
	res.set("healthy_rate_with_slow", withSlow.rate)
	res.set("ratio", withSlow.rate/base.rate)
	res.set("baseline_p99_ms", base.p99)
	res.set("with_slow_p99_ms", withSlow.p99)
	res.set("slow_disconnected", disconnected)
	res.set("slow_close_code", wire.CloseCode(derr))
	if disconnected {
		res.set("slow_read_error", fmt.Sprint(derr))
	}
	if ca := closedAt.Load(); ca >= 0 {
		res.set("slow_server_closed_after_s", float64(ca)/1e9)
		res.set("slow_server_socket_state", serverState.Load())
	} else {
		res.set("slow_server_closed_after_s", nil)
	}
	res.set("slow_received", slowGot.Load())
	res.set("rss_before_kb", rssBefore)
	res.set("rss_peak_kb", peak.Load())
	res.emit()
	logf("%s slow: healthy %.0f/s baseline vs %.0f/s with a stalled subscriber (ratio %.2f); stalled one disconnected=%v code=%d after %v, got %d/%d; RSS %d → peak %d kB",
		c.label, base.rate, withSlow.rate, withSlow.rate/base.rate, disconnected, wire.CloseCode(derr), time.Duration(closedAt.Load()), slowGot.Load(), c.burst*max(1, c.slowBursts), rssBefore, peak.Load())
	return nil
}

var tcpStates = map[string]string{"01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1", "05": "FIN_WAIT2", "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT", "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING"}

// tcpState finds the socket local→remote in /proc/net/tcp (IPv4) and
// returns its state, or "GONE" if it is not listed.
func tcpState(local, remote *net.TCPAddr) string {
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return "ESTABLISHED" // cannot tell
	}
	defer f.Close()
	want := func(a *net.TCPAddr) string {
		ip := a.IP.To4()
		if ip == nil {
			return ""
		}
		return fmt.Sprintf("%02X%02X%02X%02X:%04X", ip[3], ip[2], ip[1], ip[0], a.Port)
	}
	l, r := want(local), want(remote)
	if l == "" || r == "" {
		return "ESTABLISHED"
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 4 || fs[1] != l || fs[2] != r {
			continue
		}
		if st, ok := tcpStates[strings.ToUpper(fs[3])]; ok {
			return st
		}
		return "0x" + fs[3]
	}
	return "GONE"
}
