package nes

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/nes-go/nes/protocol"
)

// Sentinel errors returned by the server and its sockets.
var (
	// ErrSocketClosed is returned when sending to a socket that is closed or
	// closing.
	ErrSocketClosed = errors.New("nes: socket closed")
	// ErrServerClosed is returned by calls made after Shutdown began.
	ErrServerClosed = errors.New("nes: server closed")
	// ErrInvalidPath is returned for a publication path that does not start
	// with "/" or that carries a query.
	ErrInvalidPath = errors.New("nes: invalid path")
	// ErrSlowConsumer is returned by a send that overflowed the socket's queue;
	// the socket is closed with [CloseSlowConsumer].
	ErrSlowConsumer = errors.New("nes: socket closed as a slow consumer")
)

// Error is an error with an HTTP status for the client. Hooks (OnConnection,
// OnMessage, OnSubscribe, Filter) return it, directly or wrapped, to choose
// the error reply the client gets: {"statusCode": StatusCode, "payload":
// {"error": <reason phrase>, "message": Message}}. Any other error a hook
// returns becomes 500 "An internal server error occurred", and its text
// never reaches the client.
type Error struct {
	// StatusCode is the HTTP status, 400 to 599. Anything else is sent as 500.
	StatusCode int
	// Message is shown to the client. Empty means the status's reason phrase.
	Message string
}

// NewError returns an *Error with the given status and client message.
func NewError(status int, message string) *Error {
	return &Error{StatusCode: status, Message: message}
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("nes: %d %s", e.StatusCode, e.message())
}

func (e *Error) message() string {
	if e.Message != "" {
		return e.Message
	}
	if t := http.StatusText(e.StatusCode); t != "" {
		return t
	}
	return "Error"
}

const internalErrorMessage = "An internal server error occurred"

// replyFor turns an error from a hook into the protocol error reply to send.
func (s *Server) replyFor(err error, what string) *protocol.ErrorReply {
	var e *Error
	if errors.As(err, &e) && e.StatusCode >= 400 && e.StatusCode <= 599 {
		return protocol.NewErrorReply(e.StatusCode, e.message())
	}
	s.log.Error("nes: hook failed", "hook", what, "error", err)
	return protocol.NewErrorReply(http.StatusInternalServerError, internalErrorMessage)
}
