// Package nats is a [nes.Broker] on NATS (github.com/nats-io/nats.go): the
// nodes of one deployment share one NATS subject, every node publishes the
// envelopes of its publications and broadcasts to it and every node, the
// publishing one included, delivers what arrives there to its own sockets.
//
// # Connection
//
// The broker is built on a connection the application owns: [New] takes a
// *nats.Conn, and [Broker.Close] leaves it open. [Connect] makes one with
// the options this broker wants, any of which the caller's options override:
//
//   - MaxReconnects(-1): never give up. While NATS is down the connection
//     keeps trying, and when it is back the subscription is sent again, so
//     the node receives again without a restart.
//   - ReconnectWait(250ms): try often, so a node is back within about a
//     quarter of a second (plus nats.go's jitter) of the server.
//   - ReconnectBufSize(-1): buffer nothing while disconnected. nats.go
//     otherwise keeps up to 8 MB of publications in memory while it
//     reconnects and sends them later — or drops them if it never does,
//     without telling anyone. With no buffer, Publish fails at once while
//     the connection is down, so the caller knows the envelope was not sent.
//   - RetryOnFailedConnect(false): Connect fails when NATS is unreachable
//     instead of returning a connection that is not connected yet.
//
// A connection made elsewhere works too, as long as it was not made with
// NoEcho: the publishing node must receive its own envelopes.
//
// # Delivery
//
// Delivery is at most once. By default Publish writes the envelope and then
// waits for the server's acknowledgement of everything written so far (a
// PING/PONG round trip), so a nil error means the server has the envelope
// and an error means it may not. With [Options.Async] Publish returns once
// the envelope is in the connection's outbound buffer; an envelope written
// just before a connection loss nats.go has not noticed yet is then lost
// without an error. Either way Publish fails while the connection is down.
//
// A node whose deliver falls behind by more than the subscription's pending
// limits ([Options.PendingMessages], [Options.PendingBytes]) loses the
// envelopes beyond them (nats.go's slow consumer): they are counted in
// [Stats].Dropped and logged.
//
// # Order
//
// One connection writes in the order Publish is called and one subscription
// delivers in the order the server sent, from one goroutine, so the
// publications of one node to one path arrive at every node in the order
// they were published. Envelopes of different nodes interleave.
//
// # Subjects
//
// All nodes of a deployment use one subject ([Options.Subject], "nes" by
// default) and every node receives every envelope: the publication is
// filtered by the nodes' own subscriptions, not by NATS. Deployments that
// share a NATS system use different subjects. Anything NATS can route a
// subject through works: a single server, a cluster, leaf nodes, a
// supercluster.
package nats
