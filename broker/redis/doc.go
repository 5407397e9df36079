// Package redis is a [nes.Broker] on Redis pub/sub, for running nes on
// several nodes behind a load balancer.
//
// Every node subscribes to one channel ([Options.Channel]) with a classic
// SUBSCRIBE, and every publication or broadcast is one PUBLISH of the
// envelope's binary form ([nes.Envelope.AppendBinary]) on that channel. Every
// node thus receives every envelope and delivers it to its own sockets; the
// server drops what no local socket subscribed to. The message is JSON
// carried as the envelope's tail, never decoded and encoded again.
//
// # Deployments
//
// [New] takes any [goredis.UniversalClient]:
//
//   - A standalone server: a *goredis.Client from goredis.NewClient.
//   - Redis Cluster: a *goredis.ClusterClient. Classic PUBLISH is propagated
//     to every node of the cluster over the cluster bus, so the single
//     channel works, but every shard carries every message. Sharded pub/sub
//     (SPUBLISH/SSUBSCRIBE) is not used.
//   - Sentinel: the *goredis.Client from goredis.NewFailoverClient. When
//     the subscription's connection breaks in a failover it reconnects
//     through the client, which asks the sentinels for the new master. (A
//     subscription still connected to a demoted master keeps receiving:
//     Redis replicates PUBLISH to replicas.)
//
// The client belongs to the application: the broker never closes it, and
// [Broker.Close] only ends the subscription [Broker.Start] opened.
//
// # Delivery
//
// Delivery is at most once. An envelope published while Redis is
// unreachable makes [Broker.Publish] return an error; envelopes published
// while a node's subscription is down are not received by that node. The
// subscription reconnects and subscribes again by itself: when Redis comes
// back, the node receives again without a restart.
//
// Publications of one node to one path are delivered in order on every
// node: the reply to a PUBLISH comes after Redis queued the message to every
// subscriber, the next PUBLISH is sent after that reply, and one
// subscription connection delivers in the order Redis queued.
//
// A subscription that is silent for [Options.HealthCheck] is pinged; when
// the ping is not answered within another HealthCheck, the connection is
// taken as dead and replaced.
package redis
