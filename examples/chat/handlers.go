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
// The chat has no authentication yet, so the default, [anonymous], names
// everybody "anonymous". Once authentication lands, an Identity reads the
// user from r's context, which carries the socket's credentials for a
// request over the socket.
type Identity func(r *http.Request) string

func anonymous(*http.Request) string { return "anonymous" }

// chat holds the HTTP handlers of the rooms. The same handlers answer plain
// HTTP requests and requests made over the nes socket (client.request).
type chat struct {
	store    *Store
	publish  func(ctx context.Context, path string, msg any) error
	identify Identity
	now      func() time.Time
	log      *slog.Logger
}

// routes registers the room routes on r.
func (c *chat) routes(r chi.Router) {
	r.Get("/rooms/{room}/messages", c.listMessages)
	r.Post("/rooms/{room}/messages", c.postMessage)
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
	text, status, problem := readText(w, r)
	if problem != "" {
		writeError(w, status, problem)
		return
	}

	msg := Message{
		Room: room,
		Text: text,
		From: c.identify(r),
		At:   c.now().UTC().Truncate(time.Millisecond),
	}
	c.store.Add(msg)

	via := "http"
	if nes.SocketFrom(r.Context()) != nil {
		via = "socket"
	}
	if err := c.publish(r.Context(), roomPath(room), msg); err != nil {
		// The message is stored: subscribers will see it in the history.
		c.log.Warn("publish failed", "room", room, "err", err)
	}
	c.log.Info("message posted", "room", room, "from", msg.From, "via", via)
	writeJSON(w, http.StatusCreated, msg)
}

// readText decodes and checks the text of a posted message. On failure it
// returns the status and message of the error reply.
func readText(w http.ResponseWriter, r *http.Request) (text string, status int, problem string) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return "", http.StatusRequestEntityTooLarge,
				fmt.Sprintf("Payload content length greater than maximum allowed: %d", maxBodyBytes)
		}
		return "", http.StatusBadRequest, "Cannot read request payload"
	}

	var in struct {
		Text string `json:"text"`
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			var typeErr *json.UnmarshalTypeError
			if errors.As(err, &typeErr) && typeErr.Field == "text" {
				return "", http.StatusBadRequest, `"text" must be a string`
			}
			if errors.As(err, &typeErr) {
				return "", http.StatusBadRequest, `Payload must be a JSON object like {"text":"..."}`
			}
			return "", http.StatusBadRequest, "Invalid request payload JSON format"
		}
	}

	text = strings.TrimSpace(in.Text)
	switch n := utf8.RuneCountInString(text); {
	case n == 0:
		return "", http.StatusBadRequest, `"text" is required and must not be blank`
	case n > maxTextChars:
		return "", http.StatusBadRequest,
			fmt.Sprintf(`"text" is %d characters long; the limit is %d`, n, maxTextChars)
	}
	return text, 0, ""
}
