package tasks_test

import (
	"testing"

	"github.com/sclevine/spec"
)

func testBuildAndPromote(t *testing.T, context spec.G, it spec.S, env taskEnv) {}
