package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"

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
	stdout := concourse.NewLogger(s.out, secrets, false).Pipe()
	stderr := concourse.NewLogger(s.err, secrets, false).Pipe()
	cmd := exec.CommandContext(ctx, fs.Arg(0), fs.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s.in, stdout, stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	err := cmd.Run()
	_ = stdout.Close() // the pipes only flush a last partial line:
	_ = stderr.Close() // closing them cannot fail
	var exit *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &exit):
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return exitCode(128 + int(ws.Signal()))
		}
		return exitCode(exit.ExitCode())
	default:
		return err
	}
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
