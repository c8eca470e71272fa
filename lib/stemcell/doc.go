// Package stemcell models BOSH stemcells for Alibaba Cloud: stemcell.MF, heavy stemcell tarballs
// (read once, streamed) and light stemcell tarballs (written deterministically).
//
// It is a model only: it never talks to the network and never holds a disk image in memory.
// Building the images of a light stemcell is lib/stemcell/builder, the OSS layout of its records
// lib/stemcell/records, retention lib/stemcell/retention.
package stemcell
