// Command nesserver is the nes for Go side of the benchmarks: a chi router
// with a nes.Server mounted at /nes, as a user would write it.
//
//	nesserver -addr 127.0.0.1:0 [-cpuprofile cpu.out] [-memprofile mem.out]
//
// Once listening it prints one line, "LISTENING http://HOST:PORT", and runs
// until SIGINT, SIGTERM or the end of its stdin, then shuts down gracefully.
//
//	ws://HOST:PORT/nes       the nes websocket endpoint; clients subscribe to /rooms/{id}
//	GET  /echo               {"ok":true}, over plain HTTP and over the socket
//	POST /publish?path=/rooms/bench&n=200&size=100
//	                         publishes n messages {"t":<unix ns>,"i":<index>,"pad":"xx…"}
//	                         of size bytes each to path, then answers 204
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/nes-go/nes/bench/internal/serve"
	"github.com/nes-go/nes/nes"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile to this file until shutdown")
	memProfile := flag.String("memprofile", "", "write a heap profile to this file at shutdown")
	inline := flag.Bool("inline", false, "handle each message on the goroutine that read it (Options.HandleInline)")
	flag.Parse()

	if err := run(*addr, *cpuProfile, *memProfile, *inline); err != nil {
		fmt.Fprintln(os.Stderr, "nesserver:", err)
		os.Exit(1)
	}
}

func run(addr, cpuProfile, memProfile string, inline bool) error {
	srv, err := nes.New(nes.Options{
		// The load tool sends no Origin header, which the default check
		// accepts already; this makes the server accept any origin, like
		// the hapi and centrifuge servers it is compared with.
		InsecureSkipOriginCheck: true,
		HandleInline:            inline,
	})
	if err != nil {
		return err
	}
	if err := srv.Subscription("/rooms/{id}", nes.SubscriptionOptions{}); err != nil {
		return err
	}

	r := chi.NewRouter()
	r.Get("/echo", echo)
	r.Post("/publish", publish(srv))
	srv.Mount(r, "/nes")

	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if err := serve.Run(ln, r, srv.Shutdown); err != nil {
		return err
	}

	if memProfile != "" {
		f, err := os.Create(memProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		runtime.GC() // up-to-date statistics
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			return err
		}
	}
	return nil
}

func echo(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"ok":true}`))
}

// publish handles POST /publish?path=&n=&size=.
func publish(srv *nes.Server) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		path, n, size, ok := serve.PublishQuery(r.URL.Query())
		if !ok {
			http.Error(w, serve.PublishUsage, http.StatusBadRequest)
			return
		}
		for i := range n {
			msg := serve.Message(time.Now().UnixNano(), i, size)
			if err := srv.Publish(r.Context(), path, json.RawMessage(msg)); err != nil {
				status := http.StatusInternalServerError
				if errors.Is(err, nes.ErrInvalidPath) {
					status = http.StatusBadRequest
				}
				http.Error(w, err.Error(), status)
				return
			}
		}
		w.WriteHeader(http.StatusNoContent)
	}
}
