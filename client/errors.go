package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/nes-go/nes/protocol"
)

// ErrorType classifies an [Error] the way the official nes client does.
type ErrorType int

// Error types. Their String forms ("disconnect", "protocol", ...) are the
// nes client's err.type values.
const (
	// TypeDisconnect: the connection is down (not connected, or it dropped
	// while a request was waiting for its reply).
	TypeDisconnect ErrorType = iota + 1
	// TypeProtocol: the server sent something the client cannot use (a
	// malformed frame, a reply of the wrong type or for an unknown id, an
	// incomplete or oversized chunked message), or a subscription handler
	// could not decode a message (SubscribeJSON).
	TypeProtocol
	// TypeServer: the server answered with an error (status >= 400).
	// StatusCode, Message, Data, Headers and Path are set.
	TypeServer
	// TypeTimeout: a request, connection or heartbeat timed out.
	TypeTimeout
	// TypeUser: the call itself is wrong (bad path, unencodable payload,
	// already connected...).
	TypeUser
	// TypeWS: the websocket failed (dial, upgrade refused, write error).
	TypeWS
)

// String returns the nes name of the type.
func (t ErrorType) String() string {
	switch t {
	case TypeDisconnect:
		return "disconnect"
	case TypeProtocol:
		return "protocol"
	case TypeServer:
		return "server"
	case TypeTimeout:
		return "timeout"
	case TypeUser:
		return "user"
	case TypeWS:
		return "ws"
	}
	return fmt.Sprintf("ErrorType(%d)", int(t))
}

// Sentinels, one per ErrorType: errors.Is(err, ErrTimeout) reports whether
// err is an *Error of type TypeTimeout, and so on.
var (
	ErrDisconnect = errors.New("nes client: disconnected")
	ErrProtocol   = errors.New("nes client: protocol error")
	ErrServer     = errors.New("nes client: server error")
	ErrTimeout    = errors.New("nes client: timed out")
	ErrUser       = errors.New("nes client: invalid use")
	ErrWS         = errors.New("nes client: websocket error")
)

// Error is every error the client returns or reports to OnError, except a
// plain context.Canceled from a caller's context (which is wrapped as is).
// Use errors.As to read its fields, or errors.Is with the sentinels.
type Error struct {
	Type ErrorType
	// StatusCode is the status of a server error (TypeServer), else 0.
	StatusCode int
	// Message is a human-readable description; for a server error, the
	// payload's message (or error) as nes reports it.
	Message string
	// Data is the error payload as the server sent it (TypeServer): for a
	// route error, the route's body; for a protocol error reply,
	// {"error","message"}.
	Data json.RawMessage
	// Headers are the response headers the server chose to pass (TypeServer).
	Headers map[string]any
	// Path is the subscription path a failed hello refers to, or the path of
	// a subscription whose handler failed.
	Path string
	// Err is the underlying cause, if any (a websocket or decode error,
	// context.DeadlineExceeded...).
	Err error
}

// Error formats the error as "nes client: <type>[ <status>]: <message>[: <cause>]".
func (e *Error) Error() string {
	s := "nes client: " + e.Type.String()
	if e.StatusCode != 0 {
		s += fmt.Sprintf(" %d", e.StatusCode)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is the sentinel of e's type.
func (e *Error) Is(target error) bool {
	return target != nil && target == sentinel(e.Type)
}

func sentinel(t ErrorType) error {
	switch t {
	case TypeDisconnect:
		return ErrDisconnect
	case TypeProtocol:
		return ErrProtocol
	case TypeServer:
		return ErrServer
	case TypeTimeout:
		return ErrTimeout
	case TypeUser:
		return ErrUser
	case TypeWS:
		return ErrWS
	}
	return nil
}

func newError(t ErrorType, msg string, cause error) *Error {
	return &Error{Type: t, Message: msg, Err: cause}
}

// serverError turns an error reply into a TypeServer error, as the nes
// client does: message = payload.message || payload.error || "Error", with
// one addition: a payload that is a JSON string (a plain-text error body,
// such as net/http's "404 page not found") is the message.
func serverError(r *protocol.ErrorReply) *Error {
	msg := r.Message
	if msg == "" {
		msg = r.Error
	}
	if msg == "" && len(r.Payload) > 0 && r.Payload[0] == '"' {
		var s string
		if json.Unmarshal(r.Payload, &s) == nil {
			msg = strings.TrimSpace(s)
		}
	}
	if msg == "" {
		msg = "Error"
	}
	return &Error{Type: TypeServer, StatusCode: r.StatusCode, Message: msg,
		Data: r.Payload, Headers: r.Headers, Path: r.Path}
}

// Messages shared by several call sites (the nes client's wording).
const (
	msgNotConnected   = "Failed to send message - server disconnected"
	msgDisconnected   = "Request failed - server disconnected"
	msgTimedOut       = "Request timed out"
	msgUnknownRequest = "Received response for unknown request"
	msgInvalidReply   = "Received invalid response"
	msgIncomplete     = "Received an incomplete message"
	msgHeartbeat      = "Disconnecting due to heartbeat timeout"
)
