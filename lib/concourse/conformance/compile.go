package conformance

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Compile compiles the main package pkg (a path relative to the calling test's directory, such as
// "../../resources/light-stemcell") into a temporary directory and returns the binary's path.
// It uses the flags the resource images use, so tests run what ships.
func Compile(t testing.TB, pkg string) string {
	t.Helper()
	abs, err := filepath.Abs(pkg)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), filepath.Base(abs))
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if output, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", pkg, err, output)
	}
	return out
}
