module github.com/nes-go/nes/examples/chat

go 1.26.0

require (
	github.com/coder/websocket v1.8.15
	github.com/go-chi/chi/v5 v5.5.0
	github.com/nes-go/nes v0.0.0-00010101000000-000000000000
	github.com/nes-go/nes/broker/nats v0.0.0-00010101000000-000000000000
	github.com/nes-go/nes/broker/redis v0.0.0-00010101000000-000000000000
	github.com/redis/go-redis/v9 v9.23.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	github.com/gorilla/securecookie v1.1.2 // indirect
	github.com/klauspost/compress v1.20.3 // indirect
	github.com/nats-io/nats.go v1.55.0 // indirect
	github.com/nats-io/nkeys v0.4.16 // indirect
	github.com/nats-io/nuid v1.0.1 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
)

replace (
	github.com/nes-go/nes => ../..
	github.com/nes-go/nes/broker/nats => ../../broker/nats
	github.com/nes-go/nes/broker/redis => ../../broker/redis
)
