package nats

import (
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// testServer is an embedded nats-server that a test can stop and start
// again on the same port.
type testServer struct {
	mu   sync.Mutex
	port int // -1 until the first start picked a free one
	srv  *server.Server
}

// runServer starts an embedded nats-server on 127.0.0.1 and shuts it down
// when the test ends.
func runServer(t testing.TB) *testServer {
	t.Helper()
	ts := &testServer{port: -1}
	ts.Start(t)
	t.Cleanup(func() { ts.Stop(t) })
	return ts
}

// Start starts a new server instance on the server's port. The first start
// lets the kernel pick a free port; later ones reuse it.
func (ts *testServer) Start(t testing.TB) {
	t.Helper()
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.srv != nil {
		t.Fatal("testServer.Start: already running")
	}
	opts := &server.Options{
		Host:   "127.0.0.1",
		Port:   ts.port, // -1: a random free port
		NoLog:  true,
		NoSigs: true,
	}
	// The old instance's port may take a moment to be free again.
	var s *server.Server
	deadline := time.Now().Add(10 * time.Second)
	for attempt := 0; ; attempt++ {
		var err error
		s, err = server.NewServer(opts)
		if err != nil {
			t.Fatalf("nats-server: %v", err)
		}
		s.Start()
		if s.ReadyForConnections(5 * time.Second) {
			break
		}
		s.Shutdown()
		s.WaitForShutdown()
		if attempt >= 20 || time.Now().After(deadline) {
			t.Fatalf("nats-server did not start on port %d", ts.port)
		}
		time.Sleep(100 * time.Millisecond)
	}
	ts.srv = s
	ts.port = s.Addr().(*net.TCPAddr).Port
}

// Stop shuts the server down and waits until it has; its port closes and
// clients see the connection drop. Stopping a stopped server does nothing.
func (ts *testServer) Stop(testing.TB) {
	ts.mu.Lock()
	s := ts.srv
	ts.srv = nil
	ts.mu.Unlock()
	if s != nil {
		s.Shutdown()
		s.WaitForShutdown()
	}
}

// URL is the server's client URL, the same across restarts.
func (ts *testServer) URL() string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return fmt.Sprintf("nats://127.0.0.1:%d", ts.port)
}
