package nes

import (
	"encoding/binary"
	"net/http"
	"net/textproto"
)

// packedHeader is the upgrade request's header as a socket keeps it: one
// string of length-prefixed keys and values, instead of a map of slices of
// strings, which would be most of an idle socket's memory with a browser's
// headers. Socket.Header unpacks a copy; auth looks up single keys.
type packedHeader string

// packHeader packs h; keys keep their spelling, values their order.
func packHeader(h http.Header) packedHeader {
	n := 0
	for k, vs := range h {
		for _, v := range vs {
			n += 2*binary.MaxVarintLen32 + len(k) + len(v)
		}
	}
	b := make([]byte, 0, n)
	for k, vs := range h {
		for _, v := range vs {
			b = binary.AppendUvarint(b, uint64(len(k)))
			b = append(b, k...)
			b = binary.AppendUvarint(b, uint64(len(v)))
			b = append(b, v...)
		}
	}
	return packedHeader(b)
}

// each calls f with every key and value, in packing order.
func (p packedHeader) each(f func(k, v string)) {
	s := string(p)
	for len(s) > 0 {
		k, rest, ok := cut(s)
		if !ok {
			return
		}
		v, rest, ok := cut(rest)
		if !ok {
			return
		}
		f(k, v)
		s = rest
	}
}

// cut splits the length-prefixed string at the start of s from the rest.
func cut(s string) (field, rest string, ok bool) {
	n, w := binary.Uvarint([]byte(s[:min(len(s), binary.MaxVarintLen64)]))
	if w <= 0 || uint64(len(s)-w) < n {
		return "", "", false
	}
	return s[w : w+int(n)], s[w+int(n):], true
}

// unpack returns the header as a new map.
func (p packedHeader) unpack() http.Header {
	h := make(http.Header)
	p.each(func(k, v string) { h[k] = append(h[k], v) })
	return h
}

// values returns the values of key (canonicalized, as http.Header.Values).
func (p packedHeader) values(key string) []string {
	key = textproto.CanonicalMIMEHeaderKey(key)
	var vs []string
	p.each(func(k, v string) {
		if k == key {
			vs = append(vs, v)
		}
	})
	return vs
}
