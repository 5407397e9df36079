package redis

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// redisServer is a real redis-server process on 127.0.0.1, for tests. It can
// be stopped and started again on the same port.
type redisServer struct {
	bin, dir string
	port     int

	mu   sync.Mutex
	cmd  *exec.Cmd
	out  *bytes.Buffer
	wait chan error // receives cmd.Wait's result once
}

// startRedis starts a redis-server on a free port and stops it when the
// test ends. It fails the test when redis-server is not installed.
func startRedis(t testing.TB) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found on PATH (install the redis-server package): %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	s := &redisServer{bin: bin, dir: t.TempDir(), port: port}
	t.Cleanup(func() { s.Stop(t) })
	s.Start(t)
	return s
}

// Addr is the server's address, host:port.
func (s *redisServer) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Start starts the server (again) on its port and waits until it answers
// PING.
func (s *redisServer) Start(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		t.Fatal("redis-server already running")
	}
	deadline := time.Now().Add(10 * time.Second)
	for attempt := 1; ; attempt++ {
		err := s.spawn(deadline)
		if err == nil {
			return
		}
		// The port may still be held by the previous process's sockets
		// for a moment after it exited.
		if attempt == 20 || time.Now().After(deadline) {
			t.Fatalf("start redis-server on port %d: %v", s.port, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// spawn runs redis-server once and waits for PING to be answered.
func (s *redisServer) spawn(deadline time.Time) error {
	out := new(bytes.Buffer)
	cmd := exec.Command(s.bin,
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
		"--protected-mode", "no",
	)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return err
	}
	wait := make(chan error, 1)
	go func() { wait <- cmd.Wait() }()
	for time.Now().Before(deadline) {
		select {
		case err := <-wait:
			return fmt.Errorf("redis-server exited (%v):\n%s", err, out)
		default:
		}
		if ping(s.Addr()) == nil {
			s.cmd, s.out, s.wait = cmd, out, wait
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	<-wait
	return fmt.Errorf("redis-server did not answer PING within the deadline:\n%s", out)
}

// Stop stops the server: SIGTERM, then SIGKILL if it has not exited within
// 5 seconds. Its port is closed when Stop returns. Stopping a stopped
// server does nothing.
func (s *redisServer) Stop(t testing.TB) { s.stop(t, syscall.SIGTERM) }

// Kill stops the server with SIGKILL: it closes no connection itself.
func (s *redisServer) Kill(t testing.TB) { s.stop(t, syscall.SIGKILL) }

func (s *redisServer) stop(t testing.TB, sig syscall.Signal) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.wait:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.wait
	}
	s.cmd = nil
}

// Signal sends sig to the running server.
func (s *redisServer) Signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		t.Fatal("redis-server not running")
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// ping sends one PING in RESP and checks the reply, without go-redis.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return errors.New("unexpected reply " + strconv.Quote(line))
	}
	return nil
}

// newClient returns a go-redis client for s, closed when the test ends.
func newClient(t testing.TB, s *redisServer) *goredis.Client {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: s.Addr()})
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close client: %v", err)
		}
	})
	return c
}
