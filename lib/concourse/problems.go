package concourse

import "github.com/bosh-alicloud/concourse-pack/lib/problems"

// Problem and Problems are the kit's names for lib/problems, where every layer reports what is
// wrong with a request.
type (
	Problem  = problems.Problem
	Problems = problems.List
)

func joinPath(prefix, path string) string { return problems.Join(prefix, path) }

// quote and problemsMaxQuoted are lib/problems' quoting: a value in a message is cut short.
var quote = problems.Quote

const problemsMaxQuoted = problems.MaxQuoted

var problemsFrom = problems.From
