package stemcell_test

import (
	"testing"

	"github.com/sclevine/spec"
	"github.com/sclevine/spec/report"
)

func TestStemcell(t *testing.T) {
	suite := spec.New("stemcell", spec.Report(report.Terminal{}))
	suite("Manifest", testManifest)
	suite("ReadHeavy", testReadHeavy)
	suite("ReadHeavyTo", testReadHeavyTo)
	suite("WriteLight", testWriteLight)
	suite.Run(t)
}
