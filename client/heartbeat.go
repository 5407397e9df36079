package client

import (
	"time"

	"github.com/nes-go/nes/protocol"
)

// heartbeat watches a connection for silence. Once the hello reply announces
// the server's heartbeat, the server must send something (a ping at least)
// every interval; the client allows interval + timeout between two frames,
// as the nes client does, then drops the connection: OnError (TypeTimeout),
// OnHeartbeatTimeout and OnDisconnect follow, then the reconnection.
//
// arm, reset and stop are called by the connection's read loop only.
type heartbeat struct {
	cn     *conn
	window time.Duration
	timer  *time.Timer
}

func (h *heartbeat) init(cn *conn) { h.cn = cn }

// arm starts watching with the server's settings (nil: heartbeat disabled).
func (h *heartbeat) arm(hb *protocol.Heartbeat) {
	if hb == nil || hb.Interval <= 0 || h.timer != nil {
		return
	}
	h.window = time.Duration(hb.Interval+max(hb.Timeout, 0)) * time.Millisecond
	cn := h.cn
	h.timer = time.AfterFunc(h.window, func() {
		cn.hbExpired.Store(true)
		if cn.ws != nil {
			cn.ws.CloseNow()
		}
	})
}

// reset restarts the wait after a frame arrived.
func (h *heartbeat) reset() {
	if h.timer != nil {
		h.timer.Reset(h.window)
	}
}

// stop ends the watch.
func (h *heartbeat) stop() {
	if h.timer != nil {
		h.timer.Stop()
	}
}
