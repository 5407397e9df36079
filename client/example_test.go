package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/nes-go/nes/client"
	"github.com/nes-go/nes/nes"
)

// exampleServer starts a nes server with a route and a subscription, and
// returns its websocket URL and a function that stops it.
func exampleServer() (*nes.Server, string, func()) {
	srv, err := nes.New(nes.Options{Heartbeat: nes.Heartbeat{Disabled: true}})
	if err != nil {
		log.Fatal(err)
	}
	r := chi.NewRouter()
	r.Get("/hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"greeting":"hi"}`)
	})
	if err := srv.Subscription("/rooms/{room}", nes.SubscriptionOptions{}); err != nil {
		log.Fatal(err)
	}
	srv.Mount(r, "/nes")
	hs := httptest.NewServer(r)
	return srv, "ws" + strings.TrimPrefix(hs.URL, "http") + "/nes", func() {
		srv.Shutdown(context.Background())
		hs.Close()
	}
}

func ExampleNew() {
	_, url, stop := exampleServer()
	defer stop()

	c := client.New(url, &client.Options{
		Timeout: 5 * time.Second,
		OnError: func(err error) { log.Print(err) },
	})
	ctx := context.Background()
	if err := c.Connect(ctx, &client.ConnectOptions{Delay: 100 * time.Millisecond}); err != nil {
		log.Fatal(err)
	}
	defer c.Disconnect(ctx)
	fmt.Println("connected:", c.ID() != "")
	// Output: connected: true
}

func ExampleClient_Request() {
	_, url, stop := exampleServer()
	defer stop()
	c := client.New(url, nil)
	ctx := context.Background()
	if err := c.Connect(ctx, nil); err != nil {
		log.Fatal(err)
	}
	defer c.Disconnect(ctx)

	res, err := c.Request(ctx, client.Request{Method: "GET", Path: "/hello"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.StatusCode, string(res.Payload))

	_, err = c.Request(ctx, client.Request{Path: "/missing"})
	var e *client.Error
	if errors.As(err, &e) {
		fmt.Println(e.Type, e.StatusCode, e.Message)
	}
	// Output:
	// 200 {"greeting":"hi"}
	// server 404 404 page not found
}

func ExampleClient_Subscribe() {
	srv, url, stop := exampleServer()
	defer stop()
	c := client.New(url, nil)
	ctx := context.Background()
	if err := c.Connect(ctx, nil); err != nil {
		log.Fatal(err)
	}
	defer c.Disconnect(ctx)

	got := make(chan string)
	sub, err := c.Subscribe(ctx, "/rooms/lobby", func(msg json.RawMessage, flags client.Flags) {
		got <- string(msg)
	})
	if err != nil {
		log.Fatal(err)
	}
	srv.Publish(ctx, "/rooms/lobby", map[string]string{"text": "hello"})
	fmt.Println(<-got)
	if err := sub.Unsubscribe(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.Subscriptions())
	// Output:
	// {"text":"hello"}
	// []
}

func ExampleSubscribeJSON() {
	srv, url, stop := exampleServer()
	defer stop()
	c := client.New(url, nil)
	ctx := context.Background()
	if err := c.Connect(ctx, nil); err != nil {
		log.Fatal(err)
	}
	defer c.Disconnect(ctx)

	type chat struct{ Text string }
	got := make(chan chat)
	if _, err := client.SubscribeJSON(ctx, c, "/rooms/lobby", func(m chat, _ client.Flags) { got <- m }); err != nil {
		log.Fatal(err)
	}
	srv.Publish(ctx, "/rooms/lobby", chat{Text: "typed"})
	fmt.Println((<-got).Text)
	// Output: typed
}
