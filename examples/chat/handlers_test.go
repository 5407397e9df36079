package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
)

var testNow = time.Date(2025, 6, 7, 8, 9, 10, 123456789, time.UTC)

type published struct {
	path string
	msg  any
}

// testChat returns the room routes backed by a fresh store, with a fixed
// clock and a publisher that records what it is given.
func testChat(t *testing.T) (http.Handler, *chat, func() []published) {
	t.Helper()
	var (
		mu  sync.Mutex
		got []published
	)
	var c *chat
	c = &chat{
		store: NewStore(historyLength, maxStoredRooms),
		publish: func(_ context.Context, path string, msg any) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, published{path, msg})
			c.store.Add(msg.(Message)) // what historyBroker does on delivery
			return nil
		},
		identify: anonymous,
		now:      func() time.Time { return testNow },
		log:      slog.New(slog.DiscardHandler),
	}
	r := chi.NewRouter()
	r.NotFound(notFound)
	r.MethodNotAllowed(methodNotAllowed)
	c.routes(r)
	return r, c, func() []published {
		mu.Lock()
		defer mu.Unlock()
		return append([]published(nil), got...)
	}
}

func do(t *testing.T, h http.Handler, method, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type = %q, want application/json", ct)
	}
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %s: %v", rec.Body, err)
	}
	return v
}

func TestPostMessage(t *testing.T) {
	h, _, pubs := testChat(t)

	rec := do(t, h, "POST", "/rooms/lobby/messages", `{"text":"  hello there \n"}`)

	if rec.Code != http.StatusCreated {
		t.Fatalf("status = %d, want 201; body %s", rec.Code, rec.Body)
	}
	raw := decode[map[string]any](t, rec)
	want := map[string]any{
		"room": "lobby",
		"text": "hello there",
		"from": "anonymous",
		"at":   "2025-06-07T08:09:10.123Z",
	}
	for k, v := range want {
		if raw[k] != v {
			t.Errorf("body[%q] = %v, want %v", k, raw[k], v)
		}
	}
	if len(raw) != len(want) {
		t.Errorf("body has fields %v, want exactly %v", raw, want)
	}

	p := pubs()
	if len(p) != 1 {
		t.Fatalf("published %d messages, want 1", len(p))
	}
	if p[0].path != "/rooms/lobby" {
		t.Errorf("published to %q, want /rooms/lobby", p[0].path)
	}
	if m, ok := p[0].msg.(Message); !ok || m.Text != "hello there" || m.Room != "lobby" {
		t.Errorf("published %#v", p[0].msg)
	}
}

func TestPostMessageUsesTheIdentity(t *testing.T) {
	h, c, _ := testChat(t)
	c.identify = func(r *http.Request) string { return r.Header.Get("X-Test-User") }

	req := httptest.NewRequest("POST", "/rooms/lobby/messages", strings.NewReader(`{"text":"hi"}`))
	req.Header.Set("X-Test-User", "ann")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)

	if got := decode[Message](t, rec); got.From != "ann" {
		t.Errorf("from = %q, want ann", got.From)
	}
}

func TestPostMessageValidation(t *testing.T) {
	tests := []struct {
		name   string
		target string
		body   string
		status int
		msg    string // substring of the error message
	}{
		{"room with a dot", "/rooms/a.b/messages", `{"text":"hi"}`, 400, "Invalid room name"},
		{"room too long", "/rooms/" + strings.Repeat("r", 65) + "/messages", `{"text":"hi"}`, 400, "Invalid room name"},
		{"room with an encoded space", "/rooms/a%20b/messages", `{"text":"hi"}`, 400, "Invalid room name"},
		{"no body", "/rooms/lobby/messages", ``, 400, `"text" is required`},
		{"no text", "/rooms/lobby/messages", `{}`, 400, `"text" is required`},
		{"null", "/rooms/lobby/messages", `null`, 400, `"text" is required`},
		{"blank text", "/rooms/lobby/messages", `{"text":" \t\n "}`, 400, `"text" is required`},
		{"text too long", "/rooms/lobby/messages", `{"text":"` + strings.Repeat("é", maxTextChars+1) + `"}`, 400, "the limit is 2000"},
		{"text not a string", "/rooms/lobby/messages", `{"text":42}`, 400, `"text" must be a string`},
		{"array payload", "/rooms/lobby/messages", `["hi"]`, 400, "must be a JSON object"},
		{"not JSON", "/rooms/lobby/messages", `text=hi`, 400, "Invalid request payload JSON format"},
		{"trailing garbage", "/rooms/lobby/messages", `{"text":"hi"}}`, 400, "Invalid request payload JSON format"},
		{"body too large", "/rooms/lobby/messages", `{"text":"` + strings.Repeat("a", maxBodyBytes) + `"}`, 413, "maximum allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, c, pubs := testChat(t)

			rec := do(t, h, "POST", tt.target, tt.body)

			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			e := decode[errorBody](t, rec)
			if e.StatusCode != tt.status || e.Error != http.StatusText(tt.status) {
				t.Errorf("error body = %+v, want statusCode %d and error %q", e, tt.status, http.StatusText(tt.status))
			}
			if !strings.Contains(e.Message, tt.msg) {
				t.Errorf("message = %q, want it to contain %q", e.Message, tt.msg)
			}
			if n := len(pubs()); n != 0 {
				t.Errorf("published %d messages for a rejected post", n)
			}
			if n := c.store.Rooms(); n != 0 {
				t.Errorf("store has %d rooms after a rejected post", n)
			}
		})
	}
}

func TestPostMessageAcceptsTheLimit(t *testing.T) {
	h, _, _ := testChat(t)
	text := strings.Repeat("é", maxTextChars) // 2000 characters, 4000 bytes
	rec := do(t, h, "POST", "/rooms/Room_1-b/messages", `{"text":"`+text+`"}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("status = %d, want 201; body %s", rec.Code, rec.Body)
	}
}

func TestListMessagesReturnsTheLast50OldestFirst(t *testing.T) {
	h, c, _ := testChat(t)
	for i := range 60 {
		c.store.Add(msgAt("lobby", i))
	}
	c.store.Add(msgAt("other", 99))

	rec := do(t, h, "GET", "/rooms/lobby/messages", "")

	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", rec.Code, rec.Body)
	}
	got := decode[[]Message](t, rec)
	if len(got) != 50 {
		t.Fatalf("got %d messages, want 50", len(got))
	}
	for i, m := range got {
		if want := msgAt("lobby", i+10); m.Text != want.Text || !m.At.Equal(want.At) {
			t.Fatalf("message %d = %+v, want %+v", i, m, want)
		}
	}
}

func TestListMessagesOfAnEmptyRoomIsAnEmptyArray(t *testing.T) {
	h, _, _ := testChat(t)
	rec := do(t, h, "GET", "/rooms/nobody-here/messages", "")
	if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != "[]" {
		t.Errorf("got %d %s, want 200 []", rec.Code, rec.Body)
	}
}

func TestListMessagesRejectsABadRoom(t *testing.T) {
	h, _, _ := testChat(t)
	rec := do(t, h, "GET", "/rooms/no$pe/messages", "")
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("status = %d, want 400", rec.Code)
	}
	if e := decode[errorBody](t, rec); e.StatusCode != 400 || e.Error != "Bad Request" {
		t.Errorf("error body = %+v", e)
	}
}

func TestPostThenListRoundTrip(t *testing.T) {
	h, _, _ := testChat(t)
	for _, text := range []string{"one", "two", "three"} {
		if rec := do(t, h, "POST", "/rooms/lobby/messages", `{"text":"`+text+`"}`); rec.Code != 201 {
			t.Fatalf("post %s: %d %s", text, rec.Code, rec.Body)
		}
	}
	got := decode[[]Message](t, do(t, h, "GET", "/rooms/lobby/messages", ""))
	if s := strings.Join(texts(got), ","); s != "one,two,three" {
		t.Errorf("history = %s, want one,two,three", s)
	}
}

func TestUnknownRoutesAnswerHapiErrors(t *testing.T) {
	h, _, _ := testChat(t)
	for _, tt := range []struct {
		method, target string
		status         int
	}{
		{"GET", "/nope", 404},
		{"DELETE", "/rooms/lobby/messages", 405},
	} {
		rec := do(t, h, tt.method, tt.target, "")
		if rec.Code != tt.status {
			t.Errorf("%s %s: status %d, want %d", tt.method, tt.target, rec.Code, tt.status)
			continue
		}
		if e := decode[errorBody](t, rec); e.StatusCode != tt.status {
			t.Errorf("%s %s: body %+v", tt.method, tt.target, e)
		}
	}
}
