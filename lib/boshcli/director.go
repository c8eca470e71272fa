package boshcli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// Row is one row of a bosh --json table: header key (such as "name", "disk_cid",
// "release_s") → the cell's text.
type Row map[string]string

// Table runs `bosh --json ARGS...` against the director of the environment (BOSH_ENVIRONMENT,
// BOSH_CLIENT, ... inherited) and returns the rows of its first table. bosh prints everything
// into the JSON document, its messages under "Lines": they go to the log.
func (b CLI) Table(ctx context.Context, args ...string) ([]Row, error) {
	var out bytes.Buffer
	what := strings.Join(args, " ")
	err := b.run(ctx, what, runOptions{stdout: &out}, append([]string{"--json", "--non-interactive"}, args...)...)
	var doc struct {
		Tables []struct {
			Rows []Row `json:"Rows"`
		} `json:"Tables"`
		Lines []string `json:"Lines"`
	}
	parseErr := json.Unmarshal(out.Bytes(), &doc)
	for _, line := range doc.Lines {
		b.Log.Printf("%s", line)
	}
	if err != nil {
		return nil, err
	}
	if parseErr != nil {
		return nil, fmt.Errorf("bosh %s: its --json output is not a JSON document: %w", what, parseErr)
	}
	if len(doc.Tables) == 0 {
		return nil, nil
	}
	return doc.Tables[0].Rows, nil
}

// Director runs `bosh --non-interactive ARGS...` against the director of the environment, its
// output in the log.
func (b CLI) Director(ctx context.Context, args ...string) error {
	return b.run(ctx, strings.Join(args, " "), runOptions{}, append([]string{"--non-interactive"}, args...)...)
}
