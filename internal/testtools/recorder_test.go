package testtools

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

func testRecorder(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	it("records the argv, environment and directory of every call in order, then runs its body", func() {
		bin := t.TempDir()
		r := NewRecorder(t, bin, "tool", `[ "$1" = fail ] && { echo "failing as told" >&2; exit 3; }; echo "out: $*"`)
		work := t.TempDir()
		cmd := exec.Command(r.Path, "first", "a b", "")
		cmd.Dir, cmd.Env = work, []string{"PATH=" + os.Getenv("PATH"), "SECRET=multi\nline"}
		out, err := cmd.Output()
		Expect(err).NotTo(HaveOccurred())
		Expect(string(out)).To(Equal("out: first a b \n"))
		cmd = exec.Command(r.Path, "fail")
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		err = cmd.Run()
		var exit *exec.ExitError
		Expect(errors.As(err, &exit)).To(BeTrue(), "%v", err)
		Expect(exit.ExitCode()).To(Equal(3))

		calls := r.Calls(t)
		Expect(calls).To(HaveLen(2))
		Expect(calls[0].Argv).To(Equal([]string{"first", "a b", ""}))
		Expect(calls[0].Env).To(HaveKeyWithValue("SECRET", "multi\nline"))
		Expect(calls[0].Env).NotTo(HaveKey("__call"))
		Expect(calls[0].Dir).To(Equal(work))
		Expect(calls[1].Argv).To(Equal([]string{"fail"}))
		Expect(r.Argvs(t)).To(Equal([]string{"first a b ", "fail"}))
		Expect(filepath.Join(bin, "tool")).To(BeARegularFile())
	})
}
