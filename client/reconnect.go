package client

import (
	"errors"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/coder/websocket"
)

// manage owns a session once its first connection is up: it waits for the
// connection to end, reports it, and reconnects until told to stop or out
// of attempts. It is the only goroutine that ends a session on its own.
func (c *Client) manage(s *session, cn *conn) {
	defer func() {
		c.mu.Lock()
		s.ended = true
		s.cur = nil
		c.mu.Unlock()
		s.disp.close()
		close(s.done)
	}()
	for {
		select {
		case <-cn.done:
		case <-s.ctx.Done():
			// Requested: close politely; the read loop sees the close.
			cn.ws.Close(websocket.StatusNormalClosure, "")
			<-cn.done
		}
		requested := s.ctx.Err() != nil
		c.mu.Lock()
		if c.conn == cn {
			c.conn, c.socket = nil, ""
		}
		c.failPendingLocked()
		will := !requested && !s.opts.NoReconnect
		if !will {
			s.ended = true // a callback may Connect again at once
		}
		c.mu.Unlock()

		info := DisconnectInfo{Requested: requested}
		if !requested {
			info.Err = cn.err
			info.Code = int(websocket.CloseStatus(cn.err))
			if info.Code < 0 {
				info.Code = 0
			}
			var ce websocket.CloseError
			if errors.As(cn.err, &ce) {
				info.Reason = ce.Reason
			}
		}
		if cn.hbExpired.Load() {
			c.reportError(s, newError(TypeTimeout, msgHeartbeat, nil))
			if f := c.opts.OnHeartbeatTimeout; f != nil {
				c.emit(s, func() { f(will) })
			}
		}
		if f := c.opts.OnDisconnect; f != nil {
			c.emit(s, func() { f(will, info) })
		}
		if !will {
			return
		}
		var err error
		if cn, err = c.reconnect(s); cn == nil {
			c.mu.Lock()
			s.ended = true
			c.mu.Unlock()
			if err != nil {
				if f := c.opts.OnDisconnect; f != nil {
					c.emit(s, func() { f(false, DisconnectInfo{Err: err}) })
				}
			}
			return
		}
	}
}

// reconnect tries to connect again with exponential backoff. It returns the
// new connection, or nil and the last error when it gives up (nil, nil when
// the session was stopped).
func (c *Client) reconnect(s *session) (*conn, error) {
	for failures := 0; ; failures++ {
		t := time.NewTimer(backoff(s.opts, failures))
		select {
		case <-t.C:
		case <-s.ctx.Done():
			t.Stop()
			return nil, nil
		}
		cn, err := c.attempt(s.ctx, s, true)
		if err == nil {
			return cn, nil
		}
		if s.ctx.Err() != nil {
			return nil, nil
		}
		c.reportError(s, err)
		if permanent(err) || (s.opts.Retries > 0 && failures+1 >= s.opts.Retries) {
			return nil, err
		}
	}
}

// backoff returns the wait before the attempt that follows n consecutive
// failures: Delay*2^n capped at MaxDelay, with equal jitter (half of it
// fixed, half random).
func backoff(o ConnectOptions, n int) time.Duration {
	d := o.MaxDelay
	if n < 32 {
		if e := o.Delay << n; e > 0 && e < d {
			d = e
		}
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// permanent reports whether a failed attempt should end reconnection:
// refused credentials (401, 403, on the upgrade or the hello), a hello
// the server rejects as malformed (other 4xx, except a refused subscription
// path, which the client drops before trying again, and 408/429), and
// misuse (an unavailable encoding). Network errors, timeouts and 5xx are
// transient.
func permanent(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Type {
	case TypeUser:
		return true
	case TypeWS:
		return e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden
	case TypeServer:
		switch {
		case e.StatusCode == http.StatusUnauthorized, e.StatusCode == http.StatusForbidden:
			return true
		case e.Path != "", e.StatusCode == http.StatusRequestTimeout, e.StatusCode == http.StatusTooManyRequests:
			return false
		}
		return e.StatusCode >= 400 && e.StatusCode < 500
	}
	return false
}

// failPendingLocked fails every request waiting for a reply.
func (c *Client) failPendingLocked() {
	for id, ch := range c.pending {
		select {
		case ch <- message{err: newError(TypeDisconnect, msgDisconnected, nil)}:
		default:
		}
		delete(c.pending, id)
	}
}
