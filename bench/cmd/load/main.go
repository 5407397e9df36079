// Command load drives the nes / hapi / centrifuge benchmark servers and
// prints one JSON object per result on stdout (a summary on stderr).
//
//	load -scenario fanout -proto nes -ws ws://127.0.0.1:8080/nes -http http://127.0.0.1:8080 -pid 1234 -label nes-go
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nes-go/nes/bench/internal/stats"
	"github.com/nes-go/nes/bench/internal/wire"
)

type config struct {
	scenario    string
	proto       wire.Proto
	wsURL       string
	httpURL     string
	pid         int
	label       string
	variant     string
	path        string
	subs        int
	burst       int
	size        int
	rounds      int
	warmRounds  int
	conns       int
	clients     int
	rate        float64
	duration    time.Duration
	warmup      time.Duration
	concurrency int
	maxHS       int
	dialConc    int
	srcAddrs    int
	wait        time.Duration
	slowRcvBuf  int
	slowBursts  int
}

func main() {
	var c config
	var proto string
	flag.StringVar(&c.scenario, "scenario", "fanout", "fanout|conns|rtt|httprtt|connect|slow")
	flag.StringVar(&proto, "proto", "nes", "nes|centrifuge")
	flag.StringVar(&c.wsURL, "ws", "", "websocket URL (ws://127.0.0.1:PORT/nes, ws://…/, ws://…/connection/websocket)")
	flag.StringVar(&c.httpURL, "http", "", "server base URL for /publish and /echo (default: derived from -ws)")
	flag.IntVar(&c.pid, "pid", 0, "server process id (CPU and RSS from /proc); 0 = not measured")
	flag.StringVar(&c.label, "label", "", "server name put into results")
	flag.StringVar(&c.variant, "variant", "", "how the run differs from the standard one, put into results (run.sh: \"pinned\" for server and load tool on a core each)")
	flag.StringVar(&c.path, "path", "/rooms/bench", "subscription path (centrifuge channel: rooms:bench)")
	flag.IntVar(&c.subs, "subs", 1000, "fanout/slow: subscribers")
	flag.IntVar(&c.burst, "burst", 200, "fanout/slow: messages per burst")
	flag.IntVar(&c.size, "size", 100, "fanout/slow: message size in bytes")
	flag.IntVar(&c.rounds, "rounds", 3, "fanout: measured rounds")
	flag.IntVar(&c.warmRounds, "warmup-rounds", 1, "fanout: bursts before the measured rounds, reported with \"warmup\": true and left out of the medians")
	flag.IntVar(&c.conns, "conns", 10000, "conns: connections")
	flag.IntVar(&c.clients, "clients", 50, "rtt/httprtt: clients, one request in flight each")
	flag.Float64Var(&c.rate, "rate", 0, "rtt/httprtt: requests per second that the clients together pace themselves to (0 = each sends its next request when the reply comes)")
	flag.DurationVar(&c.duration, "duration", 10*time.Second, "rtt/httprtt/connect: measured duration")
	flag.DurationVar(&c.warmup, "warmup", time.Second, "rtt/httprtt: warm-up not counted")
	flag.IntVar(&c.concurrency, "concurrency", 50, "connect: parallel handshakes")
	flag.IntVar(&c.maxHS, "max-handshakes", 20000, "connect: bound on total handshakes (TIME_WAIT)")
	flag.IntVar(&c.dialConc, "dial-concurrency", 64, "parallel dials when opening connections")
	flag.IntVar(&c.srcAddrs, "srcaddrs", 8, "spread client source addresses over 127.0.0.1..N (loopback targets only)")
	flag.DurationVar(&c.wait, "wait", 60*time.Second, "bound on waiting for one burst's deliveries")
	flag.IntVar(&c.slowRcvBuf, "slow-rcvbuf", 4096, "slow: SO_RCVBUF of the stalled subscriber (0 = kernel default)")
	flag.IntVar(&c.slowBursts, "slow-bursts", 20, "slow: bursts of -burst messages with the stalled subscriber, each delivered to the healthy subscribers before the next; the baseline runs as many, half before and half after")
	flag.Parse()
	p, err := wire.ParseProto(proto)
	if err != nil {
		fatal("%v", err)
	}
	c.proto = p
	if c.wsURL == "" && c.scenario != "httprtt" {
		fatal("-ws is required")
	}
	if c.httpURL == "" {
		u, err := url.Parse(c.wsURL)
		if err != nil || u.Host == "" {
			fatal("cannot derive -http from -ws %q; pass -http", c.wsURL)
		}
		c.httpURL = "http://" + u.Host
	}
	if c.label == "" {
		c.label = proto
	}
	if c.rounds < 1 || c.warmRounds < 0 {
		fatal("-rounds must be at least 1 and -warmup-rounds at least 0")
	}
	if c.rate != 0 && !(c.rate >= 1 && c.rate <= 1e9) { // NaN fails both
		fatal("-rate must be 0 (no pacing) or from 1 to 1e9 requests per second")
	}
	switch c.scenario {
	case "fanout":
		err = runFanout(&c)
	case "conns":
		err = runConns(&c)
	case "rtt":
		err = runRTT(&c)
	case "httprtt":
		err = runHTTPRTT(&c)
	case "connect":
		err = runConnect(&c)
	case "slow":
		err = runSlow(&c)
	default:
		err = fmt.Errorf("unknown scenario %q", c.scenario)
	}
	if err != nil {
		fatal("%s/%s: %v", c.label, c.scenario, err)
	}
}

func fatal(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "load: "+format+"\n", args...)
	os.Exit(1)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
}

// result is one output line; keys keep insertion order.
type result struct {
	keys []string
	vals map[string]any
}

func newResult(c *config) *result {
	r := &result{vals: map[string]any{}}
	r.set("server", c.label)
	r.set("scenario", c.scenario)
	r.set("proto", c.proto.String())
	if c.variant != "" {
		r.set("variant", c.variant)
	}
	return r
}

func (r *result) set(k string, v any) *result {
	if _, ok := r.vals[k]; !ok {
		r.keys = append(r.keys, k)
	}
	if f, ok := v.(float64); ok {
		v = round3(f)
	}
	r.vals[k] = v
	return r
}

func round3(f float64) float64 {
	if f != f || f > 1e15 || f < -1e15 {
		return f
	}
	s := strconv.FormatFloat(f, 'g', 6, 64)
	g, _ := strconv.ParseFloat(s, 64)
	return g
}

func (r *result) emit() {
	b := []byte{'{'}
	for i, k := range r.keys {
		if i > 0 {
			b = append(b, ',')
		}
		kb, _ := json.Marshal(k)
		vb, err := json.Marshal(r.vals[k])
		if err != nil {
			vb = []byte("null")
		}
		b = append(b, kb...)
		b = append(b, ':')
		b = append(b, vb...)
	}
	b = append(b, '}', '\n')
	os.Stdout.Write(b)
}

// ---- dialing ----

type dialer struct {
	clients []*http.Client
	next    atomic.Uint64
}

// newDialer builds websocket HTTP clients, one per source address when the
// target is an IPv4 loopback literal (spreads ephemeral ports / TIME_WAIT).
func newDialer(c *config, control func(network, address string, rc syscall.RawConn) error) *dialer {
	d := &dialer{}
	u, _ := url.Parse(c.wsURL)
	host := ""
	if u != nil {
		host = u.Hostname()
	}
	ip := net.ParseIP(host)
	n := 1
	if ip != nil && ip.To4() != nil && ip.IsLoopback() && c.srcAddrs > 1 {
		n = c.srcAddrs
	}
	for i := 0; i < n; i++ {
		nd := &net.Dialer{Timeout: 10 * time.Second}
		if n > 1 {
			nd.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i))}
		}
		if control != nil {
			nd.Control = control
		}
		tr := &http.Transport{DialContext: nd.DialContext, DisableCompression: true, MaxIdleConnsPerHost: -1}
		d.clients = append(d.clients, &http.Client{Transport: tr})
	}
	return d
}

func (d *dialer) client() *http.Client {
	return d.clients[int(d.next.Add(1))%len(d.clients)]
}

// openClient dials, handshakes and (if path != "") subscribes.
func openClient(ctx context.Context, c *config, d *dialer, path string) (*wire.Client, error) {
	cl, err := wire.Dial(ctx, c.wsURL, c.proto, d.client())
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	if err := cl.Handshake(ctx); err != nil {
		cl.Close()
		return nil, fmt.Errorf("handshake: %w", err)
	}
	if path != "" {
		if err := cl.Subscribe(ctx, path); err != nil {
			cl.Close()
			return nil, fmt.Errorf("subscribe: %w", err)
		}
	}
	return cl, nil
}

// openMany opens n subscribed clients with bounded concurrency. Handshake and
// subscribe replies are read with a context; the caller starts readers.
func openMany(c *config, d *dialer, n int, path string) ([]*wire.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second+time.Duration(n)*10*time.Millisecond)
	defer cancel()
	out := make([]*wire.Client, n)
	var idx atomic.Int64
	var firstErr error
	var mu sync.Mutex
	var failed atomic.Bool
	var wg sync.WaitGroup
	conc := min(c.dialConc, n)
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed.Load() {
				i := int(idx.Add(1) - 1)
				if i >= n {
					return
				}
				// The per-client context only bounds the handshake: reads
				// with a live context arm a timer, so later reads use
				// context.Background.
				cctx, ccancel := context.WithTimeout(ctx, 30*time.Second)
				cl, err := openClient(cctx, c, d, path)
				ccancel()
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("connection %d: %w", i, err)
					}
					mu.Unlock()
					failed.Store(true)
					return
				}
				out[i] = cl
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		closeAll(out)
		return nil, firstErr
	}
	logf("opened %d connections in %.2fs", n, time.Since(start).Seconds())
	return out, nil
}

func closeAll(cls []*wire.Client) {
	for _, cl := range cls {
		if cl != nil {
			cl.Close()
		}
	}
}

// ---- publish ----

var httpc = &http.Client{Timeout: 120 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}

func publish(c *config, n int) error {
	u := fmt.Sprintf("%s/publish?path=%s&n=%d&size=%d", c.httpURL, url.QueryEscape(c.path), n, c.size)
	resp, err := httpc.Post(u, "application/json", nil)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("publish: HTTP %d: %s", resp.StatusCode, body)
	}
	return nil
}

// ---- server measurements ----

type cpuSample struct {
	sched time.Duration
	src   string
	ok    bool
}

func readCPU(c *config) cpuSample {
	if c.pid <= 0 {
		return cpuSample{}
	}
	d, src, err := stats.ThreadsCPU(c.pid)
	if err != nil {
		logf("warning: server CPU: %v", err)
		return cpuSample{}
	}
	return cpuSample{sched: d, src: src, ok: true}
}

func cpuDelta(a, b cpuSample) (time.Duration, string, bool) {
	if !a.ok || !b.ok || a.src != b.src {
		return 0, "", false
	}
	return b.sched - a.sched, a.src, true
}

func readRSS(c *config) int64 {
	if c.pid <= 0 {
		return 0
	}
	v, err := stats.RSS(c.pid)
	if err != nil {
		logf("warning: server RSS: %v", err)
	}
	return v
}

func fdCount() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

var errTimeout = errors.New("timed out")
