package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
	"github.com/bosh-alicloud/concourse-pack/lib/lease"
)

// The cloud block of a task, from its params (docs/tasks.md, "Credentials"). Exactly one
// credential style: static keys (with ALICLOUD_SECURITY_TOKEN for STS keys) or the worker's RAM
// role, optionally with a role to assume on top.
const (
	envRegion        = "ALICLOUD_REGION"
	envAccessKeyID   = "ALICLOUD_ACCESS_KEY_ID"
	envAccessSecret  = "ALICLOUD_ACCESS_KEY_SECRET"
	envSecurityToken = "ALICLOUD_SECURITY_TOKEN"
	envRAMRole       = "ALICLOUD_RAM_ROLE"
	envAssumeRole    = "ALICLOUD_ASSUME_ROLE_ARN"
	envECSEndpoint   = "ALICLOUD_ECS_ENDPOINT"
	envOSSEndpoint   = "ALICLOUD_OSS_ENDPOINT"
	envSTSEndpoint   = "ALICLOUD_STS_ENDPOINT"
)

// credentialInputs are the params that say how to get credentials: a tool run through
// `cpi-ci cloud exec` gets resolved credentials instead, never these.
var credentialInputs = []string{envAccessKeyID, envAccessSecret, envSecurityToken, envRAMRole, envAssumeRole}

const cloudUsage = `usage: cpi-ci cloud SUBCOMMAND [flags]

The cloud block comes from the task's params: ALICLOUD_REGION (required), then either
ALICLOUD_ACCESS_KEY_ID + ALICLOUD_ACCESS_KEY_SECRET (+ ALICLOUD_SECURITY_TOKEN for STS keys) or
ALICLOUD_RAM_ROLE (the worker's ECS RAM role), optionally ALICLOUD_ASSUME_ROLE_ARN on top, and
endpoint overrides ALICLOUD_ECS_ENDPOINT, ALICLOUD_OSS_ENDPOINT, ALICLOUD_STS_ENDPOINT.

  exec [--as terraform|alibaba|cpi] [--vars-file PATH] [--env NAME]... -- COMMAND [ARG]...
      resolve the credentials (RAM role, assumed role, STS or static keys) and run COMMAND with
      them in its environment: --as terraform (default) sets ALICLOUD_ACCESS_KEY,
      ALICLOUD_SECRET_KEY, ALICLOUD_SECURITY_TOKEN; alibaba sets ALIBABA_CLOUD_ACCESS_KEY_ID,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET, ALIBABA_CLOUD_SECURITY_TOKEN; cpi sets CPI_ACCESS_KEY_ID,
      CPI_ACCESS_KEY_SECRET, CPI_SECURITY_TOKEN (what the CPI's integration suite reads).
      ALICLOUD_REGION is kept; the credential params above are not passed on. --vars-file also writes them as a bosh vars file (0600;
      access_key_id, access_key_secret, security_token), removed when COMMAND ends. COMMAND's
      output is redacted (the key id too, and the value of each --env NAME); cpi-ci exits with
      its code. Credentials never appear on an argv.
  zone --instance-types T[,T]...
      print the first zone of the region where every instance type is in stock now
      (DescribeAvailableResource); fails naming the types and what each zone lacks.
  lock --bucket B --key PREFIX [--oss-region R] [--holder TEXT] -- COMMAND [ARG]...
      hold a build lock under PREFIX (forbid-overwrite objects, renewed every minute, expiring
      3 minutes after its holder stops renewing it) while COMMAND runs; fails at once naming the
      holder when another run holds it. cpi-ci exits with COMMAND's code.
`

// cloudSubcommands are the subcommands of `cpi-ci cloud`.
var cloudSubcommands = map[string]subcommand{
	"exec": runCloudExec,
	"zone": runCloudZone,
	"lock": runCloudLock,

	"ensure-terminated": runEnsureTerminated, // ensure_terminated.go
}

func runCloud(ctx context.Context, args []string, s stdio) error {
	return dispatch(ctx, args, s, cloudUsage, cloudSubcommands)
}

// taskCloud reads the cloud block from the task's params; bucket names the bucket when the
// subcommand needs one.
func taskCloud(bucket string) (alicloud.Cloud, error) {
	c := alicloud.Cloud{
		Region:          os.Getenv(envRegion),
		AccessKeyID:     os.Getenv(envAccessKeyID),
		AccessKeySecret: os.Getenv(envAccessSecret),
		SecurityToken:   os.Getenv(envSecurityToken),
		RAMRole:         os.Getenv(envRAMRole),
		AssumeRoleARN:   os.Getenv(envAssumeRole),
		ECSEndpoint:     os.Getenv(envECSEndpoint),
		OSSEndpoint:     os.Getenv(envOSSEndpoint),
		STSEndpoint:     os.Getenv(envSTSEndpoint),
		Bucket:          bucket,
	}
	if c.Region == "" {
		return c, fmt.Errorf("the task's params have no %s: set it to the region the task works in, e.g. cn-hangzhou", envRegion)
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("the task's cloud params: %w", renameCloudKeys(err))
	}
	return c, nil
}

// renameCloudKeys names the task params in a Cloud.Validate error instead of the source keys.
func renameCloudKeys(err error) error {
	msg := err.Error()
	for key, param := range map[string]string{
		"access_key_id": envAccessKeyID, "access_key_secret": envAccessSecret, "security_token": envSecurityToken,
		"ram_role": envRAMRole, "assume_role_arn": envAssumeRole, "region": envRegion,
		"ecs_endpoint": envECSEndpoint, "oss_endpoint": envOSSEndpoint, "sts_endpoint": envSTSEndpoint,
	} {
		msg = strings.ReplaceAll(msg, key, param)
	}
	return errors.New(msg)
}

// openTaskCloud opens a session on the task's cloud block, logging to stderr with every secret
// redacted.
func openTaskCloud(bucket string, s stdio) (*alicloud.Session, *concourse.Logger, error) {
	c, err := taskCloud(bucket)
	if err != nil {
		return nil, nil, err
	}
	secrets := concourse.NewRedactor(c.AccessKeySecret, c.SecurityToken)
	log := concourse.NewLogger(s.err, secrets, os.Getenv("NO_COLOR") == "")
	session, err := alicloud.NewSession(c, alicloud.Options{Log: log, Secrets: secrets})
	return session, log, err
}

// openTaskStore opens a session on the task's cloud block and a store on bucket (in region, or
// ALICLOUD_REGION when empty) under prefix.
func openTaskStore(bucket, region, prefix string, s stdio) (*alicloud.Session, *alicloud.Store, *concourse.Logger, error) {
	session, log, err := openTaskCloud(bucket, s)
	if err != nil {
		return nil, nil, nil, err
	}
	if region == "" {
		region = session.Cloud().Region
	}
	store, err := session.StoreIn(region, bucket, prefix)
	return session, store, log, err
}

// credentialNames are the environment variables a tool reads its key id, secret and token from.
var credentialNames = map[string][3]string{
	"terraform": {"ALICLOUD_ACCESS_KEY", "ALICLOUD_SECRET_KEY", "ALICLOUD_SECURITY_TOKEN"},
	"alibaba":   {"ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN"},
	"cpi":       {"CPI_ACCESS_KEY_ID", "CPI_ACCESS_KEY_SECRET", "CPI_SECURITY_TOKEN"},
	// What the CPI's integration suite reads (src/bosh-alicloud-cpi/integration/config.go).
}

func runCloudExec(ctx context.Context, args []string, s stdio) error {
	fs := flags("cloud exec", s)
	fs.Usage = func() { _, _ = fmt.Fprint(s.err, cloudUsage) } // help goes to stderr: nowhere else to report it
	as := fs.String("as", "terraform", "the variable names: terraform, alibaba or cpi")
	varsFile := fs.String("vars-file", "", "also write the credentials as a bosh vars file here (0600)")
	var secretEnv multiFlag
	fs.Var(&secretEnv, "env", "NAME: an environment variable holding another secret to redact (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	names, ok := credentialNames[*as]
	if !ok {
		return fmt.Errorf("--as: expected terraform, alibaba or cpi, got %q", *as)
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("missing COMMAND\n\n%s", cloudUsage)
	}
	session, _, err := openTaskCloud("", s)
	if err != nil {
		return err
	}
	creds, err := session.Credentials(ctx)
	if err != nil {
		return err
	}
	secrets := concourse.NewRedactor(creds.AccessKeyID, creds.AccessKeySecret, creds.SecurityToken)
	for _, name := range secretEnv {
		secrets.Register(secretValues(os.Getenv(name))...)
	}
	env := toolEnv(os.Environ(), names, creds)
	if *varsFile != "" {
		if err := writeCredentialVars(*varsFile, creds); err != nil {
			return err
		}
		defer func() { _ = os.Remove(*varsFile) }() // best effort: the task's container goes too
	}
	return runRedacted(ctx, fs.Args(), env, secrets, s)
}

// toolEnv is env without the credential params, with creds under names.
func toolEnv(env []string, names [3]string, creds alicloud.Credentials) []string {
	drop := map[string]bool{names[0]: true, names[1]: true, names[2]: true}
	for _, n := range credentialInputs {
		drop[n] = true
	}
	out := make([]string, 0, len(env)+3)
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !drop[name] {
			out = append(out, kv)
		}
	}
	out = append(out, names[0]+"="+creds.AccessKeyID, names[1]+"="+creds.AccessKeySecret)
	if creds.SecurityToken != "" {
		out = append(out, names[2]+"="+creds.SecurityToken)
	}
	return out
}

// writeCredentialVars writes creds as a bosh vars file, 0600 from its first byte.
func writeCredentialVars(path string, creds alicloud.Credentials) error {
	body, err := yaml.Marshal(map[string]string{
		"access_key_id": creds.AccessKeyID, "access_key_secret": creds.AccessKeySecret, "security_token": creds.SecurityToken,
	})
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("writing the credentials vars file: %w", err)
	}
	if _, err := f.Write(body); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return fmt.Errorf("writing the credentials vars file: %w", err)
	}
	return f.Close()
}

// runRedacted runs argv with env, its output passed through secrets, SIGTERM on cancellation,
// and returns its exit code as an exitCode.
func runRedacted(ctx context.Context, argv, env []string, secrets *concourse.Redactor, s stdio) error {
	stdout := concourse.NewLogger(s.out, secrets, false).Pipe()
	stderr := concourse.NewLogger(s.err, secrets, false).Pipe()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s.in, stdout, stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
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

func runCloudZone(ctx context.Context, args []string, s stdio) error {
	fs := flags("cloud zone", s)
	types := fs.String("instance-types", "", "comma-separated instance types that must all be in stock (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q\n\n%s", fs.Args(), cloudUsage)
	}
	var wanted []string
	for _, t := range strings.Split(*types, ",") {
		if t = strings.TrimSpace(t); t != "" {
			wanted = append(wanted, t)
		}
	}
	if len(wanted) == 0 {
		return fmt.Errorf("missing --instance-types\n\n%s", cloudUsage)
	}
	session, _, err := openTaskCloud("", s)
	if err != nil {
		return err
	}
	zone, err := session.ZoneWithStock(ctx, session.Cloud().Region, wanted)
	if err != nil {
		return err
	}
	return s.printf("%s\n", zone)
}

func runCloudLock(ctx context.Context, args []string, s stdio) error {
	fs := flags("cloud lock", s)
	bucket := fs.String("bucket", "", "the bucket the lock lives in (required)")
	key := fs.String("key", "", "the lock's prefix in the bucket, e.g. terraform/env-1/lock/ (required)")
	ossRegion := fs.String("oss-region", "", "the bucket's region; default ALICLOUD_REGION")
	holder := fs.String("holder", "", "who holds the lock, for the error another run gets")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var missing []string
	if *bucket == "" {
		missing = append(missing, "--bucket")
	}
	if *key == "" {
		missing = append(missing, "--key")
	}
	if fs.NArg() == 0 {
		missing = append(missing, "COMMAND")
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s\n\n%s", strings.Join(missing, ", "), cloudUsage)
	}
	prefix := *key
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	_, store, log, err := openTaskStore(*bucket, *ossRegion, "", s)
	if err != nil {
		return err
	}
	who := *holder
	if who == "" {
		host, _ := os.Hostname()
		who = fmt.Sprintf("%s on %s", filepath.Base(fs.Arg(0)), host)
	}
	lk, held, err := lease.Take(ctx, store, prefix, "oss://"+*bucket+"/"+prefix, lease.Options{Holder: who, Log: log})
	if err != nil {
		return err
	}
	log.Printf("holding the lock oss://%s/%s", *bucket, prefix)
	runErr := runRedacted(held, fs.Args(), os.Environ(), concourse.NewRedactor(), s)
	releaseCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := lk.Release(releaseCtx); err != nil {
		log.Warnf("releasing the lock oss://%s/%s: %v (it expires by itself in %s)", *bucket, prefix, err, lease.DefaultTTL)
	}
	if cause := context.Cause(held); errors.Is(cause, lease.ErrLost) {
		return fmt.Errorf("%w: another run took over oss://%s/%s while %s ran", cause, *bucket, prefix, fs.Arg(0))
	}
	return runErr
}
