// Package serve runs a benchmark server the way bench/run.sh drives it:
// print "LISTENING http://HOST:PORT", serve until SIGINT, SIGTERM or the end
// of stdin (the parent closing it), then shut down.
package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Run serves h on ln until a signal or the end of stdin, then shuts the
// HTTP server down (plain requests; hijacked websockets are not waited
// for) and calls shutdown, which closes the server's sockets.
func Run(ln net.Listener, h http.Handler, shutdown func(context.Context) error) error {
	hs := &http.Server{Handler: h}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	fmt.Printf("LISTENING http://%s\n", ln.Addr()) // os.Stdout is unbuffered

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stdinClosed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin) // returns at EOF: the parent closed our stdin
		close(stdinClosed)
	}()
	select {
	case <-ctx.Done():
	case <-stdinClosed:
	case err := <-served:
		return err
	}
	stop()

	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errHTTP := hs.Shutdown(sctx)
	errServer := shutdown(sctx)
	return errors.Join(errHTTP, errServer)
}
