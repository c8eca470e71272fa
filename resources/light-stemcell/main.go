// Command light-stemcell-resource is the alicloud-light-stemcell Concourse resource type: it
// builds, publishes, tracks and fetches Alibaba Cloud light stemcells. Run it as check, in or out
// (symlinks in the image) or as `light-stemcell-resource check|in DIR|out DIR`.
package main

import (
	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell"
)

func main() { concourse.Main(stemcell.Resource()) }
