package director

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bosh-alicloud/concourse-pack/lib/stemcell"
	"github.com/bosh-alicloud/concourse-pack/lib/tarsafe"
	"gopkg.in/yaml.v3"
)

// CloudCredentialVars are the manifest variables that hold cloud credentials: never resolved
// in a stored manifest, given to every create-env and delete-env from the current source.
var CloudCredentialVars = []string{"access_key_id", "access_key_secret", "security_token"}

// referencedFile is a file a manifest names by path, which delete-env needs too.
type referencedFile struct {
	Source string // where it is now (absolute)
	Rel    string // where the stored manifest expects it: files/<n>-<name>, beside the manifest
	Secret bool   // a private key
}

// localizeFiles rewrites every file the manifest references by path (file:// release and
// stemcell urls, the SSH tunnel's private key) to files/<n>-<name> beside the manifest, so
// that create-env and, later, delete-env on another worker see the same layout. Relative paths
// resolve against base (the manifest's directory, as bosh resolves them).
func localizeFiles(manifest []byte, base string) ([]byte, []referencedFile, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(manifest, &doc); err != nil {
		return nil, nil, fmt.Errorf("parsing the rendered manifest: %w", err)
	}
	var files []referencedFile
	seen := map[string]string{}
	local := func(raw string, secret bool) (string, error) {
		p := raw
		if !filepath.IsAbs(p) {
			p = filepath.Join(base, p)
		}
		if rel, ok := seen[p]; ok {
			return rel, nil
		}
		info, err := os.Stat(p)
		if err != nil {
			return "", fmt.Errorf("the manifest references %s: %w", raw, err)
		}
		if !info.Mode().IsRegular() {
			return "", fmt.Errorf("the manifest references %s, which is not a regular file", raw)
		}
		rel := "files/" + strconv.Itoa(len(files)+1) + "-" + filepath.Base(p)
		if clean := filepath.ToSlash(filepath.Clean(raw)); strings.HasPrefix(clean, "files/") && clean == raw && strings.Count(clean, "/") == 1 {
			rel = clean // laid out already (a fetched env being registered)
		}
		seen[p] = rel
		files = append(files, referencedFile{Source: p, Rel: rel, Secret: secret})
		return rel, nil
	}
	fileURL := func(m map[string]any, key string) error {
		u, _ := m[key].(string)
		if !strings.HasPrefix(u, "file://") {
			return nil
		}
		rel, err := local(strings.TrimPrefix(u, "file://"), false)
		if err == nil {
			m[key] = "file://" + rel
		}
		return err
	}
	for _, r := range list(doc["releases"]) {
		if err := fileURL(r, "url"); err != nil {
			return nil, nil, err
		}
	}
	for _, pool := range list(doc["resource_pools"]) {
		if s, ok := pool["stemcell"].(map[string]any); ok {
			if err := fileURL(s, "url"); err != nil {
				return nil, nil, err
			}
		}
	}
	if cp, ok := doc["cloud_provider"].(map[string]any); ok {
		if tunnel, ok := cp["ssh_tunnel"].(map[string]any); ok {
			if key, _ := tunnel["private_key"].(string); key != "" && !strings.HasPrefix(key, "((") {
				rel, err := local(key, true)
				if err != nil {
					return nil, nil, err
				}
				tunnel["private_key"] = rel
			}
		}
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		return nil, nil, fmt.Errorf("writing the rendered manifest: %w", err)
	}
	return out, files, nil
}

func list(v any) []map[string]any {
	items, _ := v.([]any)
	var out []map[string]any
	for _, item := range items {
		if m, ok := item.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// checkRAMRole refuses, for temporary credentials, a manifest that hands the cloud
// credentials to the director VM itself (anything but cloud_provider, which only create-env
// and delete-env use): that short-lived token would expire inside the director's CPI config.
func checkRAMRole(manifest []byte) error {
	var doc map[string]any
	if err := yaml.Unmarshal(manifest, &doc); err != nil {
		return fmt.Errorf("parsing the rendered manifest: %w", err)
	}
	delete(doc, "cloud_provider")
	rest, err := yaml.Marshal(doc)
	if err != nil {
		return err
	}
	for _, v := range CloudCredentialVars {
		if strings.Contains(string(rest), "(("+v+"))") {
			return fmt.Errorf("the credentials are temporary (STS, an assumed role or the worker's RAM role), but the manifest gives ((%s)) to the director VM itself, where it would expire: apply the director RAM-role ops file (the director's CPI then uses an ECS RAM role)", v)
		}
	}
	return nil
}

// manifestStemcell is the stemcell the manifest deploys: its tarball's name and version, and
// whether it is light (its stemcell.MF has an image_id map).
type manifestStemcell struct {
	Name, Version string
	Light         bool
}

// stemcellOf reads the stemcell.MF of the manifest's file:// stemcell (resolved in dir); ok is
// false when the manifest has none.
func stemcellOf(manifest []byte, dir string) (manifestStemcell, bool, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(manifest, &doc); err != nil {
		return manifestStemcell{}, false, fmt.Errorf("parsing the rendered manifest: %w", err)
	}
	for _, pool := range list(doc["resource_pools"]) {
		s, _ := pool["stemcell"].(map[string]any)
		u, _ := s["url"].(string)
		if !strings.HasPrefix(u, "file://") {
			continue
		}
		p := strings.TrimPrefix(u, "file://")
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		m, err := readStemcellMF(p)
		if err != nil {
			return manifestStemcell{}, false, fmt.Errorf("reading the stemcell %s: %w", u, err)
		}
		return manifestStemcell{Name: m.Name(), Version: m.Version(), Light: m.IsLight()}, true, nil
	}
	return manifestStemcell{}, false, nil
}

func readStemcellMF(path string) (*stemcell.Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read-only: its close has nothing to report
	var found *stemcell.Manifest
	errFound := errors.New("found")
	err = tarsafe.Walk(f, "stemcell tarball", func(hdr *tar.Header, content io.Reader) error {
		if name, err := tarsafe.MemberName(hdr.Name); err != nil || name != "stemcell.MF" {
			return nil
		}
		data, err := io.ReadAll(io.LimitReader(content, 1<<20))
		if err != nil {
			return err
		}
		if found, err = stemcell.ParseManifest(data); err != nil {
			return err
		}
		return errFound // the image after it may be gigabytes: stop reading
	})
	switch {
	case errors.Is(err, errFound):
		return found, nil
	case err != nil:
		return nil, err
	}
	return nil, errors.New("no stemcell.MF in the tarball")
}
