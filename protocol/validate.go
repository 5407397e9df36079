package protocol

import (
	"math"
	"strconv"
	"strings"
)

// This file validates the type-specific fields of client messages. Each
// function gets the members of a frame whose envelope (object, type, id) is
// already valid.

func decodeHello(f *fields, id ID) (Message, error) {
	if !isString(f.version) || unquote(f.version) != Version {
		return nil, decodeError("version", versionMessage(f.version), f.typ, id)
	}
	h := &Hello{ID: id, Version: Version}
	auth, err := decodeAuth(f, id)
	if err != nil {
		return nil, err
	}
	h.Auth = auth
	if !truthy(f.subs) {
		return h, nil
	}
	if f.subs[0] != '[' {
		return nil, decodeError("subs", msgInvalidSubs, f.typ, id)
	}
	h.Subs = []string{}
	it := newArrayIter(f.subs)
	for {
		el, ok := it.next()
		if !ok {
			break
		}
		if !isString(el) {
			return nil, decodeError("subs", msgInvalidSubPath, f.typ, id)
		}
		p := unquote(el)
		if msg := checkSubPath(p); msg != "" {
			e := decodeError("subs", msg, f.typ, id)
			e.Reply.Path = p
			return nil, e
		}
		h.Subs = append(h.Subs, p)
	}
	return h, nil
}

// checkSubPath returns the error message for an invalid subscription path,
// "" for a valid one. nes looks for a query first.
func checkSubPath(p string) string {
	if strings.IndexByte(p, '?') >= 0 {
		return msgSubQuery
	}
	if p == "" || p[0] != '/' {
		return msgInvalidSubPath
	}
	return ""
}

// decodeAuth decodes the auth member of a hello or reauth: nil when absent
// or falsy (nes ignores a falsy auth).
func decodeAuth(f *fields, id ID) (*Auth, error) {
	raw := f.auth
	if !truthy(raw) {
		return nil, nil
	}
	a := &Auth{Raw: f.keep(raw)}
	switch raw[0] {
	case '"':
		a.Token = unquote(raw)
	case '{':
		it := newObjectIter(raw, 0, MaxDepth)
		var hdrs []byte
		for {
			key, val, ok := it.next()
			if !ok {
				break
			}
			if keyIs(key, "headers") {
				hdrs = val
			}
		}
		if truthy(hdrs) { // nes replaces a falsy headers with {}
			h, ok := stringMap(hdrs)
			if !ok {
				return nil, decodeError("auth", msgInvalidAuth, f.typ, id)
			}
			a.Headers = h
		}
	}
	return a, nil
}

// stringMap decodes a valid raw JSON value that must be an object of
// strings.
func stringMap(raw []byte) (map[string]string, bool) {
	if raw[0] != '{' {
		return nil, false
	}
	m := make(map[string]string)
	it := newObjectIter(raw, 0, MaxDepth)
	for {
		key, val, ok := it.next()
		if !ok {
			return m, !it.bad
		}
		if !isString(val) {
			return nil, false
		}
		m[unquote(key)] = unquote(val)
	}
}

func decodeRequest(f *fields, id ID, into *Request) (Message, error) {
	if !truthy(f.method) {
		return nil, decodeError("method", msgMissingMethod, f.typ, id)
	}
	if !isString(f.method) {
		return nil, decodeError("method", msgInvalidMethod, f.typ, id)
	}
	if !truthy(f.path) {
		return nil, decodeError("path", msgMissingPath, f.typ, id)
	}
	if !isString(f.path) {
		return nil, decodeError("path", msgInvalidPath, f.typ, id)
	}
	r := into
	if r == nil {
		r = new(Request)
	}
	*r = Request{ID: id, Method: method(f.method), Path: unquote(f.path), Payload: f.keep(f.payload)}
	if truthy(f.headers) {
		h, ok := stringMap(f.headers)
		if !ok {
			return nil, decodeError("headers", msgInvalidHeaders, f.typ, id)
		}
		for k := range h {
			if strings.EqualFold(k, "authorization") {
				return nil, decodeError("headers", msgAuthHeader, f.typ, id)
			}
		}
		r.Headers = h
	}
	return r, nil
}

// method returns the value of the raw JSON string m, without allocating for
// the common methods.
func method(m []byte) string {
	switch string(m) {
	case `"GET"`:
		return "GET"
	case `"POST"`:
		return "POST"
	case `"PUT"`:
		return "PUT"
	case `"PATCH"`:
		return "PATCH"
	case `"DELETE"`:
		return "DELETE"
	case `"OPTIONS"`:
		return "OPTIONS"
	case `"HEAD"`:
		return "HEAD"
	}
	return unquote(m)
}

func decodeSub(f *fields, id ID) (Message, error) {
	if !truthy(f.path) {
		return nil, decodeError("path", msgMissingPath, f.typ, id)
	}
	if !isString(f.path) {
		return nil, decodeError("path", msgInvalidSubPath, f.typ, id)
	}
	p := unquote(f.path)
	if msg := checkSubPath(p); msg != "" {
		return nil, decodeError("path", msg, f.typ, id)
	}
	return &Sub{ID: id, Path: p}, nil
}

func decodeUnsub(f *fields, id ID) (Message, error) {
	if !truthy(f.path) {
		return &Unsub{ID: id}, nil
	}
	if !isString(f.path) {
		return nil, decodeError("path", msgInvalidSubPath, f.typ, id)
	}
	return &Unsub{ID: id, Path: unquote(f.path)}, nil
}

// isString reports whether the raw JSON value is a string.
func isString(raw []byte) bool { return len(raw) > 0 && raw[0] == '"' }

// versionMessage is nes's message for a hello with a wrong version; raw is
// the received value (nil when absent), printed as nes's
// `request.version || 'none'` would.
func versionMessage(raw []byte) string {
	got := "none"
	if truthy(raw) {
		got = string(appendJSString(nil, raw))
	}
	return "Incorrect protocol version (expected " + Version + " but received " + got + ")"
}

// appendJSString appends the valid raw JSON value converted to a string as
// JavaScript's String() does.
func appendJSString(dst, raw []byte) []byte {
	switch raw[0] {
	case '"':
		return append(dst, unquote(raw)...)
	case 't':
		return append(dst, "true"...)
	case 'f':
		return append(dst, "false"...)
	case 'n':
		return append(dst, "null"...)
	case '{':
		return append(dst, "[object Object]"...)
	case '[':
		// Array.prototype.join(","): null elements give "".
		it := newArrayIter(raw)
		for first := true; ; first = false {
			el, ok := it.next()
			if !ok {
				return dst
			}
			if !first {
				dst = append(dst, ',')
			}
			if el[0] != 'n' {
				dst = appendJSString(dst, el)
			}
		}
	}
	f, _ := strconv.ParseFloat(string(raw), 64)
	return appendJSNumber(dst, f)
}

// appendJSNumber appends f as JavaScript's Number.prototype.toString() does.
func appendJSNumber(dst []byte, f float64) []byte {
	switch {
	case f == 0:
		return append(dst, '0')
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	}
	if f < 0 {
		dst = append(dst, '-')
		f = -f
	}
	// Shortest round-trip digits, as JavaScript uses: d.ddde±x.
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	ePos := strings.IndexByte(string(e), 'e')
	digits := make([]byte, 0, ePos)
	for _, c := range e[:ePos] {
		if c != '.' {
			digits = append(digits, c)
		}
	}
	x, _ := strconv.Atoi(string(e[ePos+1:]))
	k, n := len(digits), x+1 // value = 0.digits × 10^n
	switch {
	case k <= n && n <= 21:
		dst = append(dst, digits...)
		for range n - k {
			dst = append(dst, '0')
		}
	case 0 < n && n <= 21:
		dst = append(dst, digits[:n]...)
		dst = append(dst, '.')
		dst = append(dst, digits[n:]...)
	case -6 < n && n <= 0:
		dst = append(dst, "0."...)
		for range -n {
			dst = append(dst, '0')
		}
		dst = append(dst, digits...)
	default:
		dst = append(dst, digits[0])
		if k > 1 {
			dst = append(dst, '.')
			dst = append(dst, digits[1:]...)
		}
		dst = append(dst, 'e')
		if n-1 >= 0 {
			dst = append(dst, '+')
		}
		dst = strconv.AppendInt(dst, int64(n-1), 10)
	}
	return dst
}
