package testtools

import "github.com/bosh-alicloud/concourse-pack/lib/fixtures"

// BoshDeployment is a bosh-deployment checkout in miniature (lib/fixtures has the files).
var BoshDeployment = fixtures.BoshDeployment
