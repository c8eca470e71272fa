package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/localconcourse"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/records"
)

// demoMarker marks a work directory as the demo's own, so a rerun may wipe it and nothing else.
const demoMarker = ".cpi-ci-demo"

// demoImages are the images the demo's pipelines run: make images and make e2e-images.
var demoImages = []string{"task", "task-demo", "bosh-release-resource", "light-stemcell-resource", "director-env-resource", "director-env-resource-e2e"}

// defaultDemoPipelines run in this order: the directors deploy the mirrored releases, and the CPI
// pipeline's directors need light stemcells.
var defaultDemoPipelines = []string{"mirror=pipelines/mirror.yml", "light-stemcells=pipelines/light-stemcells.yml", "cpi=pipelines/cpi.yml"}

// Bounds of the demo's waits.
const (
	demoPoll        = 3 * time.Second
	demoAutoGrace   = 45 * time.Second // a job with a trigger that has not started by then is triggered
	demoFlyTimeout  = 2 * time.Minute  // one fly command (but trigger-job -w and watch: the demo's deadline)
	demoGitStartup  = 15 * time.Second
	demoDownTimeout = 2 * time.Minute
)

// runDemo runs the pack's pipelines end to end on the local Concourse: it serves their external
// inputs as git repositories, sets each pipeline unchanged with fly, triggers and waits for every
// job in dependency order, prints a summary, and stops its Concourse whatever happened.
func runDemo(ctx context.Context, args []string, s stdio) error {
	if len(args) > 0 && args[0] == "records" {
		return runDemoRecords(ctx, args[1:], s)
	}
	fs := flags("demo", s)
	workDir := fs.String("work-dir", "out/demo", "directory for the demo's files (wiped on each run): repos, Concourse, transcript")
	repo := fs.String("repo", ".", "this repository: pipelines, tasks, the tools' modules; concourse-pack.git is its HEAD")
	images := fs.String("images", "out/images", "make images' and make e2e-images' output")
	resourceTypes := fs.String("resource-types", "", "Concourse's own base types (git, registry-image, time, ...): the resource-types/ folder of a Concourse distribution (default ../shared/concourse-resource-types beside the repository)")
	varsFile := fs.String("vars", "pipelines/vars/demo.yml", "the demo's vars file, given to fly before the local Concourse's vars.yml")
	timeout := fs.Duration("timeout", 10*time.Minute, "bound for the whole demo once the images and Concourse are built (its down comes after, bounded on its own)")
	var pipelines multiFlag
	fs.Var(&pipelines, "pipeline", "NAME=FILE, repeatable, run in the order given (default "+strings.Join(defaultDemoPipelines, ", ")+")")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("demo: unexpected arguments %q", fs.Args())
	}
	if err := workDirRefusal(*workDir); err != nil {
		return err
	}
	root, err := filepath.Abs(*repo)
	if err != nil {
		return err
	}
	inRepo := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(root, p)
	}
	types := *resourceTypes
	if types == "" {
		types = filepath.Join(root, "..", "shared", "concourse-resource-types")
	}
	if types, err = filepath.Abs(types); err != nil {
		return err
	}
	if len(pipelines) == 0 {
		pipelines = defaultDemoPipelines
	}
	plan, err := planDemo(pipelines, inRepo)
	if err != nil {
		return err
	}
	vars := inRepo(*varsFile)
	if err := demoPreflight(types, vars, inRepo(*images)); err != nil {
		return err
	}
	dir, err := prepareWorkDir(*workDir)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	d := &demoRun{ctx: ctx, s: s, dir: dir, repo: root, concourse: filepath.Join(dir, "concourse"), start: time.Now()}
	transcript, err := os.Create(filepath.Join(dir, "demo-transcript.txt"))
	if err != nil {
		return err
	}
	defer func() { _ = transcript.Close() }() // written command by command; what is in it stays
	d.transcript = transcript

	d.say("making the external inputs: git repositories under %s", filepath.Join(dir, "git"))
	repos := &demoRepos{ctx: ctx, base: filepath.Join(dir, "git"), scratch: filepath.Join(dir, "scratch"), home: filepath.Join(dir, "home"), repo: root}
	commits, err := repos.makeAll()
	if err != nil {
		return err
	}
	for _, name := range sortedKeys(boolSet(commits)) {
		d.say("  %s.git %s", name, commits[name][:12])
	}

	d.say("starting the local Concourse in %s", d.concourse)
	upErr := runConcourseUp(ctx, []string{"--work-dir", d.concourse, "--repo", root, "--images", inRepo(*images), "--resource-types", types}, s)
	defer d.down()
	if upErr != nil {
		return fmt.Errorf("demo: starting the local Concourse: %w", upErr)
	}
	stopGit, err := d.gitDaemon(repos.base)
	if err != nil {
		return err
	}
	defer stopGit()
	flyVars, err := d.writeVars()
	if err != nil {
		return err
	}

	var summary demoSummary
	for _, p := range plan {
		builds, err := d.runPipeline(p, vars, flyVars)
		if err != nil {
			// The next pipeline still runs: the summary tells the whole outcome.
			d.say("pipeline %s: %v", p.Name, err)
			builds = append(builds, demoBuild{Pipeline: p.Name, Job: "(set-pipeline)", Status: "errored: " + firstLine(err.Error())})
		}
		summary.Builds = append(summary.Builds, builds...)
	}
	// The facts are read even after the deadline, within a bound of their own.
	factsCtx, cancelFacts := context.WithTimeout(context.WithoutCancel(ctx), demoFlyTimeout)
	defer cancelFacts()
	d.ctx = factsCtx
	for _, p := range plan {
		rs, stemcells := d.resourceFacts(p)
		summary.Resources = append(summary.Resources, rs...)
		summary.Stemcells = append(summary.Stemcells, stemcells...)
	}
	summary.Elapsed = time.Since(d.start)
	if err := summary.Render(s.out); err != nil {
		return err
	}
	d.say("fly transcript: %s", transcript.Name())
	if failed := summary.Failed(); len(failed) > 0 {
		return fmt.Errorf("demo: %d of %d jobs did not succeed: %s", len(failed), len(summary.Builds), strings.Join(failed, ", "))
	}
	return nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func boolSet(m map[string]string) map[string]bool {
	b := map[string]bool{}
	for k := range m {
		b[k] = true
	}
	return b
}

// demoPlanned is one pipeline to run: its name, file, parsed config and job order.
type demoPlanned struct {
	Name, File string
	Pipeline   demoPipeline
	Order      []string
}

// planDemo reads every pipeline before anything starts, so a missing file or a cycle is told at once.
func planDemo(specs []string, inRepo func(string) string) ([]demoPlanned, error) {
	var plan []demoPlanned
	var problems []string
	for _, spec := range specs {
		name, file, ok := strings.Cut(spec, "=")
		if !ok || name == "" || file == "" {
			problems = append(problems, fmt.Sprintf("--pipeline %q is not NAME=FILE", spec))
			continue
		}
		file = inRepo(file)
		data, err := os.ReadFile(file)
		if err != nil {
			problems = append(problems, fmt.Sprintf("pipeline %s: %v", name, err))
			continue
		}
		p, err := parseDemoPipeline(data)
		if err == nil && len(p.Jobs) == 0 {
			err = errors.New("it has no jobs")
		}
		var order []string
		if err == nil {
			order, err = jobOrder(p.Jobs)
		}
		if err != nil {
			problems = append(problems, fmt.Sprintf("pipeline %s (%s): %v", name, file, err))
			continue
		}
		plan = append(plan, demoPlanned{Name: name, File: file, Pipeline: p, Order: order})
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("demo: %s", strings.Join(problems, "; "))
	}
	return plan, nil
}

// demoPreflight refuses, naming everything missing, before the demo starts anything.
func demoPreflight(types, vars, images string) error {
	var problems []string
	if !isDir(types) {
		problems = append(problems, fmt.Sprintf("the resource-types dir %s is missing: the demo needs Concourse's own base types (git, registry-image, time); give it with --resource-types DIR (the resource-types/ folder of a Concourse distribution)", types))
	} else {
		for _, t := range []string{"git", "registry-image"} {
			if !isDir(filepath.Join(types, t)) {
				problems = append(problems, fmt.Sprintf("the resource-types dir %s has no %s type", types, t))
			}
		}
	}
	if _, err := os.Stat(vars); err != nil {
		problems = append(problems, fmt.Sprintf("the vars file %s is missing (--vars)", vars))
	}
	var missing []string
	for _, image := range demoImages {
		if _, err := os.Stat(filepath.Join(images, image+".tar")); err != nil {
			missing = append(missing, image)
		}
	}
	if len(missing) > 0 {
		problems = append(problems, fmt.Sprintf("images %s are not in %s (make images e2e-images)", strings.Join(missing, ", "), images))
	}
	for _, tool := range []string{"fly", "bosh", "git", "tar"} {
		if _, err := exec.LookPath(tool); err != nil {
			problems = append(problems, fmt.Sprintf("%s is not on PATH (make tools puts bosh and fly in bin/; make demo puts bin/ on PATH)", tool))
		}
	}
	if out, err := exec.Command("pgrep", "-f", "concourse (web|worker|quickstart)").Output(); err == nil && len(out) > 0 {
		problems = append(problems, "a Concourse runs on this machine already (pgrep -af 'concourse (web|worker|quickstart)'): the local Concourses share the 10.80.0.0/16 bridge; stop it first")
	}
	if len(problems) > 0 {
		return fmt.Errorf("demo: %s", strings.Join(problems, "; "))
	}
	return nil
}

// workDirRefusal refuses a work dir that is not empty and not the demo's, before anything starts.
func workDirRefusal(path string) error {
	dir, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err == nil && len(entries) > 0 {
		if _, err := os.Stat(filepath.Join(dir, demoMarker)); err != nil {
			return fmt.Errorf("work dir %s is not empty and was not made by the demo; choose another with --work-dir", dir)
		}
	}
	return nil
}

func prepareWorkDir(path string) (string, error) {
	if err := workDirRefusal(path); err != nil {
		return "", err
	}
	dir, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return "", err
	case len(entries) > 0:
		if _, running := localconcourse.Running(filepath.Join(dir, "concourse")); running {
			return "", fmt.Errorf("the demo's Concourse in %s still runs: cpi-ci concourse down --work-dir %s", dir, filepath.Join(dir, "concourse"))
		}
		if mounts, err := localconcourse.MountsUnder(dir); err != nil || len(mounts) > 0 {
			return "", fmt.Errorf("work dir %s still has mounts %v (%v): cpi-ci concourse down --work-dir %s", dir, mounts, err, filepath.Join(dir, "concourse"))
		}
		if err := os.RemoveAll(dir); err != nil {
			return "", err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// The worker's volumes hold whole Go trees (the task image's /usr/local/go): a module of its
	// own keeps the work dir out of the pack's ./... patterns wherever it is.
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module demo\n"), 0o644); err != nil {
		return "", err
	}
	return dir, os.WriteFile(filepath.Join(dir, demoMarker), nil, 0o644)
}

// demoRun is one run of the demo.
type demoRun struct {
	ctx        context.Context
	s          stdio
	dir        string
	repo       string
	concourse  string // the local Concourse's work dir
	start      time.Time
	transcript io.Writer
	mu         sync.Mutex // the transcript and the terminal
	lastPoll   map[string]string
}

// say prints a progress line with the time since the start. The narration is best effort: the
// demo's outcome is its exit status, so a line that cannot be written does not stop it.
func (d *demoRun) say(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	el := time.Since(d.start).Round(time.Second)
	_, _ = fmt.Fprintf(d.s.out, "[%02d:%02d] %s\n", int(el.Minutes()), int(el.Seconds())%60, fmt.Sprintf(format, args...)) // best effort (above)
}

// fly runs fly against the demo's Concourse, bounded by timeout (0: the demo's deadline), and
// writes the command and its output to the transcript.
func (d *demoRun) fly(timeout time.Duration, args ...string) (string, error) {
	ctx := d.ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var out syncBuffer
	start := time.Now()
	err := localconcourse.FlyTo(ctx, d.concourse, d.repo, nil, &out, &out, args...)
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	d.mu.Lock()
	status := "ok"
	if err != nil {
		status = err.Error()
	}
	_, _ = fmt.Fprintf(d.transcript, "$ fly -t %s %s   # %s, %s\n%s\n", localconcourse.Target, strings.Join(args, " "),
		time.Since(start).Round(100*time.Millisecond), status, settled(out.String())) // best effort: the transcript is a record
	d.mu.Unlock()
	if err != nil {
		return out.String(), fmt.Errorf("fly %s: %w\n%s", strings.Join(args, " "), err, lastLines(out.String(), 20))
	}
	return out.String(), nil
}

// settled is output as a terminal leaves it: of a line redrawn with carriage returns (git's
// progress), only what was drawn last.
func settled(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if j := strings.LastIndex(strings.TrimRight(l, "\r"), "\r"); j >= 0 {
			lines[i] = l[j+1:]
		}
	}
	return strings.Join(lines, "\n")
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// syncBuffer is a buffer fly's stdout and stderr write to at once.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// down stops the demo's Concourse (with it the git daemon's namespace), on success and failure.
func (d *demoRun) down() {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(d.ctx), demoDownTimeout)
	defer cancel()
	d.say("stopping the local Concourse")
	if err := localconcourse.Down(ctx, d.concourse, d.s.out); err != nil {
		d.say("cpi-ci concourse down --work-dir %s failed: %v", d.concourse, err)
		return
	}
	// Nothing is mounted under it any more (down checks): the worker's volumes, the registry's
	// blobs and the database go (gigabytes); the logs and the state stay for a look afterwards.
	for _, big := range []string{"worker", "registry", "postgres"} {
		if err := os.RemoveAll(filepath.Join(d.concourse, big)); err != nil {
			d.say("removing %s: %v", filepath.Join(d.concourse, big), err)
		}
	}
	d.say("the local Concourse is down: no process, mount, interface or rule of it is left; its logs are in %s", filepath.Join(d.concourse, "logs"))
}

// gitDaemon serves base's repositories at git://10.80.0.1:9418/<name>.git inside the
// Concourse's network namespace (receive-pack on, for pipelines' git puts), and returns its stop.
func (d *demoRun) gitDaemon(base string) (func(), error) {
	args := []string{"daemon", "--export-all", "--reuseaddr", "--enable=receive-pack", "--verbose",
		"--base-path=" + base, "--port=" + demoGitPort}
	// The CNI bridge (10.80.0.1) exists once the worker has made a container; before that the
	// daemon listens on every address of the namespace, which only its containers reach.
	var addrs strings.Builder
	if err := localconcourse.Exec(d.ctx, d.concourse, &addrs, io.Discard, "ip", "-o", "-4", "addr", "show"); err == nil &&
		strings.Contains(addrs.String(), " "+localconcourse.BridgeGateway+"/") {
		args = append(args, "--listen="+localconcourse.BridgeGateway)
	}
	cmd, err := localconcourse.Command(context.WithoutCancel(d.ctx), d.concourse, "git", args...)
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(d.dir, "git-daemon.log"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		_ = logFile.Close() // nothing was written
		return nil, fmt.Errorf("starting git daemon: %w", err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM) // it may have exited; Wait tells
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill() // it ignored SIGTERM
			<-exited
		}
		_ = logFile.Close() // the log is complete once the daemon is gone
	}
	deadline := time.Now().Add(demoGitStartup)
	for {
		err := localconcourse.Exec(d.ctx, d.concourse, io.Discard, io.Discard, "git", "ls-remote", "git://127.0.0.1:"+demoGitPort+"/bats.git")
		if err == nil {
			break
		}
		select {
		case <-exited:
			stop()
			return nil, fmt.Errorf("git daemon exited: %v (see %s)", waitErr, logFile.Name())
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("git daemon did not answer within %s: %v (see %s)", demoGitStartup, err, logFile.Name())
		}
		time.Sleep(300 * time.Millisecond)
	}
	d.say("git daemon serves %s at git://%s:%s/<name>.git", base, localconcourse.BridgeGateway, demoGitPort)
	return stop, nil
}

// writeVars writes <work>/vars.yml: the local Concourse's vars with the demo's images (the task
// image's demo variant with the director and BATs doubles, the director-env type's with the
// create-env double).
func (d *demoRun) writeVars() (string, error) {
	raw, err := os.ReadFile(filepath.Join(d.concourse, varsFile))
	if err != nil {
		return "", err
	}
	vars := map[string]any{}
	if err := yaml.Unmarshal(raw, &vars); err != nil {
		return "", fmt.Errorf("the local Concourse's %s: %w", varsFile, err)
	}
	image := func(name string) map[string]any {
		return map[string]any{"repository": localconcourse.Registry + "/" + name, "tag": "latest", "insecure": true}
	}
	vars["task_image"] = image("task-demo")
	vars["director_env_resource_image"] = image("director-env-resource-e2e")
	vars["light_stemcell_resource_image"] = image("light-stemcell-resource")
	vars["bosh_release_resource_image"] = image("bosh-release-resource")
	out, err := yaml.Marshal(vars)
	if err != nil {
		return "", err
	}
	path := filepath.Join(d.dir, varsFile)
	return path, os.WriteFile(path, append([]byte("# the local Concourse's vars with the demo's images (cpi-ci demo)\n"), out...), 0o644)
}

// flyBuild is a build as fly builds --json prints it.
type flyBuild struct {
	Name      string `json:"name"`
	Status    string `json:"status"`
	JobName   string `json:"job_name"`
	StartTime int64  `json:"start_time"`
	EndTime   int64  `json:"end_time"`
}

func (b flyBuild) finished() bool {
	switch b.Status {
	case "succeeded", "failed", "errored", "aborted":
		return true
	}
	return false
}

func (b flyBuild) duration() time.Duration {
	if b.StartTime == 0 || b.EndTime < b.StartTime {
		return 0
	}
	return time.Duration(b.EndTime-b.StartTime) * time.Second
}

// firstBuilds is the first build of every job (the lowest build number).
func firstBuilds(builds []flyBuild) map[string]flyBuild {
	first := map[string]flyBuild{}
	for _, b := range builds {
		if f, ok := first[b.JobName]; !ok || buildNumber(b.Name) < buildNumber(f.Name) {
			first[b.JobName] = b
		}
	}
	return first
}

func buildNumber(name string) int {
	n := 0
	for _, c := range name {
		if c < '0' || c > '9' {
			break // reruns are named 3.1: the number before the dot
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// runPipeline sets a pipeline unchanged, unpauses it, and waits for each job's first build in
// dependency order: manual jobs are triggered with fly trigger-job -w once their upstream jobs
// succeeded; jobs with a trigger are left to Concourse, and triggered only if they have not
// started demoAutoGrace after they could. It returns every job's outcome.
func (d *demoRun) runPipeline(p demoPlanned, vars, flyVars string) ([]demoBuild, error) {
	d.say("pipeline %s: fly set-pipeline -c %s -l %s -l %s", p.Name, p.File, vars, flyVars)
	if _, err := d.fly(demoFlyTimeout, "set-pipeline", "-n", "-p", p.Name, "-c", p.File, "-l", vars, "-l", flyVars); err != nil {
		return nil, err
	}
	if _, err := d.fly(demoFlyTimeout, "unpause-pipeline", "-p", p.Name); err != nil {
		return nil, err
	}
	d.say("pipeline %s: %d jobs in order %s", p.Name, len(p.Order), strings.Join(p.Order, " → "))
	jobs := map[string]demoJob{}
	for _, j := range p.Pipeline.Jobs {
		jobs[j.Name] = j
	}
	type state struct {
		readySince time.Time
		triggered  bool
		seen       string // the build being waited for
		done       *demoBuild
	}
	states := map[string]*state{}
	for _, name := range p.Order {
		states[name] = &state{}
	}
	var triggers sync.WaitGroup
	defer triggers.Wait()
	var lastPoll string
	lastBeat := time.Now()
	for {
		out, err := d.flyQuiet("builds", "-p", p.Name, "--json", "--count", "500")
		var builds []flyBuild
		if err == nil {
			if jerr := json.Unmarshal([]byte(out), &builds); jerr != nil {
				err = fmt.Errorf("fly builds --json: %w", jerr)
			}
		}
		if err != nil && out != lastPoll {
			d.say("pipeline %s: %v (retrying)", p.Name, err)
		}
		lastPoll = out
		first := firstBuilds(builds)
		pending := 0
		for _, name := range p.Order {
			st, job := states[name], jobs[name]
			if st.done != nil {
				continue
			}
			blocked, waiting := "", false
			for _, a := range job.After {
				if a == name {
					continue
				}
				switch dep := states[a].done; {
				case dep == nil:
					waiting = true
				case dep.Status != "succeeded":
					blocked = a
				}
			}
			if blocked != "" {
				st.done = &demoBuild{Pipeline: p.Name, Job: name, Status: "not run (" + blocked + " did not succeed)"}
				d.say("%s/%s: not run: %s did not succeed", p.Name, name, blocked)
				continue
			}
			if waiting {
				pending++
				continue
			}
			if st.readySince.IsZero() {
				st.readySince = time.Now()
			}
			if b, ok := first[name]; ok {
				if st.seen == "" {
					st.seen = b.Name
					d.say("%s/%s: build %s %s", p.Name, name, b.Name, b.Status)
				}
				if b.finished() {
					st.done = &demoBuild{Pipeline: p.Name, Job: name, Build: b.Name, Status: b.Status, Duration: b.duration()}
					d.say("%s/%s: build %s %s in %s", p.Name, name, b.Name, b.Status, b.duration())
					// The build's log, for the transcript.
					_, _ = d.fly(demoFlyTimeout, "watch", "-j", p.Name+"/"+name, "-b", b.Name) // its status is known already
					continue
				}
				pending++
				continue
			}
			pending++
			if !st.triggered && (job.Manual() || time.Since(st.readySince) > demoAutoGrace) {
				st.triggered = true
				why := "manual job"
				if !job.Manual() {
					why = fmt.Sprintf("no build %s after it could start (triggers: %s)", demoAutoGrace, strings.Join(job.Triggers, ", "))
				}
				d.say("%s/%s: fly trigger-job -w (%s)", p.Name, name, why)
				triggers.Add(1)
				go func() {
					defer triggers.Done()
					_, _ = d.fly(0, "trigger-job", "-j", p.Name+"/"+name, "-w") // the poll above reads its outcome
				}()
			}
		}
		if pending == 0 {
			break
		}
		if time.Since(lastBeat) >= 30*time.Second {
			lastBeat = time.Now()
			var running []string
			for _, name := range p.Order {
				if b, ok := first[name]; ok && states[name].done == nil {
					running = append(running, name+" ("+b.Status+")")
				}
			}
			if len(running) > 0 {
				d.say("pipeline %s: waiting for %s", p.Name, strings.Join(running, ", "))
			}
		}
		select {
		case <-d.ctx.Done():
			var results []demoBuild
			for _, name := range p.Order {
				if st := states[name]; st.done != nil {
					results = append(results, *st.done)
				} else {
					status := "timed out waiting"
					if b, ok := first[name]; ok {
						status = "timed out (" + b.Status + ")"
					}
					results = append(results, demoBuild{Pipeline: p.Name, Job: name, Build: st.seen, Status: status})
				}
			}
			d.say("pipeline %s: the demo's deadline passed", p.Name)
			return results, nil
		case <-time.After(demoPoll):
		}
	}
	var results []demoBuild
	for _, name := range p.Order {
		results = append(results, *states[name].done)
	}
	return results, nil
}

// flyQuiet is fly for polls: the transcript gets the output only when it changed.
func (d *demoRun) flyQuiet(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(d.ctx, demoFlyTimeout)
	defer cancel()
	var out syncBuffer
	err := localconcourse.FlyTo(ctx, d.concourse, d.repo, nil, &out, &out, args...)
	key := strings.Join(args, " ")
	d.mu.Lock()
	if d.lastPoll == nil {
		d.lastPoll = map[string]string{}
	}
	if d.lastPoll[key] != out.String() || err != nil {
		_, _ = fmt.Fprintf(d.transcript, "$ fly -t %s %s   # %v\n%s\n", localconcourse.Target, key, flyStatus(err), out.String()) // best effort: a record
	}
	d.lastPoll[key] = out.String()
	d.mu.Unlock()
	return out.String(), err
}

func flyStatus(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// resourceFacts reads the versions of the pipeline's resources of the pack's types, and for
// each light stemcell resource the records of its line: the image per region.
func (d *demoRun) resourceFacts(p demoPlanned) ([]demoResourceVersions, []demoStemcell) {
	var facts []demoResourceVersions
	for _, r := range p.Pipeline.Resources {
		switch r.Type {
		case "alicloud-light-stemcell", "bosh-release", "bosh-director-env":
		default:
			continue
		}
		out, err := d.fly(demoFlyTimeout, "resource-versions", "-r", p.Name+"/"+r.Name, "--json", "--count", "20")
		if err != nil {
			d.say("%s/%s: %v", p.Name, r.Name, err)
			continue
		}
		var versions []struct {
			Version  map[string]string `json:"version"`
			Metadata []struct {
				Name  string `json:"name"`
				Value string `json:"value"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal([]byte(out), &versions); err != nil {
			d.say("%s/%s: fly resource-versions --json: %v", p.Name, r.Name, err)
			continue
		}
		f := demoResourceVersions{Pipeline: p.Name, Resource: r.Name, Type: r.Type}
		for i := len(versions) - 1; i >= 0; i-- { // fly lists the newest first
			v := demoVersion{Version: versions[i].Version}
			for _, m := range versions[i].Metadata {
				v.Metadata = append(v.Metadata, [2]string{m.Name, m.Value})
			}
			f.Versions = append(f.Versions, v)
		}
		facts = append(facts, f)
	}
	return facts, d.stemcellRecords(p)
}

// stemcellRecords reads, inside the namespace (where the emulator is), the records of every
// light stemcell line the pipeline's resources name, with the sources fly set (vars filled in).
func (d *demoRun) stemcellRecords(p demoPlanned) []demoStemcell {
	out, err := d.fly(demoFlyTimeout, "get-pipeline", "-p", p.Name, "--json")
	if err != nil {
		d.say("pipeline %s: %v", p.Name, err)
		return nil
	}
	var config struct {
		Resources []struct {
			Type   string         `json:"type"`
			Source map[string]any `json:"source"`
		} `json:"resources"`
	}
	if err := json.Unmarshal([]byte(out), &config); err != nil {
		d.say("pipeline %s: fly get-pipeline --json: %v", p.Name, err)
		return nil
	}
	seen := map[string]bool{}
	var all []demoStemcell
	for _, r := range config.Resources {
		if r.Type != "alicloud-light-stemcell" {
			continue
		}
		str := func(k string) string { s, _ := r.Source[k].(string); return s }
		args := []string{"demo", "records", "--stemcell", str("stemcell"), "--region", str("region"), "--bucket", str("bucket"),
			"--prefix", str("prefix"), "--ram-role", str("ram_role"),
			// the emulator as the namespace reaches it, whatever the bridge
			"--oss-endpoint", "http://127.0.0.1:18090", "--ecs-endpoint", "http://127.0.0.1:18090"}
		key := strings.Join(args, " ")
		if seen[key] || str("stemcell") == "" {
			continue
		}
		seen[key] = true
		self, err := os.Executable()
		if err != nil {
			d.say("records: %v", err)
			continue
		}
		cmd, err := localconcourse.Command(d.ctx, d.concourse, self, args...)
		if err != nil {
			d.say("records: %v", err)
			continue
		}
		// Without a RAM role in the source, the emulator account (what the web's credential
		// manager gives pipelines for ((alicloud_access_key_id)) and its secret).
		cmd.Env = os.Environ()
		if raw, err := os.ReadFile(filepath.Join(d.concourse, emulatorFile)); err == nil {
			var account emulatorAccount
			if json.Unmarshal(raw, &account) == nil {
				cmd.Env = append(cmd.Env, "ALIBABA_CLOUD_ACCESS_KEY_ID="+account.AccessKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET="+account.AccessKeySecret)
			}
		}
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			d.say("light stemcell records of %s: %v\n%s", str("stemcell"), err, stderr.String())
			continue
		}
		var got []demoStemcell
		if err := json.Unmarshal([]byte(stdout.String()), &got); err != nil {
			d.say("light stemcell records of %s: %v", str("stemcell"), err)
			continue
		}
		all = append(all, got...)
	}
	return all
}

// runDemoRecords prints, as JSON, every light stemcell version of a line on both channels with
// its image per region (what the summary shows); the demo runs it inside the namespace.
func runDemoRecords(ctx context.Context, args []string, s stdio) error {
	fs := flags("demo records", s)
	var cloud alicloud.Cloud
	fs.StringVar(&cloud.Region, "region", "", "the bucket's region")
	fs.StringVar(&cloud.Bucket, "bucket", "", "the records' bucket")
	fs.StringVar(&cloud.Prefix, "prefix", "", "the source's prefix")
	fs.StringVar(&cloud.OSSEndpoint, "oss-endpoint", "", "OSS endpoint override")
	fs.StringVar(&cloud.ECSEndpoint, "ecs-endpoint", "", "ECS endpoint override")
	fs.StringVar(&cloud.RAMRole, "ram-role", "", "the ECS RAM role (else ALIBABA_CLOUD_ACCESS_KEY_ID and _SECRET)")
	line := fs.String("stemcell", "", "the stemcell line")
	if err := fs.Parse(args); err != nil {
		return err
	}
	_, store, _, err := openCloud(cloud, s)
	if err != nil {
		return err
	}
	l := records.Line{Store: store, Stemcell: *line}
	all := []demoStemcell{}
	for _, ch := range records.Channels {
		versions, err := l.Versions(ctx, ch)
		if err != nil {
			return err
		}
		for _, v := range versions {
			r, err := l.Read(ctx, ch, v.String())
			if err != nil {
				return err
			}
			all = append(all, demoStemcell{Stemcell: r.Stemcell, Version: r.Version, Channel: ch, Images: r.ImageIDs})
		}
	}
	out, err := json.Marshal(all)
	if err != nil {
		return err
	}
	return s.printf("%s\n", out)
}
