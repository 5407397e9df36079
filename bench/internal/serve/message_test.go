package serve

import (
	"encoding/json"
	"testing"
)

func TestMessage(t *testing.T) {
	for _, size := range []int{0, 10, 100, 1000} {
		b := Message(1795368849215293059, 7, size)
		var m struct {
			T   int64  `json:"t"`
			I   int    `json:"i"`
			Pad string `json:"pad"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("size %d: %s is not JSON: %v", size, b, err)
		}
		if m.T != 1795368849215293059 || m.I != 7 {
			t.Fatalf("size %d: decoded %+v", size, m)
		}
		if size >= 64 && len(b) != size {
			t.Fatalf("size %d: %d bytes", size, len(b))
		}
	}
}
