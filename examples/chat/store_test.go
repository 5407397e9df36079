package main

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func msgAt(room string, i int) Message {
	return Message{
		Room: room,
		Text: fmt.Sprintf("message %d", i),
		From: "anonymous",
		At:   time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(i) * time.Second),
	}
}

func texts(msgs []Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Text
	}
	return out
}

func TestStoreKeepsTheLastMessagesOldestFirst(t *testing.T) {
	tests := []struct {
		name  string
		added int
		ask   int
		want  []int // indexes of the expected messages
	}{
		{"empty room", 0, 50, nil},
		{"fewer than the bound", 3, 50, []int{0, 1, 2}},
		{"exactly the bound", 5, 50, []int{0, 1, 2, 3, 4}},
		{"wrapped once", 7, 50, []int{2, 3, 4, 5, 6}},
		{"wrapped many times", 23, 50, []int{18, 19, 20, 21, 22}},
		{"ask fewer than kept", 23, 2, []int{21, 22}},
		{"ask none", 3, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStore(5, 10)
			for i := range tt.added {
				s.Add(msgAt("lobby", i))
			}
			got := s.Last("lobby", tt.ask)
			if got == nil {
				t.Fatal("Last returned nil, want a non-nil slice (encodes as [])")
			}
			want := make([]string, len(tt.want))
			for i, idx := range tt.want {
				want[i] = msgAt("lobby", idx).Text
			}
			if fmt.Sprint(texts(got)) != fmt.Sprint(want) {
				t.Errorf("Last = %v, want %v", texts(got), want)
			}
		})
	}
}

func TestStoreLastReturnsACopy(t *testing.T) {
	s := NewStore(3, 10)
	for i := range 3 {
		s.Add(msgAt("lobby", i))
	}
	got := s.Last("lobby", 3)
	got[0].Text = "changed"
	if again := s.Last("lobby", 3); again[0].Text != "message 0" {
		t.Errorf("mutating the result changed the store: %q", again[0].Text)
	}
}

func TestStoreSeparatesRooms(t *testing.T) {
	s := NewStore(5, 10)
	s.Add(msgAt("a", 1))
	s.Add(msgAt("b", 2))
	if got := texts(s.Last("a", 50)); fmt.Sprint(got) != "[message 1]" {
		t.Errorf("room a = %v", got)
	}
	if got := texts(s.Last("b", 50)); fmt.Sprint(got) != "[message 2]" {
		t.Errorf("room b = %v", got)
	}
}

func TestStoreEvictsTheLeastRecentlyUsedRoom(t *testing.T) {
	s := NewStore(5, 3)
	s.Add(msgAt("a", 1))
	s.Add(msgAt("b", 2))
	s.Add(msgAt("c", 3))
	s.Last("a", 50)      // a is now more recent than b
	s.Last("missing", 5) // reading an unknown room creates nothing
	if n := s.Rooms(); n != 3 {
		t.Fatalf("Rooms = %d, want 3", n)
	}

	s.Add(msgAt("d", 4)) // evicts b, the least recently used

	if n := s.Rooms(); n != 3 {
		t.Errorf("Rooms = %d after eviction, want 3", n)
	}
	if got := s.Last("b", 50); len(got) != 0 {
		t.Errorf("room b survived eviction: %v", texts(got))
	}
	for _, room := range []string{"a", "c", "d"} {
		if got := s.Last(room, 50); len(got) != 1 {
			t.Errorf("room %s has %d messages, want 1", room, len(got))
		}
	}
}

func TestStoreConcurrentUse(t *testing.T) {
	const (
		writers  = 8
		perWrite = 200
		rooms    = 20
	)
	s := NewStore(50, 10) // fewer slots than rooms: eviction races with reads
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWrite {
				room := fmt.Sprintf("room-%d", (w*perWrite+i)%rooms)
				s.Add(msgAt(room, i))
				// Other writers may have evicted the room already; what
				// Last returns must still be within the bound and in order.
				got := s.Last(room, 50)
				if len(got) > 50 {
					t.Errorf("Last(%s) returned %d messages, more than the bound", room, len(got))
					return
				}
				for j := 1; j < len(got); j++ {
					if got[j].Room != room {
						t.Errorf("Last(%s) returned a message of room %s", room, got[j].Room)
						return
					}
				}
				_ = s.Rooms()
			}
		})
	}
	wg.Wait()
	if n := s.Rooms(); n != 10 {
		t.Errorf("Rooms = %d, want the bound 10", n)
	}
}

func TestNewStoreRejectsNonPositiveBounds(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewStore(0, 1) did not panic")
		}
	}()
	NewStore(0, 1)
}
