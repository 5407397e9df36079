// Command chat is a small chat server built on nes: rooms are subscriptions
// (/rooms/{room}), messages are posted to a chi route over plain HTTP or over
// the nes socket, and a single page talks to it with the official @hapi/nes
// browser client.
//
// Run it from the repository root:
//
//	./scripts/demo.sh                     # installs the client with npm, then runs
//	go run ./examples/chat -addr 127.0.0.1:8080
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

const shutdownGrace = 10 * time.Second

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	client := flag.String("client", "examples/chat/web/node_modules/@hapi/nes/lib/client.js",
		"path of the official nes browser client installed by npm")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(*addr, *client, log); err != nil {
		log.Error("chat stopped", "err", err)
		os.Exit(1)
	}
}

// run serves the chat on addr until SIGINT or SIGTERM, then shuts down.
func run(addr, clientPath string, log *slog.Logger) error {
	if err := checkClient(clientPath); err != nil {
		// Not fatal: the API and the socket work without it, and the page
		// explains what is missing.
		log.Error("the page will not work", "err", err)
	}

	a, err := newApp(config{ClientPath: clientPath, Logger: log})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	hs := &http.Server{
		Handler:           a.router,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	log.Info("chat listening", "url", "http://"+ln.Addr().String()+"/")

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	stop() // a second signal kills the process at once
	log.Info("shutting down")

	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	// Stop accepting connections and finish the HTTP requests in flight,
	// then close the sockets (the websockets were hijacked from hs, so its
	// Shutdown does not wait for them).
	errHTTP := hs.Shutdown(sctx)
	errNes := a.nes.Shutdown(sctx)
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	if err := errors.Join(errHTTP, errNes); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("bye")
	return nil
}
