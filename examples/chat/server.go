package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/nes-go/nes/nes"
)

// config is what the chat application is built from.
type config struct {
	// ClientPath is the file of the official nes browser client.
	ClientPath string
	// Logger receives the application's logs (and the nes server's).
	Logger *slog.Logger
	// Identify names message authors; nil means everyone is "anonymous".
	Identify Identity
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// app is the assembled chat: the router to serve and the nes server to shut
// down.
type app struct {
	router http.Handler
	nes    *nes.Server
	store  *Store
}

// newApp builds the nes server, declares the room subscription and mounts
// everything on one chi router:
//
//	GET  /                        the page
//	GET  /static/*                its script and styles
//	GET  /vendor/nes-client.js    the official nes browser client
//	GET  /nes                     the nes websocket endpoint
//	GET  /rooms/{room}/messages   the last 50 messages of a room
//	POST /rooms/{room}/messages   post a message (HTTP or over the socket)
func newApp(cfg config) (*app, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Identify == nil {
		cfg.Identify = anonymous
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}

	srv, err := nes.New(nes.Options{
		Logger: cfg.Logger.With("component", "nes"),
	})
	if err != nil {
		return nil, fmt.Errorf("create nes server: %w", err)
	}
	err = srv.Subscription("/rooms/{room}", nes.SubscriptionOptions{
		OnSubscribe: func(_ context.Context, _ *nes.Socket, _ string, params map[string]string) error {
			if !roomName.MatchString(params["room"]) {
				return nes.NewError(http.StatusBadRequest, "Invalid room name: "+roomNameRule)
			}
			return nil
		},
	})
	if err != nil {
		return nil, fmt.Errorf("declare the room subscription: %w", err)
	}

	store := NewStore(historyLength, maxStoredRooms)
	c := &chat{
		store: store,
		publish: func(ctx context.Context, path string, msg any) error {
			return srv.Publish(ctx, path, msg)
		},
		identify: cfg.Identify,
		now:      cfg.Now,
		log:      cfg.Logger,
	}

	r := chi.NewRouter()
	r.Use(middleware.GetHead) // HEAD answered by the GET routes
	r.NotFound(notFound)
	r.MethodNotAllowed(methodNotAllowed)
	r.Get("/", indexHandler())
	r.Handle("/static/*", http.StripPrefix("/static/", staticHandler()))
	r.Get("/vendor/nes-client.js", clientHandler(cfg.ClientPath, cfg.Logger))
	c.routes(r)
	srv.Mount(r, "/nes") // requests over the socket are served by r too

	return &app{router: r, nes: srv, store: store}, nil
}
