// Package sim emulates Alibaba Cloud (OSS, STS, ECS RPC, instance metadata) on the real wire protocol.
// It must never ship in a resource binary and shares no code with lib/alicloud, the client it tests.
//
// The official SDKs run against it unchanged, in tests and in the local demo. The server side is
// written from the protocol facts alone, so a client mistake cannot be mirrored and pass unnoticed.
//
// # Routing
//
// One http.Handler serves everything:
//
//   - /_sim/…: the admin API (faults, QPS limits, journal, reset); unsigned, loopback callers only.
//   - /latest/api/token and /latest/meta-data/…, when the request carries no OSS signature: the ECS
//     instance metadata service (RAM role credentials, IMDSv2-style tokens).
//   - a query with Action and Version: RPC (V1 HMAC-SHA1 signatures). Version 2014-05-26 is ECS
//     (regions, images with asynchronous import and copy, snapshots, sharing, tags, instances and
//     zone stock), 2015-04-01 is STS (AssumeRole). Actions are looked up in a per-service table.
//   - everything else: OSS, path style (/bucket/key), V1 and V4 signatures in headers or presigned
//     query strings.
//
// Object bodies live in files under Config.DataDir and are streamed in and out; only metadata is
// kept in memory. Every request is recorded in a bounded journal, and faults (throttling, 5xx,
// latency, connection resets, hangs) and per-action QPS limits can be injected from Go or over HTTP.
//
// ECS work that takes time on the real cloud (imports, copies, instance starts) is computed lazily
// from Config.Clock timestamps, so its outcome is deterministic; image status transitions are
// recorded (ImageEvents) at the emulated time they happened.
package sim
