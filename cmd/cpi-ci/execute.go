package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bosh-alicloud/concourse-pack/lib/concourse/localexec"
)

const executeUsage = `usage: cpi-ci execute -c task.yml [-i name=dir]... [-o name=dir]... [-p K=V]... [-v k=v]... [-y k=yaml]... [-l vars.yml]...

Runs a Concourse task on this machine the way a worker would, with the tools on this host's PATH
(the task's image_resource is checked, not pulled): inputs are copied in (the task cannot change
them), outputs are copied back into the given directories whatever the exit code, and cpi-ci
exits with the task's exit code. -v, -y and -l fill the task file's ((vars)) as fly execute does;
-p are step params, overriding the task's.
`

// exitCode is a command's wish to exit with a code of its own, with nothing to print.
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit status %d", int(c)) }

func runExecute(ctx context.Context, args []string, s stdio) error {
	fs := flags("execute", s)
	fs.Usage = func() { _, _ = fmt.Fprint(s.err, executeUsage) } // help goes to stderr: nowhere else to report it
	var inputs, outputs, params multiFlag
	var v localexec.Vars
	taskFile := fs.String("c", "", "the task file (required)")
	fs.Var(&inputs, "i", "name=dir: an input (repeatable)")
	fs.Var(&outputs, "o", "name=dir: where an output is copied to (repeatable)")
	fs.Var(&params, "p", "K=V: a step param (repeatable)")
	fs.Var((*multiFlag)(&v.Pairs), "v", "name=value: a string var (repeatable)")
	fs.Var((*multiFlag)(&v.YAMLPairs), "y", "name=value: a YAML var (repeatable)")
	fs.Var((*multiFlag)(&v.Files), "l", "a vars file (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q\n\n%s", fs.Args(), executeUsage)
	}
	if *taskFile == "" {
		return fmt.Errorf("missing -c\n\n%s", executeUsage)
	}
	cfg, err := localexec.LoadConfig(*taskFile, v)
	if err != nil {
		return err
	}
	run := localexec.Run{Config: cfg, Env: os.Environ(), Stdout: s.out, Stderr: s.err}
	if run.Inputs, err = pairs("-i", inputs, true); err != nil {
		return err
	}
	if run.Outputs, err = pairs("-o", outputs, true); err != nil {
		return err
	}
	if run.Params, err = pairs("-p", params, false); err != nil {
		return err
	}
	code, err := run.Execute(ctx)
	if err != nil {
		return err
	}
	if code != 0 {
		return exitCode(code)
	}
	return nil
}

// pairs parses repeated name=value flags; paths are made absolute (the task runs elsewhere).
func pairs(flag string, values []string, paths bool) (map[string]string, error) {
	out := map[string]string{}
	for _, pair := range values {
		name, value, ok := strings.Cut(pair, "=")
		if !ok || name == "" || (paths && value == "") {
			return nil, fmt.Errorf("%s %q: want name=value", flag, pair)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("%s %s: given twice", flag, name)
		}
		if paths {
			abs, err := filepath.Abs(value)
			if err != nil {
				return nil, err
			}
			value = abs
		}
		out[name] = value
	}
	return out, nil
}
