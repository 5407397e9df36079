package nes

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/go-chi/chi/v5"

	"github.com/nes-go/nes/protocol"
)

// handleRequest serves a "request" message through the request handler (the
// chi router given to Mount), one at a time in the socket's read goroutine.
func (sock *Socket) handleRequest(m *protocol.Request) {
	t := string(protocol.TypeRequest)
	for k := range m.Headers {
		if strings.EqualFold(k, "authorization") {
			sock.sendError(errorFor(http.StatusBadRequest, "Cannot include an Authorization header", t, m.ID))
			return
		}
	}
	if !strings.HasPrefix(m.Path, "/") {
		// nes looks the path up as a route id; chi routes have none.
		sock.sendError(errorFor(http.StatusNotFound, "Not Found", t, m.ID))
		return
	}
	if st := sock.srv.auth; st != nil && st.endpoint != "" && pathOnly(m.Path) == st.endpoint {
		// The auth endpoint is for HTTP only (nes answers 404 too).
		sock.sendError(errorFor(http.StatusNotFound, "Not Found", t, m.ID))
		return
	}
	st := &requestState{}
	req, msg := sock.buildRequest(m, st)
	if req == nil {
		sock.sendError(errorFor(http.StatusBadRequest, msg, t, m.ID))
		return
	}
	h := sock.srv.requestHandler()
	if mux, ok := h.(*chi.Mux); ok {
		// The routing context chi would take from its pool and add to the
		// request's context (two allocations), provided by ours instead.
		rctx := routeContexts.Get().(*chi.Context)
		rctx.Reset()
		rctx.Routes = mux
		st.ctx.route = rctx
		defer routeContexts.Put(rctx)
	}
	rb := sock.replyBufs()
	rec := &rb.rec
	*rec = recorder{header: rb.header, body: rb.small[:0]}
	defer rb.reset()
	if err := serveRecovered(h, rec, req); err != nil {
		sock.srv.log.Error("nes: request handler panicked", "method", req.Method, "path", m.Path, "error", err)
		sock.sendError(errorFor(http.StatusInternalServerError, internalErrorMessage, t, m.ID))
		return
	}
	sock.srv.response(&rb.resp, m.ID, rec)
	// The reply is encoded into the socket's frame buffer, which is kept
	// for the next reply when the reply was written at once (a reply
	// queued behind a writer keeps it).
	buf := rb.frame
	rb.frame = nil
	if size := len(rb.resp.Payload) + replyOverhead; cap(buf) < size {
		buf = make([]byte, 0, size)
	}
	frame, released := sock.replyIn(buf[:0], &rb.resp, t, m.ID)
	if released && cap(frame) <= maxKeptFrame {
		rb.frame = frame[:0]
	}
}

// replyBuffers is what a socket reuses from one request to the next: the
// decoded request message, the response recorder, its header map and first
// body buffer, the reply, and the reply's frame buffer.
// A socket serves one request at a time, and, as for net/http, a handler
// must not use its ResponseWriter once it returned. Parking drops them.
type replyBuffers struct {
	rec    recorder
	header http.Header
	resp   protocol.Response
	small  [64]byte
	frame  []byte           // the last reply's frame buffer, once written
	req    protocol.Request // the next request message is decoded into it (dispatch.go)
}

// maxKeptFrame bounds the frame buffer a socket keeps between replies.
const maxKeptFrame = 8 << 10

// replyBufs returns the socket's reply buffers, made at its first request
// after it started or woke.
func (sock *Socket) replyBufs() *replyBuffers {
	if sock.replyBuf == nil {
		sock.replyBuf = &replyBuffers{header: make(http.Header)}
	}
	return sock.replyBuf
}

// maxReusedHeaders bounds the response header map kept between requests.
const maxReusedHeaders = 16

// reset makes the buffers ready for the next request, dropping what must
// not be kept: a large header map and references to the last reply.
func (rb *replyBuffers) reset() {
	if len(rb.header) > maxReusedHeaders {
		rb.header = make(http.Header)
	} else {
		clear(rb.header)
	}
	rb.rec = recorder{}
	rb.resp = protocol.Response{}
}

// replyOverhead is room for a reply's fields around its payload, so that
// encoding a reply takes one allocation.
const replyOverhead = 96

// requestState is what serving one request over a socket allocates, in one
// piece: the request's context and URL, which the handler may keep.
type requestState struct {
	req http.Request
	ctx requestContext
	url url.URL
}

// requestContext is the context of a request over a socket: the socket's
// context, with SocketFrom's value and, for a chi router, chi's routing
// context, without a context.WithValue for each.
type requestContext struct {
	context.Context
	sock  *Socket
	route *chi.Context
}

// Value implements context.Context.
func (c *requestContext) Value(key any) any {
	switch key {
	case socketKey{}:
		return c.sock
	case chi.RouteCtxKey:
		if c.route != nil {
			return c.route
		}
	}
	return c.Context.Value(key)
}

// routeContexts are chi routing contexts for requests over sockets.
var routeContexts = sync.Pool{New: func() any { return chi.NewRouteContext() }}

func pathOnly(p string) string {
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		return p[:i]
	}
	return p
}

// buildRequest turns a request message into an http.Request, or returns the
// reason it cannot.
func (sock *Socket) buildRequest(m *protocol.Request, st *requestState) (*http.Request, string) {
	method := strings.ToUpper(m.Method)
	if !isToken(method) {
		return nil, "Invalid request method"
	}
	if !parseRequestPath(m.Path, &st.url) {
		return nil, "Invalid request path"
	}
	header := make(http.Header, len(m.Headers)+1)
	for k, v := range m.Headers {
		if !isToken(k) || !validHeaderValue(v) {
			return nil, "Invalid request header"
		}
		header.Add(k, v)
	}
	body, isString := requestBody(m.Payload)
	if body != nil && !isString && header.Get("Content-Type") == "" {
		header.Set("Content-Type", "application/json")
	}
	host := sock.host
	if h := header.Get("Host"); h != "" {
		host = h
	}
	st.ctx = requestContext{Context: sock.ctx, sock: sock}
	req := http.Request{
		Method:     method,
		URL:        &st.url,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     header,
		Host:       host,
		RemoteAddr: sock.remoteAddr,
		RequestURI: m.Path,
		Body:       http.NoBody,
	}
	if body != nil {
		req.ContentLength = int64(len(body))
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	// WithContext's copy does not escape (it is inlined): the request is
	// st's.
	st.req = *req.WithContext(&st.ctx)
	return &st.req, ""
}

// parseRequestPath parses a request message's path (which starts with "/")
// into u as url.ParseRequestURI does, and reports whether it is valid. Paths
// that need no unescaping, the common case, are parsed without allocating.
func parseRequestPath(p string, u *url.URL) bool {
	path, query, hasQuery := strings.Cut(p, "?")
	fast := true
	for i := 0; i < len(path) && fast; i++ {
		fast = plainPathByte(path[i])
	}
	for i := 0; i < len(query) && fast; i++ {
		fast = query[i] >= ' ' && query[i] != 0x7f
	}
	if fast {
		*u = url.URL{Path: path, RawQuery: query, ForceQuery: hasQuery && query == ""}
		return true
	}
	parsed, err := url.ParseRequestURI(p)
	if err != nil || parsed.Host != "" || parsed.Scheme != "" {
		return false
	}
	*u = *parsed
	return true
}

// plainPathByte reports whether c stands for itself in a URL path: it is
// neither escaped nor unescaped by net/url.
func plainPathByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("-_.~$&+,/:;=@", c) >= 0
}

// requestBody applies nes's payload rules: no payload or null → no body; a
// string → its raw text (no content type); any other JSON value → its JSON.
func requestBody(p json.RawMessage) (body []byte, isString bool) {
	p = bytes.TrimSpace(p)
	if len(p) == 0 || string(p) == "null" {
		return nil, false
	}
	if p[0] == '"' {
		var s string
		if err := json.Unmarshal(p, &s); err == nil {
			return []byte(s), true
		}
	}
	return p, false
}

func serveRecovered(h http.Handler, w http.ResponseWriter, r *http.Request) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	h.ServeHTTP(w, r)
	return nil
}

// response builds the request reply from what the handler wrote: a JSON body
// is embedded as JSON, 204 (and 304) is null, an empty body is "", anything
// else is a JSON string.
func (s *Server) response(out *protocol.Response, id protocol.ID, rec *recorder) {
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	body := rec.body
	var payload json.RawMessage
	switch {
	case status == http.StatusNoContent || status == http.StatusNotModified:
		payload = json.RawMessage("null")
	case len(body) == 0:
		payload = json.RawMessage(`""`)
	case isJSONType(headerValue(rec.header, "Content-Type")) && protocol.ValidJSON(body):
		payload = bytes.TrimSpace(body)
	default:
		payload, _ = json.Marshal(string(body))
	}
	*out = protocol.Response{ID: id, StatusCode: status, Payload: payload, Headers: s.filterHeaders(rec.header, len(body))}
}

func isJSONType(ct string) bool {
	if ct == "" {
		return false
	}
	// The media type is what comes before any parameter; comparing it
	// without case needs no parsing of the parameters (and no map).
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.TrimSpace(mt)
	const app = "application/"
	if len(mt) < len(app) || !strings.EqualFold(mt[:len(app)], app) {
		return false
	}
	sub := mt[len(app):]
	return strings.EqualFold(sub, "json") ||
		(len(sub) >= len("+json") && strings.EqualFold(sub[len(sub)-len("+json"):], "+json"))
}

// filterHeaders selects the response headers copied into a reply (the
// Headers option): names in lower case, one value as a string, several as
// an array, content-length as a number.
func (s *Server) filterHeaders(h http.Header, bodyLen int) map[string]any {
	allow := s.opts.Headers
	if len(allow) == 0 {
		return nil
	}
	all := len(allow) == 1 && allow[0] == "*"
	allowed := func(name string) bool {
		if all {
			return true
		}
		for _, a := range allow {
			if strings.EqualFold(a, name) {
				return true
			}
		}
		return false
	}
	out := make(map[string]any)
	for k, v := range h {
		name := strings.ToLower(k)
		if !allowed(name) || len(v) == 0 {
			continue
		}
		if name == "content-length" {
			if n, err := strconv.Atoi(v[0]); err == nil {
				out[name] = n
				continue
			}
		}
		if len(v) == 1 {
			out[name] = v[0]
		} else {
			out[name] = append([]string(nil), v...)
		}
	}
	if _, ok := out["content-length"]; !ok && allowed("content-length") && h.Get("Transfer-Encoding") == "" {
		out["content-length"] = bodyLen
	}
	return out
}

// headerValue is h.Get(key) for a key already in canonical form, which
// needs no canonicalizing (Get scans the key on every call).
func headerValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// isToken reports whether s is a non-empty HTTP token (RFC 9110 tchar).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validHeaderValue rejects control characters (CR and LF among them).
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// recorder is the in-memory response writer of a request over a socket.
type recorder struct {
	header http.Header
	status int
	body   []byte
}

// Header implements http.ResponseWriter.
func (r *recorder) Header() http.Header { return r.header }

// WriteHeader implements http.ResponseWriter; informational statuses and
// repeated calls are ignored.
func (r *recorder) WriteHeader(code int) {
	if r.status != 0 || code < 200 || code > 999 {
		return
	}
	r.status = code
}

// Write implements http.ResponseWriter.
func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if len(r.body) == 0 && len(p) > 0 && headerValue(r.header, "Content-Type") == "" {
		r.header.Set("Content-Type", http.DetectContentType(p))
	}
	r.body = append(r.body, p...)
	return len(p), nil
}

// Flush implements http.Flusher (a no-op: the reply is sent whole).
func (r *recorder) Flush() {}
