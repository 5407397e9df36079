package brokertest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/nes-go/nes/client"
	"github.com/nes-go/nes/nes"
)

// Bounds of the fault tests.
const (
	failWithin    = 20 * time.Second // a stopped broker makes Publish fail
	recoverWithin = 45 * time.Second // a restarted broker delivers again everywhere
)

// RunFaults stops the broker server while three nodes publish, checks that
// Publish reports errors on every node (and that the nodes keep serving
// their sockets), starts the server again and checks that delivery resumes
// on every node without restarting any. It logs how long each phase took.
func RunFaults(t *testing.T, h Harness) {
	if h.NewBroker == nil || h.StopServer == nil || h.StartServer == nil {
		t.Fatal("brokertest: RunFaults needs NewBroker, StopServer and StartServer")
	}
	nodes := newCluster(t, h.NewBroker, 3)
	a, b, c := nodes[0], nodes[1], nodes[2]
	const path = "/rooms/faults"
	members := []*member{
		join(t, a, "json", client.JSON, "", path),
		join(t, b, "msgpack", client.MessagePack, "", path),
		join(t, c, "json", client.JSON, "", path),
	}
	c.publish(t, path, seqMsg{From: "before"})
	for _, m := range members {
		m.waitFor(t, path, wait, "the first publication", func(msgs []json.RawMessage) bool { return has(msgs, "from", "before") })
	}

	h.StopServer(t)
	stopped := time.Now()
	for _, n := range nodes {
		err := publishUntil(n, path, failWithin, func(err error) bool { return err != nil })
		if err == nil {
			t.Fatalf("%s: Publish kept succeeding for %v after the broker stopped", n, failWithin)
		}
		if errors.Is(err, nes.ErrServerClosed) {
			t.Fatalf("%s: Publish = %v, want the broker's error", n, err)
		}
		t.Logf("%s: Publish fails %v after the broker stopped: %v", n, time.Since(stopped).Round(time.Millisecond), err)
	}
	// The nodes keep serving their sockets while the broker is away.
	for _, m := range members {
		resp, err := m.c.Request(ctxFor(t, wait), client.Request{Path: "/ping"})
		if err != nil {
			t.Fatalf("%s: request while the broker is down: %v", m.name, err)
		}
		_ = resp
	}

	h.StartServer(t)
	started := time.Now()
	// Publish from C until every member has a publication made after the
	// restart; then every node must reach every member at once.
	deadline := time.Now().Add(recoverWithin)
	for seq := 0; ; seq++ {
		if time.Now().After(deadline) {
			for _, m := range members {
				t.Logf("%s: %s", m.name, summary(m.messages(path)))
			}
			t.Fatalf("delivery did not resume on every node within %v of the broker's restart", recoverWithin)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = c.srv.Publish(ctx, path, seqMsg{From: "after", Seq: seq})
		cancel()
		all := true
		for _, m := range members {
			all = all && has(m.messages(path), "from", "after")
		}
		if all {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("delivery resumed on every node %v after the broker restarted", time.Since(started).Round(time.Millisecond))
	for _, n := range nodes {
		n.publish(t, path, seqMsg{From: "steady-" + n.name})
	}
	for _, m := range members {
		for _, n := range nodes {
			m.waitFor(t, path, wait, "the publication of "+n.String(), func(msgs []json.RawMessage) bool { return has(msgs, "from", "steady-"+n.name) })
		}
	}
}

// publishUntil publishes from n every 50 ms until done(err) holds for the
// returned error or d passed; it returns the last error.
func publishUntil(n *node, path string, d time.Duration, done func(error) bool) error {
	deadline := time.Now().Add(d)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := n.srv.Publish(ctx, path, seqMsg{From: "during"})
		cancel()
		if done(err) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
