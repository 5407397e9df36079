package main

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/nes-go/nes/nes"
)

// historyBroker wraps the deployment's broker so that every node stores
// the room messages it delivers: a message posted on any node lands in the
// history of every node, and the history is what the nodes received. With
// the in-memory broker that is this node alone, synchronously.
type historyBroker struct {
	nes.Broker
	store *Store
}

func (b *historyBroker) Start(ctx context.Context, deliver func(context.Context, *nes.Envelope)) error {
	return b.Broker.Start(ctx, func(ctx context.Context, e *nes.Envelope) {
		if e.Kind == nes.KindPublish && strings.HasPrefix(e.Path, "/rooms/") {
			var m Message
			if err := json.Unmarshal(e.Message, &m); err == nil && roomPath(m.Room) == e.Path {
				b.store.Add(m)
			}
		}
		deliver(ctx, e)
	})
}
