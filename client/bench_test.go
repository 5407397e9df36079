package client

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/nes-go/nes/nes"
)

// BenchmarkRequest measures a request round trip over loopback (client
// encode, server decode, chi route, server encode, client decode) for each
// encoding.
func BenchmarkRequest(b *testing.B) {
	for _, enc := range encodings {
		b.Run(enc.String(), func(b *testing.B) {
			ts := newServer(b, nes.Options{}, func(s *nes.Server, r chi.Router) {
				r.Post("/rooms/{room}/messages", func(w http.ResponseWriter, r *http.Request) {
					body, _ := io.ReadAll(r.Body)
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusCreated)
					w.Write(body)
				})
			})
			c := New(ts.url, &Options{Encoding: enc})
			ctx := context.Background()
			must(b, c.Connect(ctx, nil))
			defer c.Disconnect(ctx)
			req := Request{Method: "POST", Path: "/rooms/lobby/messages",
				Payload: map[string]string{"room": "lobby", "text": "hello, world", "from": "ann", "at": "2026-11-22T15:49:04.391Z"}}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				res, err := c.Request(ctx, req)
				if err != nil || res.StatusCode != 201 {
					b.Fatal(res, err)
				}
			}
		})
	}
}
