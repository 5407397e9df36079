package nes_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/nes-go/nes/nes"
)

func ExampleNew() {
	srv, err := nes.New(nes.Options{
		Heartbeat:      nes.Heartbeat{Interval: 10 * time.Second, Timeout: 3 * time.Second},
		MaxConnections: 10000,
		Origins:        []string{"https://chat.example.com"},
		OnMessage: func(ctx context.Context, s *nes.Socket, msg json.RawMessage) (any, error) {
			return map[string]json.RawMessage{"echo": msg}, nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(srv.Stats().Connections)

	// Invalid options are reported by New, not discovered at run time.
	_, err = nes.New(nes.Options{Heartbeat: nes.Heartbeat{Interval: time.Second, Timeout: 2 * time.Second}})
	fmt.Println(err)
	// Output:
	// 0
	// nes: invalid options: heartbeat timeout (2s) must be below its interval (1s)
}

func ExampleServer_Mount() {
	srv, err := nes.New(nes.Options{})
	if err != nil {
		log.Fatal(err)
	}
	r := chi.NewRouter()
	// This route answers plain HTTP and requests sent over the socket alike.
	r.Get("/status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"overSocket":%t}`, nes.SocketFrom(r.Context()) != nil)
	})
	srv.Mount(r, "/nes") // ws://host/nes; client.request('/status') is served by r

	hs := &http.Server{Addr: "127.0.0.1:8080", Handler: r}
	_ = hs // hs.ListenAndServe(), then srv.Shutdown(ctx) on the way out
}

func ExampleServer_Subscription() {
	srv, err := nes.New(nes.Options{})
	if err != nil {
		log.Fatal(err)
	}
	err = srv.Subscription("/rooms/{room}", nes.SubscriptionOptions{
		OnSubscribe: func(ctx context.Context, s *nes.Socket, path string, params map[string]string) error {
			if params["room"] == "staff" {
				return nes.NewError(http.StatusForbidden, "Staff only")
			}
			return nil
		},
		// Hide messages flagged as muted from everyone but their author.
		Filter: func(ctx context.Context, path string, msg json.RawMessage, info nes.FilterInfo) (bool, any, error) {
			var meta struct{ Muted bool }
			if info.Internal != nil {
				if err := json.Unmarshal(info.Internal, &meta); err != nil {
					return false, nil, err
				}
			}
			return !meta.Muted, nil, nil
		},
	})
	fmt.Println(err)

	err = srv.Subscription("/rooms/{name}", nes.SubscriptionOptions{})
	fmt.Println(err)
	// Output:
	// <nil>
	// nes: subscription "/rooms/{name}": router: pattern "/rooms/{name}" conflicts with existing pattern "/rooms/{room}": they match exactly the same paths, such as "/rooms/x"
}

func ExampleServer_Publish() {
	srv, err := nes.New(nes.Options{})
	if err != nil {
		log.Fatal(err)
	}
	if err := srv.Subscription("/rooms/{room}", nes.SubscriptionOptions{}); err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	msg := map[string]string{"room": "lobby", "text": "hello"}
	// Every socket subscribed to /rooms/lobby gets the same encoded bytes.
	fmt.Println(srv.Publish(ctx, "/rooms/lobby", msg))
	// Data for filters only, never sent to clients.
	fmt.Println(srv.Publish(ctx, "/rooms/lobby", msg, nes.Internal(map[string]bool{"muted": true})))
	fmt.Println(srv.Publish(ctx, "rooms/lobby", msg))
	fmt.Println(srv.Shutdown(ctx))
	// Output:
	// <nil>
	// <nil>
	// nes: invalid path: publish to "rooms/lobby"
	// <nil>
}
