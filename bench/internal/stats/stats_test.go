package stats

import (
	"math"
	"os"
	"testing"
	"time"
)

func TestHistBuckets(t *testing.T) {
	for _, v := range []uint64{0, 1, 1023, 1024, 1025, 2047, 2048, 13780, 1 << 20, 123456789, 1 << 40} {
		i := index(v)
		lo, hi := lowerBound(i), lowerBound(i+1)
		if v < lo || v >= hi {
			t.Errorf("v=%d: bucket %d = [%d,%d)", v, i, lo, hi)
		}
		if v >= 1024 && float64(hi-lo)/float64(lo) > 0.002 {
			t.Errorf("v=%d: bucket too wide [%d,%d)", v, lo, hi)
		}
	}
}

func TestHistQuantiles(t *testing.T) {
	var h Hist
	for i := 1; i <= 10000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	check := func(q, want float64) {
		got := h.Quantile(q)
		if math.Abs(got-want)/want > 0.005 {
			t.Errorf("q%.2f = %v ms, want ≈ %v", q, got, want)
		}
	}
	check(0.5, 5)
	check(0.99, 9.9)
	if h.Quantile(1) > h.MaxMs() || h.MaxMs() != 10 {
		t.Errorf("max %v, q1 %v", h.MaxMs(), h.Quantile(1))
	}
	h.Record(-time.Second) // clamped
	if h.Count() != 10001 {
		t.Fatal(h.Count())
	}
}

func TestParseStatCPU(t *testing.T) {
	line := []byte("1234 (my (weird) proc) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 100 1000 10 18446744073709551615")
	d, src, err := parseStatCPU(line)
	if err != nil || src != "stat" || d != 3*time.Second {
		t.Fatalf("got %v %q %v", d, src, err)
	}
}

func TestSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc")
	}
	if rss, err := RSS(os.Getpid()); err != nil || rss <= 0 {
		t.Fatalf("RSS %d %v", rss, err)
	}
	if d, _, err := ThreadsCPU(os.Getpid()); err != nil || d <= 0 {
		t.Fatalf("CPU %v %v", d, err)
	}
}
