package protocol

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestUTF16Len(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"", 0},
		{"abc", 3},
		{"é", 1},
		{"€", 1},
		{"😀", 2},
		{"a😀b", 4},
		{"\xff", 1},
		{"\xe2\x82", 2},     // truncated sequence: two invalid bytes
		{"\xed\xa0\x80", 3}, // encoded surrogate: three invalid bytes
		{"\U0010FFFF\uFFFF", 3},
	}
	for _, tt := range tests {
		if got := UTF16Len([]byte(tt.in)); got != tt.want {
			t.Errorf("UTF16Len(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

// checkChunks verifies the invariants of Chunks(frame, max).
func checkChunks(t testing.TB, frame []byte, max int, chunks [][]byte) {
	t.Helper()
	if max <= 0 || UTF16Len(frame) <= max {
		if chunks != nil {
			t.Fatalf("Chunks(%q, %d) = %q, want nil", frame, max, chunks)
		}
		return
	}
	if len(chunks) < 2 {
		// Only an unsplittable frame: one supplementary rune, maxChars 1.
		r, size := utf8.DecodeRune(frame)
		if len(chunks) != 1 || max != 1 || size != len(frame) || r < 0x10000 {
			t.Fatalf("Chunks(%q, %d) = %q: fewer than 2 chunks", frame, max, chunks)
		}
	}
	// Rune starts of the frame, as utf8.DecodeRune walks it.
	starts := map[int]bool{}
	for i := 0; i < len(frame); {
		starts[i] = true
		_, size := utf8.DecodeRune(frame[i:])
		i += size
	}
	var joined []byte
	for k, c := range chunks {
		want := byte('+')
		if k == len(chunks)-1 {
			want = '!'
		}
		if len(c) < 2 || c[0] != want {
			t.Fatalf("chunk %d %q: want prefix %c and content", k, c, want)
		}
		part := c[1:]
		if !starts[len(joined)] {
			t.Fatalf("chunk %d starts inside a rune at byte %d", k, len(joined))
		}
		n := UTF16Len(part)
		if n > max {
			r, size := utf8.DecodeRune(part)
			if !(max == 1 && size == len(part) && r >= 0x10000) {
				t.Fatalf("chunk %d %q has %d units > %d", k, part, n, max)
			}
		}
		// Chunks are as long as they can be.
		if k < len(chunks)-1 {
			next, _ := utf8.DecodeRune(frame[len(joined)+len(part):])
			if n+runeUnits(next) <= max {
				t.Fatalf("chunk %d %q (%d units) could have taken %q", k, part, n, next)
			}
		}
		joined = append(joined, part...)
	}
	if !bytes.Equal(joined, frame) {
		t.Fatalf("chunks join to %q, want %q", joined, frame)
	}
}

func TestChunksCaptured(t *testing.T) {
	frame := `{"type":"hello","id":1,"heartbeat":{"interval":1000,"timeout":500},"socket":"1795355932017:vm:8546:mwrwkf1w:10000"}`
	want := []string{
		`+{"type":"hello","id":1,"heartbeat":{"int`,
		`+erval":1000,"timeout":500},"socket":"179`,
		`!5355932017:vm:8546:mwrwkf1w:10000"}`,
	}
	got := Chunks([]byte(frame), 40)
	if len(got) != len(want) {
		t.Fatalf("got %q", got)
	}
	for i := range want {
		if string(got[i]) != want[i] {
			t.Errorf("chunk %d = %s, want %s", i, got[i], want[i])
		}
	}
}

func TestChunks(t *testing.T) {
	frames := []string{
		"",
		"a",
		"ab",
		"abcdefghij",
		strings.Repeat("x", 100),
		"héllo wörld ßü€",
		"😀",
		"😀😀😀",
		"a😀b😀c",
		"😀a😀",
		"€😀€😀€",
		`{"type":"pub","path":"/news","message":"東京 😀 ok"}`,
		"bad \xff utf8 \xe2\x82 here \xf0\x9f",
		"\xff\xfe\xfd",
		"\xf0\x9f\x98\x80\xff",
	}
	for _, f := range frames {
		for _, max := range []int{-1, 0, 1, 2, 3, 4, 5, 7, 40, 1000} {
			checkChunks(t, []byte(f), max, Chunks([]byte(f), max))
		}
	}
}

func TestChunksExact(t *testing.T) {
	tests := []struct {
		frame string
		max   int
		want  []string
	}{
		{"abc", 3, nil},
		{"abc", 2, []string{"+ab", "!c"}},
		{"abc", 1, []string{"+a", "+b", "!c"}},
		{"😀", 1, []string{"!😀"}}, // 2 units > 1 but unsplittable: one '!' chunk
		{"a😀", 2, []string{"+a", "!😀"}},
		{"😀😀", 1, []string{"+😀", "!😀"}},
		{"😀😀", 2, []string{"+😀", "!😀"}},
		{"😀😀", 3, []string{"+😀", "!😀"}},
		{"a😀b", 2, []string{"+a", "+😀", "!b"}},
		{"éé", 1, []string{"+é", "!é"}},
		{"a\xffb", 2, []string{"+a\xff", "!b"}},
	}
	for _, tt := range tests {
		got := Chunks([]byte(tt.frame), tt.max)
		if len(got) != len(tt.want) {
			t.Errorf("Chunks(%q, %d) = %q, want %q", tt.frame, tt.max, got, tt.want)
			continue
		}
		for i := range got {
			if string(got[i]) != tt.want[i] {
				t.Errorf("Chunks(%q, %d) = %q, want %q", tt.frame, tt.max, got, tt.want)
				break
			}
		}
	}
}

func TestChunksDoNotAlias(t *testing.T) {
	frame := []byte(strings.Repeat("abc", 10))
	chunks := Chunks(frame, 4)
	frame[0] = 'X'
	if chunks[0][1] != 'a' {
		t.Error("chunks alias the frame")
	}
	// Appending to a chunk does not overwrite the next one.
	_ = append(chunks[0], 'Z')
	if chunks[1][0] != '+' {
		t.Error("chunks share capacity")
	}
}
