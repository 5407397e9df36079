// Package stats holds a lock-free latency histogram and /proc readers for
// the load tool.
package stats

import (
	"bufio"
	"bytes"
	"fmt"
	"math/bits"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// subBits sets the histogram precision: 2^subBits linear sub-buckets per
// power of two, i.e. under 0.1 % relative error.
const subBits = 10
const sub = 1 << subBits
const half = sub / 2

// Hist is a log-linear histogram of durations in microseconds (HDR-style),
// safe for concurrent Record.
type Hist struct {
	counts [sub + (64-subBits)*half]atomic.Uint64
	n      atomic.Uint64
	sum    atomic.Uint64
	max    atomic.Uint64
}

func index(v uint64) int {
	if v < sub {
		return int(v)
	}
	e := bits.Len64(v) - subBits // >= 1; v>>e is in [half, sub)
	return sub + (e-1)*half + int(v>>uint(e)) - half
}

func lowerBound(i int) uint64 {
	if i < sub {
		return uint64(i)
	}
	j := i - sub
	e := j/half + 1
	m := uint64(j%half + half)
	return m << uint(e)
}

// Record adds one sample; negative durations count as zero.
func (h *Hist) Record(d time.Duration) {
	us := d.Microseconds()
	if us < 0 {
		us = 0
	}
	v := uint64(us)
	h.counts[index(v)].Add(1)
	h.n.Add(1)
	h.sum.Add(v)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			break
		}
	}
}

// Count is the number of samples.
func (h *Hist) Count() uint64 { return h.n.Load() }

// Quantile returns the q-quantile (0..1) in milliseconds.
func (h *Hist) Quantile(q float64) float64 {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(q*float64(n) + 0.5)
	if rank < 1 {
		rank = 1
	}
	if rank > n {
		rank = n
	}
	var c uint64
	for i := range h.counts {
		c += h.counts[i].Load()
		if c >= rank {
			lo := lowerBound(i)
			hi := lowerBound(i + 1)
			v := (lo + hi) / 2
			if m := h.max.Load(); v > m {
				v = m
			}
			return float64(v) / 1000
		}
	}
	return float64(h.max.Load()) / 1000
}

// MeanMs is the mean in milliseconds.
func (h *Hist) MeanMs() float64 {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	return float64(h.sum.Load()) / float64(n) / 1000
}

// MaxMs is the largest sample in milliseconds.
func (h *Hist) MaxMs() float64 { return float64(h.max.Load()) / 1000 }

// clkTck is USER_HZ; 100 on every Linux ABI Go supports.
const clkTck = 100

// CPU returns the process's CPU time (user+system). It prefers the first
// field of /proc/pid/schedstat (nanoseconds, all threads) and falls back to
// utime+stime from /proc/pid/stat (clock ticks). src tells which was used.
func CPU(pid int) (d time.Duration, src string, err error) {
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/schedstat", pid)); err == nil {
		f := strings.Fields(string(b))
		if len(f) > 0 {
			if ns, err := strconv.ParseInt(f[0], 10, 64); err == nil {
				return time.Duration(ns), "schedstat", nil
			}
		}
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, "", err
	}
	return parseStatCPU(b)
}

func parseStatCPU(b []byte) (time.Duration, string, error) {
	// comm may contain spaces: fields start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, "", fmt.Errorf("malformed stat")
	}
	f := strings.Fields(string(b[i+1:]))
	// after ')': state(3) ... utime is field 14, stime 15 → indexes 11, 12.
	if len(f) < 13 {
		return 0, "", fmt.Errorf("malformed stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, "", fmt.Errorf("malformed stat")
	}
	return time.Duration(ut+st) * time.Second / clkTck, "stat", nil
}

// ThreadsCPU is CPU with schedstat summed over all threads: the process-level
// /proc/pid/schedstat only covers the main thread, so the tool reads
// /proc/pid/task/*/schedstat, falling back to /proc/pid/stat.
func ThreadsCPU(pid int) (time.Duration, string, error) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	ents, err := os.ReadDir(dir)
	if err == nil {
		var total int64
		ok := true
		for _, e := range ents {
			b, err := os.ReadFile(dir + "/" + e.Name() + "/schedstat")
			if err != nil {
				if os.IsNotExist(err) {
					continue // thread exited
				}
				ok = false
				break
			}
			f := strings.Fields(string(b))
			if len(f) == 0 {
				ok = false
				break
			}
			ns, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				ok = false
				break
			}
			total += ns
		}
		if ok && len(ents) > 0 {
			return time.Duration(total), "schedstat", nil
		}
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, "", err
	}
	return parseStatCPU(b)
}

// RSS returns VmRSS of the process in kB.
func RSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "VmRSS:") {
			fs := strings.Fields(line[len("VmRSS:"):])
			if len(fs) == 0 {
				break
			}
			return strconv.ParseInt(fs[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
