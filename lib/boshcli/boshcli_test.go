package boshcli_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/boshcli"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
	"github.com/sclevine/spec/report"
)

func TestBoshCLI(t *testing.T) {
	suite := spec.New("boshcli", spec.Report(report.Terminal{}))
	suite("create-env and delete-env", testEnv)
	suite.Run(t)
}

// log records what bosh printed.
type log struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *log) Printf(format string, args ...any) {}
func (l *log) Pipe() io.WriteCloser              { return l }
func (l *log) Close() error                      { return nil }
func (l *log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}
func (l *log) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.buf.String() }

// fakeBosh writes a bosh stand-in script that prints its argv and HOME, then runs body.
func fakeBosh(t *testing.T, body string) string {
	path := filepath.Join(t.TempDir(), "bosh")
	script := "#!/usr/bin/env bash\necho \"argv: $*\"\necho \"home: $HOME\"\n" + body + "\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func testEnv(t *testing.T, when spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	it("runs create-env in the env's directory with state, vars store and vars files, in a HOME of its own", func() {
		l := &log{}
		watched := 0
		cli := boshcli.CLI{Log: l, Path: fakeBosh(t, "")}
		dir := t.TempDir()
		err := cli.CreateEnv(context.Background(), boshcli.Env{Dir: dir, Manifest: "director.yml", State: "state.json", VarsStore: "creds.yml",
			VarsFiles: []string{"/secret/cloud.yml"}, Home: "/tmp/bosh-home", Watch: func() { watched++ }})
		Expect(err).NotTo(HaveOccurred())
		Expect(l.String()).To(ContainSubstring("argv: create-env director.yml --non-interactive --state state.json --vars-store creds.yml --vars-file /secret/cloud.yml\n"))
		Expect(l.String()).To(ContainSubstring("home: /tmp/bosh-home\n"))
		Expect(watched).To(BeNumerically(">", 0), "the caller learns secrets before each piece of output")
	})

	it("asks bosh to stop with SIGTERM when the context ends, and lets it finish writing", func() {
		l := &log{}
		cli := boshcli.CLI{Log: l, Path: fakeBosh(t, `trap 'echo "state written on TERM"; exit 143' TERM; sleep 30 & wait`)}
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(300*time.Millisecond, cancel)
		start := time.Now()
		err := cli.DeleteEnv(ctx, boshcli.Env{Dir: t.TempDir(), Manifest: "director.yml", State: "s", VarsStore: "c"})
		Expect(err).To(MatchError(ContainSubstring("bosh delete-env director.yml: stopped")))
		Expect(time.Since(start)).To(BeNumerically("<", 3*time.Second))
		Expect(l.String()).To(ContainSubstring("state written on TERM"))
	})

	it("returns interpolate's output apart from the log", func() {
		l := &log{}
		cli := boshcli.CLI{Log: l, Path: fakeBosh(t, `echo "name: bosh"`)}
		out, err := cli.Interpolate(context.Background(), t.TempDir(), "bosh.yml", []string{"ops.yml"}, []string{"vars.yml"})
		Expect(err).NotTo(HaveOccurred())
		Expect(string(out)).To(ContainSubstring("argv: interpolate bosh.yml --ops-file ops.yml --vars-file vars.yml"))
		Expect(strings.TrimSpace(l.String())).To(BeEmpty())
	})
}
