// Package wire holds lean nes and centrifuge protocol clients for the load
// tool. Frames are scanned for the few fields the tool needs instead of being
// decoded, so the load generator spends little CPU per delivery.
package wire

import (
	"bytes"
	"strconv"
)

// Field returns the raw value of the first occurrence of "key": in frame: a
// number, literal or the contents of a string (without quotes, escapes left
// as they are). Objects and arrays are not returned (ok is false). It does
// not track nesting: callers use it on keys that are unique in the frames
// they scan.
func Field(frame []byte, key string) (val []byte, ok bool) {
	var pat [64]byte
	p := append(pat[:0], '"')
	p = append(p, key...)
	p = append(p, '"', ':')
	i := bytes.Index(frame, p)
	if i < 0 {
		return nil, false
	}
	rest := frame[i+len(p):]
	for len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\n' || rest[0] == '\r') {
		rest = rest[1:]
	}
	if len(rest) == 0 {
		return nil, false
	}
	switch rest[0] {
	case '"':
		for j := 1; j < len(rest); j++ {
			switch rest[j] {
			case '\\':
				j++
			case '"':
				return rest[1:j], true
			}
		}
		return nil, false
	case '{', '[':
		return nil, false
	}
	j := 0
	for j < len(rest) && rest[j] != ',' && rest[j] != '}' && rest[j] != ']' && rest[j] != ' ' && rest[j] != '\n' {
		j++
	}
	return rest[:j], j > 0
}

// Int parses a JSON number as an int64. Integers are parsed directly; a
// number with a fraction or exponent (as a JavaScript server may print) goes
// through ParseFloat.
func Int(v []byte) (int64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	neg := false
	s := v
	if s[0] == '-' {
		neg = true
		s = s[1:]
	}
	var n int64
	for _, c := range s {
		if c < '0' || c > '9' {
			f, err := strconv.ParseFloat(string(v), 64)
			if err != nil {
				return 0, false
			}
			return int64(f), true
		}
		if n > (1<<63-1-9)/10 {
			if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
				return n, true
			}
			f, err := strconv.ParseFloat(string(v), 64)
			if err != nil {
				return 0, false
			}
			return int64(f), true
		}
		n = n*10 + int64(c-'0')
	}
	if len(s) == 0 {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

// FindT returns the publish timestamp: the number after the first "t": key.
// In the benchmark messages {"t":..,"i":..,"pad":".."} no other key is "t"
// (the nes envelope's "type" does not match "t":).
func FindT(frame []byte) (int64, bool) {
	v, ok := Field(frame, "t")
	if !ok {
		return 0, false
	}
	return Int(v)
}

// Lines calls fn for each non-empty "\n"-separated part of a centrifuge JSON
// frame (the server batches replies and pushes that way). It stops early when
// fn returns false.
func Lines(frame []byte, fn func(line []byte) bool) {
	for len(frame) > 0 {
		i := bytes.IndexByte(frame, '\n')
		var line []byte
		if i < 0 {
			line, frame = frame, nil
		} else {
			line, frame = frame[:i], frame[i+1:]
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if !fn(line) {
			return
		}
	}
}

// Kind classifies one protocol message (a nes frame or a centrifuge line).
type Kind int

// Message kinds.
const (
	KindOther Kind = iota
	KindPing
	KindPub
	KindReply
)

// NESKind classifies a nes frame by its "type" (pub, ping, or a reply type).
func NESKind(frame []byte) (Kind, []byte) {
	t, ok := Field(frame, "type")
	if !ok {
		// An unparseable-frame error reply has no type.
		return KindReply, nil
	}
	switch string(t) {
	case "pub":
		return KindPub, t
	case "ping":
		return KindPing, t
	case "update", "revoke":
		return KindOther, t
	}
	return KindReply, t
}

// CFKind classifies one centrifuge JSON line: "{}" is a ping, a "push"
// without an id carries a publication, anything with an id is a reply.
func CFKind(line []byte) Kind {
	if len(line) == 2 && line[0] == '{' && line[1] == '}' {
		return KindPing
	}
	if bytes.HasPrefix(line, []byte(`{"push":`)) || (!bytes.Contains(line, []byte(`"id":`)) && bytes.Contains(line, []byte(`"push":`))) {
		if bytes.Contains(line, []byte(`"pub":`)) {
			return KindPub
		}
		return KindOther
	}
	if bytes.Contains(line, []byte(`"id":`)) {
		return KindReply
	}
	return KindOther
}

// ChannelFor maps a nes path to the centrifuge channel used by the bench
// servers: "/rooms/bench" → "rooms:bench".
func ChannelFor(path string) string {
	b := []byte(path)
	if len(b) > 0 && b[0] == '/' {
		b = b[1:]
	}
	for i := range b {
		if b[i] == '/' {
			b[i] = ':'
		}
	}
	return string(b)
}
