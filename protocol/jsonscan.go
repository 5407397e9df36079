package protocol

import (
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds a small JSON scanner: strict RFC 8259 syntax (what
// JSON.parse accepts), linear time, iterative (no recursion whatever the
// nesting), with a nesting limit. It validates and skips values without
// building them, so the decoders keep raw sub-slices and only convert the few
// fields they need.
//
// The scanner does not check UTF-8: the decoders make frames valid UTF-8
// first and the encoder checks raw values with utf8.Valid.

// MaxDepth is the deepest nesting of arrays and objects accepted in a
// client frame, the message object itself counting as one level. Deeper
// frames are answered like unparseable ones (400 "Cannot parse message").
const MaxDepth = 128

// strSpecial marks the bytes that end the fast path inside a string.
var strSpecial = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'] = true
	t['\\'] = true
	return t
}()

// skipWS returns the index of the first non-whitespace byte at or after i.
func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// scanString scans the string starting at b[i] == '"'. It returns the index
// just after the closing quote and whether the string holds escapes.
func scanString(b []byte, i int) (end int, esc, ok bool) {
	i++
	for {
		for i < len(b) && !strSpecial[b[i]] {
			i++
		}
		if i >= len(b) {
			return 0, false, false
		}
		switch b[i] {
		case '"':
			return i + 1, esc, true
		case '\\':
			esc = true
			if i+1 >= len(b) {
				return 0, false, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return 0, false, false
				}
				i += 6
			default:
				return 0, false, false
			}
		default: // a control character
			return 0, false, false
		}
	}
}

// scanDigits returns the index after the run of digits at i (i if none).
func scanDigits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// scanNumber scans the number starting at b[i].
func scanNumber(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return 0, false
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		i = scanDigits(b, i+1)
	default:
		return 0, false
	}
	if i < len(b) && b[i] == '.' {
		j := scanDigits(b, i+1)
		if j == i+1 {
			return 0, false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := scanDigits(b, i)
		if j == i {
			return 0, false
		}
		i = j
	}
	return i, true
}

// scanLiteral scans the literal lit at b[i].
func scanLiteral(b []byte, i int, lit string) (int, bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, false
	}
	return i + len(lit), true
}

// scanMemberKey scans `"key" :` at b[i] and returns the index of the member's
// value (whitespace skipped).
func scanMemberKey(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return 0, false
	}
	i, _, ok := scanString(b, i)
	if !ok {
		return 0, false
	}
	i = skipWS(b, i)
	if i >= len(b) || b[i] != ':' {
		return 0, false
	}
	return skipWS(b, i+1), true
}

// scanValue scans the JSON value starting at b[i] (no leading whitespace)
// and returns the index just after it. Arrays and objects may nest at most
// maxDepth levels (the value itself counting as one).
func scanValue(b []byte, i, maxDepth int) (int, bool) {
	// The kind of each open container, one bit per level (1 = object); the
	// first 128 levels need no allocation.
	var inline [2]uint64
	var more []uint64
	isObject := func(level int) bool {
		if level < 128 {
			return inline[level>>6]&(1<<(level&63)) != 0
		}
		level -= 128
		return more[level>>6]&(1<<(level&63)) != 0
	}
	depth := 0
	var ok bool
	for {
		if i >= len(b) {
			return 0, false
		}
		switch c := b[i]; c {
		case '{', '[':
			if depth >= maxDepth {
				return 0, false
			}
			var bit uint64
			if c == '{' {
				bit = 1
			}
			if depth < 128 {
				inline[depth>>6] = inline[depth>>6]&^(1<<(depth&63)) | bit<<(depth&63)
			} else {
				l := depth - 128
				if l>>6 >= len(more) {
					more = append(more, 0)
				}
				more[l>>6] = more[l>>6]&^(1<<(l&63)) | bit<<(l&63)
			}
			depth++
			i = skipWS(b, i+1)
			if i >= len(b) {
				return 0, false
			}
			if c == '{' && b[i] == '}' || c == '[' && b[i] == ']' {
				i++
				depth--
				ok = true
				break // an empty container is a complete value
			}
			if c == '{' {
				if i, ok = scanMemberKey(b, i); !ok {
					return 0, false
				}
			}
			continue // scan the first element
		case '"':
			i, _, ok = scanString(b, i)
		case 't':
			i, ok = scanLiteral(b, i, "true")
		case 'f':
			i, ok = scanLiteral(b, i, "false")
		case 'n':
			i, ok = scanLiteral(b, i, "null")
		default:
			i, ok = scanNumber(b, i)
		}
		if !ok {
			return 0, false
		}
		// A value is complete: close containers until one has more elements.
		for {
			if depth == 0 {
				return i, true
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return 0, false
			}
			obj := isObject(depth - 1)
			c := b[i]
			if c == ',' {
				i = skipWS(b, i+1)
				if obj {
					if i, ok = scanMemberKey(b, i); !ok {
						return 0, false
					}
				}
				break
			}
			if obj && c == '}' || !obj && c == ']' {
				i++
				depth--
				continue
			}
			return 0, false
		}
	}
}

// ValidJSON reports whether data is one JSON value, optionally surrounded by
// whitespace, in valid UTF-8: what the codecs accept in a raw
// ([encoding/json.RawMessage]) field. Unlike [encoding/json.Valid], it
// refuses invalid UTF-8 inside strings, which a text frame must not carry,
// and it does not limit nesting.
func ValidJSON(data []byte) bool {
	_, ok := validJSON(data)
	return ok
}

// validJSON reports whether raw is one JSON value, optionally surrounded by
// whitespace, with valid UTF-8, and returns it without the whitespace.
func validJSON(raw []byte) ([]byte, bool) {
	i := skipWS(raw, 0)
	end, ok := scanValue(raw, i, int(^uint(0)>>1))
	if !ok || skipWS(raw, end) != len(raw) || !utf8.Valid(raw[i:end]) {
		return nil, false
	}
	return raw[i:end], true
}

// truthy reports whether the valid raw JSON value is truthy in JavaScript.
func truthy(raw []byte) bool {
	if len(raw) == 0 {
		return false
	}
	switch raw[0] {
	case '"':
		return len(raw) > 2
	case 'f', 'n':
		return false
	case 't', '{', '[':
		return true
	}
	return !isZeroNumber(raw)
}

// unquote returns the value of the valid JSON string raw (quotes included).
// Lone surrogates become U+FFFD, as encoding/json does.
func unquote(raw []byte) string {
	s := raw[1 : len(raw)-1]
	bs := -1
	for i, c := range s {
		if c == '\\' {
			bs = i
			break
		}
	}
	if bs < 0 {
		return string(s)
	}
	return string(unescape(make([]byte, 0, len(s)), s, bs))
}

// unescape appends to dst the unescaped content s of a valid JSON string
// whose first backslash is at index bs.
func unescape(dst, s []byte, bs int) []byte {
	dst = append(dst, s[:bs]...)
	for i := bs; i < len(s); {
		c := s[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		switch s[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := rune(hex4(s[i+2:]))
			i += 6
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
					r2 = utf16.DecodeRune(r, rune(hex4(s[i+2:])))
					if r2 != utf8.RuneError {
						i += 6
					}
				}
				r = r2
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, s[i+1])
		}
		i += 2
	}
	return dst
}

// hex4 decodes four valid hex digits.
func hex4(b []byte) uint16 {
	var v uint16
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		v = v<<4 | uint16(c)
	}
	return v
}

// compactJSON appends the valid JSON value raw without insignificant
// whitespace.
func compactJSON(dst, raw []byte) []byte {
	inString := false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if inString {
			dst = append(dst, c)
			switch c {
			case '\\':
				i++
				dst = append(dst, raw[i])
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '"':
			inString = true
		}
		dst = append(dst, c)
	}
	return dst
}

// objectIter walks the members of a JSON object, validating as it goes.
type objectIter struct {
	b        []byte
	i        int
	maxDepth int // for member values
	started  bool
	bad      bool // set when the object is not valid JSON
}

// newObjectIter starts walking the object at b[i] == '{'; members may nest
// maxDepth levels below it.
func newObjectIter(b []byte, i, maxDepth int) objectIter {
	return objectIter{b: b, i: i + 1, maxDepth: maxDepth}
}

// next returns the next member: its key (the raw JSON string, quotes
// included) and its value (raw, no whitespace). ok is false at the end of the
// object, and then it.i is the index just after the closing brace; it.bad
// tells whether the end came from a syntax error.
func (it *objectIter) next() (key, val []byte, ok bool) {
	b := it.b
	i := skipWS(b, it.i)
	if i >= len(b) {
		it.bad = true
		return nil, nil, false
	}
	if b[i] == '}' {
		it.i = i + 1
		return nil, nil, false
	}
	if it.started {
		if b[i] != ',' {
			it.bad = true
			return nil, nil, false
		}
		i = skipWS(b, i+1)
	}
	it.started = true
	if i >= len(b) || b[i] != '"' {
		it.bad = true
		return nil, nil, false
	}
	kEnd, _, ok := scanString(b, i)
	if !ok {
		it.bad = true
		return nil, nil, false
	}
	key = b[i:kEnd]
	v := skipWS(b, kEnd)
	if v >= len(b) || b[v] != ':' {
		it.bad = true
		return nil, nil, false
	}
	v = skipWS(b, v+1)
	vEnd, ok := scanValue(b, v, it.maxDepth)
	if !ok {
		it.bad = true
		return nil, nil, false
	}
	it.i = vEnd
	return key, b[v:vEnd], true
}

// arrayIter walks the elements of a valid JSON array.
type arrayIter struct {
	b       []byte
	i       int
	started bool
}

// newArrayIter walks the valid array raw (raw[0] == '[').
func newArrayIter(raw []byte) arrayIter { return arrayIter{b: raw, i: 1} }

// next returns the next element (raw, no whitespace), ok false at the end.
func (it *arrayIter) next() ([]byte, bool) {
	b := it.b
	i := skipWS(b, it.i)
	if i >= len(b) || b[i] == ']' {
		return nil, false
	}
	if it.started {
		i = skipWS(b, i+1) // the comma
	}
	it.started = true
	end, ok := scanValue(b, i, int(^uint(0)>>1))
	if !ok {
		return nil, false
	}
	it.i = end
	return b[i:end], true
}

// keyIs reports whether the raw JSON string key has the value name (an ASCII
// name without characters that need escaping).
func keyIs(key []byte, name string) bool {
	k := key[1 : len(key)-1]
	if len(k) == len(name) && string(k) == name {
		return true
	}
	for _, c := range k {
		if c == '\\' {
			return unquote(key) == name
		}
	}
	return false
}
