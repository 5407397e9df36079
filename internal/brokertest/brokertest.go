// Package brokertest is the conformance suite every nes.Broker adapter runs:
// three server nodes in one process, each with its own broker connection,
// Go clients of both encodings and the official JS client on the nodes, and
// fault tests that stop and restart the broker server.
//
// An adapter module calls it from its own tests:
//
//	func TestConformance(t *testing.T) { brokertest.Run(t, harness(t)) }
//	func TestFaults(t *testing.T)      { brokertest.RunFaults(t, harness(t)) }
package brokertest

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/nes-go/nes/client"
	"github.com/nes-go/nes/nes"
)

// Harness is a broker under test.
type Harness struct {
	// NewBroker returns a broker for one node, on its own connection to the
	// broker server. It registers its own cleanup with t.Cleanup (closing
	// the connection it made). The server calls Start and Close.
	NewBroker func(t testing.TB) nes.Broker
	// StopServer makes the broker server unreachable: the process stops and
	// its port closes. Used by RunFaults only.
	StopServer func(t testing.TB)
	// StartServer starts the broker server again on the same address.
	// Used by RunFaults only.
	StartServer func(t testing.TB)
}

// wait bounds every wait for a delivery in a healthy deployment.
const wait = 15 * time.Second

// Run runs the conformance tests as subtests of t, each on a fresh
// deployment of three nodes.
func Run(t *testing.T, h Harness) {
	if h.NewBroker == nil {
		t.Fatal("brokertest: Harness.NewBroker is nil")
	}
	t.Run("PublishReachesEveryNodeInOrder", func(t *testing.T) { testPublishEverywhere(t, h) })
	t.Run("OfficialClientReceivesFromAnotherNode", func(t *testing.T) { testOfficialClient(t, h) })
	t.Run("PerUserAcrossNodes", func(t *testing.T) { testPerUser(t, h) })
	t.Run("BroadcastAcrossNodes", func(t *testing.T) { testBroadcast(t, h) })
	t.Run("FiltersRunOnReceivingNodeWithInternal", func(t *testing.T) { testFilters(t, h) })
	t.Run("NodeShutdown", func(t *testing.T) { testNodeShutdown(t, h) })
}

type seqMsg struct {
	From string `json:"from"`
	Seq  int    `json:"seq"`
}

// seqs decodes the sequence numbers of the messages from one node.
func seqs(t testing.TB, msgs []json.RawMessage, from string) []int {
	t.Helper()
	var out []int
	for _, raw := range msgs {
		var m seqMsg
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("undecodable message %s: %v", raw, err)
		}
		if m.From == from {
			out = append(out, m.Seq)
		}
	}
	return out
}

func upTo(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// Publications from node C and node A reach a mixed JSON / MessagePack
// audience on every node, each node's publications in order, none twice.
func testPublishEverywhere(t *testing.T, h Harness) {
	nodes := newCluster(t, h.NewBroker, 3)
	a, b, c := nodes[0], nodes[1], nodes[2]
	const path = "/rooms/lobby"
	members := []*member{
		join(t, a, "json", client.JSON, "", path),
		join(t, b, "msgpack", client.MessagePack, "", path),
		join(t, c, "json", client.JSON, "", path),
		join(t, c, "msgpack", client.MessagePack, "", path),
	}
	const fromC, fromA = 300, 100
	for i := range fromC {
		c.publish(t, path, seqMsg{From: "C", Seq: i})
		if i < fromA {
			a.publish(t, path, seqMsg{From: "A", Seq: i})
		}
	}
	// A path nobody subscribed to, and one no pattern declares: no error.
	b.publish(t, "/rooms/empty", seqMsg{From: "B"})
	b.publish(t, "/undeclared", seqMsg{From: "B"})
	for _, m := range members {
		msgs := m.waitCount(t, path, fromC+fromA, wait)
		if got := seqs(t, msgs, "C"); !slices.Equal(got, upTo(fromC)) {
			t.Errorf("%s: node C's publications arrived as %v, want 0..%d in order", m.name, got, fromC-1)
		}
		if got := seqs(t, msgs, "A"); !slices.Equal(got, upTo(fromA)) {
			t.Errorf("%s: node A's publications arrived as %v, want 0..%d in order", m.name, got, fromA-1)
		}
	}
	// Nothing more arrives: a marker published last is the last message.
	a.publish(t, path, seqMsg{From: "end"})
	for _, m := range members {
		msgs := m.waitCount(t, path, fromC+fromA+1, wait)
		if len(msgs) != fromC+fromA+1 {
			t.Errorf("%s: %d messages, want %d (duplicates?)", m.name, len(msgs), fromC+fromA+1)
		}
	}
}

// A user's sockets on every node get a publication or broadcast sent with
// nes.ToUser from another node; other sockets do not.
func testPerUser(t *testing.T, h Harness) {
	nodes := newCluster(t, h.NewBroker, 3)
	a, b, c := nodes[0], nodes[1], nodes[2]
	const path = "/rooms/private"
	annA := join(t, a, "ann", client.JSON, "ann", path)
	annC := join(t, c, "ann", client.MessagePack, "ann", path)
	bob := join(t, b, "bob", client.JSON, "bob", path)
	anon := join(t, b, "anon", client.MessagePack, "", path)

	b.publish(t, path, seqMsg{From: "for-ann"}, nes.ToUser("ann"))
	ctx := ctxFor(t, wait)
	if err := c.srv.Broadcast(ctx, seqMsg{From: "for-ann"}, nes.ToUser("ann")); err != nil {
		t.Fatal(err)
	}
	// Fences to everyone, published after: ordering per path (and per
	// broadcast stream) means the user-targeted messages came first if they
	// came at all.
	b.publish(t, path, seqMsg{From: "fence"})
	if err := c.srv.Broadcast(ctx, seqMsg{From: "fence"}); err != nil {
		t.Fatal(err)
	}
	for _, m := range []*member{annA, annC} {
		for _, key := range []string{path, ""} {
			msgs := m.waitCount(t, key, 2, wait)
			if got := len(seqs(t, msgs, "for-ann")); got != 1 || len(seqs(t, msgs, "fence")) != 1 {
				t.Errorf("%s %q: got %s, want the message for ann and the fence", m.name, key, summary(msgs))
			}
		}
	}
	for _, m := range []*member{bob, anon} {
		for _, key := range []string{path, ""} {
			msgs := m.waitFor(t, key, wait, "the fence", func(msgs []json.RawMessage) bool { return has(msgs, "from", "fence") })
			if n := len(seqs(t, msgs, "for-ann")); n != 0 {
				t.Errorf("%s %q: received %d messages meant for ann", m.name, key, n)
			}
		}
	}
}

// A broadcast from any node reaches every socket of every node.
func testBroadcast(t *testing.T, h Harness) {
	nodes := newCluster(t, h.NewBroker, 3)
	var members []*member
	for i, n := range nodes {
		enc := client.JSON
		if i%2 == 1 {
			enc = client.MessagePack
		}
		members = append(members, join(t, n, "m", enc, ""))
	}
	for i, n := range nodes {
		if err := n.srv.Broadcast(ctxFor(t, wait), seqMsg{From: n.name, Seq: i}); err != nil {
			t.Fatalf("%s: Broadcast: %v", n, err)
		}
	}
	for _, m := range members {
		msgs := m.waitCount(t, "", len(nodes), wait)
		for _, n := range nodes {
			if got := seqs(t, msgs, n.name); len(got) != 1 {
				t.Errorf("%s: %d broadcasts from %s, want 1", m.name, len(got), n)
			}
		}
	}
}

// Filters run on the node that delivers, and see the internal data the
// publishing node attached.
func testFilters(t *testing.T, h Harness) {
	nodes := newCluster(t, h.NewBroker, 3)
	a, b, c := nodes[0], nodes[1], nodes[2]
	const path = "/filtered/r1"
	annA := join(t, a, "ann", client.JSON, "ann", path)
	annC := join(t, c, "ann", client.MessagePack, "ann", path)
	bob := join(t, b, "bob", client.JSON, "bob", path)

	b.publish(t, path, map[string]string{"text": "secret"}, nes.Internal(map[string]string{"only": "ann", "tag": "t1"}))
	b.publish(t, path, map[string]string{"text": "fence"})
	type override struct {
		Node     string            `json:"node"`
		Message  map[string]string `json:"message"`
		Internal map[string]string `json:"internal"`
		Room     string            `json:"room"`
	}
	for _, tc := range []struct {
		m    *member
		node string
	}{{annA, "A"}, {annC, "C"}} {
		msgs := tc.m.waitCount(t, path, 2, wait)
		var first override
		if err := json.Unmarshal(msgs[0], &first); err != nil {
			t.Fatal(err)
		}
		if first.Node != tc.node || first.Message["text"] != "secret" || first.Internal["tag"] != "t1" || first.Room != "r1" {
			t.Errorf("%s: first message %s, want the override made on node %s with internal tag t1", tc.m.name, msgs[0], tc.node)
		}
	}
	msgs := bob.waitFor(t, path, wait, "the fence", func(msgs []json.RawMessage) bool { return len(msgs) > 0 })
	var got override
	if err := json.Unmarshal(msgs[0], &got); err != nil || got.Message["text"] != "fence" || got.Node != "B" {
		t.Errorf("bob@B: first message %s, want the fence filtered on node B (the secret was for ann)", msgs[0])
	}
}

// A node that shuts down closes its sockets with 1001 so clients go
// elsewhere and leaves the deployment; the others keep exchanging.
func testNodeShutdown(t *testing.T, h Harness) {
	nodes := newCluster(t, h.NewBroker, 3)
	a, b, c := nodes[0], nodes[1], nodes[2]
	const path = "/rooms/r"
	ma := join(t, a, "m", client.JSON, "", path)
	mc := join(t, c, "m", client.MessagePack, "", path)
	closed := make(chan client.DisconnectInfo, 1)
	mb := client.New(b.ws, &client.Options{OnDisconnect: func(_ bool, info client.DisconnectInfo) {
		select {
		case closed <- info:
		default:
		}
	}})
	if err := mb.Connect(ctxFor(t, wait), &client.ConnectOptions{NoReconnect: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mb.Disconnect(ctxFor(t, wait)) })

	b.stop(t)
	select {
	case info := <-closed:
		if info.Code != 1001 {
			t.Errorf("client of the stopped node: close code %d, want 1001 (going away)", info.Code)
		}
	case <-time.After(wait):
		t.Fatal("client of the stopped node was not disconnected")
	}
	if err := b.srv.Publish(ctxFor(t, wait), path, seqMsg{From: "B"}); err != nes.ErrServerClosed {
		t.Errorf("Publish on a stopped node = %v, want ErrServerClosed", err)
	}
	c.publish(t, path, seqMsg{From: "C", Seq: 0})
	for _, m := range []*member{ma, mc} {
		msgs := m.waitCount(t, path, 1, wait)
		if got := seqs(t, msgs, "C"); !slices.Equal(got, []int{0}) {
			t.Errorf("%s: got %s after node B stopped", m.name, summary(msgs))
		}
	}
}
