package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
	"github.com/bosh-alicloud/concourse-pack/lib/localconcourse"
)

const concourseUsage = `usage: cpi-ci concourse up|down|status|fly|exec|build|preflight [flags] [-- args]

  up      build concourse, init and fly (cached), start web + containerd worker + PostgreSQL +
          an OCI registry holding the pack's images + the emulator in private namespaces
  down    stop what up started; fails if mounts remain under the work dir
  status  say whether it runs, its URL, fly target, base types and workers
  fly     run fly against it (target "local"): cpi-ci concourse fly -- execute -c task.yml
  exec    run a command in its network namespace (reaches 127.0.0.1:18090, the registry)
  build   only build concourse, init and fly into the cache
  preflight  refuse (naming what is missing) where up or make images cannot run
`

// emulatorFile is the work dir's emulator account, for pipelines' vars and for tests (0600);
// varsFile the values pipelines need that are not secret, for fly's -l.
const (
	emulatorFile = "emulator.json"
	varsFile     = "vars.yml"
)

// emulatorAccount is what pipelines on the local Concourse use to reach the emulator; the web
// serves its keys as credential variables ((alicloud_access_key_id)), ((alicloud_access_key_secret)).
type emulatorAccount struct {
	AccessKeyID     string `json:"access_key_id"`
	AccessKeySecret string `json:"access_key_secret"`
	Region          string `json:"region"`
	Bucket          string `json:"bucket"`
	Endpoint        string `json:"endpoint"`
	RAMRole         string `json:"ram_role"`
	Registry        string `json:"registry"`
}

func runConcourse(ctx context.Context, args []string, s stdio) error {
	if len(args) == 0 {
		return errors.New(strings.TrimSpace(concourseUsage))
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "up":
		return runConcourseUp(ctx, args, s)
	case "down", "status":
		_, dir, err := workDirFlags(sub, args, s)
		if err != nil {
			return err
		}
		if sub == "down" {
			start := time.Now()
			if err := localconcourse.Down(ctx, dir, s.out); err != nil {
				return err
			}
			return s.printf("down in %s: no process, mount, interface or rule of it is left\n", time.Since(start).Round(100*time.Millisecond))
		}
		return concourseStatus(ctx, dir, s)
	case "fly", "exec":
		fs, dir, err := workDirFlags(sub, args, s)
		if err != nil {
			return err
		}
		if sub == "fly" {
			return localconcourse.FlyTo(ctx, dir, "", s.in, s.out, s.err, fs.Args()...)
		}
		if fs.NArg() == 0 {
			return errors.New("concourse exec: give a command")
		}
		return localconcourse.Exec(ctx, dir, s.out, s.err, fs.Arg(0), fs.Args()[1:]...)
	case "preflight":
		// What make e2e runs first: refuse before building anything where it cannot run.
		if err := localconcourse.Preflight(localconcourse.ThisHost(), localconcourse.Runtime); err != nil {
			return err
		}
		if _, err := exec.LookPath("debootstrap"); err != nil {
			return errors.New("the images need debootstrap (apt-get install debootstrap)")
		}
		return s.printf("preflight: Linux, root, unshare, nsenter, ip, gcc, initdb, postgres and debootstrap are here\n")
	case "build":
		fs := flags("concourse build", s)
		repo := fs.String("repo", ".", "the repository (tools/concourse and tools/fly pin the binaries)")
		cache := fs.String("cache", defaultCacheDir(), "cache of the built concourse, init and fly")
		if err := fs.Parse(args); err != nil {
			return err
		}
		start := time.Now()
		bin, err := localconcourse.EnsureBinaries(ctx, *repo, *cache, s.out)
		if err != nil {
			return err
		}
		return s.printf("concourse %s\ninit      %s\nfly       %s\n(ready in %s)\n", bin.Concourse, bin.Init, bin.Fly, time.Since(start).Round(100*time.Millisecond))
	case "supervise":
		return runConcourseSupervise(ctx, args, s)
	}
	return fmt.Errorf("concourse: unknown subcommand %q\n%s", sub, concourseUsage)
}

func runConcourseUp(ctx context.Context, args []string, s stdio) error {
	fs := flags("concourse up", s)
	workDir := fs.String("work-dir", "out/concourse", "work dir: logs, PostgreSQL, worker volumes, registry blobs, state")
	repo := fs.String("repo", ".", "the repository (tools/concourse and tools/fly pin the binaries)")
	images := fs.String("images", "out/images", "make images' output: OCI archives and resource-types/")
	cache := fs.String("cache", defaultCacheDir(), "cache of the built concourse, init and fly")
	workerRuntime := fs.String("runtime", localconcourse.Runtime, "worker runtime; only containerd is accepted")
	var types multiFlag
	fs.Var(&types, "resource-types", "a dir of more base types (<type>/{resource_metadata.json,rootfs.tgz}); repeatable (default ../shared/concourse-resource-types when it exists)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := localconcourse.Preflight(localconcourse.ThisHost(), *workerRuntime); err != nil {
		return err
	}
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			return p
		}
		return a
	}
	if len(types) == 0 {
		if shared := abs(filepath.Join(*repo, "..", "shared", "concourse-resource-types")); isDir(shared) {
			types = append(types, shared)
		}
	}
	for i := range types {
		types[i] = abs(types[i])
	}
	start := time.Now()
	if err := localconcourse.EnsurePackages(ctx, s.out); err != nil {
		return err
	}
	bin, err := localconcourse.EnsureBinaries(ctx, abs(*repo), *cache, s.out)
	if err != nil {
		return err
	}
	built := time.Since(start)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	dir := abs(*workDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	account := emulatorAccount{
		AccessKeyID: "LTAIlocal" + randomString(8), AccessKeySecret: randomString(30),
		Region: "cn-hangzhou", Bucket: "concourse-pack", Endpoint: "http://" + localconcourse.BridgeGateway + ":18090",
		RAMRole: "ConcourseWorker", Registry: localconcourse.Registry,
	}
	raw, _ := json.MarshalIndent(account, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, emulatorFile), append(raw, '\n'), 0o600); err != nil {
		return err
	}
	// The rest of what pipelines need is no secret: a vars file for fly's -l.
	vars := fmt.Sprintf("registry: %q\nalicloud_region: %q\nalicloud_bucket: %q\nalicloud_endpoint: %q\n"+
		"# the source of every pack task's image_resource (tasks/vars.example.yml): images/task in the registry\n"+
		"task_image: {repository: %q, tag: latest, insecure: true}\n",
		account.Registry, account.Region, account.Bucket, account.Endpoint, account.Registry+"/task")
	if err := os.WriteFile(filepath.Join(dir, varsFile), []byte(vars), 0o644); err != nil {
		return err
	}
	upStart := time.Now()
	st, err := localconcourse.Up(ctx, localconcourse.Config{
		WorkDir: dir, Bin: bin, Images: abs(*images), ResourceTypes: types, Runtime: *workerRuntime,
		Self: self, Log: s.out,
	})
	if err != nil {
		return err
	}
	return s.printf("local Concourse %s up in %s (binaries ready in %s)\n"+
		"  URL      %s (inside its network namespace; user %s, password in %s)\n"+
		"  fly      cpi-ci concourse fly --work-dir %s -- <fly args>   (target %q)\n"+
		"  registry %s (insecure) holds the pack's images; base types: %s\n"+
		"  emulator %s, metadata http://%s; ((alicloud_access_key_id)) and ((alicloud_access_key_secret)) from the credential manager\n"+
		"  vars     %s (registry, alicloud_region, alicloud_bucket, alicloud_endpoint, task_image): fly set-pipeline or fly execute -l it\n",
		localconcourse.Version, time.Since(upStart).Round(100*time.Millisecond), built.Round(100*time.Millisecond),
		st.URL, localconcourse.User, filepath.Join(dir, "state.json"),
		dir, localconcourse.Target,
		localconcourse.Registry, strings.Join(localconcourse.Types(dir), ", "),
		account.Endpoint, localconcourse.MetadataIP,
		filepath.Join(dir, varsFile))
}

func concourseStatus(ctx context.Context, dir string, s stdio) error {
	st, ok := localconcourse.Running(dir)
	if !ok {
		if err := s.printf("not running (%s)\n", dir); err != nil {
			return err
		}
		return errors.New("the local Concourse is not running")
	}
	out, err := localconcourse.Fly(ctx, dir, "", "workers")
	if werr := s.printf("running: unshare pid %d, URL %s, fly target %q, registry %s\nbase types: %s\n%s",
		st.UnsharePID, st.URL, localconcourse.Target, localconcourse.Registry, strings.Join(localconcourse.Types(dir), ", "), out); werr != nil {
		return werr
	}
	return err
}

// runConcourseSupervise is what up runs inside the new namespaces (not for direct use).
func runConcourseSupervise(ctx context.Context, args []string, s stdio) error {
	fs := flags("concourse supervise", s)
	workDir := fs.String("work-dir", "", "")
	hostMnt := fs.String("host-mount-ns", "", "")
	cc := fs.String("concourse", "", "")
	initBin := fs.String("init", "", "")
	images := fs.String("images", "", "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	raw, err := os.ReadFile(filepath.Join(*workDir, emulatorFile))
	if err != nil {
		return err
	}
	var account emulatorAccount
	if err := json.Unmarshal(raw, &account); err != nil {
		return err
	}
	emuLog, err := os.Create(filepath.Join(*workDir, "logs", "emulator.log"))
	if err != nil {
		return err
	}
	defer func() { _ = emuLog.Close() }() // the emulator's debug log, written line by line as it goes
	srv, err := sim.New(sim.Config{
		Credentials:   []sim.Credential{{AccessKeyID: account.AccessKeyID, AccessKeySecret: account.AccessKeySecret}},
		DataDir:       filepath.Join(*workDir, "emulator"),
		DefaultRegion: account.Region,
		RAMRoles:      []string{account.RAMRole},
		Logger:        slog.New(slog.NewTextHandler(emuLog, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		return err
	}
	defer func() { _ = srv.Close() }() // its data dir is the work dir's; down removes it
	if err := srv.CreateBucket(sim.Bucket{Name: account.Bucket, Region: account.Region}); err != nil {
		return err
	}
	return localconcourse.Supervise(ctx, localconcourse.Inner{
		WorkDir: *workDir, HostMountNS: *hostMnt, Concourse: *cc, Init: *initBin, Images: *images,
		Password: os.Getenv("CPI_CI_CONCOURSE_PASSWORD"),
		// Only the keys: Concourse redacts every credential value from build logs.
		CredVars: map[string]string{
			"alicloud_access_key_id": account.AccessKeyID, "alicloud_access_key_secret": account.AccessKeySecret,
		},
		Services: []localconcourse.Service{
			{Name: "emulator", Addr: "0.0.0.0:18090", Handler: srv},
			{Name: "instance metadata", Addr: localconcourse.MetadataIP + ":80", Handler: srv},
		},
		Log: s.out,
	})
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func isDir(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.IsDir()
}

func randomString(n int) string {
	const letters = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return string(b)
}

// workDirFlags parses the flags of a subcommand that takes only --work-dir, returning the flag
// set (for its other arguments) and the work dir made absolute.
func workDirFlags(sub string, args []string, s stdio) (*flag.FlagSet, string, error) {
	fs := flags("concourse "+sub, s)
	workDir := fs.String("work-dir", "out/concourse", "the local Concourse's work dir")
	if err := fs.Parse(args); err != nil {
		return nil, "", err
	}
	dir, err := filepath.Abs(*workDir)
	return fs, dir, err
}
