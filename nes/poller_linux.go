//go:build linux

package nes

import (
	"errors"
	"os"
	"sync"
	"syscall"
)

// poller watches the connections of idle sockets, whose reading goroutine has
// ended, and starts a new one when a connection has something to read (see
// read.go). It is an epoll instance of its own; its descriptor is itself
// waited on by Go's network poller, so no thread blocks in epoll_wait.
//
// A connection is registered level-triggered and one-shot: an event disables
// it until its socket parks again, so each parking gets at most one wake-up.
type poller struct {
	file *os.File // the epoll descriptor; closing it ends run
	epfd int      // its number (File.Fd would make it blocking)
	rc   syscall.RawConn
	done chan struct{}

	mu    sync.Mutex
	socks map[int32]*Socket // descriptor → the socket that registered it
}

const pollerSupported = true

func newPoller() (*poller, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "nes-epoll")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	p := &poller{file: f, epfd: fd, rc: rc, done: make(chan struct{}), socks: make(map[int32]*Socket)}
	go p.run()
	return p, nil
}

// run hands events to their sockets until the poller is closed.
func (p *poller) run() {
	defer close(p.done)
	events := make([]syscall.EpollEvent, 128)
	wake := make([]*Socket, 0, len(events))
	for {
		err := p.rc.Read(func(fd uintptr) bool {
			for {
				n, err := syscall.EpollWait(int(fd), events, 0)
				if errors.Is(err, syscall.EINTR) {
					continue
				}
				if n <= 0 {
					return false // wait until the epoll descriptor is readable
				}
				wake = wake[:0]
				p.mu.Lock()
				for _, ev := range events[:n] {
					if sock := p.socks[ev.Fd]; sock != nil {
						wake = append(wake, sock)
					}
				}
				p.mu.Unlock()
				for i, sock := range wake {
					sock.resumeReading()
					wake[i] = nil
				}
				if n < len(events) {
					return false
				}
			}
		})
		if err != nil {
			return // closed
		}
	}
}

// arm registers sock's connection for one wake-up when it becomes readable
// (or hangs up). Only the socket's current reader calls it.
func (p *poller) arm(sock *Socket) error {
	var err error
	cerr := sock.cork.raw.Control(func(fd uintptr) {
		ev := syscall.EpollEvent{
			Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT,
			Fd:     int32(fd),
		}
		if sock.pollFD == int32(fd) {
			err = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_MOD, int(fd), &ev)
			if !errors.Is(err, syscall.ENOENT) {
				return
			}
		}
		sock.pollFD = int32(fd)
		p.mu.Lock()
		p.socks[int32(fd)] = sock
		p.mu.Unlock()
		err = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev)
	})
	if cerr != nil {
		return cerr
	}
	return err
}

// forget drops sock's registration; closing the connection has removed it
// from the epoll set already.
func (p *poller) forget(sock *Socket) {
	if sock.pollFD < 0 {
		return
	}
	p.mu.Lock()
	if p.socks[sock.pollFD] == sock {
		delete(p.socks, sock.pollFD)
	}
	p.mu.Unlock()
}

// close stops the poller and waits for its goroutine. The server closes it
// once its last socket has ended, so no socket arms it afterwards.
func (p *poller) close() {
	p.file.Close()
	<-p.done
}
