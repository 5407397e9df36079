package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// jsonToMsgpack converts a JSON frame to the equivalent MessagePack frame
// with an independent encoder, keeping the members in order (duplicates
// included). Integers become integers, other numbers float64. ok is false
// when frame is not valid JSON.
func jsonToMsgpack(t testing.TB, frame string) ([]byte, bool) {
	t.Helper()
	clean := validUTF8([]byte(frame))
	if !json.Valid(clean) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(clean))
	dec.UseNumber()
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	if err := jsonTokensToMsgpack(dec, enc); err != nil {
		t.Fatalf("converting %s: %v", frame, err)
	}
	return buf.Bytes(), true
}

// orderedMember is a member of a JSON object read by readOrdered.
type orderedMember struct {
	key string
	val any
}

// readOrdered reads one JSON value, objects as []orderedMember.
func readOrdered(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		members := []orderedMember{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			v, err := readOrdered(dec)
			if err != nil {
				return nil, err
			}
			members = append(members, orderedMember{k.(string), v})
		}
		_, err = dec.Token()
		return members, err
	case json.Delim('['):
		elems := []any{}
		for dec.More() {
			v, err := readOrdered(dec)
			if err != nil {
				return nil, err
			}
			elems = append(elems, v)
		}
		_, err = dec.Token()
		return elems, err
	}
	return tok, nil
}

func jsonTokensToMsgpack(dec *json.Decoder, enc *msgpack.Encoder) error {
	v, err := readOrdered(dec)
	if err != nil {
		return err
	}
	return encodeOrdered(enc, v)
}

func encodeOrdered(enc *msgpack.Encoder, v any) error {
	switch v := v.(type) {
	case []orderedMember:
		if err := enc.EncodeMapLen(len(v)); err != nil {
			return err
		}
		for _, m := range v {
			if err := enc.EncodeString(m.key); err != nil {
				return err
			}
			if err := encodeOrdered(enc, m.val); err != nil {
				return err
			}
		}
		return nil
	case []any:
		if err := enc.EncodeArrayLen(len(v)); err != nil {
			return err
		}
		for _, el := range v {
			if err := encodeOrdered(enc, el); err != nil {
				return err
			}
		}
		return nil
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return enc.EncodeInt(n)
		}
		if u, err := strconv.ParseUint(string(v), 10, 64); err == nil {
			return enc.EncodeUint(u)
		}
		f, _ := strconv.ParseFloat(string(v), 64)
		return enc.EncodeFloat64(f)
	case string:
		return enc.EncodeString(v)
	case bool:
		return enc.EncodeBool(v)
	case nil:
		return enc.EncodeNil()
	}
	panic("unexpected token")
}

// canon returns a comparable form of m: its Go type and its JSON encoding
// read back into any (numbers as float64), so that ids compare by value
// (as ID.Equal) and raw JSON values by meaning, not spelling or key order.
func canon(t testing.TB, m Message) any {
	t.Helper()
	if m == nil {
		return nil
	}
	out, err := JSON().AppendEncode(nil, m)
	if err != nil {
		t.Fatalf("JSON-encoding %#v: %v", m, err)
	}
	var v any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	return []any{reflect.TypeOf(m).String(), v}
}

// sameMessage checks two decoded messages agree, with IDs Equal.
func sameMessage(t testing.TB, what string, got, want Message) {
	t.Helper()
	if !reflect.DeepEqual(canon(t, got), canon(t, want)) {
		t.Errorf("%s:\n msgpack %#v\n json    %#v", what, got, want)
		return
	}
	if gi, wi := messageID(got), messageID(want); !gi.Equal(wi) {
		t.Errorf("%s: id %#v, want %#v", what, gi, wi)
	}
}

// messageID returns the ID of m, zero for messages without one.
func messageID(m Message) ID {
	v := reflect.ValueOf(m)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return ID{}
	}
	if f := v.Elem().FieldByName("ID"); f.IsValid() {
		return f.Interface().(ID)
	}
	return ID{}
}

func TestMsgpackCodec(t *testing.T) {
	c := MessagePack()
	if c.Name() != MsgpackSubprotocol || c.Name() != "nes.v2.msgpack" || !c.Binary() {
		t.Errorf("Name %q Binary %v", c.Name(), c.Binary())
	}
}

// TestMsgpackDecodeClientMatchesJSON runs every JSON client decode case
// through MessagePack.
func TestMsgpackDecodeClientMatchesJSON(t *testing.T) {
	frames := clientCaseFrames()
	converted := 0
	for _, frame := range frames {
		mp, ok := jsonToMsgpack(t, frame)
		if !ok {
			continue // not JSON: see TestMsgpackDecodeErrors
		}
		converted++
		jm, jerr := JSON().DecodeClient([]byte(frame))
		mm, merr := MessagePack().DecodeClient(mp)
		if (jerr == nil) != (merr == nil) {
			t.Errorf("%s: JSON error %v, MessagePack error %v", frame, jerr, merr)
			continue
		}
		if jerr != nil {
			var jd, md *DecodeError
			if !errors.As(jerr, &jd) || !errors.As(merr, &md) {
				t.Fatalf("%s: %v / %v", frame, jerr, merr)
			}
			if mm != nil || jd.Field != md.Field {
				t.Errorf("%s: Field %q, want %q (message %#v)", frame, md.Field, jd.Field, mm)
			}
			sameMessage(t, frame, md.Reply, jd.Reply)
			continue
		}
		sameMessage(t, frame, mm, jm)
		// The message does not alias the frame: the server decodes from a
		// buffer it reuses for the next frame.
		for i := range mp {
			mp[i] = 0xc1 // never used in MessagePack
		}
		sameMessage(t, frame, mm, jm)
	}
	if converted < 150 {
		t.Errorf("only %d frames converted", converted)
	}
}

// TestMsgpackDecodeServerMatchesJSON runs every JSON server decode case
// through MessagePack.
func TestMsgpackDecodeServerMatchesJSON(t *testing.T) {
	frames := caseFrames(decodeServerCases, decodeServerErrorCases, decodeServerLenientCases, capturedEncodes)
	for _, frame := range frames {
		mp, ok := jsonToMsgpack(t, frame)
		if !ok {
			continue
		}
		jm, jerr := JSON().DecodeServer([]byte(frame))
		mm, merr := MessagePack().DecodeServer(mp)
		switch {
		case jerr == nil && merr == nil:
		case errors.Is(jerr, ErrMalformed) && errors.Is(merr, ErrMalformed):
		case errors.Is(jerr, ErrUnknownType) && errors.Is(merr, ErrUnknownType):
		default:
			t.Errorf("%s: JSON error %v, MessagePack error %v", frame, jerr, merr)
			continue
		}
		sameMessage(t, frame, mm, jm)
	}
}

// TestMsgpackRoundTrip encodes every message with MessagePack and decodes
// it back in its direction.
func TestMsgpackRoundTrip(t *testing.T) {
	c := MessagePack()
	for _, tt := range capturedEncodes {
		t.Run(tt.name, func(t *testing.T) {
			out, err := c.AppendEncode([]byte("xyz"), tt.msg)
			if err != nil || string(out[:3]) != "xyz" {
				t.Fatalf("AppendEncode: %q, %v", out, err)
			}
			out = out[3:]
			// An independent decoder reads the same value as the JSON frame.
			var got, want any
			if err := msgpack.Unmarshal(out, &got); err != nil {
				t.Fatalf("vmihailenco: %v", err)
			}
			if err := json.Unmarshal([]byte(tt.frame), &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(numbersToFloat(got), want) {
				t.Errorf("msgpack value %#v\nJSON value %#v", got, want)
			}
			var jm, mm Message
			var jerr, merr error
			if strings.HasPrefix(tt.name, "C>S") {
				jm, jerr = JSON().DecodeClient([]byte(tt.frame))
				mm, merr = c.DecodeClient(out)
			} else {
				jm, jerr = JSON().DecodeServer([]byte(tt.frame))
				mm, merr = c.DecodeServer(out)
			}
			if (jerr == nil) != (merr == nil) {
				t.Fatalf("errors %v / %v", jerr, merr)
			}
			sameMessage(t, tt.name, mm, jm)
			// Stable bytes.
			out2, err := c.AppendEncode(nil, mm)
			if err != nil {
				t.Fatal(err)
			}
			if _, isErr := mm.(*ErrorReply); !isErr && !bytes.Equal(out, out2) {
				t.Errorf("re-encoded as %x, want %x", out2, out)
			}
		})
	}
}

// numbersToFloat turns the integers of a decoded MessagePack value into
// float64, as encoding/json reads them.
func numbersToFloat(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = numbersToFloat(e)
		}
	case []any:
		for i, e := range v {
			v[i] = numbersToFloat(e)
		}
	case int8:
		return float64(v)
	case int16:
		return float64(v)
	case int32:
		return float64(v)
	case int64:
		return float64(v)
	case uint8:
		return float64(v)
	case uint16:
		return float64(v)
	case uint32:
		return float64(v)
	case uint64:
		return float64(v)
	case float32:
		return float64(v)
	}
	return v
}

// mp builds a MessagePack frame from raw pieces.
func mp(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch p := p.(type) {
		case byte:
			b = append(b, p)
		case int:
			b = append(b, byte(p))
		case string:
			b = mpStrBytes(b, []byte(p))
		case []byte:
			b = append(b, p...)
		}
	}
	return b
}

func f64(f float64) []byte { return mpFloat(nil, f) }

func f32(f float32) []byte {
	b := []byte{mpFloat32, 0, 0, 0, 0}
	u := math.Float32bits(f)
	b[1], b[2], b[3], b[4] = byte(u>>24), byte(u>>16), byte(u>>8), byte(u)
	return b
}

func deepArray(n int) []byte {
	return append(bytes.Repeat([]byte{0x91}, n-1), 0x90)
}

func TestMsgpackDecodeErrors(t *testing.T) {
	ping := mp(0x82, "type", "ping", "id", 1)
	tests := []struct {
		name  string
		frame []byte
	}{
		{"empty", nil},
		{"nil", mp(mpNil)},
		{"array", mp(0x91, 0x80)},
		{"string", mp("x")},
		{"int", mp(5)},
		{"never used", mp(0xc1)},
		{"truncated", ping[:len(ping)-1]},
		{"truncated header", mp(mpMap16, 0)},
		{"huge count", mp(mpMap32, 0xff, 0xff, 0xff, 0xff, "type", "ping")},
		{"huge array", mp(0x83, "type", "message", "id", 1, "message", mpArray32, 0xff, 0xff, 0xff, 0xff, 1)},
		{"huge string", mp(0x82, "type", "ping", "id", mpStr32, 0x7f, 0xff, 0xff, 0xff, "x")},
		{"trailing byte", append(ping, 0)},
		{"two maps", append(ping, ping...)},
		{"int key", mp(0x83, "type", "ping", "id", 1, 1, 1)},
		{"nil key", mp(0x83, mpNil, 1, "type", "ping", "id", 1)},
		{"bin key", mp(0x82, mpBin8, 4, "type", "ping", "id", 1)},
		{"nested int key", mp(0x83, "type", "message", "id", 1, "message", 0x81, 1, 2)},
		{"bin payload", mp(0x83, "type", "message", "id", 1, "message", mpBin8, 1, 'x')},
		{"bin unknown member", mp(0x83, "type", "ping", "id", 1, "x", mpBin8, 1, 'x')},
		{"bin type", mp(0x82, "type", mpBin8, 4, []byte("ping"), "id", 1)},
		{"ext", mp(0x83, "type", "message", "id", 1, "message", mpFixExt1, 5, 0)},
		{"timestamp", mp(0x83, "type", "message", "id", 1, "message", mpFixExt4, 0xff, 0, 0, 0, 1)},
		{"ext8", mp(0x83, "type", "message", "id", 1, "message", mpExt8, 1, 5, 0)},
		{"NaN payload", mp(0x83, "type", "message", "id", 1, "message", f64(math.NaN()))},
		{"Inf payload", mp(0x83, "type", "message", "id", 1, "message", f64(math.Inf(1)))},
		{"-Inf float32", mp(0x83, "type", "message", "id", 1, "message", 0x91, f32(float32(math.Inf(-1))))},
		{"NaN id", mp(0x82, "type", "ping", "id", f64(math.NaN()))},
		{"NaN status", mp(0x82, "type", "update", "statusCode", f64(math.NaN()))},
		{"truncated float id", mp(0x82, "type", "ping", "id", mpFloat64, 0x40)},
		{"too deep", mp(0x83, "type", "message", "id", 1, "message", deepArray(MaxDepth))},
		{"too deep unknown", mp(0x83, "x", deepArray(MaxDepth), "type", "message", "id", 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := MessagePack().DecodeClient(tt.frame)
			var de *DecodeError
			if !errors.As(err, &de) || m != nil {
				t.Fatalf("got %#v, %v", m, err)
			}
			if got := replyFrame(t, err); got != errFrame("Cannot parse message", ``) || de.Field != "" {
				t.Errorf("reply %s field %q", got, de.Field)
			}
			m, err = MessagePack().DecodeServer(tt.frame)
			if !errors.Is(err, ErrMalformed) || m != nil {
				t.Errorf("DecodeServer: %#v, %v", m, err)
			}
		})
	}

	// The deepest nesting allowed.
	frame := mp(0x83, "type", "message", "id", 1, "message", deepArray(MaxDepth-1))
	m, err := MessagePack().DecodeClient(frame)
	if err != nil || string(m.(*Custom).Message) != nested(MaxDepth-1) {
		t.Errorf("deepest allowed: %v", err)
	}
}

func TestMsgpackValues(t *testing.T) {
	tests := []struct {
		name    string
		message []byte // MessagePack
		json    string
	}{
		{"ints", mp(0x96, 0, 0x7f, 0xe0, mpUint64, bytes.Repeat([]byte{0xff}, 8), mpInt64, 0x80, 0, 0, 0, 0, 0, 0, 0, mpInt16, 0xff, 0x00),
			`[0,127,-32,18446744073709551615,-9223372036854775808,-256]`},
		{"floats", mp(0x95, f64(3), f64(-0.0), f64(1.5e-7), f64(1e21), f32(0.1)), `[3.0,0.0,1.5e-7,1e+21,0.1]`},
		{"strings", mp(0x93, "a\"\\\n\x01é", "\xffx", mpStr16, 0, 2, []byte("ok")), `["a\"\\\n\u0001é","�x","ok"]`},
		{"map order kept", mp(0x83, "b", 1, "a", mpNil, "c", 0x81, "", mpTrue), `{"b":1,"a":null,"c":{"":true}}`},
		{"bools", mp(0x92, mpTrue, mpFalse), `[true,false]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame := mp(0x83, "type", "message", "id", 1, "message", tt.message)
			m, err := MessagePack().DecodeClient(frame)
			if err != nil {
				t.Fatal(err)
			}
			got := m.(*Custom).Message
			if string(got) != tt.json {
				t.Errorf("got %s, want %s", got, tt.json)
			}
			// Encoding back: same value, map keys sorted.
			out, err := MessagePack().AppendEncode(nil, m)
			if err != nil {
				t.Fatal(err)
			}
			back, err := MessagePack().DecodeClient(out)
			if err != nil {
				t.Fatal(err)
			}
			var x, y any
			_ = json.Unmarshal(got, &x)
			_ = json.Unmarshal(back.(*Custom).Message, &y)
			if !reflect.DeepEqual(x, y) {
				t.Errorf("round trip %s", back.(*Custom).Message)
			}
		})
	}

	// Encoding: sorted keys, last duplicate wins, integers vs floats.
	out, err := MessagePack().AppendEncode(nil, &Update{Message: raw(`{"b":[1, -2, 1.5, 2.0, 1e3, 18446744073709551615, 18446744073709551616, -0], "a":"x", "b":"last", "\u00e9":{}, "c":"\ud800"}`)})
	if err != nil {
		t.Fatal(err)
	}
	want := mp(0x82, "type", "update", "message", 0x84, "a", "x", "b", "last", "c", "\uFFFD", "é", 0x80)
	if !bytes.Equal(out, want) {
		t.Errorf("got  %x\nwant %x", out, want)
	}
	out, err = MessagePack().AppendEncode(nil, &Update{Message: raw(`[1, -2, 1.5, 2.0, 1e3, 18446744073709551615, 18446744073709551616, -0]`)})
	if err != nil {
		t.Fatal(err)
	}
	want = mp(0x82, "type", "update", "message", 0x98, 1, 0xfe, f64(1.5), f64(2), f64(1000), mpUint64, bytes.Repeat([]byte{0xff}, 8), f64(18446744073709551616), 0)
	if !bytes.Equal(out, want) {
		t.Errorf("got  %x\nwant %x", out, want)
	}
}

func TestMsgpackIDs(t *testing.T) {
	c := MessagePack()
	tests := []struct {
		name   string
		id     []byte // as sent
		echo   []byte // as echoed by the reply
		valid  bool
		String string
	}{
		{"int", mp(1), mp(1), true, "1"},
		{"negative", mp(0xff), mp(0xff), true, "-1"},
		{"int64", mp(mpInt64, 0, 0, 0, 1, 0, 0, 0, 0), mp(mpUint32+1, 0, 0, 0, 1, 0, 0, 0, 0), true, "4294967296"},
		{"uint64", mp(mpUint64, bytes.Repeat([]byte{0xff}, 8)), mp(mpUint64, bytes.Repeat([]byte{0xff}, 8)), true, "18446744073709551615"},
		{"float", mp(f64(15.5)), mp(f64(15.5)), true, "15.5"},
		{"integral float", mp(f64(3)), mp(f64(3)), true, "3.0"},
		{"float32", mp(f32(2.5)), mp(f64(2.5)), true, "2.5"},
		{"inf float", mp(f64(math.Inf(1))), mp(f64(math.Inf(1))), true, "1e999"},
		{"string", mp("abc"), mp("abc"), true, "abc"},
		{"zero", mp(0), mp(0), false, "0"},
		{"zero float", mp(f64(0)), mp(f64(0)), false, "0.0"},
		{"empty string", mp(""), mp(""), false, ""},
		{"nil", mp(mpNil), mp(mpNil), false, "null"},
		{"true", mp(mpTrue), mp(mpTrue), false, "true"},
		{"map", mp(0x82, "b", 1, "a", 0x90), mp(0x82, "a", 0x90, "b", 1), false, `{"b":1,"a":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := c.DecodeClient(mp(0x82, "type", "ping", "id", tt.id))
			var id ID
			if tt.valid {
				if err != nil {
					t.Fatal(err)
				}
				id = m.(*Ping).ID
			} else {
				var de *DecodeError
				if !errors.As(err, &de) || de.Reply.Message != "Message missing id" {
					t.Fatalf("got %#v, %v", m, err)
				}
				id = de.Reply.ID
			}
			if id.String() != tt.String {
				t.Errorf("String() = %q, want %q", id.String(), tt.String)
			}
			out, err := c.AppendEncode(nil, &Ping{ID: id})
			if err != nil {
				t.Fatal(err)
			}
			if want := mp(0x82, "type", "ping", "id", tt.echo); !bytes.Equal(out, want) {
				t.Errorf("echoed as %x, want %x", out, want)
			}
		})
	}

	// Ids of JSON frames.
	for _, tt := range []struct {
		json string
		want []byte
	}{
		{`1`, mp(1)}, {`1e3`, mp(mpUint16, 0x03, 0xe8)}, {`2.0`, mp(2)}, {`-0`, mp(0)},
		{`15.5`, f64(15.5)}, {`1e400`, f64(math.Inf(1))}, {`18446744073709551615`, mp(mpUint64, bytes.Repeat([]byte{0xff}, 8))},
		{`1e19`, mp(mpUint64, 0x8a, 0xc7, 0x23, 0x04, 0x89, 0xe8, 0x00, 0x00)}, {`1e20`, f64(1e20)},
		{`"x"`, mp("x")}, {`{"b":1,"a":2}`, mp(0x82, "a", 2, "b", 1)},
	} {
		id := idFromJSON([]byte(tt.json))
		out, err := mpAppendID(nil, id)
		if err != nil || !bytes.Equal(out, tt.want) {
			t.Errorf("JSON id %s: %x (%v), want %x", tt.json, out, err, tt.want)
		}
		back, err := c.DecodeClient(mp(0x82, "type", "ping", "id", out))
		if id.Valid() && (err != nil || !back.(*Ping).ID.Equal(id)) {
			t.Errorf("JSON id %s: back %#v, %v", tt.json, back, err)
		}
	}
}

func TestMsgpackEncodeErrors(t *testing.T) {
	tests := []struct {
		name string
		msg  Message
		want error
	}{
		{"nil", nil, ErrUnsupported},
		{"nil pub", (*Pub)(nil), ErrUnsupported},
		{"payload", &Response{ID: NumberID(1), StatusCode: 200, Payload: raw(`{"a":`)}, ErrInvalidJSON},
		{"payload utf8", &Response{ID: NumberID(1), StatusCode: 200, Payload: raw("\"\xff\"")}, ErrInvalidJSON},
		{"overflow", &Update{Message: raw(`[1e400]`)}, ErrInvalidJSON},
		{"too deep", &Update{Message: raw(nested(MaxDepth))}, ErrInvalidJSON},
		{"auth", &Hello{ID: NumberID(1), Auth: &Auth{Raw: raw(`{`)}}, ErrInvalidJSON},
		{"error payload", &ErrorReply{StatusCode: 400, Payload: raw(`x`)}, ErrInvalidJSON},
		{"headers", &Response{ID: NumberID(1), StatusCode: 200, Headers: map[string]any{"a": func() {}}}, nil},
		{"custom", customMessage{}, ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MessagePack().AppendEncode([]byte("keep"), tt.msg)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			if string(got) != "keep" {
				t.Errorf("dst changed to %q", got)
			}
		})
	}
	// The deepest payload allowed.
	if _, err := MessagePack().AppendEncode(nil, &Update{Message: raw(nested(MaxDepth - 1))}); err != nil {
		t.Error(err)
	}
}

type customMessage struct{}

func (customMessage) MessageType() Type { return "custom" }

func TestMsgpackLongValues(t *testing.T) {
	// str8/16/32, array16, map16 headers.
	long := strings.Repeat("x", 70000)
	arr := "[" + strings.Repeat("1,", 99) + "1]"
	obj := "{"
	for i := range 20 {
		if i > 0 {
			obj += ","
		}
		obj += `"k` + strconv.Itoa(100+i) + `":` + strconv.Itoa(i*1000-5000)
	}
	obj += "}"
	for _, payload := range []string{`"` + long[:40] + `"`, `"` + long[:300] + `"`, `"` + long + `"`, arr, obj, bigPayload} {
		in := &Response{ID: NumberID(1), StatusCode: 200, Payload: raw(payload)}
		out, err := MessagePack().AppendEncode(nil, in)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := msgpack.Unmarshal(out, &v); err != nil {
			t.Fatalf("vmihailenco: %v", err)
		}
		m, err := MessagePack().DecodeServer(out)
		if err != nil {
			t.Fatal(err)
		}
		sameMessage(t, payload[:10], m, in)
	}
}
