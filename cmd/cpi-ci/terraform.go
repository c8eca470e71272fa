package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
)

const terraformUsage = `usage: cpi-ci terraform SUBCOMMAND [flags]

Helpers of the environment task around the terraform on PATH, run in terraform's working
directory (under cpi-ci cloud exec, which gives terraform its credentials).

  init [--attempts N] [--max-time D] -- [ARG]...
      terraform init ARG..., tried again after a failure (exponential backoff with jitter) until
      it succeeds, N attempts (default 4) were made or D (default 10m) has passed; each failure is
      logged with its exit code. cpi-ci exits with terraform's last exit code.
  outputs --metadata FILE [--ssh-key FILE --ssh-key-output NAME] [--require-ssh-key]
      read terraform output -json and write FILE: a flat JSON object of every non-sensitive
      output, every value a string (numbers and bools in their JSON spelling, null as ""); a map
      output's entries become <output>_<key>, a list's <output>_<index>, nested ones in turn
      (network = {static_ip_1 = "10.0.0.5"} gives network_static_ip_1). Two outputs flattening to
      one key fail. The sensitive string output NAME goes to --ssh-key (0600); an ssh key output
      that is not sensitive is refused. Nothing is printed of any value; both files are written
      whole or not at all.
  output NAME
      print the non-sensitive string output NAME, or nothing when the state has no such output.
  private-state --bucket B --key KEY [--oss-region R]
      make the state object KEY private (object ACL), if it exists. terraform's oss backend asks
      for its acl with a header OSS ignores on PutObject (x-oss-acl, not x-oss-object-acl), so the
      state would otherwise get the bucket's ACL. Takes the task's cloud params, not cloud exec.
`

// terraformSubcommands are the subcommands of `cpi-ci terraform`.
var terraformSubcommands = map[string]subcommand{
	"init":    runTerraformInit,
	"outputs": runTerraformOutputs,
	"output":  runTerraformOutput,

	"private-state": runTerraformPrivateState,
}

func runTerraform(ctx context.Context, args []string, s stdio) error {
	return dispatch(ctx, args, s, terraformUsage, terraformSubcommands)
}

// terraformBinary is the terraform a subcommand runs: the one on PATH.
const terraformBinary = "terraform"

func runTerraformInit(ctx context.Context, args []string, s stdio) error {
	fs := flags("terraform init", s)
	fs.Usage = func() { _, _ = fmt.Fprint(s.err, terraformUsage) } // help goes to stderr: nowhere else to report it
	attempts := fs.Int("attempts", 4, "tries in all, the first included")
	maxTime := fs.Duration("max-time", 10*time.Minute, "no try starts after this much time has passed")
	baseDelay := fs.Duration("delay", 5*time.Second, "the delay before the second try (doubled each time, with jitter)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *attempts < 1 {
		return fmt.Errorf("--attempts: expected at least 1, got %d", *attempts)
	}
	policy := alicloud.RetryPolicy{Attempts: *attempts, BaseDelay: *baseDelay, MaxDelay: time.Minute}
	deadline := time.Now().Add(*maxTime)
	argv := append([]string{terraformBinary, "init"}, fs.Args()...)
	for attempt := 1; ; attempt++ {
		err := runPassThrough(ctx, argv, s)
		var code exitCode
		if err == nil || !errors.As(err, &code) || ctx.Err() != nil {
			return err
		}
		if attempt >= policy.Attempts {
			_, _ = fmt.Fprintf(s.err, "terraform init failed (exit %d) %d times: giving up\n", int(code), attempt) // the exit code tells it too
			return err
		}
		delay := policy.Delay(attempt + 1)
		if time.Now().Add(delay).After(deadline) {
			_, _ = fmt.Fprintf(s.err, "terraform init failed (exit %d) on try %d, and %s have passed: giving up\n", int(code), attempt, *maxTime) // the exit code tells it too
			return err
		}
		_, _ = fmt.Fprintf(s.err, "terraform init failed (exit %d) on try %d of %d: trying again in %s\n", int(code), attempt, policy.Attempts, delay.Round(time.Millisecond)) // a lost log line loses nothing else
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
	}
}

// runPassThrough runs argv with the process's environment and streams, returning its exit
// code as an exitCode. cpi-ci terraform runs under cpi-ci cloud exec, which redacts the output.
func runPassThrough(ctx context.Context, argv []string, s stdio) error {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s.in, s.out, s.err
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exitCode(exit.ExitCode())
	}
	if err != nil {
		return fmt.Errorf("running %s: %w", argv[0], err)
	}
	return nil
}

// terraformOutput is one entry of `terraform output -json`.
type terraformOutput struct {
	Sensitive bool            `json:"sensitive"`
	Value     json.RawMessage `json:"value"`
}

// readTerraformOutputs runs `terraform output -json`; its stdout holds sensitive values, so it
// is only ever parsed, never shown. Its stderr is passed on.
func readTerraformOutputs(ctx context.Context, s stdio) (map[string]terraformOutput, error) {
	cmd := exec.CommandContext(ctx, terraformBinary, "output", "-json", "-no-color")
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, s.err
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("terraform output -json: %w", err)
	}
	outputs := map[string]terraformOutput{}
	if err := json.Unmarshal(stdout.Bytes(), &outputs); err != nil {
		// Never quote stdout: it holds the sensitive outputs.
		return nil, fmt.Errorf("terraform output -json printed something that is not an object of outputs (%d bytes): %v", stdout.Len(), jsonErrorKind(err))
	}
	return outputs, nil
}

// jsonErrorKind describes a decoding error without the text it quotes.
func jsonErrorKind(err error) string {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return fmt.Sprintf("invalid JSON at byte %d", syntax.Offset)
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return fmt.Sprintf("a JSON %s where an output was expected", typeErr.Value)
	}
	return "not JSON"
}

// flattenOutputs is the metadata of outputs: every non-sensitive output flattened (see
// terraformUsage), every value a string.
func flattenOutputs(outputs map[string]terraformOutput) (map[string]string, error) {
	flat := map[string]string{}
	from := map[string]string{} // flat key → the output it came from, for collisions
	names := make([]string, 0, len(outputs))
	for name := range outputs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		out := outputs[name]
		if out.Sensitive {
			continue
		}
		var value any
		dec := json.NewDecoder(bytes.NewReader(out.Value))
		dec.UseNumber()
		if err := dec.Decode(&value); err != nil {
			return nil, fmt.Errorf("output %s: its value is not JSON: %v", name, jsonErrorKind(err))
		}
		var err error
		add := func(key, v string) {
			if err != nil {
				return
			}
			if prev, clash := from[key]; clash {
				err = fmt.Errorf("outputs %s and %s both flatten to the metadata key %s: rename one of them", prev, name, key)
				return
			}
			flat[key], from[key] = v, name
		}
		flattenValue(name, value, add)
		if err != nil {
			return nil, err
		}
	}
	return flat, nil
}

func flattenValue(key string, value any, add func(key, value string)) {
	switch v := value.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			flattenValue(key+"_"+k, v[k], add)
		}
	case []any:
		for i, item := range v {
			flattenValue(key+"_"+strconv.Itoa(i), item, add)
		}
	case string:
		add(key, v)
	case json.Number:
		add(key, v.String())
	case bool:
		add(key, strconv.FormatBool(v))
	case nil:
		add(key, "")
	}
}

func runTerraformOutputs(ctx context.Context, args []string, s stdio) error {
	fs := flags("terraform outputs", s)
	fs.Usage = func() { _, _ = fmt.Fprint(s.err, terraformUsage) } // help goes to stderr: nowhere else to report it
	metadataFile := fs.String("metadata", "", "where the metadata goes (required)")
	keyFile := fs.String("ssh-key", "", "where the private key goes (0600)")
	keyOutput := fs.String("ssh-key-output", "", "the sensitive output holding the private key")
	requireKey := fs.Bool("require-ssh-key", false, "fail when the state has no --ssh-key-output")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q\n\n%s", fs.Args(), terraformUsage)
	}
	if *metadataFile == "" {
		return fmt.Errorf("missing --metadata\n\n%s", terraformUsage)
	}
	if (*keyFile == "") != (*keyOutput == "") {
		return fmt.Errorf("--ssh-key and --ssh-key-output go together\n\n%s", terraformUsage)
	}
	outputs, err := readTerraformOutputs(ctx, s)
	if err != nil {
		return err
	}
	var key string
	if *keyOutput != "" {
		out, ok := outputs[*keyOutput]
		switch {
		case !ok && *requireKey:
			return fmt.Errorf("the state has no output %s for ssh.key (outputs: %s): output the key pair's private key under that name, or set the output's name", *keyOutput, outputNames(outputs))
		case ok && !out.Sensitive:
			return fmt.Errorf("output %s holds the private key but is not sensitive, so terraform prints it: declare it with sensitive = true", *keyOutput)
		case ok:
			if err := json.Unmarshal(out.Value, &key); err != nil || key == "" {
				return fmt.Errorf("output %s: expected the private key as a non-empty string", *keyOutput)
			}
		}
	}
	metadata, err := flattenOutputs(outputs)
	if err != nil {
		return err
	}
	body, err := json.MarshalIndent(metadata, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileMode(*metadataFile, append(body, '\n'), 0o644); err != nil {
		return err
	}
	if key != "" {
		if !strings.HasSuffix(key, "\n") {
			key += "\n"
		}
		if err := writeFileMode(*keyFile, []byte(key), 0o600); err != nil {
			_ = os.Remove(*metadataFile) // whole or not at all
			return err
		}
	}
	sensitive := 0
	for _, out := range outputs {
		if out.Sensitive {
			sensitive++
		}
	}
	_, _ = fmt.Fprintf(s.err, "metadata: %d keys from %d outputs (%d sensitive, left out)\n", len(metadata), len(outputs), sensitive) // a lost log line loses nothing else
	return nil
}

func outputNames(outputs map[string]terraformOutput) string {
	if len(outputs) == 0 {
		return "none"
	}
	names := make([]string, 0, len(outputs))
	for name := range outputs {
		names = append(names, name)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// writeFileMode writes path through a temporary file beside it with perm from its first byte,
// so a reader never sees half of it.
func writeFileMode(path string, body []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := tmp.Write(body); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func runTerraformOutput(ctx context.Context, args []string, s stdio) error {
	fs := flags("terraform output", s)
	fs.Usage = func() { _, _ = fmt.Fprint(s.err, terraformUsage) } // help goes to stderr: nowhere else to report it
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("expected one output NAME\n\n%s", terraformUsage)
	}
	name := fs.Arg(0)
	outputs, err := readTerraformOutputs(ctx, s)
	if err != nil {
		return err
	}
	out, ok := outputs[name]
	if !ok {
		return nil
	}
	if out.Sensitive {
		return fmt.Errorf("output %s is sensitive: it is not printed", name)
	}
	var value string
	if err := json.Unmarshal(out.Value, &value); err != nil {
		return fmt.Errorf("output %s: expected a string", name)
	}
	return s.printf("%s\n", value)
}

func runTerraformPrivateState(ctx context.Context, args []string, s stdio) error {
	fs := flags("terraform private-state", s)
	fs.Usage = func() { _, _ = fmt.Fprint(s.err, terraformUsage) } // help goes to stderr: nowhere else to report it
	bucket := fs.String("bucket", "", "the state's bucket (required)")
	key := fs.String("key", "", "the state object's key (required)")
	ossRegion := fs.String("oss-region", "", "the bucket's region; default ALICLOUD_REGION")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *bucket == "" || *key == "" || fs.NArg() > 0 {
		return fmt.Errorf("expected --bucket and --key, and no arguments\n\n%s", terraformUsage)
	}
	_, store, log, err := openTaskStore(*bucket, *ossRegion, "", s)
	if err != nil {
		return err
	}
	exists, err := store.Exists(ctx, *key)
	if err != nil {
		return err
	}
	if !exists {
		return nil
	}
	if err := store.SetPublicRead(ctx, *key, false); err != nil {
		return fmt.Errorf("making the state oss://%s/%s private: %w", *bucket, *key, err)
	}
	log.Printf("the state oss://%s/%s is private", *bucket, *key)
	return nil
}
