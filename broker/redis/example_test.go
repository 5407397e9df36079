package redis_test

import (
	"context"
	"log"
	"log/slog"
	"time"

	"github.com/nes-go/nes/broker/redis"
	"github.com/nes-go/nes/nes"
	goredis "github.com/redis/go-redis/v9"
)

// Every node of a deployment is built the same way, with a client to the
// same Redis: a publication on any node reaches the subscribers on all.
func Example() {
	client := goredis.NewClient(&goredis.Options{Addr: "localhost:6379"})
	// Sentinel: goredis.NewFailoverClient(&goredis.FailoverOptions{...})
	// Cluster:  goredis.NewClusterClient(&goredis.ClusterOptions{...})

	srv, err := nes.New(nes.Options{
		Broker: redis.New(client, redis.Options{
			Channel: "chat", // one channel per deployment
			Logger:  slog.Default(),
		}),
	})
	if err != nil {
		log.Fatal(err)
	}
	_ = srv.Subscription("/rooms/{room}", nes.SubscriptionOptions{})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Start(ctx); err != nil { // subscribes; fails when Redis is unreachable
		log.Print(err)
	}
	_ = srv.Publish(ctx, "/rooms/lobby", map[string]string{"text": "hi"})

	// On the way out: the server closes the broker, then the application
	// closes its client.
	_ = srv.Shutdown(ctx)
	_ = client.Close()
}
