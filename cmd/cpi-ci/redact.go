package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
)

const redactUsage = `usage: cpi-ci redact [--env NAME]... -- COMMAND [ARG]...

Runs COMMAND with its stdout and stderr passed through the pack's redaction: the value of each
named environment variable never reaches the log (as written, URL-encoded, JSON-escaped or
base64-encoded; a YAML or JSON document, such as a private.yml, has each of its values redacted).
cpi-ci exits with COMMAND's exit code. Tasks run every tool that could print a secret this way.
`

func runRedact(ctx context.Context, args []string, s stdio) error {
	fs := flags("redact", s)
	fs.Usage = func() { _, _ = fmt.Fprint(s.err, redactUsage) } // help goes to stderr: nowhere else to report it
	var names multiFlag
	fs.Var(&names, "env", "NAME: an environment variable holding a secret (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("missing COMMAND\n\n%s", redactUsage)
	}
	secrets := concourse.NewRedactor()
	for _, name := range names {
		secrets.Register(secretValues(os.Getenv(name))...)
	}
	return runRedacted(ctx, fs.Args(), os.Environ(), secrets, s)
}

// secretValues is what to redact of a secret: each scalar of a YAML or JSON document (its keys
// are ordinary words such as "blobstore"), the whole text otherwise.
func secretValues(value string) []string {
	if strings.TrimSpace(value) == "" {
		return nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(value), &doc); err != nil || len(doc.Content) == 0 || doc.Content[0].Kind == yaml.ScalarNode {
		return []string{value}
	}
	var out []string
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 1; i < len(n.Content); i += 2 {
				walk(n.Content[i])
			}
		case yaml.ScalarNode:
			out = append(out, n.Value)
		default:
			for _, c := range n.Content {
				walk(c)
			}
		}
	}
	walk(doc.Content[0])
	return out
}
