package main

import (
	"container/list"
	"sync"
	"time"
)

// Message is one chat message, as stored, published to /rooms/{room} and
// returned by the HTTP routes.
type Message struct {
	Room string    `json:"room"`
	Text string    `json:"text"`
	From string    `json:"from"`
	At   time.Time `json:"at"` // RFC 3339 in JSON
}

// Store keeps the most recent messages of each room in memory. It is bounded
// twice: each room keeps its last perRoom messages, and at most maxRooms
// rooms are kept, the least recently used room being evicted to make space
// for a new one. Adding to a room and reading it both count as a use.
//
// A Store is safe for concurrent use.
type Store struct {
	perRoom  int
	maxRooms int

	mu    sync.Mutex
	rooms map[string]*list.Element // values are *roomLog
	lru   *list.List               // front: most recently used
}

// roomLog is a ring of the last messages of one room.
type roomLog struct {
	name string
	msgs []Message // grows up to cap, then wraps
	next int       // once full, the index of the oldest message
}

// NewStore returns a store keeping perRoom messages per room for at most
// maxRooms rooms. Both bounds must be positive.
func NewStore(perRoom, maxRooms int) *Store {
	if perRoom <= 0 || maxRooms <= 0 {
		panic("chat: NewStore bounds must be positive")
	}
	return &Store{
		perRoom:  perRoom,
		maxRooms: maxRooms,
		rooms:    make(map[string]*list.Element),
		lru:      list.New(),
	}
}

// Add appends m to the log of m.Room, creating the room (and evicting the
// least recently used one if the store is full) when needed.
func (s *Store) Add(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()

	el, ok := s.rooms[m.Room]
	if ok {
		s.lru.MoveToFront(el)
	} else {
		if s.lru.Len() >= s.maxRooms {
			oldest := s.lru.Back()
			s.lru.Remove(oldest)
			delete(s.rooms, oldest.Value.(*roomLog).name)
		}
		el = s.lru.PushFront(&roomLog{name: m.Room})
		s.rooms[m.Room] = el
	}
	el.Value.(*roomLog).add(m, s.perRoom)
}

// Last returns up to n of the most recent messages of room, oldest first. An
// unknown room has no messages (an empty, non-nil slice); reading does not
// create it. The result is a copy the caller owns.
func (s *Store) Last(room string, n int) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()

	el, ok := s.rooms[room]
	if !ok || n <= 0 {
		return []Message{}
	}
	s.lru.MoveToFront(el)
	return el.Value.(*roomLog).last(n)
}

// Rooms reports how many rooms the store holds.
func (s *Store) Rooms() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lru.Len()
}

func (l *roomLog) add(m Message, capacity int) {
	if len(l.msgs) < capacity {
		l.msgs = append(l.msgs, m)
		return
	}
	l.msgs[l.next] = m
	l.next = (l.next + 1) % len(l.msgs)
}

func (l *roomLog) last(n int) []Message {
	ordered := make([]Message, 0, len(l.msgs))
	ordered = append(ordered, l.msgs[l.next:]...)
	ordered = append(ordered, l.msgs[:l.next]...)
	if len(ordered) > n {
		ordered = ordered[len(ordered)-n:]
	}
	return ordered
}
