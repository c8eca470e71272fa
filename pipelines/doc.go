// Package pipelines holds the pack's Concourse pipelines (cpi.yml, light-stemcells.yml,
// mirror.yml) and their vars files; its tests validate them as Concourse and fly do. It has no code.
package pipelines
