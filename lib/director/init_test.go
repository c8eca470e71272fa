package director_test

import (
	"testing"

	"github.com/sclevine/spec"
	"github.com/sclevine/spec/report"
)

func TestDirector(t *testing.T) {
	suite := spec.New("director", spec.Report(report.Terminal{}))
	suite("revisions", testRevisions)
	suite("operation lock", testLock)
	suite("leases", testLeases)
	suite("create, destroy and register", testEnvs)
	suite("light stemcell images", testLightStemcellImage)
	suite.Run(t)
}
