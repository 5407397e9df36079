package nes

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/go-chi/chi/v5"
)

// Length encodings of wsFrame.
const (
	lenShortest = iota // the shortest the RFC allows
	len16              // 126 and 16 bits
	len64              // 127 and 64 bits
)

// wsFrame builds a frame: b0 is FIN, RSV and opcode; masked frames get key.
func wsFrame(b0 byte, masked bool, key [4]byte, payload []byte, form int) []byte {
	n := len(payload)
	if form == lenShortest {
		switch {
		case n > 0xffff:
			form = len64
		case n > 125:
			form = len16
		}
	}
	var m byte
	if masked {
		m = 0x80
	}
	f := []byte{b0}
	switch form {
	case len16:
		f = append(f, m|126)
		f = binary.BigEndian.AppendUint16(f, uint16(n))
	case len64:
		f = append(f, m|127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	default:
		f = append(f, m|byte(n))
	}
	if !masked {
		return append(f, payload...)
	}
	f = append(f, key[:]...)
	for i, b := range payload {
		f = append(f, b^key[i%4])
	}
	return f
}

// fastReader is a corkConn reading stream through a reader of the smallest
// size, as a parkable socket's is.
func fastReader(stream []byte) *corkConn {
	return &corkConn{br: bufio.NewReaderSize(bytes.NewReader(stream), parkedReadBuffer)}
}

func TestReadDataFrame(t *testing.T) {
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	long := bytes.Repeat([]byte("0123456789"), 7000) // 70,000 bytes: a 64-bit length
	tests := []struct {
		name  string
		frame []byte
		want  []byte // nil: not for the fast path
	}{
		{"text", wsFrame(0x81, true, key, []byte(`{"type":"ping","id":1}`), lenShortest), []byte(`{"type":"ping","id":1}`)},
		{"binary", wsFrame(0x82, true, key, []byte{0, 1, 2, 0xff}, lenShortest), []byte{0, 1, 2, 0xff}},
		{"empty", wsFrame(0x81, true, key, nil, lenShortest), []byte{}},
		{"125 bytes", wsFrame(0x81, true, key, long[:125], lenShortest), long[:125]},
		{"16-bit length", wsFrame(0x81, true, key, long[:300], lenShortest), long[:300]},
		{"16-bit length, short payload", wsFrame(0x81, true, key, long[:5], len16), long[:5]},
		{"64-bit length", wsFrame(0x81, true, key, long, lenShortest), long},
		{"zero key", wsFrame(0x81, true, [4]byte{}, []byte("abc"), lenShortest), []byte("abc")},
		{"at the limit", wsFrame(0x81, true, key, long[:1000], lenShortest), long[:1000]},
		{"over the limit", wsFrame(0x81, true, key, long[:1001], lenShortest), nil},
		{"unmasked", wsFrame(0x81, false, key, []byte("abc"), lenShortest), nil},
		{"fragment", wsFrame(0x01, true, key, []byte("abc"), lenShortest), nil},
		{"continuation", wsFrame(0x80, true, key, []byte("abc"), lenShortest), nil},
		{"rsv1 (compressed)", wsFrame(0xc1, true, key, []byte("abc"), lenShortest), nil},
		{"rsv2", wsFrame(0xa1, true, key, []byte("abc"), lenShortest), nil},
		{"rsv3", wsFrame(0x91, true, key, []byte("abc"), lenShortest), nil},
		{"reserved opcode", wsFrame(0x83, true, key, []byte("abc"), lenShortest), nil},
		{"ping", wsFrame(0x89, true, key, []byte("p"), lenShortest), nil},
		{"pong", wsFrame(0x8a, true, key, []byte("p"), lenShortest), nil},
		{"close", wsFrame(0x88, true, key, []byte{3, 0xe8}, lenShortest), nil},
		{"64-bit length, top bit set", append([]byte{0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1}, key[:]...), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			limit := int64(1000)
			if len(tt.want) > 1000 {
				limit = 1 << 20
			}
			next := []byte("next")
			c := fastReader(append(bytes.Clone(tt.frame), next...))
			var scratch bytes.Buffer
			data, ok, err := c.readDataFrame(&scratch, limit)
			if err != nil {
				t.Fatal(err)
			}
			rest, _ := io.ReadAll(c.br)
			if tt.want == nil {
				if ok {
					t.Fatalf("read on the fast path: %q", data)
				}
				if want := append(bytes.Clone(tt.frame), next...); !bytes.Equal(rest, want) {
					t.Fatal("a frame left to coder/websocket was consumed")
				}
				return
			}
			if !ok || !bytes.Equal(data, tt.want) {
				t.Fatalf("got %v %q, want %q", ok, data, tt.want)
			}
			if string(rest) != "next" {
				t.Fatalf("left %q after the frame", rest)
			}
		})
	}
}

func TestReadDataFrameErrors(t *testing.T) {
	key := [4]byte{1, 2, 3, 4}
	whole := wsFrame(0x81, true, key, []byte("hello, world"), lenShortest)
	for _, cut := range []int{0, 1, 3, 6, 10} {
		c := fastReader(whole[:cut])
		var scratch bytes.Buffer
		_, ok, err := c.readDataFrame(&scratch, 1<<20)
		switch {
		case cut < 6: // inside the header: nothing consumed
			if ok || err == nil {
				t.Errorf("cut at %d: ok %v, err %v", cut, ok, err)
			}
		default: // inside the payload
			if !ok || err != io.ErrUnexpectedEOF {
				t.Errorf("cut at %d: ok %v, err %v; want the frame's unexpected EOF", cut, ok, err)
			}
		}
	}
}

func TestUnmask(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 40 {
		var key [4]byte
		binary.LittleEndian.PutUint32(key[:], r.Uint32())
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		want := bytes.Clone(b)
		for i := range want {
			want[i] ^= key[i%4]
		}
		unmask(b, binary.LittleEndian.Uint32(key[:]))
		if !bytes.Equal(b, want) {
			t.Fatalf("length %d: got %x, want %x", n, b, want)
		}
	}
}

// Frames the fast path leaves to coder/websocket, between ones it reads:
// a ping is answered, a fragmented message is put together, and the frames
// after them are read as before.
func TestFastPathAndLibraryFramesMixed(t *testing.T) {
	for _, park := range []bool{false, true} {
		t.Run(fmt.Sprintf("parking=%v", park), func(t *testing.T) {
			setup := func(s *Server, r chi.Router) {
				r.Post("/echo", func(w http.ResponseWriter, r *http.Request) {
					body, _ := io.ReadAll(r.Body)
					w.Header().Set("Content-Type", "application/json")
					_, _ = w.Write(body)
				})
			}
			var ts *testServer
			if park {
				ts = newParkingServer(t, quietOptions(), setup)
			} else {
				ts = newTestServer(t, quietOptions(), setup)
			}
			r := rawDial(t, ts.url)
			key := [4]byte{0xa1, 0xb2, 0xc3, 0xd4}
			r.write(wsFrame(0x81, true, key, []byte(`{"type":"hello","version":"2","id":1}`), lenShortest))
			if op, got := r.rawFrame(); op != 1 || !strings.HasPrefix(got, `{"type":"hello","id":1,`) {
				t.Fatalf("hello: %d %s", op, got)
			}
			big := strings.Repeat("x", 300)
			req := func(id int, s string) []byte {
				return []byte(fmt.Sprintf(`{"type":"request","method":"POST","path":"/echo","payload":"%s","id":%d}`, s, id))
			}
			want := func(id int, s string) string {
				return fmt.Sprintf(`{"type":"request","id":%d,"statusCode":200,"payload":"%s"}`, id, s)
			}
			two := req(3, "in two frames")
			var stream []byte
			stream = append(stream, wsFrame(0x89, true, key, []byte("are you there"), lenShortest)...)
			stream = append(stream, wsFrame(0x81, true, key, req(2, big), lenShortest)...)
			stream = append(stream, wsFrame(0x01, true, key, two[:20], lenShortest)...)
			stream = append(stream, wsFrame(0x89, true, key, []byte("again"), lenShortest)...)
			stream = append(stream, wsFrame(0x80, true, key, two[20:], lenShortest)...)
			stream = append(stream, wsFrame(0x81, true, key, req(4, "short"), len16)...)
			r.write(stream)
			// The replies come in order; a pong is written by the
			// websocket library as its ping is read, so it may come
			// before a reply to an earlier request, which is handled
			// on another goroutine.
			replies := []string{want(2, big), want(3, "in two frames"), want(4, "short")}
			pongs := []string{"are you there", "again"}
			for len(replies)+len(pongs) > 0 {
				op, got := r.rawFrame()
				switch {
				case op == 0xa && len(pongs) > 0 && got == pongs[0]:
					pongs = pongs[1:]
				case op == 1 && len(replies) > 0 && got == replies[0]:
					replies = replies[1:]
				default:
					t.Fatalf("got %d %s\nwant a pong of %q or the reply %s", op, got, pongs, replies)
				}
			}
		})
	}
}

// A close by the server reaches the client at once while the reader waits
// for a frame on the fast path, and the close handshake completes: the
// reader leaves the fast path, and coder/websocket's Close reads the
// client's close frame.
func TestServerCloseWhileReaderWaits(t *testing.T) {
	for _, park := range []bool{false, true} {
		t.Run(fmt.Sprintf("parking=%v", park), func(t *testing.T) {
			sockets := make(chan *Socket, 1)
			var gone atomic.Int64
			opts := quietOptions()
			opts.OnConnection = func(_ context.Context, s *Socket) error { sockets <- s; return nil }
			opts.OnDisconnection = func(*Socket) { gone.Store(time.Now().UnixNano()) }
			var ts *testServer
			if park {
				ts = newParkingServer(t, opts, func(s *Server, _ chi.Router) { s.readLinger = time.Minute })
			} else {
				ts = newTestServer(t, opts, nil)
			}
			c := dial(t, ts.url, nil)
			c.hello()
			sock := <-sockets
			time.Sleep(50 * time.Millisecond) // the reader waits for the next frame
			start := time.Now()
			sock.Disconnect()
			if code := c.closed(); code != websocket.StatusNormalClosure {
				t.Fatalf("close code %d", code)
			}
			waitFor(t, "OnDisconnection", func() bool { return gone.Load() != 0 })
			if d := time.Unix(0, gone.Load()).Sub(start); d > time.Second {
				t.Fatalf("the socket took %v to close", d)
			}
		})
	}
}

// A client that stops in the middle of a frame cannot hold a server close
// forever: after the wait for the reader to finish the frame, the connection
// is dropped.
func TestServerCloseWhileClientStalledMidFrame(t *testing.T) {
	sockets := make(chan *Socket, 1)
	gone := make(chan struct{})
	opts := quietOptions()
	opts.OnConnection = func(_ context.Context, s *Socket) error { sockets <- s; return nil }
	opts.OnDisconnection = func(*Socket) { close(gone) }
	ts := newTestServer(t, opts, func(s *Server, _ chi.Router) { s.fastStopWait = 100 * time.Millisecond })
	r := rawDial(t, ts.url)
	key := [4]byte{9, 8, 7, 6}
	r.write(wsFrame(0x81, true, key, []byte(`{"type":"hello","version":"2","id":1}`), lenShortest))
	if _, got := r.rawFrame(); !strings.HasPrefix(got, `{"type":"hello","id":1,`) {
		t.Fatalf("hello: %s", got)
	}
	sock := <-sockets
	part := wsFrame(0x81, true, key, []byte(`{"type":"request","method":"GET","path":"/x","id":2}`), lenShortest)
	r.write(part[:10]) // the header and 4 bytes of the payload
	time.Sleep(50 * time.Millisecond)
	sock.Disconnect()
	select {
	case <-gone:
	case <-time.After(5 * time.Second):
		t.Fatal("the socket was not closed")
	}
	// The connection was dropped: no close frame, the read ends.
	_ = r.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(r.br); err != nil {
		t.Fatalf("the connection was not closed: %v", err)
	}
}
