// Package alicloud is the pack's only door to Alibaba Cloud: sessions built from the shared
// source block (credentials, endpoints, proxies, timeouts, one retry policy) and the OSS and ECS
// operations the resources need, over the official SDKs.
//
// It knows nothing of stemcells, releases or directors, and shares no code with the emulator in
// lib/alicloud/sim, so that a client mistake cannot be mirrored by the server and pass unnoticed.
package alicloud
