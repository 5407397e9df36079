package nats_test

import (
	"context"
	"log"
	"log/slog"
	"net/http"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nes-go/nes/broker/nats"
	"github.com/nes-go/nes/nes"
)

// Every node of a deployment runs the same code: the nodes share the
// subject "chat.nes", and a publication on any node reaches the sockets
// subscribed to its path on all of them.
func Example() {
	conn, err := nats.Connect("nats://127.0.0.1:4222", natsgo.Name("chat-node"))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close() // the application's connection: the broker leaves it open

	broker, err := nats.New(conn, nats.Options{Subject: "chat.nes", Logger: slog.Default()})
	if err != nil {
		log.Fatal(err)
	}
	srv, err := nes.New(nes.Options{Broker: broker})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Start(ctx); err != nil { // subscribes on NATS
		log.Fatal(err)
	}
	if err := srv.Subscription("/rooms/{id}", nes.SubscriptionOptions{}); err != nil {
		log.Fatal(err)
	}
	go func() { _ = http.ListenAndServe(":8080", srv) }()

	// Reaches the subscribers of /rooms/lobby on every node.
	if err := srv.Publish(ctx, "/rooms/lobby", map[string]string{"text": "hello"}); err != nil {
		log.Printf("not published: %v", err) // e.g. NATS is unreachable
	}

	// Shutdown closes the broker, which ends its subscription.
	_ = srv.Shutdown(ctx)
	log.Printf("nats broker stats: %+v", broker.Stats())
}
