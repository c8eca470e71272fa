package stemcell

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/tarsafe"
)

// lightModTime is the modification time of every member of a light stemcell: fixed, so that the
// same heavy stemcell and image ids always give the same bytes (and the same SHA-1).
var lightModTime = time.Unix(0, 0).UTC()

// LightName is the file name of the light stemcell made from the heavy stemcell file heavy:
// "light-" before its base name, in the same directory.
func LightName(heavy string) string {
	dir, base := filepath.Split(heavy)
	return dir + "light-" + base
}

// WriteLight writes the light stemcell of a heavy one to w: members in their order (usually
// Heavy.Members), without "./" prefixes, image as a 0-byte member, and stemcell.MF as
// manifest with cloud_properties.image_id set to imageIDs (region → image id), everything else
// in it — the heavy sha1 and stemcell_formats included — kept. manifest is not changed. Where
// members has no stemcell.MF or image, they are written first. The output is deterministic:
// fixed modification times, owners and modes.
func WriteLight(w io.Writer, manifest *Manifest, members []Member, imageIDs map[string]string) error {
	if len(imageIDs) == 0 {
		return errors.New("writing light stemcell: no image ids (a light stemcell needs an image in at least one region)")
	}
	light := manifest.Clone()
	light.SetImageIDs(imageIDs)
	if err := light.Validate(); err != nil {
		return fmt.Errorf("writing light stemcell: %w", err)
	}
	mf, err := light.Marshal()
	if err != nil {
		return fmt.Errorf("writing light stemcell: %w", err)
	}
	if len(mf) > MaxManifestSize {
		return fmt.Errorf("writing light stemcell: stemcell.MF would be %d bytes, more than %d", len(mf), MaxManifestSize)
	}

	order, err := lightMembers(members)
	if err != nil {
		return fmt.Errorf("writing light stemcell: %w", err)
	}
	gz := gzip.NewWriter(w) // a zero gzip header: no name, no time
	tw := tar.NewWriter(gz)
	for _, m := range order {
		hdr := &tar.Header{Name: m.Name, Typeflag: tar.TypeReg, Mode: 0o644, ModTime: lightModTime, Format: tar.FormatPAX}
		data := m.Data
		switch {
		case m.Dir:
			hdr.Name, hdr.Typeflag, hdr.Mode, data = m.Name+"/", tar.TypeDir, 0o755, nil
		case m.Name == ManifestMember:
			data = mf
		case m.Name == ImageMember:
			data = nil
		}
		hdr.Size = int64(len(data))
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("writing light stemcell member %q: %w", m.Name, err)
		}
		if _, err := tw.Write(data); err != nil {
			return fmt.Errorf("writing light stemcell member %q: %w", m.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("writing light stemcell: %w", err)
	}
	if err := gz.Close(); err != nil {
		return fmt.Errorf("writing light stemcell: %w", err)
	}
	return nil
}

// lightMembers checks the members' names and puts stemcell.MF and image first when missing.
func lightMembers(members []Member) ([]Member, error) {
	if len(members)+2 > MaxMembers {
		return nil, fmt.Errorf("%d members, more than %d", len(members), MaxMembers)
	}
	seen := map[string]bool{}
	out := make([]Member, 0, len(members)+2)
	for _, m := range members {
		name, err := tarsafe.MemberName(m.Name)
		if err != nil || name == "." {
			return nil, fmt.Errorf("member %q: not a safe member name", m.Name)
		}
		if seen[name] {
			return nil, fmt.Errorf("member %q appears twice", name)
		}
		seen[name] = true
		m.Name = name
		out = append(out, m)
	}
	var first []Member
	for _, name := range []string{ManifestMember, ImageMember} {
		if !seen[name] {
			first = append(first, Member{Name: name})
		}
	}
	return append(first, out...), nil
}
