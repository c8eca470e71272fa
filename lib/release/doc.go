// Package release models BOSH releases — release directories and release tarballs — for the
// bosh-release resource: release.MF, digests, tarball inspection and verification, and the
// directory's config, blobs and indices. It never talks to the network and never runs bosh.
package release
