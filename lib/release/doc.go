// Package release models BOSH releases: release directories (config, blobs, indices) and release
// tarballs (release.MF, digests, inspection and verification of every archive).
//
// It is a model only: it never talks to the network, never runs bosh (lib/boshcli does) and
// knows no Concourse types. The OSS layout of published releases is lib/release/records.
package release
