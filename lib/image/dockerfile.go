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
	if len(s.Inputs) > 0 {
		s.writeFetchStage(&b)
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
	if len(s.Inputs) > 0 {
		b.WriteString("COPY --from=fetch /fetch/ /\n")
	}
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

// writeFetchStage renders the stage that downloads every input's official release by its version
// and SHA-256 build arguments into /fetch (laid out as in the image), and records each in
// InputsRecord as the hermetic build does. An optional input without a version is left out.
func (s Spec) writeFetchStage(b *strings.Builder) {
	fmt.Fprintf(b, "\n# The inputs the hermetic build takes from the build machine, fetched by version and SHA-256:\n")
	fmt.Fprintf(b, "#   docker build")
	for _, in := range s.Inputs {
		p := in.ArgPrefix()
		fmt.Fprintf(b, " --build-arg %s_VERSION=... --build-arg %s_SHA256=...", p, p)
	}
	fmt.Fprintf(b, " -f images/%s/Dockerfile .\n", s.Name)
	fmt.Fprintf(b, "FROM %s AS fetch\n", s.Base.Docker)
	b.WriteString("RUN set -eu \\\n && apt-get update \\\n" +
		" && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates curl unzip \\\n" +
		" && mkdir -p /fetch" + path.Dir(InputsRecord) + " \\\n && : > /fetch" + InputsRecord + "\n")
	for _, in := range s.Inputs {
		p := in.ArgPrefix()
		v, sum := p+"_VERSION", p+"_SHA256"
		url := strings.ReplaceAll(in.Fetch.URL, "${VERSION}", "${"+v+"}")
		fmt.Fprintf(b, "ARG %s\nARG %s\n", v, sum)
		var steps []string
		if in.MinVersion != "" {
			steps = append(steps, fmt.Sprintf(`dpkg --compare-versions "$%s" ge %s || { echo "%s $%s: %s or newer needed" >&2; exit 1; }`, v, in.MinVersion, in.Name, v, in.MinVersion))
		}
		steps = append(steps,
			fmt.Sprintf(`url="%s"`, url),
			`curl -fsSL -o /tmp/download "$url"`,
			fmt.Sprintf(`echo "$%s  /tmp/download" | sha256sum -c -`, sum))
		to := "/fetch" + in.To
		mode, _ := (File{Mode: in.Mode}).FileMode()
		switch {
		case in.Fetch.Unpack == "tar.gz":
			steps = append(steps, "mkdir -p "+to, "tar -xzf /tmp/download -C "+to+" --strip-components=1")
		case in.Fetch.Unpack == "zip":
			steps = append(steps, "mkdir -p "+path.Dir(to), fmt.Sprintf("unzip -p /tmp/download %s > %s", in.Fetch.Member, to), fmt.Sprintf("chmod %04o %s", mode, to))
		case strings.HasSuffix(in.To, "/"):
			steps = append(steps, "mkdir -p "+to, fmt.Sprintf(`install -m %04o /tmp/download "%s$(basename "$url")"`, mode, to))
		default:
			steps = append(steps, "mkdir -p "+path.Dir(to), fmt.Sprintf("install -m %04o /tmp/download %s", mode, to))
		}
		steps = append(steps,
			fmt.Sprintf(`echo "%s $%s from $url sha256:$%s" >> /fetch%s`, in.Name, v, sum, InputsRecord),
			"rm /tmp/download")
		body := strings.Join(steps, " \\\n && ")
		missing := fmt.Sprintf(`[ -n "${%s:-}" ] && [ -n "${%s:-}" ]`, v, sum)
		if in.Optional {
			fmt.Fprintf(b, "RUN set -eu; if %s; then \\\n    %s; \\\n else echo \"%s: no %s given, left out\"; echo \"%s absent (optional, left out)\" >> /fetch%s; fi\n",
				missing, body, in.Name, v, in.Name, InputsRecord)
			continue
		}
		fmt.Fprintf(b, "RUN set -eu; %s || { echo \"build arguments %s and %s are required\" >&2; exit 1; }; \\\n    %s\n", missing, v, sum, body)
	}
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
