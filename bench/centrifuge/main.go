// Command centrifuge is the centrifuge (github.com/centrifugal/centrifuge)
// side of the nes for Go benchmarks: a Node with the in-memory broker and its
// websocket transport, offering the same surface as bench/cmd/nesserver.
//
//	go run . -addr 127.0.0.1:0        (from bench/centrifuge; GOWORK=off outside go.work)
//
// Once listening it prints one line, "LISTENING http://HOST:PORT", and runs
// until SIGINT, SIGTERM or the end of its stdin, then shuts down gracefully.
//
//	ws://HOST:PORT/connection/websocket   the websocket endpoint (JSON protocol)
//	POST /publish?path=/rooms/bench&n=200&size=100
//	                publishes n messages {"t":<unix ns>,"i":<index>,"pad":"xx…"} of
//	                size bytes each to the channel of path, then answers 204
//
// A nes path maps to a channel by dropping the leading "/" and replacing "/"
// by ":": /rooms/bench is the channel rooms:bench. Every connection is
// anonymous (connect needs no token), may subscribe to any channel, and the
// RPC method "echo" answers with the request's data.
//
// # Client protocol (JSON, checked by protocol_test.go)
//
// The endpoint speaks JSON without any subprotocol header (the subprotocol
// "centrifuge-json" may be offered and is then selected; "centrifuge-protobuf"
// or ?format=protobuf switch to protobuf). Each websocket text frame carries
// one or more JSON objects separated by "\n": a client may batch commands, and
// the server batches replies and pushes (up to 16 per frame by default), so a
// client must split every frame on "\n". Commands carry an "id" (uint32 > 0);
// replies echo it, pushes have none.
//
//	connect    -> {"id":1,"connect":{}}
//	           <- {"id":1,"connect":{"client":"<uuid>","ping":25,"pong":true}}
//	subscribe  -> {"id":2,"subscribe":{"channel":"rooms:bench"}}
//	           <- {"id":2,"subscribe":{}}
//	publication<- {"push":{"channel":"rooms:bench","pub":{"data":{"t":…,"i":0,"pad":"…"}}}}
//	ping       <- {}                       every 25 s ("ping":25 in the connect reply)
//	pong       -> {}                       required ("pong":true); without it the server
//	                                       disconnects 10 s after its ping
//	rpc        -> {"id":3,"rpc":{"method":"echo","data":{"x":1}}}
//	           <- {"id":3,"rpc":{"data":{"x":1}}}
//	other rpc  <- {"id":4,"error":{"code":104,"message":"method not found"}}
//
// The first command must be connect; the publication data is the published
// bytes verbatim. Empty fields are omitted (no "version": Config.Version is unset).
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/centrifugal/centrifuge"

	"github.com/nes-go/nes/bench/internal/serve"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()

	if err := run(*addr); err != nil {
		fmt.Fprintln(os.Stderr, "centrifuge bench server:", err)
		os.Exit(1)
	}
}

func run(addr string) error {
	node, err := newNode()
	if err != nil {
		return err
	}
	if err := node.Run(); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return serve.Run(ln, newMux(node), node.Shutdown)
}

// newNode returns a Node (not yet running) with the in-memory broker and
// presence manager, and the handlers every connection gets.
func newNode() (*centrifuge.Node, error) {
	node, err := centrifuge.New(centrifuge.Config{
		LogLevel: centrifuge.LogLevelError,
		LogHandler: func(e centrifuge.LogEntry) {
			fmt.Fprintf(os.Stderr, "centrifuge: %s %v\n", e.Message, e.Fields)
		},
	})
	if err != nil {
		return nil, err
	}

	node.OnConnecting(func(ctx context.Context, e centrifuge.ConnectEvent) (centrifuge.ConnectReply, error) {
		return centrifuge.ConnectReply{Credentials: &centrifuge.Credentials{UserID: ""}}, nil // anonymous
	})
	node.OnConnect(func(client *centrifuge.Client) {
		client.OnSubscribe(func(e centrifuge.SubscribeEvent, cb centrifuge.SubscribeCallback) {
			cb(centrifuge.SubscribeReply{}, nil)
		})
		client.OnRPC(func(e centrifuge.RPCEvent, cb centrifuge.RPCCallback) {
			if e.Method != "echo" {
				cb(centrifuge.RPCReply{}, centrifuge.ErrorMethodNotFound)
				return
			}
			cb(centrifuge.RPCReply{Data: e.Data}, nil)
		})
	})
	return node, nil
}

func newMux(node *centrifuge.Node) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/connection/websocket", centrifuge.NewWebsocketHandler(node, centrifuge.WebsocketConfig{
		CheckOrigin: func(*http.Request) bool { return true },
	}))
	mux.HandleFunc("POST /publish", func(w http.ResponseWriter, r *http.Request) {
		path, n, size, ok := serve.PublishQuery(r.URL.Query())
		if !ok {
			http.Error(w, serve.PublishUsage, http.StatusBadRequest)
			return
		}
		channel := channelOf(path)
		for i := range n {
			if _, err := node.Publish(channel, serve.Message(time.Now().UnixNano(), i, size)); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

// channelOf maps a nes path to a channel: /rooms/bench is rooms:bench.
func channelOf(path string) string {
	return strings.ReplaceAll(strings.TrimPrefix(path, "/"), "/", ":")
}
