// Command bosh-release-resource is the bosh-release Concourse resource type: it publishes, tracks
// and fetches BOSH release tarballs kept in an OSS bucket. Run it as check, in or out (symlinks
// in the image) or as `bosh-release-resource check|in DIR|out DIR`.
package main

import (
	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
	"github.com/bosh-alicloud/concourse-pack/lib/release"
)

func main() { concourse.Main(release.Resource()) }
