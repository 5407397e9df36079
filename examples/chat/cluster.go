package main

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/nes-go/nes/auth"
	nesnats "github.com/nes-go/nes/broker/nats"
	nesredis "github.com/nes-go/nes/broker/redis"
	"github.com/nes-go/nes/nes"
)

// joinCluster connects to the broker named by -redis or -nats. It returns a
// nil broker when neither is set (the node runs alone, in memory), and the
// function that closes the connection once the nes server has shut down.
func joinCluster(redisAddr, natsURL string, log *slog.Logger) (nes.Broker, func(), error) {
	switch {
	case redisAddr != "":
		opts := &goredis.Options{Addr: redisAddr}
		if strings.Contains(redisAddr, "://") {
			var err error
			if opts, err = goredis.ParseURL(redisAddr); err != nil {
				return nil, nil, fmt.Errorf("-redis: %w", err)
			}
		}
		rc := goredis.NewClient(opts)
		log.Info("cluster", "broker", "redis", "addr", opts.Addr)
		return nesredis.New(rc, nesredis.Options{Logger: log.With("component", "redis")}), func() { _ = rc.Close() }, nil
	case natsURL != "":
		conn, err := nesnats.Connect(natsURL)
		if err != nil {
			return nil, nil, fmt.Errorf("-nats: %w", err)
		}
		b, err := nesnats.New(conn, nesnats.Options{Logger: log.With("component", "nats")})
		if err != nil {
			conn.Close()
			return nil, nil, fmt.Errorf("-nats: %w", err)
		}
		log.Info("cluster", "broker", "nats", "url", natsURL)
		return b, conn.Close, nil
	}
	return nil, func() {}, nil
}

// keysFromSecret derives the cookie and token keys from -secret, so every
// node of a deployment opens the cookies and verifies the tokens the others
// issued.
func keysFromSecret(secret string) (authKeys, error) {
	var err error
	derive := func(label string, n int) []byte {
		k, kerr := hkdf.Key(sha256.New, []byte(secret), nil, "nes chat demo: "+label, n)
		err = errors.Join(err, kerr)
		return k
	}
	keys := authKeys{
		Cookie: auth.CookieKey{Hash: derive("cookie hash", 32), Block: derive("cookie block", 32)},
		Token:  auth.TokenKey{ID: "demo-" + hex.EncodeToString(derive("token id", 4)), Secret: derive("token secret", 32)},
	}
	if err != nil {
		return authKeys{}, fmt.Errorf("deriving keys from -secret: %w", err)
	}
	return keys, nil
}
