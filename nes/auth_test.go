package nes

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/nes-go/nes/auth"
)

// customAuth is nes's test scheme: "Authorization: Custom <user>" for john,
// ed (users) and app (application credentials).
func customAuth(r *http.Request) (*auth.Credentials, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, nil
	}
	user, ok := strings.CutPrefix(h, "Custom ")
	if !ok {
		return nil, auth.Reject("Bad credentials")
	}
	switch user {
	case "john":
		return &auth.Credentials{User: "john", Scope: []string{"a"}}, nil
	case "ed":
		return &auth.Credentials{User: "ed", Scope: []string{"a", "b"}}, nil
	case "app":
		return &auth.Credentials{Scope: []string{"a"}}, nil
	case "broken":
		return nil, errors.New("database down: password=hunter2")
	}
	return nil, auth.Reject("Bad credentials")
}

func directOptions(mut func(a *AuthOptions)) Options {
	a := &AuthOptions{Type: AuthDirect, Authenticate: customAuth}
	if mut != nil {
		mut(a)
	}
	return Options{Heartbeat: Heartbeat{Disabled: true}, Auth: a}
}

func helloAs(user string, id int) string {
	return `{"type":"hello","version":"2","auth":{"headers":{"authorization":"Custom ` + user + `"}},"id":` + itoa(id) + `}`
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestDirectAuth(t *testing.T) {
	ts := newTestServer(t, directOptions(nil), func(s *Server, r chi.Router) {
		r.Get("/who", func(w http.ResponseWriter, r *http.Request) {
			c := CredentialsFrom(r.Context())
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(c)
		})
	})
	c := dial(t, ts.url, nil)
	c.send(helloAs("john", 1))
	if got := c.recv(); !strings.HasPrefix(got, `{"type":"hello","id":1,`) {
		t.Fatalf("hello: %s", got)
	}
	c.roundTrip(`{"type":"request","method":"GET","path":"/who","id":2}`,
		`{"type":"request","id":2,"statusCode":200,"payload":{"user":"john","scope":["a"]}}`)

	for _, tc := range []struct{ hello, want string }{
		{helloAs("nobody", 1), `{"statusCode":401,"payload":{"error":"Unauthorized","message":"Bad credentials"},"type":"hello","id":1}`},
		{helloAs("broken", 1), `{"statusCode":401,"payload":{"error":"Unauthorized","message":"Unauthorized"},"type":"hello","id":1}`},
		{`{"type":"hello","version":"2","id":1}`, `{"statusCode":401,"payload":{"error":"Unauthorized","message":"Connection requires authentication"},"type":"hello","id":1}`},
		{`{"type":"hello","version":"2","auth":{"headers":{}},"id":1}`, `{"statusCode":401,"payload":{"error":"Unauthorized","message":"Missing authentication"},"type":"hello","id":1}`},
	} {
		c := dial(t, ts.url, nil)
		c.roundTrip(tc.hello, tc.want)
		// A failed hello leaves nothing usable behind.
		c.roundTrip(`{"type":"request","method":"GET","path":"/who","id":2}`,
			`{"statusCode":400,"payload":{"error":"Bad Request","message":"Connection is not initialized"},"type":"request","id":2}`)
	}
}

func TestDirectAuthOptional(t *testing.T) {
	ts := newTestServer(t, directOptions(func(a *AuthOptions) { a.Mode = auth.Optional }), nil)
	c := dial(t, ts.url, nil)
	c.hello()
	var sock *Socket
	ts.EachSocket(func(s *Socket) bool { sock = s; return false })
	if sock.Credentials() != nil {
		t.Fatal("anonymous socket has credentials")
	}
	// An auth without headers is a request without credentials: anonymous
	// in optional mode, as in nes.
	c2 := dial(t, ts.url, nil)
	c2.send(`{"type":"hello","version":"2","auth":{},"id":1}`)
	if got := c2.recv(); !strings.HasPrefix(got, `{"type":"hello","id":1,`) {
		t.Fatalf("hello with auth {}: %s", got)
	}
	c2.roundTrip(`{"type":"reauth","auth":{},"id":2}`, `{"type":"reauth","id":2}`)
}

func TestSubscriptionAuth(t *testing.T) {
	ts := newTestServer(t, directOptions(func(a *AuthOptions) { a.Mode = auth.Optional }), func(s *Server, r chi.Router) {
		must(t, s.Subscription("/default", SubscriptionOptions{}))
		must(t, s.Subscription("/optional", SubscriptionOptions{Auth: &SubscriptionAuth{Mode: auth.Optional}}))
		must(t, s.Subscription("/none", SubscriptionOptions{Auth: &SubscriptionAuth{Mode: auth.None, Scope: []string{"zzz"}}}))
		must(t, s.Subscription("/scoped", SubscriptionOptions{Auth: &SubscriptionAuth{Scope: []string{"b", "c"}}}))
		must(t, s.Subscription("/rooms/{id}", SubscriptionOptions{Auth: &SubscriptionAuth{Scope: []string{"x:{params.id}", "{params.id}"}}}))
		must(t, s.Subscription("/users-only", SubscriptionOptions{Auth: &SubscriptionAuth{Entity: EntityUser}}))
		must(t, s.Subscription("/apps-only", SubscriptionOptions{Auth: &SubscriptionAuth{Entity: EntityApp}}))
	})
	sub := func(c *rawClient, path, want string) {
		t.Helper()
		c.send(`{"type":"sub","path":"` + path + `","id":5}`)
		got := c.recv()
		if want == "" {
			want = `{"type":"sub","id":5,"path":"` + path + `"}`
		} else {
			want = `{"statusCode":` + want + `,"type":"sub","id":5}`
		}
		if got != want {
			t.Fatalf("sub %s:\n got %s\nwant %s", path, got, want)
		}
	}
	anon := dial(t, ts.url, nil)
	anon.hello()
	sub(anon, "/default", `401,"payload":{"error":"Unauthorized","message":"Authentication required to subscribe"}`)
	sub(anon, "/optional", "")
	sub(anon, "/none", "")
	sub(anon, "/scoped", `401,"payload":{"error":"Unauthorized","message":"Authentication required to subscribe"}`)

	john := dial(t, ts.url, nil)
	john.send(helloAs("john", 1))
	john.recv()
	sub(john, "/default", "")
	sub(john, "/none", "")
	sub(john, "/scoped", `403,"payload":{"error":"Forbidden","message":"Insufficient scope to subscribe, expected any of: b,c"}`)
	sub(john, "/rooms/a", "")
	sub(john, "/rooms/b", `403,"payload":{"error":"Forbidden","message":"Insufficient scope to subscribe, expected any of: x:b,b"}`)
	sub(john, "/users-only", "")
	sub(john, "/apps-only", `403,"payload":{"error":"Forbidden","message":"User credentials cannot be used on an application subscription"}`)

	app := dial(t, ts.url, nil)
	app.send(helloAs("app", 1))
	app.recv()
	sub(app, "/users-only", `403,"payload":{"error":"Forbidden","message":"Application credentials cannot be used on a user subscription"}`)
	sub(app, "/apps-only", "")

	s, _ := New(quietOptions())
	if err := s.Subscription("/x/{id}", SubscriptionOptions{Auth: &SubscriptionAuth{Scope: []string{"{params.nope}"}}}); err == nil {
		t.Fatal("a scope template naming an unknown parameter was accepted")
	}
}

func TestUserIndexAndReauth(t *testing.T) {
	ts := newTestServer(t, directOptions(func(a *AuthOptions) { a.Index = true; a.MaxConnectionsPerUser = 1 }), func(s *Server, r chi.Router) {
		must(t, s.Subscription("/feed", SubscriptionOptions{}))
	})
	john := dial(t, ts.url, nil)
	john.send(`{"type":"hello","version":"2","auth":{"headers":{"authorization":"Custom john"}},"subs":["/feed"],"id":1}`)
	john.recv()
	ed := dial(t, ts.url, nil)
	ed.send(`{"type":"hello","version":"2","auth":{"headers":{"authorization":"Custom ed"}},"subs":["/feed"],"id":1}`)
	ed.recv()

	// A second socket for john is over the limit.
	extra := dial(t, ts.url, nil)
	extra.roundTrip(helloAs("john", 1),
		`{"statusCode":503,"payload":{"error":"Service Unavailable","message":"Too many connections for the authenticated user"},"type":"hello","id":1}`)

	ctx := context.Background()
	must(t, ts.Publish(ctx, "/feed", "for john", ToUser("john")))
	must(t, ts.Broadcast(ctx, "hi ed", ToUser("ed")))
	john.expect(`{"type":"pub","path":"/feed","message":"for john"}`)
	ed.expect(`{"type":"update","message":"hi ed"}`)

	// Reauth as the same user: not a new connection (nes fails it with 503)
	// and not indexed twice (nes then delivers twice).
	john.roundTrip(`{"type":"reauth","auth":{"headers":{"authorization":"Custom john"}},"id":2}`, `{"type":"reauth","id":2}`)
	must(t, ts.Broadcast(ctx, "once", ToUser("john")))
	john.expect(`{"type":"update","message":"once"}`)
	john.roundTrip(`{"type":"unsub","path":"/x","id":3}`, `{"type":"unsub","id":3}`) // nothing else came
	n := 0
	ts.EachSocket(func(*Socket) bool { n++; return true }, ForUser("john"))
	if n != 1 {
		t.Fatalf("john has %d indexed sockets", n)
	}

	// Reauth as another user moves the socket in the index; ed is at his
	// limit, so becoming ed fails and closes the socket.
	john.roundTrip(`{"type":"reauth","auth":{"headers":{"authorization":"Custom ed"}},"id":4}`,
		`{"statusCode":503,"payload":{"error":"Service Unavailable","message":"Too many connections for the authenticated user"},"type":"reauth","id":4}`)
	if code := john.closed(); code != CloseAuthRevoked {
		t.Fatalf("close code %d", code)
	}
	waitFor(t, "john unindexed", func() bool {
		n := 0
		ts.EachSocket(func(*Socket) bool { n++; return true }, ForUser("john"))
		return n == 0
	})
	// Reauth to a new user works and the old user's entry goes.
	ed.roundTrip(`{"type":"reauth","auth":{"headers":{"authorization":"Custom john"}},"id":2}`, `{"type":"reauth","id":2}`)
	must(t, ts.Broadcast(ctx, "ed is john now", ToUser("john")))
	ed.expect(`{"type":"update","message":"ed is john now"}`)
	must(t, ts.Broadcast(ctx, "nobody", ToUser("ed")))
	ed.roundTrip(`{"type":"reauth","auth":{"headers":{"authorization":"Custom bad"}},"id":3}`,
		`{"statusCode":401,"payload":{"error":"Unauthorized","message":"Bad credentials"},"type":"reauth","id":3}`)
	if code := ed.closed(); code != CloseAuthRevoked {
		t.Fatalf("close code %d", code)
	}
}

func TestToUserNeedsIndex(t *testing.T) {
	s, err := New(directOptions(nil))
	must(t, err)
	if err := s.Publish(context.Background(), "/a", 1, ToUser("x")); !errors.Is(err, ErrNoUserIndex) {
		t.Fatalf("Publish = %v", err)
	}
	if err := s.Broadcast(context.Background(), 1, ToUser("x")); !errors.Is(err, ErrNoUserIndex) {
		t.Fatalf("Broadcast = %v", err)
	}
}

func TestVerify(t *testing.T) {
	var revoked atomic.Bool
	ts := newTestServer(t, directOptions(func(a *AuthOptions) {
		a.MinAuthVerifyInterval = 20 * time.Millisecond
		a.Verify = func(ctx context.Context, c *auth.Credentials) error {
			if revoked.Load() {
				return errors.New("revoked")
			}
			return nil
		}
	}), nil)
	c := dial(t, ts.url, nil)
	c.send(helloAs("john", 1))
	c.recv()
	time.Sleep(30 * time.Millisecond)
	c.roundTrip(`{"type":"unsub","path":"/x","id":2}`, `{"type":"unsub","id":2}`)
	revoked.Store(true)
	c.roundTrip(`{"type":"unsub","path":"/x","id":3}`, `{"type":"unsub","id":3}`) // within the interval: not checked
	time.Sleep(30 * time.Millisecond)
	c.roundTrip(`{"type":"unsub","path":"/x","id":4}`,
		`{"statusCode":403,"payload":{"error":"Forbidden","message":"Credential verification failed"},"type":"unsub","id":4}`)
	if code := c.closed(); code != CloseAuthRevoked {
		t.Fatalf("close code %d", code)
	}
}

func TestCredentialsExpiryClosesIdleSocket(t *testing.T) {
	ts := newTestServer(t, directOptions(func(a *AuthOptions) {
		a.Authenticate = func(r *http.Request) (*auth.Credentials, error) {
			return &auth.Credentials{User: "short", Expires: time.Now().Add(100 * time.Millisecond)}, nil
		}
	}), nil)
	c := dial(t, ts.url, nil)
	c.send(helloAs("x", 1))
	c.recv()
	start := time.Now()
	if code := c.closed(); code != CloseAuthExpired {
		t.Fatalf("close code %d", code)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("closed after %v", d)
	}
}

func TestAuthOptionsValidation(t *testing.T) {
	key := auth.CookieKey{Hash: make([]byte, 32), Block: make([]byte, 32)}
	for name, o := range map[string]Options{
		"no authenticator":    {Auth: &AuthOptions{}},
		"bad mode":            {Auth: &AuthOptions{Authenticate: customAuth, Mode: auth.None}},
		"per-user w/o index":  {Auth: &AuthOptions{Authenticate: customAuth, MaxConnectionsPerUser: 2}},
		"relative endpoint":   {Auth: &AuthOptions{Authenticate: customAuth, Type: AuthToken, Endpoint: "auth"}},
		"cookie without keys": {Auth: &AuthOptions{Authenticate: customAuth, Type: AuthCookie}},
		"token without keys":  {Auth: &AuthOptions{Authenticate: customAuth, Type: AuthToken}},
		"cookie + any origin": {InsecureSkipOriginCheck: true, Auth: &AuthOptions{Authenticate: customAuth, Type: AuthCookie, CookieKeys: []auth.CookieKey{key}}},
		"unknown type":        {Auth: &AuthOptions{Authenticate: customAuth, Type: 7}},
		"negative verify":     {Auth: &AuthOptions{Authenticate: customAuth, MinAuthVerifyInterval: -1}},
		"negative per-user":   {Auth: &AuthOptions{Authenticate: customAuth, Index: true, MaxConnectionsPerUser: -1}},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: New accepted the options", name)
		}
	}
	ok := Options{InsecureSkipOriginCheck: true, Auth: &AuthOptions{Authenticate: customAuth, Type: AuthCookie,
		CookieKeys: []auth.CookieKey{key}, UnsafeAllowCookiesFromAnyOrigin: true}}
	if _, err := New(ok); err != nil {
		t.Fatalf("the explicit unsafe switch was refused: %v", err)
	}
}

func TestAuthenticatedMiddleware(t *testing.T) {
	ts := newTestServer(t, directOptions(func(a *AuthOptions) { a.Mode = auth.Optional }), func(s *Server, r chi.Router) {
		r.With(Authenticated(customAuth, auth.Required)).Get("/private", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "hello "+CredentialsFrom(r.Context()).User)
		})
	})
	// Plain HTTP goes through the authenticator.
	req, _ := http.NewRequest("GET", ts.http.URL+"/private", nil)
	res, err := http.DefaultClient.Do(req)
	must(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 401 || !strings.Contains(string(body), `"message":"Missing authentication"`) {
		t.Fatalf("anonymous HTTP: %d %s", res.StatusCode, body)
	}
	req.Header.Set("Authorization", "Custom ed")
	res, err = http.DefaultClient.Do(req)
	must(t, err)
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "hello ed" {
		t.Fatalf("HTTP: %s", body)
	}
	// Over an authenticated socket the socket's credentials are accepted.
	c := dial(t, ts.url, nil)
	c.send(helloAs("john", 1))
	c.recv()
	c.roundTrip(`{"type":"request","method":"GET","path":"/private","id":2}`, `{"type":"request","id":2,"statusCode":200,"payload":"hello john"}`)
	anon := dial(t, ts.url, nil)
	anon.hello()
	anon.send(`{"type":"request","method":"GET","path":"/private","id":2}`)
	if got := anon.recv(); !strings.Contains(got, `"statusCode":401`) {
		t.Fatalf("anonymous socket: %s", got)
	}
}

func TestReauthRevokesSubscriptionsTheNewCredentialsMayNotHold(t *testing.T) {
	ts := newTestServer(t, directOptions(nil), func(s *Server, r chi.Router) {
		must(t, s.Subscription("/b-only", SubscriptionOptions{Auth: &SubscriptionAuth{Scope: []string{"b"}}}))
		must(t, s.Subscription("/open", SubscriptionOptions{}))
	})
	c := dial(t, ts.url, nil)
	c.send(`{"type":"hello","version":"2","auth":{"headers":{"authorization":"Custom ed"}},"subs":["/b-only","/open"],"id":1}`)
	c.recv()
	c.roundTrip(`{"type":"reauth","auth":{"headers":{"authorization":"Custom john"}},"id":2}`, `{"type":"reauth","id":2}`)
	c.expect(`{"type":"revoke","path":"/b-only"}`)
	var sock *Socket
	ts.EachSocket(func(s *Socket) bool { sock = s; return false })
	if got := strings.Join(sock.Subscriptions(), ","); got != "/open" {
		t.Fatalf("subscriptions after reauth: %s", got)
	}
}
