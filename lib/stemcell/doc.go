// Package stemcell models BOSH stemcells for Alibaba Cloud: stemcell.MF, heavy stemcell tarballs
// (read once, streamed) and light stemcell tarballs (written deterministically). It never talks
// to the network and never holds a disk image in memory.
package stemcell
