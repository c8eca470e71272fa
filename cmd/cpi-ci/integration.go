package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/concourse"
	"github.com/bosh-alicloud/concourse-pack/lib/junit"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell"
)

const integrationUsage = `usage: cpi-ci integration --metadata FILE --stemcell DIR_OR_TGZ --report FILE
       [--name-file FILE] [--credential-source static|ecs_ram_role] -- COMMAND [ARG]...

Run the CPI's integration suite (COMMAND, e.g. a ginkgo v1 binary) the way the CPI release's
ci/tasks/run-integration.sh does, with the task's cloud params (cpi-ci cloud --help):

  * the stemcell tarball's image member is written beside the tarball (image.tgz) and its
    root.img is streamed to metadata.integration_bucket under a name unique to the run
    (root-<env>-<time>-<random>.img: no '/', the CPI imports it under that image name);
  * COMMAND gets CPI_* variables from the metadata (flat JSON, the environment task's output):
    CPI_REGION, CPI_ZONE, CPI_SECURITY_GROUP_ID, CPI_VSWITCH_ID, CPI_INTERNAL_CIDR,
    CPI_INTERNAL_NETMASK, CPI_INTERNAL_IP, CPI_INTERNAL_GW, CPI_EXTERNAL_IP,
    CPI_STEMCELL_OSS_BUCKET (integration_bucket), CPI_SLB_ID (slb), CPI_SLB_SERVER_GROUP_ID
    (server_group_slb), RAM_ROLE_NAME (ram_role); CPI_STEMCELL_FILE, CPI_STEMCELL_VERSION,
    CPI_STEMCELL_OSS_OBJECT; CPI_CREDENTIAL_SOURCE, and with static the resolved credentials
    as CPI_ACCESS_KEY_ID, CPI_ACCESS_KEY_SECRET, CPI_SECURITY_TOKEN (never the credential
    params), with ecs_ram_role CPI_RAM_ROLE_NAME (ALICLOUD_RAM_ROLE) and no key;
  * COMMAND's output is redacted; when it leaves no report at --report, a failed JUnit case
    saying so is written there;
  * the uploaded root.img is deleted whatever happens (COMMAND failing, SIGTERM).

cpi-ci exits with COMMAND's exit code.
`

// runIntegration uploads the raw image, runs the suite with the environment the CPI's
// integration package reads, and removes the upload.
func runIntegration(ctx context.Context, args []string, s stdio) error {
	fs := flags("integration", s)
	fs.Usage = func() { _, _ = fmt.Fprint(s.err, integrationUsage) } // help goes to stderr: nowhere else to report it
	metadataFile := fs.String("metadata", "", "the environment's metadata (flat JSON) (required)")
	nameFile := fs.String("name-file", "", "a file holding the environment's name, used in the upload's name")
	stemcellPath := fs.String("stemcell", "", "a heavy stemcell tarball, or a directory holding exactly one (required)")
	report := fs.String("report", "", "where COMMAND writes its JUnit report (required)")
	source := fs.String("credential-source", "static", "how the CPI under test authenticates: static or ecs_ram_role")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var missing []string
	for _, f := range []struct{ name, value string }{{"--metadata", *metadataFile}, {"--stemcell", *stemcellPath}, {"--report", *report}} {
		if f.value == "" {
			missing = append(missing, f.name)
		}
	}
	if fs.NArg() == 0 {
		missing = append(missing, "COMMAND")
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s\n\n%s", strings.Join(missing, ", "), integrationUsage)
	}
	if *source != "static" && *source != "ecs_ram_role" {
		return fmt.Errorf("--credential-source: expected static or ecs_ram_role, got %q", *source)
	}
	metadata, err := readMetadata(*metadataFile)
	if err != nil {
		return err
	}
	cpiEnv, err := integrationEnv(metadata)
	if err != nil {
		return err
	}
	envName := "env"
	if *nameFile != "" {
		data, err := os.ReadFile(*nameFile)
		if err != nil {
			return fmt.Errorf("reading the environment's name: %w", err)
		}
		envName = strings.TrimSpace(string(data))
	}
	tarball, err := findTarball(*stemcellPath, "stemcell")
	if err != nil {
		return err
	}

	session, log, err := openTaskCloud("", s)
	if err != nil {
		return err
	}
	creds, err := session.Credentials(ctx)
	if err != nil {
		return err
	}
	store, err := session.StoreIn(metadata["region"], metadata["integration_bucket"], "")
	if err != nil {
		return err
	}
	object, err := uploadName(envName)
	if err != nil {
		return err
	}
	// Deleted whatever happens, with a context of its own: the run's ends on SIGTERM.
	defer func() {
		cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := store.Delete(cleanup, object); err != nil {
			log.Warnf("deleting the raw image oss://%s/%s: %v (delete it by hand)", store.Bucket(), object, err)
			return
		}
		log.Printf("deleted the raw image oss://%s/%s", store.Bucket(), object)
	}()

	image := filepath.Join(filepath.Dir(tarball), "image.tgz")
	log.Printf("uploading root.img of %s to oss://%s/%s, its image to %s", filepath.Base(tarball), store.Bucket(), object, image)
	version, err := uploadRootImage(ctx, store, object, tarball, image, log)
	if err != nil {
		return err
	}

	cpiEnv["CPI_STEMCELL_FILE"] = image
	cpiEnv["CPI_STEMCELL_VERSION"] = version
	cpiEnv["CPI_STEMCELL_OSS_OBJECT"] = object
	cpiEnv["CPI_CREDENTIAL_SOURCE"] = *source
	names := credentialNames["cpi"]
	env := toolEnv(os.Environ(), names, creds)
	if *source == "ecs_ram_role" {
		// The CPI reads the instance metadata itself: no key in its environment.
		env = withoutEnv(env, names[:]...)
		cpiEnv["CPI_RAM_ROLE_NAME"] = os.Getenv(envRAMRole)
	}
	env = withEnv(env, cpiEnv)
	secrets := concourse.NewRedactor(creds.AccessKeyID, creds.AccessKeySecret, creds.SecurityToken)
	log.Printf("running %s (CPI_CREDENTIAL_SOURCE=%s)", filepath.Base(fs.Arg(0)), *source)
	runErr := runRedacted(ctx, fs.Args(), env, secrets, s)
	if _, err := os.Stat(*report); errors.Is(err, os.ErrNotExist) {
		what := "the integration suite passed but wrote no report"
		if runErr != nil {
			what = fmt.Sprintf("the integration suite failed (%v) before it wrote a report", runErr)
		}
		if err := writeFailureReport(*report, what); err != nil {
			log.Warnf("writing a report of the failure: %v", err)
		}
		if runErr == nil {
			runErr = errors.New(what)
		}
	}
	return runErr
}

// readMetadata reads the environment's flat JSON metadata; numbers and booleans become their
// JSON text.
func readMetadata(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the environment's metadata: %w", err)
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("the environment's metadata %s is not a JSON object: %w", path, err)
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		switch v := v.(type) {
		case string:
			out[k] = v
		case nil:
			out[k] = ""
		case map[string]any, []any:
			continue // not flat: nothing a variable can hold
		default:
			out[k] = fmt.Sprint(v)
		}
	}
	return out, nil
}

// integrationMetadata maps the suite's variables to metadata keys, as run-integration.sh
// exports them; required ones fail when missing or empty.
var integrationMetadata = []struct {
	env, key string
	required bool
}{
	{"CPI_REGION", "region", true},
	{"CPI_ZONE", "zone", true},
	{"CPI_SECURITY_GROUP_ID", "security_group_id", true},
	{"CPI_VSWITCH_ID", "vswitch_id", true},
	{"CPI_INTERNAL_CIDR", "internal_cidr", true},
	{"CPI_INTERNAL_IP", "internal_ip", true},
	{"CPI_INTERNAL_GW", "internal_gw", true},
	{"CPI_EXTERNAL_IP", "external_ip", true},
	{"CPI_STEMCELL_OSS_BUCKET", "integration_bucket", true},
	{"CPI_SLB_ID", "slb", false},
	{"CPI_SLB_SERVER_GROUP_ID", "server_group_slb", false},
	{"RAM_ROLE_NAME", "ram_role", false},
}

// integrationEnv is the suite's environment from the metadata, CPI_INTERNAL_NETMASK included;
// it names every missing required key at once.
func integrationEnv(metadata map[string]string) (map[string]string, error) {
	env := map[string]string{}
	var missing []string
	for _, m := range integrationMetadata {
		v := metadata[m.key]
		if v == "" {
			if m.required {
				missing = append(missing, m.key)
			}
			continue // the suite's own default applies
		}
		env[m.env] = v
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the environment's metadata lacks %s (the integration suite needs them)", strings.Join(missing, ", "))
	}
	_, network, err := net.ParseCIDR(env["CPI_INTERNAL_CIDR"])
	if err != nil {
		return nil, fmt.Errorf("the environment's metadata: internal_cidr %q is not a CIDR: %w", env["CPI_INTERNAL_CIDR"], err)
	}
	if len(network.Mask) != net.IPv4len {
		return nil, fmt.Errorf("the environment's metadata: internal_cidr %q is not an IPv4 CIDR", env["CPI_INTERNAL_CIDR"])
	}
	env["CPI_INTERNAL_NETMASK"] = net.IP(network.Mask).String()
	return env, nil
}

// withEnv is env with vars set (replacing what env had under their names), in a stable order.
func withEnv(env []string, vars map[string]string) []string {
	out := make([]string, 0, len(env)+len(vars))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if _, replaced := vars[name]; !replaced {
			out = append(out, kv)
		}
	}
	names := make([]string, 0, len(vars))
	for name := range vars {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		out = append(out, name+"="+vars[name])
	}
	return out
}

// withoutEnv is env without the variables names.
func withoutEnv(env []string, names ...string) []string {
	drop := map[string]bool{}
	for _, n := range names {
		drop[n] = true
	}
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if name, _, _ := strings.Cut(kv, "="); !drop[name] {
			out = append(out, kv)
		}
	}
	return out
}

// findTarball is path when it is a file, else the one *.tgz in the directory path (an input).
func findTarball(path, input string) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("the %s input: %w", input, err)
	}
	if !info.IsDir() {
		return path, nil
	}
	matches, err := filepath.Glob(filepath.Join(path, "*.tgz"))
	if err != nil {
		return "", err
	}
	var files []string
	for _, m := range matches {
		if fi, err := os.Stat(m); err == nil && fi.Mode().IsRegular() && filepath.Base(m) != "image.tgz" {
			files = append(files, m)
		}
	}
	switch len(files) {
	case 1:
		return files[0], nil
	case 0:
		return "", fmt.Errorf("the %s input %s holds no *.tgz", input, path)
	}
	return "", fmt.Errorf("the %s input %s holds %d *.tgz files (%s); it must hold one", input, path, len(files), strings.Join(files, ", "))
}

var notImageName = regexp.MustCompile(`[^a-zA-Z0-9._-]+`)

// uploadName is the raw image's object name: unique to the run, and a valid ECS image name
// (the CPI's create_stemcell imports it under its object name), so no '/'.
func uploadName(env string) (string, error) {
	random := make([]byte, 4)
	if _, err := rand.Read(random); err != nil {
		return "", err
	}
	env = strings.Trim(notImageName.ReplaceAllString(env, "-"), "-.")
	if len(env) > 64 {
		env = env[:64]
	}
	if env == "" {
		env = "env"
	}
	return fmt.Sprintf("root-%s-%s-%s.img", env, time.Now().UTC().Format("20060102t150405"), hex.EncodeToString(random)), nil
}

// uploadRootImage reads the heavy stemcell once: its image member goes to imagePath, its
// root.img to the store as name. It returns the stemcell's version.
func uploadRootImage(ctx context.Context, store *alicloud.Store, name, tarball, imagePath string, log *concourse.Logger) (string, error) {
	in, err := os.Open(tarball)
	if err != nil {
		return "", fmt.Errorf("the stemcell: %w", err)
	}
	defer func() { _ = in.Close() }() // read-only: its close has nothing to report
	out, err := os.Create(imagePath)
	if err != nil {
		return "", fmt.Errorf("writing the stemcell's image: %w", err)
	}
	heavy, err := stemcell.ReadHeavyTo(in, out, func(root io.Reader, size int64) error {
		progress := alicloud.LogProgress(log, "uploading root.img", 10*time.Second)
		_, err := store.Upload(ctx, name, root, alicloud.UploadOptions{TransferOptions: alicloud.TransferOptions{Parallel: 4, PartSize: 16 << 20, Progress: progress}})
		return err
	})
	if closeErr := out.Close(); err == nil && closeErr != nil {
		err = fmt.Errorf("writing the stemcell's image: %w", closeErr)
	}
	if err != nil {
		return "", fmt.Errorf("the stemcell %s: %w", filepath.Base(tarball), err)
	}
	log.Printf("uploaded root.img (%d bytes) of stemcell %s/%s", heavy.RootImageSize, heavy.Manifest.Name(), heavy.Manifest.Version())
	return heavy.Manifest.Version(), nil
}

// writeFailureReport writes a JUnit report with one failed case saying what happened.
func writeFailureReport(path, message string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := junit.WriteFailure(f, "integration", "integration suite", message); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
