package localconcourse

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/image"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Service is an HTTP service the supervisor serves inside the namespace (the emulator on the
// bridge, its instance metadata at 100.100.100.200:80).
type Service struct {
	Name    string
	Addr    string
	Handler http.Handler
}

// Inner is what the supervisor runs inside the namespaces.
type Inner struct {
	WorkDir     string
	HostMountNS string // the host's mount namespaces (comma-separated): refuse to mount anything there
	Concourse   string
	Init        string
	Images      string
	Password    string
	// CredVars are values the web's dummy credential manager serves (((name)) in pipelines), so
	// secrets never pass through fly. Given as YAML values without commas.
	CredVars map[string]string
	Services []Service
	Log      io.Writer
}

// containerdConfig is a version 2 config: Debian's containerd 1.6 refuses Concourse's default
// version 3. The rest is Concourse's default.
const containerdConfig = `version = 2
oom_score = -999
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs"]
`

// Supervise sets up the namespace (loopback, the metadata address, tmpfs mounts), starts
// PostgreSQL, the registry (with the pack's images pushed), the services and Concourse, marks the
// state ready, and stops everything when ctx ends or a process dies.
func Supervise(ctx context.Context, in Inner) error {
	mnt, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		return err
	}
	if in.HostMountNS == "" || slices.Contains(strings.Split(in.HostMountNS, ","), mnt) {
		return fmt.Errorf("refusing to run in PID 1's mount namespace (%s): the supervisor mounts tmpfs over /run/containerd; cpi-ci concourse up starts it in its own namespaces", mnt)
	}
	if os.Getpid() != 1 {
		return fmt.Errorf("refusing to run as pid %d: the supervisor must be PID 1 of its own PID namespace, so that everything it starts dies with it", os.Getpid())
	}
	logs := filepath.Join(in.WorkDir, "logs")
	for _, dir := range []string{"/run/containerd", "/var/lib/cni"} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := mountTmpfs(dir); err != nil {
			return fmt.Errorf("mounting tmpfs at %s: %w", dir, err)
		}
	}
	for _, args := range [][]string{{"link", "set", "lo", "up"}, {"addr", "add", MetadataIP + "/32", "dev", "lo"}} {
		if out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, out)
		}
	}
	say(in.Log, "namespace ready: loopback up, %s on lo, tmpfs at /run/containerd and /var/lib/cni\n", MetadataIP)

	// From here on every child is waited for by the reaper (initdb and ip above ran before it).
	reaper := startReaper()
	pg, pgDone, err := startPostgres(ctx, in.WorkDir, logs, reaper)
	if err != nil {
		return err
	}
	defer stopProcess(pg, pgDone, syscall.SIGINT, 20*time.Second)

	if err := os.MkdirAll(filepath.Join(in.WorkDir, "registry"), 0o755); err != nil {
		return err
	}
	reg := &http.Server{Handler: registry.New(registry.WithBlobHandler(registry.NewDiskBlobHandler(filepath.Join(in.WorkDir, "registry"))), registry.Logger(log.New(io.Discard, "", 0))), ReadHeaderTimeout: 30 * time.Second}
	servers := []*http.Server{reg}
	listen := func(name, addr string, srv *http.Server) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("%s: listening on %s: %w", name, addr, err)
		}
		go func() { _ = srv.Serve(ln) }()
		say(in.Log, "%s listening on %s\n", name, addr)
		return nil
	}
	if err := listen("registry", "0.0.0.0:"+RegistryPort, reg); err != nil {
		return err
	}
	for _, s := range in.Services {
		srv := &http.Server{Handler: s.Handler, ReadHeaderTimeout: 30 * time.Second}
		servers = append(servers, srv)
		if err := listen(s.Name, s.Addr, srv); err != nil {
			return err
		}
	}
	defer func() {
		for _, s := range servers {
			_ = s.Close()
		}
	}()
	if err := pushImages(ctx, in.Images, "127.0.0.1:"+RegistryPort, in.Log); err != nil {
		return err
	}

	workDir := filepath.Join(in.WorkDir, "worker")
	if err := os.MkdirAll(workDir, 0o755); err != nil {
		return err
	}
	cfg := filepath.Join(in.WorkDir, "containerd.toml")
	if err := os.WriteFile(cfg, []byte(containerdConfig), 0o644); err != nil {
		return err
	}
	args := []string{"quickstart",
		"--add-local-user=" + User + ":" + in.Password,
		"--main-team-local-user=" + User,
		"--external-url=http://" + WebAddr,
		"--bind-ip=127.0.0.1", "--bind-port=8080",
		"--postgres-host=127.0.0.1", "--postgres-port=5432", "--postgres-user=concourse", "--postgres-database=postgres",
		"--enable-redact-secrets",
		"--worker-work-dir=" + workDir,
		"--worker-runtime=" + Runtime,
		"--worker-containerd-bin=/usr/bin/containerd",
		"--worker-containerd-config=" + cfg,
		"--worker-containerd-init-bin=" + in.Init,
		"--worker-containerd-cni-plugins-dir=/usr/lib/cni",
		"--worker-containerd-external-ip=127.0.0.1",
		"--worker-containerd-mtu=1500",
		"--worker-containerd-dns-server=" + BridgeGateway,
		"--worker-containerd-privileged-mode=fuse-only",
		"--worker-containerd-allow-host-access",
		"--worker-baggageclaim-driver=overlay",
		"--worker-resource-types=" + filepath.Join(in.WorkDir, "resource-types"),
	}
	cc := exec.Command(in.Concourse, args...)
	// The local user's password is on the command line of a process only this namespace's
	// PID space lists; the credential manager's values go through the environment.
	cc.Env = append(os.Environ(), credVarsEnv(in.CredVars)...)
	cclog, err := os.Create(filepath.Join(logs, "concourse.log"))
	if err != nil {
		return err
	}
	defer func() { _ = cclog.Close() }() // concourse's own log, written as it goes
	cc.Stdout, cc.Stderr = cclog, cclog
	if err := cc.Start(); err != nil {
		return fmt.Errorf("starting concourse: %w", err)
	}
	ccDone := make(chan error, 1)
	ccExit := reaper.watch(cc.Process.Pid)
	go func() { ccDone <- <-ccExit }()
	defer stopProcess(cc, ccDone, syscall.SIGTERM, 30*time.Second)

	if err := waitHTTP(ctx, "http://"+WebAddr+"/api/v1/info", 2*time.Minute, ccDone); err != nil {
		return fmt.Errorf("concourse web: %w (see %s)", err, cclog.Name())
	}
	st, err := ReadState(in.WorkDir)
	if err != nil {
		return err
	}
	st.Ready = true
	if err := writeState(in.WorkDir, st); err != nil {
		return err
	}
	say(in.Log, "concourse web answers on %s\n", WebAddr)

	select {
	case <-ctx.Done():
		say(in.Log, "stopping\n")
		return nil
	case err := <-ccDone:
		ccDone <- err
		return fmt.Errorf("concourse exited: %v", err)
	}
}

// credVarsEnv passes the dummy credential manager its variables through the environment, where
// go-flags splits a slice option on commas: values may not hold one.
func credVarsEnv(vars map[string]string) []string {
	if len(vars) == 0 {
		return nil
	}
	var kv []string
	for k, v := range vars {
		if strings.Contains(v, ",") || strings.Contains(k, ",") {
			panic("localconcourse: a credential variable with a comma: " + k)
		}
		kv = append(kv, k+"="+v)
	}
	slices.Sort(kv)
	return []string{"CONCOURSE_DUMMY_CREDS_VAR=" + strings.Join(kv, ",")}
}

func startPostgres(ctx context.Context, workDir, logs string, r *reaper) (*exec.Cmd, chan error, error) {
	pgUser, err := user.Lookup("postgres")
	if err != nil {
		return nil, nil, fmt.Errorf("PostgreSQL refuses to run as root and there is no postgres user: %w", err)
	}
	uid, _ := strconv.Atoi(pgUser.Uid)
	gid, _ := strconv.Atoi(pgUser.Gid)
	cred := &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	data := filepath.Join(workDir, "postgres")
	sock := filepath.Join(workDir, "postgres-socket")
	for _, d := range []string{data, sock} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, nil, err
		}
		if err := os.Chown(d, uid, gid); err != nil {
			return nil, nil, err
		}
	}
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); err != nil {
		initdb := exec.CommandContext(ctx, "initdb", "-D", data, "-U", "concourse", "--auth=trust", "-E", "UTF8", "--no-instructions")
		initdb.SysProcAttr = cred
		if out, err := initdb.CombinedOutput(); err != nil {
			return nil, nil, fmt.Errorf("initdb: %w: %s", err, out)
		}
	}
	pglog, err := os.Create(filepath.Join(logs, "postgres.log"))
	if err != nil {
		return nil, nil, err
	}
	pg := exec.Command("postgres", "-D", data, "-h", "127.0.0.1", "-p", "5432", "-k", sock)
	pg.SysProcAttr = cred
	pg.Stdout, pg.Stderr = pglog, pglog
	if err := pg.Start(); err != nil {
		return nil, nil, fmt.Errorf("starting postgres: %w", err)
	}
	pgDone := make(chan error, 1)
	pgExit := r.watch(pg.Process.Pid)
	go func() { err := <-pgExit; _ = pglog.Close(); pgDone <- err }() // postgres exited: its log is complete
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:5432", time.Second)
		if err == nil {
			_ = c.Close() // a probe: the connection carried nothing
			return pg, pgDone, nil
		}
		if time.Now().After(deadline) {
			return pg, pgDone, fmt.Errorf("postgres does not listen after 30s (see %s)", pglog.Name())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// pushImages pushes every OCI archive of the images dir to the registry as <name>:latest.
func pushImages(ctx context.Context, images, reg string, log io.Writer) error {
	archives, err := filepath.Glob(filepath.Join(images, "*.tar"))
	if err != nil {
		return err
	}
	for _, a := range archives {
		img, cleanup, err := image.ReadArchive(a)
		if err != nil {
			return err
		}
		ref, err := name.ParseReference(reg+"/"+strings.TrimSuffix(filepath.Base(a), ".tar")+":latest", name.Insecure)
		if err != nil {
			cleanup()
			return err
		}
		pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		err = remote.Write(ref, img, remote.WithContext(pctx))
		cancel()
		cleanup()
		if err != nil {
			return fmt.Errorf("pushing %s: %w", ref, err)
		}
		d, _ := img.Digest()
		say(log, "pushed %s@%s\n", ref, d)
	}
	return nil
}

// waitHTTP polls url until it answers 200; an exit on died is put back for the next reader.
func waitHTTP(ctx context.Context, url string, timeout time.Duration, died chan error) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	for {
		resp, err := client.Get(url)
		if err == nil {
			_ = resp.Body.Close() // a probe: only the status counts
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s does not answer after %s", url, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-died:
			died <- err
			return fmt.Errorf("exited: %v", err)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// stopProcess signals a child and kills it if it has not exited in time; done gets its exit.
func stopProcess(cmd *exec.Cmd, done chan error, sig syscall.Signal, grace time.Duration) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	select {
	case err := <-done:
		done <- err // already gone; keep the exit for whoever reads it next
		return
	default:
	}
	_ = cmd.Process.Signal(sig)
	select {
	case err := <-done:
		done <- err
	case <-time.After(grace):
		_ = cmd.Process.Kill()
	}
}
