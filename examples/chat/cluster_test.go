package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nes-go/nes/internal/brokertest"
	"github.com/nes-go/nes/nes"
)

// Two demo nodes sharing a broker show the same room live: a message posted
// on node 1 reaches a reader on node 2 and both nodes' history, and a login
// on node 1 (keys from one -secret) is valid on node 2.
func TestTwoNodesShareRooms(t *testing.T) {
	hub := &brokertest.Hub{}
	keys, err := keysFromSecret("shared secret")
	if err != nil {
		t.Fatal(err)
	}
	ts1, _ := startChatWith(t, config{AuthType: nes.AuthToken, Keys: &keys, Broker: hub.Broker(t)})
	ts2, _ := startChatWith(t, config{AuthType: nes.AuthToken, Keys: &keys, Broker: hub.Broker(t)})

	reader := dialNes(t, ts2)
	reader.helloAndSub("/rooms/lobby")

	res := postAs(t, ts1, "ann", "demo", `{"text":"hello from node 1"}`)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("post on node 1: %s", res.Status)
	}
	pub := reader.expect("pub")
	assertLobbyMessage(t, pub["message"], "hello from node 1", "ann")

	// Each node stores what its broker connection delivers, on the hub's
	// goroutine for that node: a node's history may lag the reader a little.
	for i, ts := range []string{ts1.URL, ts2.URL} {
		var body []byte
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
			res, err := http.Get(ts + "/rooms/lobby/messages")
			if err != nil {
				t.Fatal(err)
			}
			body, _ = io.ReadAll(res.Body)
			res.Body.Close()
			var got []Message
			if json.Unmarshal(body, &got) != nil || len(got) > 0 || time.Now().After(deadline) {
				break
			}
		}
		var msgs []Message
		if err := json.Unmarshal(body, &msgs); err != nil || len(msgs) != 1 || msgs[0].Text != "hello from node 1" {
			t.Errorf("history of node %d = %s, want the one message", i+1, body)
		}
	}

	// A token issued by node 1 authenticates a socket on node 2.
	res2, token := login(t, ts1, "ann", "demo")
	if res2.StatusCode != http.StatusOK {
		t.Fatalf("login on node 1: %s %s", res2.Status, token)
	}
	var tok struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(token, &tok); err != nil || tok.Token == "" {
		t.Fatalf("login answered %s", token)
	}
	s := dialNes(t, ts2)
	s.send(`{"type":"hello","version":"2","id":1,"auth":"` + tok.Token + `"}`)
	s.expect("hello")
}

// While the broker is unreachable a post is refused with 503 and stored
// nowhere: nothing the poster was told is accepted gets lost.
func TestPostWhileBrokerDown(t *testing.T) {
	hub := &brokertest.Hub{}
	ts, a := startChatWith(t, config{AuthType: nes.AuthToken, Broker: hub.Broker(t)})
	res := postAs(t, ts, "ann", "demo", `{"text":"first"}`)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("post: %s", res.Status)
	}
	// The hub delivers on a goroutine of its own, and the history is what
	// was delivered: wait for the first message before the broker goes down.
	for deadline := time.Now().Add(5 * time.Second); len(a.store.Last("lobby", 10)) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the first message was not delivered within 5s")
		}
		time.Sleep(time.Millisecond)
	}
	hub.SetDown(true)
	res = postAs(t, ts, "ann", "demo", `{"text":"lost?"}`)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "try again") {
		t.Errorf("post while the broker is down: %s %s, want 503", res.Status, body)
	}
	if msgs := a.store.Last("lobby", 10); len(msgs) != 1 || msgs[0].Text != "first" {
		t.Errorf("history %v, want only the first message", msgs)
	}
	hub.SetDown(false)
	res = postAs(t, ts, "ann", "demo", `{"text":"again"}`)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Errorf("post after the broker came back: %s", res.Status)
	}
}
