package director

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/bosh-alicloud/concourse-pack/lib/stemcell"
)

// Where a stemcell goes: the CPI that create_stemcell runs in.
const (
	// ToCreateEnv: the stemcell of a director's own VM, which `bosh create-env` hands the CPI
	// of cloud_provider.
	ToCreateEnv = "create-env"
	// ToDirector: a stemcell `bosh upload-stemcell` gives a running director, whose own CPI
	// job (the instance group's alicloud properties) imports it.
	ToDirector = "director"
)

// EncryptedSetting is a place in a director manifest where the Alibaba CPI's config asks for
// encrypted disks: with it, the CPI's create_stemcell copies the stemcell's image encrypted and
// then deletes the original, for a light stemcell the image the light-stemcell resource published.
type EncryptedSetting struct {
	Path  string // an ops-file path, e.g. /cloud_provider/properties/alicloud/encrypted
	Value string // "true", or the unresolved variable that may be true
}

// EncryptedSettings lists where the CPI config that imports a stemcell going to to (ToCreateEnv
// or ToDirector) sets encrypted to true or to an unresolved variable.
func EncryptedSettings(manifest []byte, to string) ([]EncryptedSetting, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(manifest, &doc); err != nil {
		return nil, fmt.Errorf("parsing the director manifest: %w", err)
	}
	var found []EncryptedSetting
	check := func(path string, properties any) {
		props, _ := properties.(map[string]any)
		alicloud, _ := props["alicloud"].(map[string]any)
		switch v := alicloud["encrypted"].(type) {
		case bool:
			if v {
				found = append(found, EncryptedSetting{Path: path + "/alicloud/encrypted", Value: "true"})
			}
		case string:
			if strings.HasPrefix(strings.TrimSpace(v), "((") || v == "true" {
				found = append(found, EncryptedSetting{Path: path + "/alicloud/encrypted", Value: v})
			}
		}
	}
	switch to {
	case ToCreateEnv:
		cp, _ := doc["cloud_provider"].(map[string]any)
		check("/cloud_provider/properties", cp["properties"])
	case ToDirector:
		for i, group := range list(doc["instance_groups"]) {
			name, _ := group["name"].(string)
			at := "/instance_groups/" + fmt.Sprint(i)
			if name != "" {
				at = "/instance_groups/name=" + name
			}
			for j, job := range list(group["jobs"]) {
				jobName, _ := job["name"].(string)
				jat := at + "/jobs/" + fmt.Sprint(j)
				if jobName != "" {
					jat = at + "/jobs/name=" + jobName
				}
				check(jat+"/properties", job["properties"])
			}
			check(at+"/properties", group["properties"])
		}
	default:
		return nil, fmt.Errorf("a stemcell goes to %s or %s, not %q", ToCreateEnv, ToDirector, to)
	}
	return found, nil
}

// LightStemcellRefused is the guard's refusal: a light stemcell for a CPI config with encrypted
// disks.
type LightStemcellRefused struct {
	Stemcell string // name/version
	Settings []EncryptedSetting
	Override string // how to accept it anyway, named in the error
}

func (e *LightStemcellRefused) Error() string {
	var at []string
	for _, s := range e.Settings {
		at = append(at, s.Path+": "+s.Value)
	}
	return fmt.Sprintf("refusing the light stemcell %s: the director's CPI config sets encrypted (%s), so the CPI's create_stemcell would copy the light stemcell's image encrypted and then delete the image itself, which the light-stemcell resource published for every director; use the heavy stemcell, remove the encrypted setting, or set %s to accept losing the image",
		e.Stemcell, strings.Join(at, "; "), e.Override)
}

// GuardLightStemcell refuses (a *LightStemcellRefused) a light stemcell m going to to in a
// director whose manifest sets encrypted; a heavy stemcell always passes. override names how
// to accept it anyway, for the error.
func GuardLightStemcell(m *stemcell.Manifest, manifest []byte, to, override string) error {
	settings, err := EncryptedSettings(manifest, to)
	if err != nil || !m.IsLight() || len(settings) == 0 {
		return err
	}
	return &LightStemcellRefused{Stemcell: m.Name() + "/" + m.Version(), Settings: settings, Override: override}
}

// ReadStemcellManifest reads stemcell.MF from a stemcell tarball, light or heavy, without reading
// the image after it.
func ReadStemcellManifest(path string) (*stemcell.Manifest, error) {
	m, err := readStemcellMF(path)
	if err != nil {
		return nil, fmt.Errorf("reading the stemcell %s: %w", path, err)
	}
	return m, nil
}
