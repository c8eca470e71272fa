package image

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"
)

// GoImage is the build stage of every Dockerfile: the Go the Makefile is run with.
const GoImage = "golang:1.26-bookworm"

// Dockerfile renders the image's Dockerfile. The build stage runs the same make targets as a
// developer (`make build tools`), so the binaries are those the tests ran and the hermetic build
// packs; the final stage installs the same Debian packages and records their versions.
func (s Spec) Dockerfile() string {
	var b strings.Builder
	b.WriteString("# syntax=docker/dockerfile:1\n")
	fmt.Fprintf(&b, "# Generated from images/%s/image.yaml by `make dockerfiles`: edit that file, not this one.\n", s.Name)
	fmt.Fprintf(&b, "# The hermetic build (`make images`) makes the same image without a Docker engine, on a\n")
	fmt.Fprintf(&b, "# debootstrap %s of Debian %s. Build from the repository root:\n", variantName(s.Base.Variant), s.Base.Suite)
	fmt.Fprintf(&b, "#   docker build -f images/%s/Dockerfile .\n", s.Name)
	if len(s.Files) > 0 {
		fmt.Fprintf(&b, "\nFROM %s AS build\nWORKDIR /src\nCOPY . .\nRUN make build tools\n", GoImage)
	}
	fmt.Fprintf(&b, "\nFROM %s\n", s.Base.Docker)
	install := []string{"set -eu", "mkdir -p " + path.Dir(PackagesRecord)}
	if ps := s.sortedPackages(); len(ps) > 0 {
		install = append(install,
			"apt-get update",
			"DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "+strings.Join(ps, " "),
			"rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb")
	}
	install = append(install, "dpkg-query -W -f '${Package} ${Version}\\n' > "+PackagesRecord)
	fmt.Fprintf(&b, "RUN %s\n", strings.Join(install, " \\\n && "))
	for _, f := range s.Files {
		mode, _ := f.FileMode()
		fmt.Fprintf(&b, "COPY --from=build --chmod=%04o /src/%s %s\n", mode, f.From, f.To)
	}
	if len(s.Links) > 0 {
		var ln []string
		for _, l := range s.Links {
			ln = append(ln, fmt.Sprintf("ln -sf %s %s", l.Target, l.Path))
		}
		fmt.Fprintf(&b, "RUN %s\n", strings.Join(ln, " \\\n && "))
	}
	for _, e := range s.Env {
		k, v, _ := strings.Cut(e, "=")
		fmt.Fprintf(&b, "ENV %s=%s\n", k, quoteEnv(v))
	}
	if s.WorkDir != "" {
		fmt.Fprintf(&b, "WORKDIR %s\n", s.WorkDir)
	}
	if s.User != "" {
		fmt.Fprintf(&b, "USER %s\n", s.User)
	}
	if s.Entrypoint != nil {
		fmt.Fprintf(&b, "ENTRYPOINT %s\n", jsonArray(s.Entrypoint))
	}
	if s.Cmd != nil {
		fmt.Fprintf(&b, "CMD %s\n", jsonArray(s.Cmd))
	}
	return b.String()
}

func variantName(v string) string {
	if v == "" {
		return "default variant"
	}
	return v
}

func jsonArray(a []string) string {
	raw, _ := json.Marshal(a)
	return string(raw)
}

// quoteEnv quotes a value for ENV when it holds spaces or quotes.
func quoteEnv(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t\"'\\$") {
		return v
	}
	raw, _ := json.Marshal(v)
	return string(raw)
}
