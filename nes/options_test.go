package nes

import (
	"strings"
	"testing"
	"time"
)

func TestNewValidatesOptions(t *testing.T) {
	cases := []struct {
		name string
		opts Options
		want string // substring of the error; "" means valid
	}{
		{"zero", Options{}, ""},
		{"heartbeat disabled ignores values", Options{Heartbeat: Heartbeat{Disabled: true, Interval: time.Second, Timeout: time.Hour}}, ""},
		{"timeout equal interval", Options{Heartbeat: Heartbeat{Interval: time.Second, Timeout: time.Second}}, "must be below its interval"},
		{"timeout above interval", Options{Heartbeat: Heartbeat{Interval: time.Second, Timeout: 2 * time.Second}}, "must be below its interval"},
		{"timeout above default interval", Options{Heartbeat: Heartbeat{Timeout: 20 * time.Second}}, "must be below its interval"},
		{"negative interval", Options{Heartbeat: Heartbeat{Interval: -time.Second}}, "positive"},
		{"sub-millisecond", Options{Heartbeat: Heartbeat{Interval: 1500 * time.Microsecond, Timeout: time.Millisecond}}, "whole milliseconds"},
		{"negative max connections", Options{MaxConnections: -1}, "MaxConnections"},
		{"negative message bytes", Options{MaxMessageBytes: -1}, "MaxMessageBytes"},
		{"negative queue bytes", Options{MaxQueueBytes: -5}, "MaxQueueBytes"},
		{"negative write timeout", Options{WriteTimeout: -time.Second}, "WriteTimeout"},
		{"negative chunk", Options{MaxChunkChars: -1}, "MaxChunkChars"},
		{"bad header name", Options{Headers: []string{"content type"}}, "invalid header name"},
		{"empty header name", Options{Headers: []string{""}}, "invalid header name"},
		{"bad origin", Options{Origins: []string{"https://a.example/path"}}, "not an origin"},
		{"bad origin pattern", Options{Origins: []string{"[a-"}}, "bad pattern"},
		{"empty origin", Options{Origins: []string{""}}, "empty origin"},
		{"good origins", Options{Origins: []string{"https://app.example.com", "*.example.com"}}, ""},
		{"negative hello timeout disables", Options{HelloTimeout: -1}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := New(c.opts)
			if c.want == "" {
				if err != nil || s == nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New error = %v, want one containing %q", err, c.want)
			}
			if !strings.HasPrefix(err.Error(), "nes: invalid options") {
				t.Fatalf("error %q lacks the nes prefix", err)
			}
		})
	}
}

func TestNewReportsEveryInvalidOption(t *testing.T) {
	_, err := New(Options{MaxConnections: -1, MaxChunkChars: -1})
	if err == nil || !strings.Contains(err.Error(), "MaxConnections") || !strings.Contains(err.Error(), "MaxChunkChars") {
		t.Fatalf("error %v should name both options", err)
	}
}

func TestDefaultsApplied(t *testing.T) {
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := s.opts
	if o.Heartbeat.Interval != DefaultHeartbeatInterval || o.Heartbeat.Timeout != DefaultHeartbeatTimeout ||
		o.HelloTimeout != DefaultHelloTimeout || o.MaxMessageBytes != DefaultMaxMessageBytes ||
		o.MaxQueueBytes != DefaultMaxQueueBytes || o.WriteTimeout != DefaultWriteTimeout || o.Logger == nil {
		t.Fatalf("defaults not applied: %+v", o)
	}
}
