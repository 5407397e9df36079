package nes

import "context"

type socketKey struct{}

// SocketFrom returns the socket a request arrived on, when a chi handler is
// called over a socket, and nil for a plain HTTP request.
func SocketFrom(ctx context.Context) *Socket {
	s, _ := ctx.Value(socketKey{}).(*Socket)
	return s
}
