// Package image builds the pack's container images from one description per image (image.yaml):
// the checked-in Dockerfile is rendered from it, and the hermetic build (a Debian rootfs made with
// debootstrap, toolchains taken from the build machine as inputs, the pack's binaries from bin/,
// no Docker engine) writes an OCI image tarball and a Concourse base-type dir of the same content.
// It knows no Concourse requests and no cloud.
package image
