package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/nes-go/nes/auth"
	"github.com/nes-go/nes/nes"
)

// config is what the chat application is built from.
type config struct {
	// ClientPath is the file of the official nes browser client.
	ClientPath string
	// Logger receives the application's logs (and the nes server's).
	Logger *slog.Logger
	// Identify names message authors; nil means the user of the request's
	// credentials (nes.CredentialsFrom).
	Identify Identity
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	// AuthType is the nes authentication flow: nes.AuthCookie,
	// nes.AuthToken or nes.AuthDirect (the zero value).
	AuthType nes.AuthType
	// Password is the one password of every user (HTTP Basic); "" means
	// "demo".
	Password string
	// Keys seal cookies and sign tokens; nil means random keys.
	Keys *authKeys
	// Broker connects the node to the others of a deployment; nil means the
	// in-memory broker (this node alone).
	Broker nes.Broker
	// CookieNotSecure drops the Secure attribute of the nes cookie, so a
	// browser keeps it for a plain-http page (loopback only, see run).
	CookieNotSecure bool
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
//	GET  /config                  {"auth": "cookie"|"token"|"direct", "endpoint": ...}
//	GET  /nes                     the nes websocket endpoint
//	GET  /nes/auth                the auth endpoint (cookie and token flows)
//	POST /logout                  clears the nes cookie (cookie flow)
//	GET  /me                      who the caller is authenticated as
//	GET  /rooms/{room}/messages   the last 50 messages of a room (anyone)
//	POST /rooms/{room}/messages   post a message, as a user (HTTP or over the socket)
func newApp(cfg config) (*app, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Identify == nil {
		cfg.Identify = credentialsUser
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Password == "" {
		cfg.Password = "demo"
	}
	if cfg.Keys == nil {
		k := randomKeys()
		cfg.Keys = &k
	}

	authn := basicAuthenticator(cfg.Password)
	store := NewStore(historyLength, maxStoredRooms)
	broker := cfg.Broker
	if broker == nil {
		broker = nes.NewMemoryBroker()
	}
	srv, err := nes.New(nes.Options{
		Logger: cfg.Logger.With("component", "nes"),
		Broker: &historyBroker{Broker: broker, store: store},
		// The page's own origin is allowed by default (Origin host = Host);
		// other sites cannot open a socket with a visitor's cookie.
		Auth: authOptions(cfg, authn),
	})
	if err != nil {
		return nil, fmt.Errorf("create nes server: %w", err)
	}
	err = srv.Subscription("/rooms/{room}", nes.SubscriptionOptions{
		// Reading is open to anonymous sockets (the default with
		// Options.Auth would be auth.Required).
		Auth: &nes.SubscriptionAuth{Mode: auth.Optional},
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

	c := &chat{
		store: store,
		publish: func(ctx context.Context, path string, msg any) error {
			return srv.Publish(ctx, path, msg)
		},
		identify: cfg.Identify,
		now:      cfg.Now,
		log:      cfg.Logger,
		// Posting needs a user: Basic credentials over plain HTTP, the
		// socket's credentials over the socket.
		postAuth: nes.Authenticated(authn, auth.Required),
	}

	r := chi.NewRouter()
	r.Use(middleware.GetHead) // HEAD answered by the GET routes
	r.NotFound(notFound)
	r.MethodNotAllowed(methodNotAllowed)
	r.Get("/", indexHandler())
	r.Handle("/static/*", http.StripPrefix("/static/", staticHandler()))
	r.Get("/vendor/nes-client.js", clientHandler(cfg.ClientPath, cfg.Logger))
	r.Get("/config", configHandler(cfg.AuthType))
	r.With(nes.Authenticated(authn, auth.Optional)).Get("/me", meHandler)
	if cfg.AuthType == nes.AuthCookie {
		r.Post("/logout", logoutHandler(srv))
	}
	c.routes(r)
	srv.Mount(r, "/nes") // requests over the socket are served by r too

	return &app{router: r, nes: srv, store: store}, nil
}
