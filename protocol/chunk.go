package protocol

import "unicode/utf8"

// UTF16Len returns the length of b in UTF-16 code units, which is what
// JavaScript's string.length measures: 1 for a rune of the Basic
// Multilingual Plane, 2 for a supplementary rune, and 1 for every byte that
// is not part of a valid UTF-8 sequence (it decodes to U+FFFD).
func UTF16Len(b []byte) int {
	n := 0
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			n++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		i += size
		n += runeUnits(r)
	}
	return n
}

// runeUnits returns the UTF-16 length of r (RuneError counts 1).
func runeUnits(r rune) int {
	if r >= 0x10000 {
		return 2
	}
	return 1
}

// Chunks splits a frame the way nes's payload.maxChunkChars does, for a
// frame whose UTF-16 length ([UTF16Len]) exceeds maxChars: into consecutive
// slices of at most maxChars UTF-16 code units, each prefixed with '+'
// except the last, prefixed with '!'. Each chunk is sent as its own text
// frame; the client strips the first byte of each and joins them.
//
// Chunks never splits a UTF-8 sequence nor a surrogate pair: a supplementary
// rune that would straddle a boundary starts the next chunk, so a chunk may
// be one unit short; with maxChars 1 such a rune makes a chunk of its own
// (a frame made of that one rune is then a single '!' chunk). No chunk is
// empty.
//
// Chunks returns nil when maxChars <= 0 or the frame is short enough to be
// sent whole. The chunks share one newly allocated buffer; frame is not
// retained.
func Chunks(frame []byte, maxChars int) [][]byte {
	if maxChars <= 0 || len(frame) <= maxChars {
		return nil // a frame has at least as many bytes as UTF-16 units
	}
	ascii := true
	for _, c := range frame {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		n := (len(frame) + maxChars - 1) / maxChars
		buf := make([]byte, 0, len(frame)+n)
		chunks := make([][]byte, 0, n)
		for start := 0; start < len(frame); start += maxChars {
			end := min(start+maxChars, len(frame))
			chunks = appendChunk(chunks, &buf, frame[start:end], end == len(frame))
		}
		return chunks
	}
	// First pass: the chunk boundaries, so that all chunks share one buffer.
	var bounds []int
	units, total := 0, 0
	for i := 0; i < len(frame); {
		size, u := 1, 1
		if frame[i] >= utf8.RuneSelf {
			var r rune
			r, size = utf8.DecodeRune(frame[i:])
			u = runeUnits(r)
		}
		if units > 0 && units+u > maxChars {
			bounds = append(bounds, i)
			units = 0
		}
		units += u
		total += u
		i += size
	}
	if total <= maxChars {
		return nil // short enough in UTF-16 units
	}
	bounds = append(bounds, len(frame))
	buf := make([]byte, 0, len(frame)+len(bounds))
	chunks := make([][]byte, 0, len(bounds))
	prev := 0
	for k, end := range bounds {
		chunks = appendChunk(chunks, &buf, frame[prev:end], k == len(bounds)-1)
		prev = end
	}
	return chunks
}

// appendChunk appends to buf the chunk made of its prefix and part, and
// appends that chunk to chunks.
func appendChunk(chunks [][]byte, buf *[]byte, part []byte, last bool) [][]byte {
	prefix := byte('+')
	if last {
		prefix = '!'
	}
	b := *buf
	at := len(b)
	b = append(b, prefix)
	b = append(b, part...)
	*buf = b
	return append(chunks, b[at:len(b):len(b)])
}
