package client

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nes-go/nes/nes"
)

func TestErrorIs(t *testing.T) {
	sentinels := map[ErrorType]error{TypeDisconnect: ErrDisconnect, TypeProtocol: ErrProtocol, TypeServer: ErrServer,
		TypeTimeout: ErrTimeout, TypeUser: ErrUser, TypeWS: ErrWS}
	for typ, s := range sentinels {
		err := error(&Error{Type: typ, Err: context.DeadlineExceeded})
		for other, s2 := range sentinels {
			if got := errors.Is(err, s2); got != (other == typ) {
				t.Errorf("errors.Is(%s error, %v) = %v", typ, s2, got)
			}
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s error does not unwrap", typ)
		}
		if s.Error() == "" || typ.String() == "" {
			t.Error("empty text")
		}
	}
}

func TestBackoff(t *testing.T) {
	o := (&ConnectOptions{Delay: 100 * time.Millisecond, MaxDelay: time.Second}).withDefaults()
	for n, want := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		want *= time.Millisecond
		for range 50 {
			if d := backoff(o, n); d < want/2 || d > want {
				t.Fatalf("backoff(%d) = %v, want in [%v, %v]", n, d, want/2, want)
			}
		}
	}
	if d := backoff(o, 1000); d < 500*time.Millisecond || d > time.Second {
		t.Fatalf("backoff(1000) = %v", d)
	}
	def := (*ConnectOptions)(nil).withDefaults()
	if def.Delay != DefaultDelay || def.MaxDelay != DefaultMaxDelay || def.Timeout != DefaultConnectTimeout || def.Retries != 0 {
		t.Fatalf("defaults: %+v", def)
	}
}

// A callback may Connect again as soon as the client has said it will not
// reconnect.
func TestConnectFromOnDisconnect(t *testing.T) {
	ts := newServer(t, nes.Options{}, routes)
	rec := newRecorder()
	var c *Client
	opts := rec.options(JSON)
	opts.OnDisconnect = func(will bool, info DisconnectInfo) {
		rec.add("disconnect will=%v requested=%v", will, info.Requested)
		if !will && !info.Requested {
			if err := c.Connect(context.Background(), nil); err != nil {
				rec.add("reconnect error %v", err)
			} else {
				rec.add("reconnected")
			}
		}
	}
	c = newClient(t, ts.url, opts)
	connect(t, c, &ConnectOptions{NoReconnect: true})
	ts.disconnectAll()
	if e := rec.wait(t, "reconnect"); e != "reconnected" {
		t.Fatal(e)
	}
	if _, err := c.Request(ctx5(t), Request{Path: "/hello"}); err != nil {
		t.Fatal(err)
	}
}
