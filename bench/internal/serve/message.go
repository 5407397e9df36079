package serve

import "strconv"

// Message returns a publication of the benchmark's POST /publish:
// {"t":t,"i":i,"pad":"xx…"}, padded to size bytes when the object without
// padding is not already longer. t is the publication time in unix
// nanoseconds, from which the load tool computes latencies.
func Message(t int64, i, size int) []byte {
	b := make([]byte, 0, max(size, 64))
	b = append(b, `{"t":`...)
	b = strconv.AppendInt(b, t, 10)
	b = append(b, `,"i":`...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, `,"pad":"`...)
	for range size - len(b) - len(`"}`) {
		b = append(b, 'x')
	}
	return append(b, `"}`...)
}
