package protocol

import "testing"

func TestIDConstructors(t *testing.T) {
	tests := []struct {
		name                            string
		id                              ID
		str                             string
		zero, isString, isNumber, valid bool
	}{
		{"zero", ID{}, "", true, false, false, false},
		{"number", NumberID(7), "7", false, false, true, true},
		{"negative", NumberID(-7), "-7", false, false, true, true},
		{"number zero", NumberID(0), "0", false, false, true, false},
		{"string", StringID("abc"), "abc", false, true, false, true},
		{"empty string", StringID(""), "", false, true, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := tt.id
			if got := id.String(); got != tt.str {
				t.Errorf("String() = %q, want %q", got, tt.str)
			}
			if id.IsZero() != tt.zero || id.IsString() != tt.isString || id.IsNumber() != tt.isNumber || id.Valid() != tt.valid {
				t.Errorf("IsZero/IsString/IsNumber/Valid = %v/%v/%v/%v, want %v/%v/%v/%v",
					id.IsZero(), id.IsString(), id.IsNumber(), id.Valid(), tt.zero, tt.isString, tt.isNumber, tt.valid)
			}
		})
	}
}

func TestIDFromJSON(t *testing.T) {
	tests := []struct {
		raw, str, echo string
		valid, number  bool
	}{
		{`1`, "1", `1`, true, true},
		{`15`, "15", `15`, true, true},
		{`-3`, "-3", `-3`, true, true},
		{`15.5`, "15.5", `15.5`, true, true},
		{`1e3`, "1e3", `1e3`, true, true},
		{`1E+3`, "1E+3", `1E+3`, true, true},
		{`9223372036854775807`, "9223372036854775807", `9223372036854775807`, true, true},
		{`9223372036854775808`, "9223372036854775808", `9223372036854775808`, true, true},
		{`-9223372036854775808`, "-9223372036854775808", `-9223372036854775808`, true, true},
		{`123456789012345678901234567890`, "123456789012345678901234567890", `123456789012345678901234567890`, true, true},
		{`1e400`, "1e400", `1e400`, true, true},
		{`0`, "0", `0`, false, true},
		{`-0`, "-0", `-0`, false, true},
		{`0.0`, "0.0", `0.0`, false, true},
		{`0e5`, "0e5", `0e5`, false, true},
		{`-0.000e-7`, "-0.000e-7", `-0.000e-7`, false, true},
		{`1e-400`, "1e-400", `1e-400`, false, true},
		{`"abc"`, "abc", `"abc"`, true, false},
		{`"a\"b\u0041"`, `a"bA`, `"a\"bA"`, true, false},
		{`""`, "", `""`, false, false},
		{`false`, "false", `false`, false, false},
		{`null`, "null", `null`, false, false},
		{`true`, "true", `true`, false, false},
		{`{ "a" : [1, 2] }`, `{"a":[1,2]}`, `{"a":[1,2]}`, false, false},
		{`[ ]`, `[]`, `[]`, false, false},
	}
	for _, tt := range tests {
		id := idFromJSON([]byte(tt.raw))
		if id.String() != tt.str || id.Valid() != tt.valid || id.IsNumber() != tt.number {
			t.Errorf("%s: String=%q Valid=%v IsNumber=%v, want %q %v %v", tt.raw, id.String(), id.Valid(), id.IsNumber(), tt.str, tt.valid, tt.number)
		}
		if got := string(id.appendJSON(nil)); got != tt.echo {
			t.Errorf("%s: echoed as %s, want %s", tt.raw, got, tt.echo)
		}
		if id.IsZero() {
			t.Errorf("%s: IsZero", tt.raw)
		}
	}
	if !idFromJSON(nil).IsZero() {
		t.Error("absent id is not zero")
	}
	if idFromJSON([]byte("15")) != NumberID(15) || idFromJSON([]byte("-15")) != NumberID(-15) {
		t.Error("canonical integers do not compare == to NumberID")
	}
}

func TestIDEqual(t *testing.T) {
	j := func(s string) ID { return idFromJSON([]byte(s)) }
	tests := []struct {
		a, b ID
		want bool
	}{
		{NumberID(1), NumberID(1), true},
		{NumberID(1), NumberID(2), false},
		{NumberID(1000), j("1e3"), true},
		{j("1.50"), j("1.5"), true},
		{NumberID(0), j("-0"), true},
		{NumberID(1), StringID("1"), false},
		{StringID("a"), StringID("a"), true},
		{StringID("a"), StringID("b"), false},
		{ID{}, ID{}, true},
		{ID{}, NumberID(0), false},
		{ID{}, StringID(""), false},
		{j("true"), j("true"), true},
		{j("null"), j("false"), false},
	}
	for _, tt := range tests {
		if got := tt.a.Equal(tt.b); got != tt.want {
			t.Errorf("%q.Equal(%q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := tt.b.Equal(tt.a); got != tt.want {
			t.Errorf("%q.Equal(%q) = %v, want %v", tt.b, tt.a, got, tt.want)
		}
	}
}

// TestIDEcho checks that a reply echoes the id of the request exactly as sent.
func TestIDEcho(t *testing.T) {
	for _, id := range []string{`3`, `15.5`, `1e3`, `-2`, `1E-2`, `"str-id"`, `"abc"`, `"é\u00e9"`, `18446744073709551616`} {
		frame := `{"type":"sub","path":"/a","id":` + id + `}`
		m, err := JSON().DecodeClient([]byte(frame))
		if err != nil {
			t.Fatalf("%s: %v", frame, err)
		}
		out, err := JSON().AppendEncode(nil, &SubReply{ID: m.(*Sub).ID, Path: "/a"})
		if err != nil {
			t.Fatal(err)
		}
		want := `{"type":"sub","id":` + id + `,"path":"/a"}`
		if id == `"é\u00e9"` {
			want = `{"type":"sub","id":"éé","path":"/a"}`
		}
		if string(out) != want {
			t.Errorf("echo of %s: got %s, want %s", id, out, want)
		}
	}
}
