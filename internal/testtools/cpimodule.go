package testtools

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// CPIModule writes a Go module shaped like the CPI's (src/bosh-alicloud-cpi, a vendored
// dependency, two unit packages with one passing test each, and integration packages that fail
// outside a cloud) into a new bosh-cpi-src directory and returns it. Only the vendored copy of
// the dependency remains, so the module builds only with -mod=vendor, as the real CPI's does.
func CPIModule(t testing.TB) string {
	t.Helper()
	return cpiModule(t, "require example.test/dep v0.0.0\n\nreplace example.test/dep => ./dep\n", nil, "dep")
}

// cpiModule writes the CPI-shaped module with requires (go.mod lines), the extra files, and
// removes the local module directories gone after `go mod vendor`.
func cpiModule(t testing.TB, requires string, extra map[string]string, gone ...string) string {
	t.Helper()
	src := t.TempDir()
	mod := filepath.Join(src, "src", "bosh-alicloud-cpi")
	files := map[string]string{
		"go.mod":                                  "module bosh-alicloud-cpi\n\ngo 1.26\n\n" + requires,
		"dep/go.mod":                              "module example.test/dep\n\ngo 1.26\n",
		"dep/dep.go":                              "package dep\n\nfunc Answer() int { return 42 }\n",
		"action/action.go":                        "package action\n\nimport \"example.test/dep\"\n\nfunc Create() int { return dep.Answer() }\n",
		"action/action_test.go":                   "package action\n\nimport \"testing\"\n\nfunc TestCreate(t *testing.T) {\n\tif Create() != 42 {\n\t\tt.Fatal(\"wrong\")\n\t}\n}\n",
		"alicloud/client.go":                      "package alicloud\n\nfunc Region() string { return \"cn-beijing\" }\n",
		"alicloud/client_test.go":                 "package alicloud\n\nimport \"testing\"\n\nfunc TestRegion(t *testing.T) {\n\tif Region() == \"\" {\n\t\tt.Fatal(\"empty\")\n\t}\n}\n",
		"integration/integration_test.go":         "package integration\n\nimport \"testing\"\n\nfunc TestNeedsACloud(t *testing.T) { t.Fatal(\"no cloud here\") }\n",
		"integration/lifecycle/lifecycle_test.go": "package lifecycle\n\nimport \"testing\"\n\nfunc TestLifecycle(t *testing.T) { t.Fatal(\"no cloud here\") }\n",
	}
	for name, content := range extra {
		files[name] = content
	}
	for name, content := range files {
		path := filepath.Join(mod, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "mod", "vendor")
	cmd.Dir = mod
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go mod vendor: %v\n%s", err, out)
	}
	for _, dir := range gone {
		if err := os.RemoveAll(filepath.Join(mod, dir)); err != nil {
			t.Fatal(err)
		}
	}
	return src
}
