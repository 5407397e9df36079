package nes

import "time"

// startBackground starts the server's one background goroutine (heartbeat and
// write watchdog) with the first socket, so a server that never served
// anything owns no goroutine.
func (s *Server) startBackground() {
	s.beatOnce.Do(func() {
		s.mu.Lock()
		closing := s.closing
		if !closing {
			s.wg.Add(1)
		}
		s.mu.Unlock()
		if !closing {
			go s.background()
		}
	})
}

// tick is how often the background goroutine looks at the sockets: fine
// enough for the heartbeat timeout and the write timeout, at most a second.
func (s *Server) tick() time.Duration {
	t := time.Second
	if w := s.opts.WriteTimeout / 4; w < t {
		t = w
	}
	if !s.opts.Heartbeat.Disabled {
		if h := s.opts.Heartbeat.Timeout / 4; h < t {
			t = h
		}
	}
	if t < 5*time.Millisecond {
		t = 5 * time.Millisecond
	}
	return t
}

// background pings every socket each heartbeat interval, closes the sockets
// that stayed silent until the sweep that follows each ping by the heartbeat
// timeout, and aborts writes that exceed WriteTimeout. One goroutine for the
// whole server, not one timer per socket.
func (s *Server) background() {
	defer s.wg.Done()
	ticker := time.NewTicker(s.tick())
	defer ticker.Stop()
	hb := s.opts.Heartbeat
	nextPing := time.Now().Add(hb.Interval)
	var sweepAt time.Time
	var socks []*Socket
	for {
		var now time.Time
		select {
		case <-s.stopBeat:
			return
		case now = <-ticker.C:
		}
		socks = s.allSockets(socks[:0])

		stuck := now.Add(-s.opts.WriteTimeout).UnixNano()
		for _, sock := range socks {
			if sock.stuckWrite(stuck) {
				s.log.Warn("nes: write timed out", "socket", sock.id)
				sock.abort()
			}
		}
		if !hb.Disabled {
			if !sweepAt.IsZero() && !now.Before(sweepAt) {
				s.sweep(socks)
				sweepAt = time.Time{}
			}
			if !now.Before(nextPing) {
				for _, sock := range socks {
					_ = sock.enqueue(s.codecs[sock.codecIdx].ping)
				}
				sweepAt = now.Add(hb.Timeout)
				nextPing = nextPing.Add(hb.Interval)
				if nextPing.Before(now) {
					nextPing = now.Add(hb.Interval)
				}
			}
		}
		clear(socks)
	}
}

// sweep closes the sockets that showed no activity since the previous sweep:
// no inbound frame, no successful write other than a ping, nothing being
// handled or written.
func (s *Server) sweep(socks []*Socket) {
	for _, sock := range socks {
		if sock.active.Swap(false) || sock.processing.Load() > 0 || sock.stuckWrite(time.Now().UnixNano()+1) {
			continue
		}
		s.stats.heartbeat.Add(1)
		sock.closeAfterQueue(CloseHeartbeatTimeout, "heartbeat timeout")
	}
}

// allSockets appends every registered socket, initialized or not, to dst.
func (s *Server) allSockets(dst []*Socket) []*Socket {
	s.mu.Lock()
	for sock := range s.sockets {
		dst = append(dst, sock)
	}
	s.mu.Unlock()
	return dst
}
