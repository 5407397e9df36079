// Command chat is a small chat server built on nes: rooms are subscriptions
// (/rooms/{room}), messages are posted to a chi route over plain HTTP or over
// the nes socket, and a single page talks to it with the official @hapi/nes
// browser client.
//
// Anyone may read; posting requires logging in with HTTP Basic credentials
// (any user name, the password given by -password), through one of nes's
// three authentication flows chosen by -auth: cookie (the default), token or
// direct.
//
// Alone it keeps everything in memory. With -redis or -nats it joins the
// other nodes on the same Redis or NATS server: a message posted on any node
// reaches the room's readers on every node, and every node's history. Give
// the nodes one -secret so a login on one is valid on the others.
//
// Run it from the repository root:
//
//	./scripts/demo.sh                     # installs the client with npm, then runs
//	go run ./examples/chat -addr 127.0.0.1:8080 -auth cookie -password demo
//	go run ./examples/chat -addr 127.0.0.1:8081 -redis 127.0.0.1:6379 -secret s3cret
//	go run ./examples/chat -addr 127.0.0.1:8082 -nats nats://127.0.0.1:4222 -secret s3cret
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

	"github.com/nes-go/nes/nes"
)

const shutdownGrace = 10 * time.Second

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	client := flag.String("client", "examples/chat/web/node_modules/@hapi/nes/lib/client.js",
		"path of the official nes browser client installed by npm")
	authFlow := flag.String("auth", "cookie", "authentication flow: cookie, token or direct")
	password := flag.String("password", "demo", "the password of every user (any user name)")
	redisAddr := flag.String("redis", "", "join the nodes sharing this Redis server (host:port or redis:// URL)")
	natsURL := flag.String("nats", "", "join the nodes sharing this NATS server (nats:// URL)")
	secret := flag.String("secret", "", "derive the cookie and token keys from this secret (the same on every node); empty: random keys")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	authType, err := parseAuthType(*authFlow)
	if err == nil && *password == "" {
		err = errors.New("-password must not be empty")
	}
	if err == nil && *redisAddr != "" && *natsURL != "" {
		err = errors.New("-redis and -nats are exclusive: a deployment uses one broker")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "chat:", err)
		flag.Usage()
		os.Exit(2)
	}
	opts := runOptions{
		addr: *addr, clientPath: *client, authType: authType, password: *password,
		redis: *redisAddr, nats: *natsURL, secret: *secret,
	}
	if err := run(opts, log); err != nil {
		log.Error("chat stopped", "err", err)
		os.Exit(1)
	}
}

// runOptions are the command line's settings.
type runOptions struct {
	addr, clientPath string
	authType         nes.AuthType
	password         string
	redis, nats      string // at most one: the broker to join
	secret           string // derives the auth keys; "" means random keys
}

// run serves the chat on addr until SIGINT or SIGTERM, then shuts down.
func run(o runOptions, log *slog.Logger) error {
	addr, clientPath, authType, password := o.addr, o.clientPath, o.authType, o.password
	if err := checkClient(clientPath); err != nil {
		// Not fatal: the API and the socket work without it, and the page
		// explains what is missing.
		log.Error("the page will not work", "err", err)
	}

	// The page is served over plain http. A browser does not keep a Secure
	// cookie set by a plain-http page, so on loopback (where nobody else can
	// read the traffic) the demo drops Secure. On any other address the
	// cookie stays Secure: put the demo behind https to use the cookie flow.
	loopback := isLoopback(addr)
	if authType == nes.AuthCookie && !loopback {
		log.Warn("the nes cookie is Secure: the cookie flow needs https on a non-loopback address", "addr", addr)
	}
	// Without -secret: fresh keys at every start, so restarting the demo
	// logs everybody out. A real deployment loads its keys from
	// configuration (docs/auth.md).
	keys, keysFrom := randomKeys(), "random, generated at start"
	if o.secret != "" {
		var err error
		if keys, err = keysFromSecret(o.secret); err != nil {
			return err
		}
		keysFrom = "derived from -secret"
	}
	log.Info("authentication", "flow", authType.String(), "keys", keysFrom,
		"cookie_secure", !loopback, "password_from", "-password")

	broker, disconnect, err := joinCluster(o.redis, o.nats, log)
	if err != nil {
		return err
	}
	defer disconnect()
	if broker != nil && o.secret == "" {
		log.Warn("without -secret every node has its own keys: a login is valid on one node only")
	}

	a, err := newApp(config{
		ClientPath:      clientPath,
		Logger:          log,
		AuthType:        authType,
		Password:        password,
		Keys:            &keys,
		CookieNotSecure: loopback,
		Broker:          broker,
	})
	if err != nil {
		return err
	}
	// Connect to the broker now, so an unreachable one stops the demo at
	// once rather than refusing every socket.
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	err = a.nes.Start(sctx)
	cancel()
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

	sctx, cancel = context.WithTimeout(context.Background(), shutdownGrace)
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
