package brokertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/nes-go/nes/auth"
	"github.com/nes-go/nes/nes"
)

// node is one server of a test deployment: a nes server on its own HTTP
// listener, with its own broker.
type node struct {
	name string
	srv  *nes.Server
	http *httptest.Server
	ws   string // the websocket endpoint
	base string // the HTTP base URL
}

// The test deployment's subscriptions:
//
//	/rooms/{room}     plain: every subscriber gets every publication
//	/filtered/{room}  a filter reading the publisher's internal data
//	                  {"only": user, "tag": any}: only that user's sockets
//	                  get it (every socket when "only" is missing), as an
//	                  override naming the node the filter ran on.
//
// Direct auth: the hello's "authorization" header is the user name.
func newNode(t testing.TB, name string, b nes.Broker) *node {
	t.Helper()
	srv, err := nes.New(nes.Options{
		Broker:        b,
		MaxQueueBytes: 64 << 20,
		Auth: &nes.AuthOptions{
			Type:  nes.AuthDirect,
			Mode:  auth.Optional,
			Index: true,
			Authenticate: func(r *http.Request) (*auth.Credentials, error) {
				if u := r.Header.Get("Authorization"); u != "" {
					return &auth.Credentials{User: u}, nil
				}
				return nil, nil
			},
		},
	})
	if err != nil {
		t.Fatalf("node %s: nes.New: %v", name, err)
	}
	open := &nes.SubscriptionAuth{Mode: auth.Optional}
	must(t, srv.Subscription("/rooms/{room}", nes.SubscriptionOptions{Auth: open}))
	must(t, srv.Subscription("/filtered/{room}", nes.SubscriptionOptions{
		Auth: open,
		Filter: func(_ context.Context, _ string, msg json.RawMessage, info nes.FilterInfo) (bool, any, error) {
			var in struct {
				Only string `json:"only"`
			}
			if info.Internal != nil {
				if err := json.Unmarshal(info.Internal, &in); err != nil {
					return false, nil, err
				}
			}
			user := ""
			if c := info.Socket.Credentials(); c != nil {
				user = c.User
			}
			if in.Only != "" && in.Only != user {
				return false, nil, nil
			}
			return true, map[string]any{"node": name, "message": msg, "internal": info.Internal, "room": info.Params["room"]}, nil
		},
	}))

	r := chi.NewRouter()
	// POST /publish {"path": ..., "message": ...} publishes from this node:
	// what an application handler does.
	r.Post("/publish", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Path    string          `json:"path"`
			Message json.RawMessage `json:"message"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := srv.Publish(r.Context(), body.Path, body.Message); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	r.Get("/ping", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(name))
	})
	srv.Mount(r, "/nes")
	hs := httptest.NewServer(r)
	n := &node{name: name, srv: srv, http: hs, base: hs.URL, ws: "ws" + strings.TrimPrefix(hs.URL, "http") + "/nes"}
	t.Cleanup(func() { n.stop(t) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		t.Fatalf("node %s: Start: %v", name, err)
	}
	return n
}

// stop shuts the node down (idempotent).
func (n *node) stop(t testing.TB) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.srv.Shutdown(ctx); err != nil {
		t.Errorf("node %s: Shutdown: %v", n.name, err)
	}
	n.http.Close()
}

// newCluster starts nodes named A, B, C... each with a broker of its own.
func newCluster(t testing.TB, newBroker func(testing.TB) nes.Broker, count int) []*node {
	t.Helper()
	nodes := make([]*node, count)
	for i := range nodes {
		name := string(rune('A' + i))
		nodes[i] = newNode(t, name, newBroker(t))
	}
	return nodes
}

// publish publishes from n and fails the test on error.
func (n *node) publish(t testing.TB, path string, msg any, opts ...nes.PublishOption) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.srv.Publish(ctx, path, msg, opts...); err != nil {
		t.Fatalf("node %s: Publish(%s): %v", n.name, path, err)
	}
}

func (n *node) String() string { return fmt.Sprintf("node %s", n.name) }

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
