package wire

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/coder/websocket"
)

// Proto selects the wire protocol.
type Proto int

// Supported protocols.
const (
	NES Proto = iota
	Centrifuge
)

// ParseProto maps "nes" / "centrifuge" to a Proto.
func ParseProto(s string) (Proto, error) {
	switch s {
	case "nes":
		return NES, nil
	case "centrifuge", "cf":
		return Centrifuge, nil
	}
	return 0, fmt.Errorf("unknown protocol %q (want nes or centrifuge)", s)
}

func (p Proto) String() string {
	if p == Centrifuge {
		return "centrifuge"
	}
	return "nes"
}

// Client is one websocket connection speaking nes or centrifuge. A Client is
// driven by one goroutine at a time (reads); writes are safe from any.
type Client struct {
	WS    *websocket.Conn
	Proto Proto
	id    int64
	buf   bytes.Buffer // ReadFrame's, reused
	// OnPub, when set, is called with the "t" of each publication read
	// while awaiting replies or in ReadPubs.
	OnPub func(t int64)
}

// ErrReply is returned when the server answers with an error.
var ErrReply = errors.New("error reply")

// Dial opens the websocket. hc may be nil (http.DefaultClient).
func Dial(ctx context.Context, url string, p Proto, hc *http.Client) (*Client, error) {
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(16 << 20)
	return &Client{WS: ws, Proto: p}, nil
}

// Close closes the connection with a normal closure, without waiting long
// for the server's close frame.
func (c *Client) Close() error {
	return c.WS.CloseNow()
}

// CloseClean sends a close frame and waits (bounded by the library, 5 s)
// for the server's.
func (c *Client) CloseClean() error {
	return c.WS.Close(websocket.StatusNormalClosure, "")
}

// ReadFrame reads one data frame into the client's reused buffer. The slice
// is valid until the next read.
func (c *Client) ReadFrame(ctx context.Context) ([]byte, error) {
	_, r, err := c.WS.Reader(ctx)
	if err != nil {
		return nil, err
	}
	c.buf.Reset()
	if _, err := c.buf.ReadFrom(r); err != nil {
		return nil, err
	}
	return c.buf.Bytes(), nil
}

func (c *Client) write(ctx context.Context, b []byte) error {
	return c.WS.Write(ctx, websocket.MessageText, b)
}

func (c *Client) nextID() int64 {
	c.id++
	return c.id
}

// Handshake sends hello (nes) or connect (centrifuge) and waits for the reply.
func (c *Client) Handshake(ctx context.Context) error {
	id := c.nextID()
	var msg []byte
	if c.Proto == NES {
		msg = fmt.Appendf(nil, `{"type":"hello","version":"2","id":%d}`, id)
	} else {
		msg = fmt.Appendf(nil, `{"id":%d,"connect":{}}`, id)
	}
	if err := c.write(ctx, msg); err != nil {
		return err
	}
	_, err := c.await(ctx, id)
	return err
}

// Subscribe subscribes to a nes path (centrifuge: the mapped channel).
func (c *Client) Subscribe(ctx context.Context, path string) error {
	id := c.nextID()
	var msg []byte
	if c.Proto == NES {
		msg = fmt.Appendf(nil, `{"type":"sub","path":%q,"id":%d}`, path, id)
	} else {
		msg = fmt.Appendf(nil, `{"id":%d,"subscribe":{"channel":%q}}`, id, ChannelFor(path))
	}
	if err := c.write(ctx, msg); err != nil {
		return err
	}
	_, err := c.await(ctx, id)
	return err
}

var cfEchoData = []byte(`{"ping":1}`)

// Echo performs one request: nes GET /echo, centrifuge rpc "echo".
func (c *Client) Echo(ctx context.Context) error {
	id := c.nextID()
	var msg []byte
	if c.Proto == NES {
		msg = fmt.Appendf(nil, `{"type":"request","method":"GET","path":"/echo","id":%d}`, id)
	} else {
		msg = fmt.Appendf(nil, `{"id":%d,"rpc":{"method":"echo","data":%s}}`, id, cfEchoData)
	}
	if err := c.write(ctx, msg); err != nil {
		return err
	}
	reply, err := c.await(ctx, id)
	if err != nil {
		return err
	}
	if c.Proto == NES {
		if sc, ok := Field(reply, "statusCode"); !ok || string(sc) != "200" {
			return fmt.Errorf("%w: %s", ErrReply, trunc(reply))
		}
		if !bytes.Contains(reply, []byte(`"ok":true`)) {
			return fmt.Errorf("unexpected echo payload: %s", trunc(reply))
		}
	} else if !bytes.Contains(reply, []byte(`"rpc":`)) {
		return fmt.Errorf("unexpected rpc reply: %s", trunc(reply))
	}
	return nil
}

func trunc(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// await reads until the reply with the given id, answering pings and passing
// publications to OnPub. The returned slice is valid until the next read.
func (c *Client) await(ctx context.Context, id int64) ([]byte, error) {
	var want [20]byte
	ws := strconv.AppendInt(want[:0], id, 10)
	for {
		frame, err := c.ReadFrame(ctx)
		if err != nil {
			return nil, err
		}
		if c.Proto == NES {
			k, _ := NESKind(frame)
			if k != KindReply {
				if err := c.aside(ctx, k, frame); err != nil {
					return nil, err
				}
				continue
			}
			got, _ := Field(frame, "id")
			if sc, ok := Field(frame, "statusCode"); ok {
				if n, _ := Int(sc); n >= 400 && (got == nil || bytes.Equal(got, ws)) {
					return nil, fmt.Errorf("%w: %s", ErrReply, trunc(frame))
				}
			}
			if bytes.Equal(got, ws) {
				return frame, nil
			}
			continue
		}
		var reply []byte
		var ferr error
		Lines(frame, func(line []byte) bool {
			k := CFKind(line)
			if k != KindReply {
				ferr = c.aside(ctx, k, line)
				return ferr == nil
			}
			if got, _ := Field(line, "id"); bytes.Equal(got, ws) {
				if bytes.Contains(line, []byte(`"error":`)) {
					ferr = fmt.Errorf("%w: %s", ErrReply, trunc(line))
				}
				reply = line
			}
			return ferr == nil
		})
		if ferr != nil {
			return nil, ferr
		}
		if reply != nil {
			return reply, nil
		}
	}
}

// aside handles a message that is not a reply being awaited: it answers a
// ping (nes or centrifuge) and passes a publication to OnPub.
func (c *Client) aside(ctx context.Context, k Kind, msg []byte) error {
	switch k {
	case KindPing:
		if c.Proto == NES {
			return c.pongNES(ctx, msg)
		}
		return c.write(ctx, []byte(`{}`))
	case KindPub:
		c.pub(msg)
	}
	return nil
}

func (c *Client) pub(msg []byte) {
	if c.OnPub == nil {
		return
	}
	if t, ok := FindT(msg); ok {
		c.OnPub(t)
	} else {
		c.OnPub(0)
	}
}

func (c *Client) pongNES(ctx context.Context, _ []byte) error {
	// Like the official client, answer with the client's own next id (nes
	// pings carry none; a reply is never sent for a ping).
	var b [64]byte
	msg := append(b[:0], `{"type":"ping","id":`...)
	msg = strconv.AppendInt(msg, c.nextID(), 10)
	msg = append(msg, '}')
	return c.write(ctx, msg)
}

// ReadPubs reads frames until an error (close, EOF, context), answering pings
// and calling OnPub for each publication. It returns the read error.
func (c *Client) ReadPubs(ctx context.Context) error {
	for {
		frame, err := c.ReadFrame(ctx)
		if err != nil {
			return err
		}
		if c.Proto == NES {
			k, _ := NESKind(frame)
			if err := c.aside(ctx, k, frame); err != nil {
				return err
			}
			continue
		}
		var ferr error
		Lines(frame, func(line []byte) bool {
			ferr = c.aside(ctx, CFKind(line), line)
			return ferr == nil
		})
		if ferr != nil {
			return ferr
		}
	}
}

// CloseCode reports the websocket close status carried by err, or -1.
func CloseCode(err error) int {
	return int(websocket.CloseStatus(err))
}
