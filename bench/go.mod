module github.com/nes-go/nes/bench

go 1.26.0

require (
	github.com/coder/websocket v1.8.15
	github.com/go-chi/chi/v5 v5.5.0
	github.com/nes-go/nes v0.0.0-00010101000000-000000000000
	golang.org/x/image v0.47.0
)

require (
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	github.com/gorilla/securecookie v1.1.2 // indirect
)

replace github.com/nes-go/nes => ..
