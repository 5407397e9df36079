package protocol

import (
	"strconv"
)

// idKind tells what an ID holds.
type idKind uint8

const (
	idNone   idKind = iota // no id at all
	idNumber               // a JSON number
	idString               // a JSON string
	idOther                // any other JSON value (true, false, null, object, array)
)

// ID is the "id" of a message, echoed in the reply exactly as the client sent
// it.
//
// nes only requires an id to be truthy, so besides the official client's
// counter (1, 2, 3...) any non-zero number or non-empty string is accepted,
// and a number keeps the literal text it was sent with (15.5, 1e3 and 3 are
// echoed as 15.5, 1e3 and 3).
//
// The zero value is "no id": no "id" key is written for it. An ID decoded from
// a frame may also hold a value nes rejects (0, "", false, null, or a truthy
// non-number non-string such as true or an object); such ids are only
// carried so that the error reply can echo them; see [ID.Valid].
//
// IDs are comparable with ==, which compares their representation (1e3 and
// 1000 differ); [ID.Equal] compares numbers by value as JavaScript does.
type ID struct {
	kind idKind
	n    int64  // idNumber with s == "": the number (canonical integer literal); with s != "": idFloatMark for a MessagePack float, else 0
	s    string // idNumber: the literal text unless it is canonical; idString: the value; idOther: the compact JSON text
}

// NumberID returns the numeric id n (what the official client sends).
func NumberID(n int64) ID { return ID{kind: idNumber, n: n} }

// StringID returns the string id s.
func StringID(s string) ID { return ID{kind: idString, s: s} }

// IsZero reports whether id is the zero ID, meaning no id at all. An id that
// is present but falsy (0, "") is not zero; see [ID.Valid].
func (id ID) IsZero() bool { return id.kind == idNone }

// IsString reports whether id is a JSON string.
func (id ID) IsString() bool { return id.kind == idString }

// IsNumber reports whether id is a JSON number.
func (id ID) IsNumber() bool { return id.kind == idNumber }

// Valid reports whether nes accepts id: a non-zero number or a non-empty
// string. Everything else (no id, 0 in any spelling, "", false, null, and the
// truthy non-number non-string values true, objects and arrays) is answered
// with 400 "Message missing id".
func (id ID) Valid() bool {
	switch id.kind {
	case idNumber:
		if id.s == "" {
			return id.n != 0
		}
		return !isZeroNumber([]byte(id.s))
	case idString:
		return id.s != ""
	}
	return false
}

// String returns the number's literal text, the string's value, the compact
// JSON text of any other value, or "" for the zero ID.
func (id ID) String() string {
	if id.kind == idNumber && id.s == "" {
		return strconv.FormatInt(id.n, 10)
	}
	return id.s
}

// Equal reports whether id and o are the same id. Numbers compare by value as
// JavaScript numbers (1e3 equals 1000, -0 equals 0); anything else compares by
// kind and value.
func (id ID) Equal(o ID) bool {
	if id == o {
		return true
	}
	if id.kind != idNumber || o.kind != idNumber {
		return false
	}
	return id.float() == o.float()
}

// float returns the value of a number id as a JavaScript number.
func (id ID) float() float64 {
	if id.s == "" {
		return float64(id.n)
	}
	f, _ := strconv.ParseFloat(id.s, 64) // ±Inf on overflow, as JSON.parse
	return f
}

// appendJSON appends the JSON form of id; the zero ID appends null.
func (id ID) appendJSON(dst []byte) []byte {
	switch id.kind {
	case idNumber:
		if id.s == "" {
			return strconv.AppendInt(dst, id.n, 10)
		}
		return append(dst, id.s...)
	case idString:
		return appendString(dst, id.s)
	case idOther:
		return append(dst, id.s...)
	}
	return append(dst, "null"...)
}

// idFromJSON builds the ID of a raw JSON value taken from a validated frame;
// nil gives the zero ID.
func idFromJSON(raw []byte) ID {
	if len(raw) == 0 {
		return ID{}
	}
	switch raw[0] {
	case '"':
		return ID{kind: idString, s: unquote(raw)}
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		if n, ok := canonicalInt(raw); ok {
			return ID{kind: idNumber, n: n}
		}
		return ID{kind: idNumber, s: string(raw)}
	}
	return ID{kind: idOther, s: string(compactJSON(nil, raw))}
}

// canonicalInt parses b when it is exactly the text strconv.FormatInt would
// produce for some int64 (no leading zeros, no "-0", no fraction or exponent).
func canonicalInt(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && b[0] == '-' {
		neg = true
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 || (b[0] == '0' && (len(b) > 1 || neg)) {
		return 0, false
	}
	var u uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		u = u*10 + uint64(c-'0') // 19 digits cannot overflow a uint64
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > 1<<63-1 {
		return 0, false
	}
	return int64(u), true
}

// isZeroNumber reports whether the valid JSON number literal b is zero as a
// JavaScript number: all its digits are zero, or it underflows (1e-400).
func isZeroNumber(b []byte) bool {
	allZero, exp := true, false
	for _, c := range b {
		if c == 'e' || c == 'E' {
			exp = true
			break
		}
		if c >= '1' && c <= '9' {
			allZero = false
		}
	}
	if allZero {
		return true
	}
	if !exp {
		return false
	}
	f, _ := strconv.ParseFloat(string(b), 64)
	return f == 0
}
