// Package hapitest runs a real hapi 21 + @hapi/nes 14 server (the Node
// program interop/hapi/server.js) for Go tests: the reference server the Go
// client is proven against.
//
//	srv := hapitest.Start(t, hapitest.Config{
//		Heartbeat:     &hapitest.Heartbeat{Interval: 200, Timeout: 100},
//		Subscriptions: []hapitest.Subscription{{Path: "/items/{id}"}},
//	})
//	// dial srv.URL with the client under test, then drive the server:
//	srv.Publish("/items/5", map[string]any{"a": 1}, "")
//
// Start fails the test (never skips) when node or npm is missing. It runs
// `npm ci` in interop/hapi first when its node_modules is missing.
package hapitest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nes-go/nes/internal/syncbuf"
)

// Heartbeat is nes's heartbeat option, in milliseconds (Timeout < Interval).
type Heartbeat struct {
	Interval int `json:"interval"`
	Timeout  int `json:"timeout"`
}

// Config mirrors the JSON configuration of interop/hapi/server.js. The zero
// value is nes's defaults without authentication: heartbeat 15000/5000, no
// chunking, no headers, no onMessage (501), no subscriptions.
type Config struct {
	// Heartbeat nil: nes's default (15000/5000); see also NoHeartbeat.
	Heartbeat *Heartbeat
	// NoHeartbeat sends heartbeat:false (hello replies "heartbeat":false).
	NoHeartbeat bool
	// MaxChunkChars > 0 enables nes's payload.maxChunkChars.
	MaxChunkChars int
	// Headers is nes's headers filter: nil (none), []string{"*"} (all) or a
	// list of lower-case names.
	Headers []string
	// MaxConnections > 0 sets nes's maxConnections.
	MaxConnections int
	// Origin sets nes's origin allow list.
	Origin []string
	// OnMessage: "" (no onMessage: 501), "echo" ({echo: message}), "fail"
	// (Boom 400 "You asked me to fail"), or "script" (the message decides:
	// "fail" → 400, "crash" → 500, "nothing" → no message, "disconnect" →
	// socket.disconnect(), anything else → echo).
	OnMessage string
	// Auth nil: auth:false (no endpoint, no hello timeout).
	Auth *Auth
	// Subscriptions are declared with server.subscription.
	Subscriptions []Subscription
}

// Auth is nes's auth option, with the test scheme "Authorization: Custom
// <name>" registered as the default strategy: john (user john, scope [a]),
// ed (user ed, scope [a b]), app (no user, {"app":"app"}, scope [a]). A
// missing header or another scheme is "Missing authentication"; an unknown
// name is 401 "Bad credentials".
type Auth struct {
	// Type: "direct" (default), "cookie" or "token".
	Type string `json:"type,omitempty"`
	// Mode: "required" (default) or "optional" (the endpoint route's mode).
	Mode string `json:"mode,omitempty"`
	// Password is iron's password for cookie/token (32+ chars); empty:
	// nes picks a random one.
	Password string `json:"password,omitempty"`
	// Index enables the user index (Broadcast/Publish with a user).
	Index bool `json:"index,omitempty"`
	// MaxConnectionsPerUser > 0 (requires Index).
	MaxConnectionsPerUser int `json:"maxConnectionsPerUser,omitempty"`
	// MinAuthVerifyInterval in ms (0: nes's default, the heartbeat interval).
	MinAuthVerifyInterval int `json:"minAuthVerifyInterval,omitempty"`
	// Timeout is the hello timeout in ms: 0 nes's default (5000), < 0 false.
	Timeout int `json:"-"`
	// VerifyExpiry > 0 makes the scheme's verify() fail for credentials
	// authenticated at least that many ms ago (so the next message after
	// MinAuthVerifyInterval gets 403 "Credential verification failed").
	VerifyExpiry int `json:"verifyExpiry,omitempty"`
	// Cookie is the cookie name (default "nes").
	Cookie string `json:"cookie,omitempty"`
	// IsSecure nil: nes's default (true: the Set-Cookie has Secure).
	IsSecure *bool `json:"isSecure,omitempty"`
	// TTL of the cookie in ms (0: session cookie).
	TTL int `json:"ttl,omitempty"`
}

// MarshalJSON encodes Timeout as nes wants it (absent, a number or false).
func (a Auth) MarshalJSON() ([]byte, error) {
	type plain Auth
	b, err := json.Marshal(plain(a))
	if err != nil || a.Timeout == 0 {
		return b, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if a.Timeout < 0 {
		m["timeout"] = false
	} else {
		m["timeout"] = a.Timeout
	}
	return json.Marshal(m)
}

// Subscription is one server.subscription(path, options).
type Subscription struct {
	// Path is a hapi path pattern: "/news", "/items/{id}".
	Path string `json:"path"`
	// Auth is the subscription's auth option; nil leaves it out (on a
	// server with Auth that means the default strategy: mode required).
	Auth *SubscriptionAuth `json:"auth,omitempty"`
	// NoAuth sets auth:false (anyone may subscribe).
	NoAuth bool `json:"-"`
	// Filter: "" (none), "a-equals-1", "override" (every subscriber gets
	// {overridden:true, path, original, socket}), "user-equals-message",
	// "internal-b-equals-1".
	Filter string `json:"filter,omitempty"`
	// OnSubscribe: "" (accept), "refuse" (Boom 403 "Refused"), "error"
	// (plain error: 500), "publish-initial" (socket.publish(path,
	// "Initial state") before accepting).
	OnSubscribe string `json:"onSubscribe,omitempty"`
}

// SubscriptionAuth is nes's subscription auth option.
type SubscriptionAuth struct {
	Mode   string   `json:"mode,omitempty"`   // "required" (default) or "optional"
	Scope  []string `json:"scope,omitempty"`  // may use "{params.id}"
	Entity string   `json:"entity,omitempty"` // "user", "app" or "any"
	Index  bool     `json:"index,omitempty"`  // needed for Publish with a user
}

// MarshalJSON encodes NoAuth as auth:false.
func (s Subscription) MarshalJSON() ([]byte, error) {
	type plain Subscription
	if !s.NoAuth {
		return json.Marshal(plain(s))
	}
	return json.Marshal(struct {
		plain
		Auth bool `json:"auth"`
	}{plain: plain(s), Auth: false})
}

// MarshalJSON encodes the configuration for server.js.
func (c Config) MarshalJSON() ([]byte, error) {
	m := map[string]any{}
	switch {
	case c.NoHeartbeat:
		m["heartbeat"] = false
	case c.Heartbeat != nil:
		m["heartbeat"] = c.Heartbeat
	}
	if c.MaxChunkChars > 0 {
		m["maxChunkChars"] = c.MaxChunkChars
	}
	if len(c.Headers) == 1 && c.Headers[0] == "*" {
		m["headers"] = "*"
	} else if c.Headers != nil {
		m["headers"] = c.Headers
	}
	if c.MaxConnections > 0 {
		m["maxConnections"] = c.MaxConnections
	}
	if len(c.Origin) > 0 {
		m["origin"] = c.Origin
	}
	if c.OnMessage != "" {
		m["onMessage"] = c.OnMessage
	}
	if c.Auth != nil {
		m["auth"] = c.Auth
	}
	if len(c.Subscriptions) > 0 {
		m["subscriptions"] = c.Subscriptions
	}
	return json.Marshal(m)
}

// Server is a running hapi + nes server.
type Server struct {
	// URL is the websocket URL, ws://127.0.0.1:<port>/ (nes accepts the
	// upgrade on any path).
	URL string
	// HTTPURL is http://127.0.0.1:<port>, for the routes and /nes/auth.
	HTTPURL string
	// Port is the nes port; it stays the same across Restart.
	Port int

	control string // http://127.0.0.1:<control port>
	cookie  string // the auth cookie name
	client  *http.Client
}

// Dir returns the directory of the Node program (interop/hapi).
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "interop", "hapi")
}

var installMu sync.Mutex

// install runs npm ci in dir when node_modules lacks hapi or nes.
func install(t testing.TB, dir string) {
	t.Helper()
	installed := func() bool {
		for _, p := range []string{"@hapi/hapi", "@hapi/nes", "@hapi/boom"} {
			if _, err := os.Stat(filepath.Join(dir, "node_modules", p, "package.json")); err != nil {
				return false
			}
		}
		return true
	}
	installMu.Lock()
	defer installMu.Unlock()
	if installed() {
		return
	}
	// Test binaries of several packages may get here at once: a lock
	// directory (mkdir is atomic) serialises them.
	lock := filepath.Join(dir, ".npm-ci.lock")
	deadline := time.Now().Add(5 * time.Minute)
	for {
		err := os.Mkdir(lock, 0o755)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrExist) {
			t.Fatalf("hapitest: %v", err)
		}
		if fi, serr := os.Stat(lock); serr == nil && time.Since(fi.ModTime()) > 5*time.Minute {
			_ = os.Remove(lock) // stale
			continue
		}
		if time.Now().After(deadline) {
			t.Fatalf("hapitest: timed out waiting for %s", lock)
		}
		time.Sleep(200 * time.Millisecond)
	}
	defer os.Remove(lock)
	if installed() {
		return
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatalf("hapitest: %s/node_modules is missing and npm is not on PATH: %v", dir, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hapitest: npm ci in %s: %v\n%s", dir, err, out)
	}
}

// Start runs `node interop/hapi/server.js <config>`, waits for its
// LISTENING line, and stops it with t.Cleanup (closing its stdin, which
// makes it call server.stop() and exit). A server that exits with an error
// fails the test with its stderr.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("hapitest: the hapi fixture needs Node.js 20+ on PATH: %v", err)
	}
	dir := Dir()
	install(t, dir)

	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatalf("hapitest: config: %v", err)
	}
	cmd := exec.Command(node, "server.js", string(raw))
	cmd.Dir = dir
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatalf("hapitest: %v", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("hapitest: %v", err)
	}
	stderr := &syncbuf.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("hapitest: starting node: %v", err)
	}

	lines := make(chan string, 1)
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		br := bufio.NewReader(stdout)
		line, err := br.ReadString('\n')
		if err == nil {
			lines <- line
		}
		close(lines)
		_, _ = io.Copy(io.Discard, br)
	}()

	exited := make(chan struct{})
	var waitErr error
	go func() {
		<-drained // all stdout read before Wait closes the pipe
		waitErr = cmd.Wait()
		close(exited)
	}()

	stop := func() {
		_ = stdin.Close()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}

	var line string
	select {
	case l, ok := <-lines:
		if !ok {
			stop()
			t.Fatalf("hapitest: server.js exited before listening (%v):\n%s", waitErr, stderr.String())
		}
		line = l
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		t.Fatalf("hapitest: server.js did not print LISTENING within 30s:\n%s", stderr.String())
	}

	var port, ctlPort int
	if _, err := fmt.Sscanf(strings.TrimSpace(line), "LISTENING %d CONTROL %d", &port, &ctlPort); err != nil {
		stop()
		t.Fatalf("hapitest: unexpected first line %q: %v\n%s", line, err, stderr.String())
	}

	tr := &http.Transport{}
	s := &Server{
		URL:     "ws://127.0.0.1:" + strconv.Itoa(port) + "/",
		HTTPURL: "http://127.0.0.1:" + strconv.Itoa(port),
		Port:    port,
		control: "http://127.0.0.1:" + strconv.Itoa(ctlPort),
		cookie:  "nes",
		client:  &http.Client{Transport: tr, Timeout: 30 * time.Second},
	}
	if cfg.Auth != nil && cfg.Auth.Cookie != "" {
		s.cookie = cfg.Auth.Cookie
	}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		stop()
		if waitErr != nil {
			t.Errorf("hapitest: server.js exited with %v:\n%s", waitErr, stderr.String())
		}
	})
	return s
}

// ControlError is a failed control API call.
type ControlError struct {
	Action string
	Status int
	Msg    string
}

func (e *ControlError) Error() string {
	return fmt.Sprintf("hapitest: %s: %d %s", e.Action, e.Status, e.Msg)
}

// Control calls an action of the control API (method "GET" or "POST",
// path e.g. "/publish"), with in as the JSON body (nil: none) and the JSON
// answer decoded into out (nil: ignored). The typed methods cover the
// common actions; see interop/hapi/README.md for all of them.
func (s *Server) Control(method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.control+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("hapitest: %s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(b, &e)
		return &ControlError{Action: method + " " + path, Status: res.StatusCode, Msg: e.Error}
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// Publish calls server.publish(path, msg, {user}) (user "": no user option;
// a user needs Auth.Index on the server and Index on the subscription).
func (s *Server) Publish(path string, msg any, user string) error {
	in := map[string]any{"path": path, "message": msg}
	if user != "" {
		in["user"] = user
	}
	return s.Control("POST", "/publish", in, nil)
}

// PublishInternal calls server.publish(path, msg, {internal}) (for the
// "internal-b-equals-1" filter).
func (s *Server) PublishInternal(path string, msg, internal any) error {
	return s.Control("POST", "/publish", map[string]any{"path": path, "message": msg, "internal": internal}, nil)
}

// Broadcast calls server.broadcast(msg, {user}) (user "": every socket; a
// user needs Auth.Index).
func (s *Server) Broadcast(msg any, user string) error {
	in := map[string]any{"message": msg}
	if user != "" {
		in["user"] = user
	}
	return s.Control("POST", "/broadcast", in, nil)
}

// DisconnectAll calls socket.disconnect() on every socket (a bare close:
// the client sees 1005 and reconnects).
func (s *Server) DisconnectAll() error {
	return s.Control("POST", "/disconnect-all", nil, nil)
}

// Revoke calls socket.revoke(path, msg) on every socket subscribed to path
// (eachSocket with {subscription: path}); msg nil sends no message.
func (s *Server) Revoke(path string, msg any) error {
	return s.Control("POST", "/revoke", map[string]any{"path": path, "message": msg}, nil)
}

// Send calls socket.send(msg) on one socket (an "update").
func (s *Server) Send(socketID string, msg any) error {
	return s.Control("POST", "/socket/send", map[string]any{"socket": socketID, "message": msg}, nil)
}

// Disconnect calls socket.disconnect() on one socket.
func (s *Server) Disconnect(socketID string) error {
	return s.Control("POST", "/socket/disconnect", map[string]any{"socket": socketID}, nil)
}

// Stop calls server.stop(): every socket is closed and the port released
// until Restart.
func (s *Server) Stop() error {
	return s.Control("POST", "/stop", nil, nil)
}

// Restart stops the server if it is running and starts a new hapi server
// with the same configuration on the same port. Socket ids, subscriptions
// and the user index start empty; iron passwords (random unless
// Auth.Password is set) change, so old tokens and cookies stop working
// unless Auth.Password is set.
func (s *Server) Restart() error {
	return s.Control("POST", "/restart", nil, nil)
}

// SocketInfo is one server socket as listed by Sockets.
type SocketInfo struct {
	ID            string          `json:"id"`
	Subscriptions []string        `json:"subscriptions"`
	Authenticated bool            `json:"authenticated"`
	Credentials   json.RawMessage `json:"credentials"`
	App           json.RawMessage `json:"app"`
}

// Sockets lists the open sockets (eachSocket) with their subscriptions
// and credentials; none while the server is stopped.
func (s *Server) Sockets() ([]SocketInfo, error) {
	var out struct {
		Sockets []SocketInfo `json:"sockets"`
	}
	err := s.Control("GET", "/sockets", nil, &out)
	return out.Sockets, err
}

// Event is a recorded hook call: connection, disconnection, subscribe,
// unsubscribe, message, authenticate, verify.
type Event struct {
	Seq     int               `json:"seq"`
	Hook    string            `json:"hook"`
	At      int64             `json:"at"` // unix ms
	Socket  string            `json:"socket,omitempty"`
	User    string            `json:"user,omitempty"`
	Path    string            `json:"path,omitempty"`
	Params  map[string]string `json:"params,omitempty"`
	Message json.RawMessage   `json:"message,omitempty"`
	Name    string            `json:"name,omitempty"`   // authenticate, verify: the Custom name
	Result  string            `json:"result,omitempty"` // authenticate: ok/rejected; verify: ok/expired
}

// Events returns the recorded calls of hook ("": all), waiting up to
// timeout until there are at least count of them (it returns what there
// is when the time is up, without error).
func (s *Server) Events(hook string, count int, timeout time.Duration) ([]Event, error) {
	q := url.Values{}
	q.Set("hook", hook)
	q.Set("count", strconv.Itoa(count))
	q.Set("timeout", strconv.FormatInt(max(timeout.Milliseconds(), 1), 10))
	var out struct {
		Events []Event `json:"events"`
	}
	err := s.Control("GET", "/events?"+q.Encode(), nil, &out)
	return out.Events, err
}

// authGet is GET /nes/auth with "Authorization: Custom <user>" (user "":
// no header).
func (s *Server) authGet(user string) (*http.Response, []byte, error) {
	req, err := http.NewRequest("GET", s.HTTPURL+"/nes/auth", nil)
	if err != nil {
		return nil, nil, err
	}
	if user != "" {
		req.Header.Set("Authorization", "Custom "+user)
	}
	res, err := s.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res, b, err
}

// Token fetches a token for user from GET /nes/auth (Auth.Type "token"),
// to be sent as hello.auth.
func (s *Server) Token(user string) (string, error) {
	res, b, err := s.authGet(user)
	if err != nil {
		return "", err
	}
	var out struct {
		Status string `json:"status"`
		Token  string `json:"token"`
	}
	if res.StatusCode != http.StatusOK || json.Unmarshal(b, &out) != nil || out.Token == "" {
		return "", fmt.Errorf("hapitest: GET /nes/auth as %q: %d %s", user, res.StatusCode, b)
	}
	return out.Token, nil
}

// Cookie logs user in with GET /nes/auth (Auth.Type "cookie") and returns
// the value for a Cookie header on the websocket upgrade: "nes=Fe26.2**…".
func (s *Server) Cookie(user string) (string, error) {
	res, b, err := s.authGet(user)
	if err != nil {
		return "", err
	}
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("hapitest: GET /nes/auth as %q: %d %s", user, res.StatusCode, b)
	}
	for _, c := range res.Cookies() {
		if c.Name == s.cookie {
			return c.Name + "=" + c.Value, nil
		}
	}
	return "", fmt.Errorf("hapitest: GET /nes/auth as %q set no %q cookie: %d %s", user, s.cookie, res.StatusCode, b)
}
