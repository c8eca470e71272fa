package concourse_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

// The kit is tested through a tiny resource built as a real binary and driven over stdin, the
// way Concourse drives every resource in the pack.

// step is one run of the test resource.
type step struct {
	stdout, stderr string
	code           int
}

// run executes the binary as step (through an argv0 symlink) with request on stdin.
func run(t *testing.T, binary string, args []string, request any, env ...string) step {
	t.Helper()
	body, err := json.Marshal(request)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, args...)
	cmd.Stdin = bytes.NewReader(body)
	cmd.Env = append(append(os.Environ(), "NO_COLOR=1"), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	s := step{stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		s.code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return s
}

// symlink makes name (check, in or out) point at binary, as a resource image does.
func symlink(t *testing.T, binary, name string) string {
	t.Helper()
	link := filepath.Join(t.TempDir(), name)
	if err := os.Symlink(binary, link); err != nil {
		t.Fatal(err)
	}
	return link
}

// store makes a directory of versions 1..n for the test resource.
func store(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	for i := 1; i <= n; i++ {
		if err := os.WriteFile(filepath.Join(dir, string(rune('0'+i))), []byte("content"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func testDispatch(t *testing.T, context spec.G, it spec.S, binary string) {
	var (
		Expect = NewWithT(t).Expect
		dir    string
	)
	it.Before(func() { dir = store(t, 3) })

	context("when run through a symlink named after the step", func() {
		it("checks, gets and puts", func() {
			checked := run(t, symlink(t, binary, "check"), nil, map[string]any{"source": map[string]any{"dir": dir}})
			Expect(checked.code).To(Equal(0), checked.stderr)
			Expect(checked.stdout).To(MatchJSON(`[{"number":"3"}]`))

			dest := t.TempDir()
			got := run(t, symlink(t, binary, "in"), []string{dest}, map[string]any{
				"source": map[string]any{"dir": dir}, "version": map[string]string{"number": "2"},
			})
			Expect(got.code).To(Equal(0), got.stderr)
			Expect(got.stdout).To(MatchJSON(`{"version":{"number":"2"},"metadata":[{"name":"number","value":"2"}]}`))
			Expect(filepath.Join(dest, "content")).To(BeARegularFile())

			put := run(t, symlink(t, binary, "out"), []string{t.TempDir()}, map[string]any{
				"source": map[string]any{"dir": dir}, "params": map[string]any{"content": "<b>&</b>"},
			})
			Expect(put.code).To(Equal(0), put.stderr)
			Expect(put.stdout).To(Equal(`{"version":{"number":"4"},"metadata":[{"name":"content","value":"<b>&</b>"}]}` + "\n"))
		})
	})

	context("when run with the step as first argument", func() {
		it("checks from a version, oldest first, including it", func() {
			checked := run(t, binary, []string{"check"}, map[string]any{
				"source": map[string]any{"dir": dir}, "version": map[string]string{"number": "2"},
			})
			Expect(checked.code).To(Equal(0), checked.stderr)
			Expect(checked.stdout).To(MatchJSON(`[{"number":"2"},{"number":"3"}]`))
			Expect(checked.stderr).To(ContainSubstring("found 3 versions"))
			Expect(checked.stderr).To(ContainSubstring("found 2: number=2; number=3\n"), "the kit logs what check answers, for fly check-resource")
		})

		it("prints [] rather than null when there are no versions", func() {
			checked := run(t, binary, []string{"check"}, map[string]any{"source": map[string]any{"dir": t.TempDir()}})
			Expect(checked.code).To(Equal(0), checked.stderr)
			Expect(checked.stdout).To(Equal("[]\n"))
		})
	})

	context("when the arguments are wrong", func() {
		it("prints usage and exits 1", func() {
			for _, args := range [][]string{nil, {"fetch"}, {"in"}, {"check", "extra"}} {
				r := run(t, binary, args, map[string]any{})
				Expect(r.code).To(Equal(1), "%v", args)
				Expect(r.stdout).To(BeEmpty())
				Expect(r.stderr).To(ContainSubstring("usage: testresource check | in DESTINATION | out SOURCES"))
			}
		})
	})

	context("when stdin is not JSON", func() {
		it("says so and exits 1", func() {
			cmd := exec.Command(binary, "check")
			cmd.Stdin = strings.NewReader("source: {dir: x}")
			output, err := cmd.Output()
			Expect(err).To(HaveOccurred())
			var exitErr *exec.ExitError
			Expect(errors.As(err, &exitErr)).To(BeTrue())
			Expect(string(exitErr.Stderr)).To(ContainSubstring("the request on stdin is not a JSON object"))
			Expect(output).To(BeEmpty())
		})
	})

	context("when the step panics", func() {
		it("exits 1 with one message naming the panic and prints nothing on stdout", func() {
			r := run(t, binary, []string{"in", t.TempDir()}, map[string]any{
				"source": map[string]any{"dir": dir}, "version": map[string]string{"number": "1"},
				"params": map[string]any{"panic": "boom"},
			})
			Expect(r.code).To(Equal(1))
			Expect(r.stdout).To(BeEmpty())
			Expect(r.stderr).To(HavePrefix("error: testresource crashed: boom (this is a bug in concourse-pack"))
		})
	})

	context("when the step fails", func() {
		it("exits 1 with the error and prints nothing on stdout", func() {
			r := run(t, binary, []string{"in", t.TempDir()}, map[string]any{
				"source": map[string]any{"dir": dir}, "version": map[string]string{"number": "1"},
				"params": map[string]any{"fail": "disk on fire"},
			})
			Expect(r.code).To(Equal(1))
			Expect(r.stdout).To(BeEmpty())
			Expect(r.stderr).To(Equal("error: failing as asked: disk on fire\n"))
		})

		it("fails in when the version is gone", func() {
			r := run(t, binary, []string{"in", t.TempDir()}, map[string]any{
				"source": map[string]any{"dir": dir}, "version": map[string]string{"number": "9"},
			})
			Expect(r.code).To(Equal(1))
			Expect(r.stderr).To(ContainSubstring("version 9 is gone"))
		})
	})

	context("when DEBUG would make the SDK print credentials on stdout", func() {
		it("refuses to run", func() {
			r := run(t, binary, []string{"check"}, map[string]any{"source": map[string]any{"dir": dir}}, "DEBUG=tea,sdk")
			Expect(r.code).To(Equal(1))
			Expect(r.stdout).To(BeEmpty())
			Expect(r.stderr).To(ContainSubstring("DEBUG=sdk is set"))
		})
	})

	context("when running in a build", func() {
		it("gives get steps the build metadata", func() {
			r := run(t, binary, []string{"in", t.TempDir()}, map[string]any{
				"source": map[string]any{"dir": dir}, "version": map[string]string{"number": "1"},
			}, "ATC_EXTERNAL_URL=https://ci.example.com/", "BUILD_TEAM_NAME=main", "BUILD_PIPELINE_NAME=alicloud cpi",
				"BUILD_JOB_NAME=bats", "BUILD_NAME=42", "BUILD_ID=1234")
			Expect(r.code).To(Equal(0), r.stderr)
			Expect(r.stdout).To(ContainSubstring(`{"name":"build","value":"https://ci.example.com/teams/main/pipelines/alicloud%20cpi/jobs/bats/builds/42"}`))
		})
	})
}

func testStrict(t *testing.T, context spec.G, it spec.S, binary string) {
	var (
		Expect = NewWithT(t).Expect
		dir    string
	)
	it.Before(func() { dir = store(t, 2) })

	context("when source has a typo", func() {
		it("fails naming the key by its path and suggesting the right one", func() {
			r := run(t, binary, []string{"check"}, map[string]any{"source": map[string]any{
				"dir": dir, "tokne": "x", "limits": map[string]any{"max_verisons": 3},
			}})
			Expect(r.code).To(Equal(1))
			Expect(r.stdout).To(BeEmpty())
			Expect(r.stderr).To(ContainSubstring(`source.limits.max_verisons: unknown key (did you mean "max_versions"?)`))
			Expect(r.stderr).To(ContainSubstring(`source.tokne: unknown key (did you mean "token"?)`))
		})
	})

	context("when required keys are missing", func() {
		it("lists every missing key in one error", func() {
			r := run(t, binary, []string{"out", t.TempDir()}, map[string]any{"source": map[string]any{}, "params": nil})
			Expect(r.code).To(Equal(1))
			Expect(r.stderr).To(Equal("error: invalid put request: 2 problems:\n  - source.dir: missing required key\n  - params.content: missing required key\n"))
		})
	})

	context("when values have the wrong type or fail validation", func() {
		it("says what was expected for each", func() {
			r := run(t, binary, []string{"check"}, map[string]any{"source": map[string]any{
				"dir": dir, "timeout": "soon", "regions": []any{"cn-hangzhou", 7},
				"limits": map[string]any{"max_versions": "ten"},
			}})
			Expect(r.code).To(Equal(1))
			Expect(r.stderr).To(ContainSubstring(`source.timeout: expected a duration such as 90s or 2h, got "soon"`))
			Expect(r.stderr).To(ContainSubstring(`source.regions[1]: expected a string, got the number 7`))
			Expect(r.stderr).To(ContainSubstring(`source.limits.max_versions: expected a whole number, got the string "ten"`))

			r = run(t, binary, []string{"check"}, map[string]any{"source": map[string]any{
				"dir": dir, "misbehave": "sometimes", "limits": map[string]any{"max_versions": -1},
			}})
			Expect(r.code).To(Equal(1))
			Expect(r.stderr).To(ContainSubstring(`source.misbehave: expected one of`))
			Expect(r.stderr).To(ContainSubstring(`source.limits.max_versions: expected 0 or more, got -1`))
		})

		it("reports bad values together with unknown and missing keys", func() {
			r := run(t, binary, []string{"out", t.TempDir()}, map[string]any{"source": map[string]any{
				"dri": dir, "misbehave": "sometimes", "limits": map[string]any{"max_versions": -1},
			}, "params": map[string]any{}})
			Expect(r.code).To(Equal(1))
			for _, want := range []string{"source.dri: unknown key", "source.dir: missing required key",
				"source.misbehave: expected one of", "source.limits.max_versions: expected 0 or more", "params.content: missing required key"} {
				Expect(r.stderr).To(ContainSubstring(want))
			}
		})

		it("does not quote a secret field's value", func() {
			r := run(t, binary, []string{"check"}, map[string]any{"source": map[string]any{"dir": dir, "token": 123456789}})
			Expect(r.code).To(Equal(1))
			Expect(r.stderr).To(ContainSubstring("source.token: expected a string, got a number"))
			Expect(r.stderr).NotTo(ContainSubstring("123456789"))
		})
	})

	context("when the version has keys the resource does not know", func() {
		it("ignores them, and accepts non-string scalars", func() {
			r := run(t, binary, []string{"in", t.TempDir()}, map[string]any{
				"source":  map[string]any{"dir": dir},
				"version": map[string]any{"number": 2, "written_by": "a later pack", "gone": nil},
			})
			Expect(r.code).To(Equal(0), r.stderr)
			Expect(r.stdout).To(ContainSubstring(`"version":{"number":"2"}`))
		})

		it("refuses a nested value, which Concourse never stores", func() {
			r := run(t, binary, []string{"in", t.TempDir()}, map[string]any{
				"source": map[string]any{"dir": dir}, "version": map[string]any{"number": map[string]any{"n": 2}},
			})
			Expect(r.code).To(Equal(1))
			Expect(r.stderr).To(ContainSubstring(`version: key "number": expected a string, got an object`))
		})

		it("requires the keys the resource needs", func() {
			r := run(t, binary, []string{"in", t.TempDir()}, map[string]any{
				"source": map[string]any{"dir": dir}, "version": map[string]any{"ref": "2"},
			})
			Expect(r.code).To(Equal(1))
			Expect(r.stderr).To(ContainSubstring("version.number: missing required key"))
		})
	})

	context("when in gets no version", func() {
		it("fails saying so", func() {
			r := run(t, binary, []string{"in", t.TempDir()}, map[string]any{"source": map[string]any{"dir": dir}})
			Expect(r.code).To(Equal(1))
			Expect(r.stderr).To(ContainSubstring("version: missing: in needs the version to fetch"))
		})
	})
}

func testRedaction(t *testing.T, context spec.G, it spec.S, binary string) {
	var (
		Expect = NewWithT(t).Expect
		dir    string
	)
	const token = "sts/Tok+en=Secret 42"
	it.Before(func() { dir = store(t, 1) })

	get := func(params map[string]any) step {
		r := run(t, binary, []string{"in", t.TempDir()}, map[string]any{
			"source": map[string]any{"dir": dir, "token": token}, "version": map[string]string{"number": "1"}, "params": params,
		})
		Expect(r.code).To(Equal(0), r.stderr)
		return r
	}

	context("when a source secret is logged raw, URL-encoded or base64-encoded", func() {
		it("prints ((redacted)) instead, keeping the text around it", func() {
			basic := base64.StdEncoding.EncodeToString([]byte("ci-user:" + token))
			leaks := []string{
				"raw " + token,
				"query ?token=" + url.QueryEscape(token),
				"path /" + url.PathEscape(token),
				"b64 " + base64.StdEncoding.EncodeToString([]byte(token)),
				"b64url " + base64.URLEncoding.EncodeToString([]byte(token)),
				"Authorization: Basic " + basic,
			}
			r := get(map[string]any{"log": leaks})
			for _, leak := range leaks {
				secretPart := leak[strings.Index(leak, " ")+1:]
				Expect(r.stderr).NotTo(ContainSubstring(secretPart))
			}
			Expect(r.stderr).NotTo(ContainSubstring(base64.StdEncoding.EncodeToString([]byte(token))[4:20]))
			Expect(r.stderr).To(ContainSubstring("raw ((redacted))"))
			Expect(r.stderr).To(ContainSubstring("query ?token=((redacted))"))
			Expect(r.stderr).To(ContainSubstring("Authorization: Basic "))
		})
	})

	context("when a child process prints a secret through the logger", func() {
		it("redacts it on both of the child's streams", func() {
			r := get(map[string]any{"child_output": "child says " + token})
			Expect(r.stderr).NotTo(ContainSubstring(token))
			Expect(strings.Count(r.stderr, "child says ((redacted))")).To(Equal(2))
		})
	})

	context("when a multi-line secret is registered at run time", func() {
		it("redacts every line of it in logs and in child output", func() {
			pem := "-----BEGIN RSA PRIVATE KEY-----\n" +
				"MIIEowIBAAKCAQEAxkTfJcT1aPbTEYzhe5cNnbKx0cHc3MWIyjBE6uUNEmLkMrEW\n" +
				"q3yOPq9uXJGeF0bq8BBIVBxOGrm2nKnKy1wt0Xk0LN1Kb2sBOpqNDDb8ZbRz6VqU\n" +
				"3n8=\n" +
				"-----END RSA PRIVATE KEY-----\n"
			secretFile := filepath.Join(t.TempDir(), "creds")
			Expect(os.WriteFile(secretFile, []byte(pem), 0o600)).To(Succeed())

			lines := strings.Split(pem, "\n")
			r := get(map[string]any{"secret_file": secretFile, "log": []string{
				"second line alone: " + lines[2],
				"indented:\n    " + lines[1] + "\n    " + lines[2],
			}})
			for _, line := range lines {
				if line != "" && !strings.HasPrefix(line, "-----") {
					Expect(r.stderr).NotTo(ContainSubstring(line))
				}
			}
			Expect(r.stderr).To(ContainSubstring("read secret:\n((redacted))"))
			Expect(r.stderr).To(ContainSubstring("second line alone: ((redacted))"))
			Expect(r.stderr).To(ContainSubstring("indented:\n    ((redacted))\n    ((redacted))"))
			Expect(r.stderr).NotTo(ContainSubstring("BEGIN RSA"), "the whole key, armour included, is one secret")
		})
	})

	context("when a response would carry a secret", func() {
		it("refuses to print it and exits 1", func() {
			r := run(t, binary, []string{"out", t.TempDir()}, map[string]any{
				"source": map[string]any{"dir": dir, "token": token}, "params": map[string]any{"content": token},
			})
			Expect(r.code).To(Equal(1))
			Expect(r.stdout).To(BeEmpty())
			Expect(r.stderr).To(ContainSubstring("refusing to print a response that contains a secret"))
		})
	})
}
