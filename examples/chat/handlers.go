package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/nes-go/nes/nes"
)

const (
	maxTextChars   = 2000     // characters (runes) in a message, after trimming
	maxBodyBytes   = 16 << 10 // request body of a POST
	historyLength  = 50       // messages answered by GET, and kept per room
	maxStoredRooms = 1000     // rooms kept by the store before evicting
)

// roomName is what a room may be called. The same rule is checked by the
// page before it subscribes, by OnSubscribe and by the routes.
var roomName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

const roomNameRule = `room names are 1 to 64 letters, digits, "_" or "-"`

// roomPath is the subscription path of a room's messages.
func roomPath(room string) string { return "/rooms/" + room }

// Identity names the author of the message posted by r.
//
// The application's, [credentialsUser], reads the user that
// nes.Authenticated (in front of the POST route) stored in the request's
// context: the socket's credentials over the socket, the Basic credentials
// over plain HTTP. The handler tests use [anonymous].
type Identity func(r *http.Request) string

func anonymous(*http.Request) string { return "anonymous" }

// credentialsUser is the user of the request's credentials, "anonymous"
// without any (not reachable behind nes.Authenticated in required mode).
func credentialsUser(r *http.Request) string {
	if c := nes.CredentialsFrom(r.Context()); c != nil && c.User != "" {
		return c.User
	}
	return "anonymous"
}

// chat holds the HTTP handlers of the rooms. The same handlers answer plain
// HTTP requests and requests made over the nes socket (client.request).
type chat struct {
	store    *Store
	publish  func(ctx context.Context, path string, msg any) error
	identify Identity
	now      func() time.Time
	log      *slog.Logger
	// postAuth, when set, is the middleware in front of the POST route
	// (nes.Authenticated in the application; nil in the handler tests).
	postAuth func(http.Handler) http.Handler
}

// routes registers the room routes on r. Reading is open to everyone;
// posting goes through postAuth.
func (c *chat) routes(r chi.Router) {
	r.Get("/rooms/{room}/messages", c.listMessages)
	post := r
	if c.postAuth != nil {
		post = r.With(c.postAuth)
	}
	post.Post("/rooms/{room}/messages", c.postMessage)
}

// listMessages answers the last messages of a room, oldest first.
func (c *chat) listMessages(w http.ResponseWriter, r *http.Request) {
	room := chi.URLParam(r, "room")
	if !roomName.MatchString(room) {
		writeError(w, http.StatusBadRequest, "Invalid room name: "+roomNameRule)
		return
	}
	writeJSON(w, http.StatusOK, c.store.Last(room, historyLength))
}

// postMessage validates {"text": "..."}, stores the message, publishes it to
// the room's subscribers and answers 201 with the stored message.
func (c *chat) postMessage(w http.ResponseWriter, r *http.Request) {
	room := chi.URLParam(r, "room")
	if !roomName.MatchString(room) {
		writeError(w, http.StatusBadRequest, "Invalid room name: "+roomNameRule)
		return
	}
	text, bad := readText(w, r)
	if bad != nil {
		writeError(w, bad.status, bad.message)
		return
	}

	msg := Message{
		Room: room,
		Text: text,
		From: c.identify(r),
		At:   c.now().UTC().Truncate(time.Millisecond),
	}
	via := "http"
	if nes.SocketFrom(r.Context()) != nil {
		via = "socket"
	}
	// Every node, this one included, stores the message when the broker
	// delivers it (see historyBroker), so a message that could not be
	// published is not stored either: the poster is told to try again.
	if err := c.publish(context.WithoutCancel(r.Context()), roomPath(room), msg); err != nil {
		c.log.Warn("publish failed", "room", room, "err", err)
		writeError(w, http.StatusServiceUnavailable, "The message could not be sent, try again")
		return
	}
	c.log.Info("message posted", "room", room, "from", msg.From, "via", via)
	writeJSON(w, http.StatusCreated, msg)
}

// badInput is the status and message of an error reply.
type badInput struct {
	status  int
	message string
}

func badRequest(format string, args ...any) *badInput {
	return &badInput{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// readText decodes {"text": "..."} from the body and returns the trimmed
// text, or why it is not acceptable.
func readText(w http.ResponseWriter, r *http.Request) (string, *badInput) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return "", &badInput{http.StatusRequestEntityTooLarge,
			fmt.Sprintf("Payload content length greater than maximum allowed: %d", maxBodyBytes)}
	case err != nil:
		return "", badRequest("Cannot read request payload")
	}

	var in struct {
		Text string `json:"text"`
	}
	if len(body) > 0 { // no body at all is the same as no text
		var typeErr *json.UnmarshalTypeError
		switch err := json.Unmarshal(body, &in); {
		case errors.As(err, &typeErr) && typeErr.Field == "text":
			return "", badRequest(`"text" must be a string`)
		case errors.As(err, &typeErr):
			return "", badRequest(`Payload must be a JSON object like {"text":"..."}`)
		case err != nil:
			return "", badRequest("Invalid request payload JSON format")
		}
	}

	text := strings.TrimSpace(in.Text)
	switch n := utf8.RuneCountInString(text); {
	case n == 0:
		return "", badRequest(`"text" is required and must not be blank`)
	case n > maxTextChars:
		return "", badRequest(`"text" is %d characters long; the limit is %d`, n, maxTextChars)
	}
	return text, nil
}
