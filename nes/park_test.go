//go:build linux

package nes

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/go-chi/chi/v5"
)

// Idle sockets park (read.go): their reader ends and the poller starts one
// when the client sends something. These tests use a short linger.
const testLinger = 30 * time.Millisecond

func newParkingServer(t *testing.T, opts Options, setup func(s *Server, r chi.Router)) *testServer {
	t.Helper()
	return newTestServer(t, opts, func(s *Server, r chi.Router) {
		s.readLinger = testLinger
		r.Get("/echo", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`"ok"`))
		})
		if err := s.Subscription("/rooms/{id}", SubscriptionOptions{}); err != nil {
			t.Fatal(err)
		}
		if setup != nil {
			setup(s, r)
		}
	})
}

func waitParked(t *testing.T, s *Server, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d parked sockets", n), func() bool { return s.Stats().Parked == n })
}

const echoReply = `{"type":"request","id":%d,"statusCode":200,"payload":"ok"}`

func TestIdleSocketParksAndWakes(t *testing.T) {
	ts := newParkingServer(t, quietOptions(), nil)
	c := dial(t, ts.url, nil)
	c.hello("/rooms/a")
	waitParked(t, ts.Server, 1)

	// A request wakes it; the reply comes; it parks again.
	for i := 2; i < 5; i++ {
		c.roundTrip(fmt.Sprintf(`{"type":"request","method":"GET","path":"/echo","id":%d}`, i), fmt.Sprintf(echoReply, i))
		waitParked(t, ts.Server, 1)
	}
	// Publications reach a parked socket: writing needs no reader.
	if err := ts.Publish(context.Background(), "/rooms/a", "hi"); err != nil {
		t.Fatal(err)
	}
	c.expect(`{"type":"pub","path":"/rooms/a","message":"hi"}`)
	if got := ts.Stats().Parked; got != 1 {
		t.Fatalf("parked %d after a publication, want 1", got)
	}
}

func TestParkedSocketClosedByClient(t *testing.T) {
	var disconnected atomic.Int32
	opts := quietOptions()
	opts.OnDisconnection = func(*Socket) { disconnected.Add(1) }
	ts := newParkingServer(t, opts, nil)
	c := dial(t, ts.url, nil)
	c.hello("/rooms/a")
	waitParked(t, ts.Server, 1)
	if err := c.conn.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Fatalf("close: %v", err)
	}
	waitFor(t, "teardown", func() bool {
		st := ts.Stats()
		return disconnected.Load() == 1 && st.Connections == 0 && st.Parked == 0
	})
	ts.subsMu.RLock()
	left := len(ts.index)
	ts.subsMu.RUnlock()
	if left != 0 {
		t.Fatalf("%d subscribed paths left", left)
	}

	// A connection dropped without a close frame too.
	c2 := dial(t, ts.url, nil)
	c2.hello()
	waitParked(t, ts.Server, 1)
	_ = c2.conn.CloseNow()
	waitFor(t, "teardown", func() bool { return disconnected.Load() == 2 && ts.Stats().Connections == 0 })
}

func TestParkedSocketClosedByServer(t *testing.T) {
	var disconnected atomic.Int32
	opts := quietOptions()
	opts.OnDisconnection = func(*Socket) { disconnected.Add(1) }
	ts := newParkingServer(t, opts, nil)
	c := dial(t, ts.url, nil)
	c.hello()
	waitParked(t, ts.Server, 1)
	for _, sock := range ts.allSockets(nil) {
		sock.Disconnect()
	}
	if code := c.closed(); code != websocket.StatusNormalClosure {
		t.Fatalf("close code %d, want 1000", code)
	}
	waitFor(t, "teardown", func() bool {
		return disconnected.Load() == 1 && ts.Stats().Connections == 0 && ts.Stats().Parked == 0
	})

	// Aborted (as the heartbeat does for a stuck write).
	c2 := dial(t, ts.url, nil)
	c2.hello()
	waitParked(t, ts.Server, 1)
	for _, sock := range ts.allSockets(nil) {
		sock.abort()
	}
	if _, err := c2.next(5 * time.Second); err == nil {
		t.Fatal("read after abort succeeded")
	}
	waitFor(t, "teardown", func() bool { return disconnected.Load() == 2 && ts.Stats().Connections == 0 })
}

func TestShutdownWithParkedSockets(t *testing.T) {
	srv, err := New(quietOptions())
	if err != nil {
		t.Fatal(err)
	}
	srv.readLinger = testLinger
	url := newHTTPServer(t, srv)
	const n = 50
	clients := make([]*rawClient, n)
	for i := range clients {
		clients[i] = dial(t, url, nil)
		clients[i].hello()
	}
	waitParked(t, srv, n)
	// The clients read, so that they answer the close handshake.
	codes := make(chan websocket.StatusCode, n)
	for _, c := range clients {
		go func() {
			_, _, err := c.conn.Read(context.Background())
			codes <- websocket.CloseStatus(err)
		}()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Shutdown took %v: close handshakes waited", d)
	}
	for range clients {
		if code := <-codes; code != closeGoingAway {
			t.Fatalf("close code %d, want %d", code, closeGoingAway)
		}
	}
	if st := srv.Stats(); st.Connections != 0 || st.Parked != 0 {
		t.Fatalf("after Shutdown: %+v", st)
	}
}

func TestHelloTimeoutOnParkedSocket(t *testing.T) {
	opts := quietOptions()
	opts.HelloTimeout = 300 * time.Millisecond
	ts := newParkingServer(t, opts, nil)
	c := dial(t, ts.url, nil)
	waitParked(t, ts.Server, 1)
	if code := c.closed(); code != CloseHelloTimeout {
		t.Fatalf("close code %d, want %d", code, CloseHelloTimeout)
	}
}

func TestHeartbeatWithParkedSockets(t *testing.T) {
	opts := Options{Heartbeat: Heartbeat{Interval: 100 * time.Millisecond, Timeout: 80 * time.Millisecond}}
	ts := newParkingServer(t, opts, nil)
	answering := dial(t, ts.url, nil)
	answering.hello()
	silent := dial(t, ts.url, nil)
	silent.hello()
	waitParked(t, ts.Server, 2)

	// The answering client replies to every ping, waking its socket each time.
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			f, err := answering.next(5 * time.Second)
			if err != nil {
				return
			}
			if f == `{"type":"ping"}` {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				_ = answering.conn.Write(ctx, websocket.MessageText, []byte(`{"type":"ping"}`))
				cancel()
			}
			select {
			case <-done:
				return
			default:
			}
		}
	}()
	if code := silent.closed(); code != CloseHeartbeatTimeout {
		t.Fatalf("silent client: close code %d, want %d", code, CloseHeartbeatTimeout)
	}
	time.Sleep(500 * time.Millisecond) // several heartbeat cycles
	close(done)
	if n := ts.Stats().Connections; n != 1 {
		t.Fatalf("%d connections, want the answering one", n)
	}
	_ = answering.conn.CloseNow()
	wg.Wait()
}

// rawSocket is a websocket spoken byte by byte over TCP.
type rawSocket struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
}

func rawDial(t *testing.T, wsURL string) *rawSocket {
	t.Helper()
	host := strings.TrimPrefix(wsURL, "ws://")
	host = host[:strings.Index(host, "/")]
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	req := "GET /nes HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	return &rawSocket{t: t, conn: conn, br: br}
}

// frame is a masked text frame (the mask key is zero) of a short payload.
func frame(payload string) []byte {
	return append([]byte{0x81, 0x80 | byte(len(payload)), 0, 0, 0, 0}, payload...)
}

func (r *rawSocket) write(b []byte) {
	r.t.Helper()
	if _, err := r.conn.Write(b); err != nil {
		r.t.Fatal(err)
	}
}

// read returns the payload of the next unfragmented short frame.
func (r *rawSocket) read() string {
	r.t.Helper()
	_, body := r.rawFrame()
	return body
}

// rawFrame reads the next unfragmented short frame's opcode and payload
// (unmasked, as a server sends them).
func (r *rawSocket) rawFrame() (byte, string) {
	r.t.Helper()
	_ = r.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	head := make([]byte, 2)
	if _, err := io.ReadFull(r.br, head); err != nil {
		r.t.Fatal(err)
	}
	n := int(head[1] & 0x7f)
	if n == 126 {
		ext := make([]byte, 2)
		if _, err := io.ReadFull(r.br, ext); err != nil {
			r.t.Fatal(err)
		}
		n = int(ext[0])<<8 | int(ext[1])
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r.br, body); err != nil {
		r.t.Fatal(err)
	}
	return head[0] & 0x0f, string(body)
}

// A frame that arrives in pieces, with pauses longer than the linger between
// them, is read whole: only a wait at a frame boundary parks.
func TestFrameSplitAcrossTheLinger(t *testing.T) {
	ts := newParkingServer(t, quietOptions(), nil)
	r := rawDial(t, ts.url)
	hello := frame(`{"type":"hello","version":"2","id":1}`)
	for _, cut := range [][2]int{{0, 1}, {1, 4}, {4, 10}, {10, len(hello)}} {
		r.write(hello[cut[0]:cut[1]])
		time.Sleep(4 * testLinger)
	}
	if got := r.read(); !strings.HasPrefix(got, `{"type":"hello","id":1,`) {
		t.Fatalf("hello reply %s", got)
	}
	waitParked(t, ts.Server, 1)
}

// Frames pipelined into one write while parked are all served, in order.
func TestPipelinedFramesWakeAParkedSocket(t *testing.T) {
	ts := newParkingServer(t, quietOptions(), nil)
	r := rawDial(t, ts.url)
	r.write(frame(`{"type":"hello","version":"2","id":1}`))
	r.read()
	for round := 0; round < 3; round++ {
		waitParked(t, ts.Server, 1)
		var batch []byte
		const n = 40 // more than the frames queue holds (maxPendingFrames)
		for i := 0; i < n; i++ {
			batch = append(batch, frame(fmt.Sprintf(`{"type":"request","method":"GET","path":"/echo","id":%d}`, 100+i))...)
		}
		r.write(batch)
		for i := 0; i < n; i++ {
			if got, want := r.read(), fmt.Sprintf(echoReply, 100+i); got != want {
				t.Fatalf("round %d reply %d: %s, want %s", round, i, got, want)
			}
		}
	}
}

// Clients that pause around the linger while others close keep every reply
// and every teardown (run with -race).
func TestParkingUnderChurn(t *testing.T) {
	var disconnected atomic.Int32
	opts := quietOptions()
	opts.OnDisconnection = func(*Socket) { disconnected.Add(1) }
	ts := newParkingServer(t, opts, nil)
	const clients, rounds = 16, 12
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		c := dial(t, ts.url, nil)
		c.hello("/rooms/x")
		wg.Add(1)
		go func(i int, c *rawClient) {
			defer wg.Done()
			for j := 0; j < rounds; j++ {
				time.Sleep(time.Duration((i*7+j*13)%60) * time.Millisecond) // below and above the linger
				id := 10 + j
				frameText := fmt.Sprintf(`{"type":"request","method":"GET","path":"/echo","id":%d}`, id)
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				err := c.conn.Write(ctx, websocket.MessageText, []byte(frameText))
				cancel()
				if err != nil {
					t.Errorf("client %d write: %v", i, err)
					return
				}
				for {
					f, err := c.next(5 * time.Second)
					if err != nil {
						t.Errorf("client %d read: %v", i, err)
						return
					}
					if strings.HasPrefix(f, `{"type":"pub"`) {
						continue
					}
					if want := fmt.Sprintf(echoReply, id); f != want {
						t.Errorf("client %d: %s, want %s", i, f, want)
						return
					}
					break
				}
			}
			if i%2 == 0 {
				_ = c.conn.Close(websocket.StatusNormalClosure, "")
			} else {
				_ = c.conn.CloseNow()
			}
		}(i, c)
	}
	// Publications meanwhile, to parked and running sockets alike.
	for k := 0; k < 20; k++ {
		_ = ts.Publish(context.Background(), "/rooms/x", k)
		time.Sleep(10 * time.Millisecond)
	}
	wg.Wait()
	waitFor(t, "every teardown", func() bool {
		return disconnected.Load() == clients && ts.Stats().Connections == 0 && ts.Stats().Parked == 0
	})
}

// Websocket pings from a client wake a parked socket, get their pong (in
// two writes through the small bufio.Writer), and let it park again.
func TestWebsocketPingsOnAParkedSocket(t *testing.T) {
	ts := newParkingServer(t, quietOptions(), nil)
	c := dial(t, ts.url, nil)
	c.hello()
	waitParked(t, ts.Server, 1)
	readCtx, stop := context.WithCancel(context.Background())
	defer stop()
	readDone := make(chan struct{})
	go func() { // coder/websocket reads pongs in Read
		defer close(readDone)
		_, _, _ = c.conn.Read(readCtx)
	}()
	for i := 0; i < 3; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := c.conn.Ping(ctx)
		cancel()
		if err != nil {
			t.Fatalf("ping %d: %v", i, err)
		}
		waitParked(t, ts.Server, 1)
	}
	stop()
	<-readDone
}
