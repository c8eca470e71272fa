package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"strings"

	"github.com/bosh-alicloud/concourse-pack/lib/junit"
)

const batsUsage = `usage: cpi-ci bats SUBCOMMAND [flags]

  spec --metadata FILE --stemcell DIR --ssh-key FILE [--jumpbox-key FILE] [--jumpbox-user U]
       [--instance-type T] -o FILE
      write the BATs deployment spec (BAT_DEPLOYMENT_SPEC, cpi: alicloud) from the environment's
      metadata and the stemcell: one manual network (vswitch, security group, cidr, gateway,
      reserved and static ranges, static_ip network_static_ip_1, second_static_ip
      network_static_ip_2), the vip bats_eip, the zone, the stemcell's name and version, the
      SSH key pair of --ssh-key (its public key derived from it) and, with --jumpbox-key, the
      jumpbox as ssh_gateway (host external_ip). The file holds private keys: it is written 0600.
  junit --rspec-json FILE -o FILE
      turn rspec's JSON report into JUnit XML; a missing or unreadable report becomes one failed
      case saying so, so a run that broke early still leaves a report.
`

var batsSubcommands = map[string]subcommand{
	"spec":  runBatsSpec,
	"junit": runBatsJUnit,
}

func runBats(ctx context.Context, args []string, s stdio) error {
	return dispatch(ctx, args, s, batsUsage, batsSubcommands)
}

// batsMetadataKeys are the metadata keys the BATs spec is made of.
var batsMetadataKeys = []string{"zone", "vswitch_id", "security_group_id", "internal_cidr", "internal_gw",
	"reserved_range", "static_range", "network_static_ip_1", "network_static_ip_2", "bats_eip"}

// The BATs spec, in the order BATs' README writes it; the keys are what BATs' templates
// (cloud_config_alicloud.yml.erb, deployment.yml.erb) and helpers read.
type batsSpec struct {
	CPI        string         `yaml:"cpi"`
	Properties batsProperties `yaml:"properties"`
}

type batsProperties struct {
	Stemcell         batsStemcell    `yaml:"stemcell"`
	Instances        int             `yaml:"instances"`
	AvailabilityZone string          `yaml:"availability_zone"`
	InstanceType     string          `yaml:"instance_type"`
	SecurityGroups   string          `yaml:"security_groups"`
	VIP              string          `yaml:"vip"`
	SecondStaticIP   string          `yaml:"second_static_ip"`
	SSHKeyPair       batsKeyPair     `yaml:"ssh_key_pair"`
	SSHGateway       *batsSSHGateway `yaml:"ssh_gateway,omitempty"`
	Networks         []batsNetwork   `yaml:"networks"`
}

type batsStemcell struct {
	Name    string `yaml:"name"`
	Version string `yaml:"version"`
}

type batsKeyPair struct {
	PublicKey  string `yaml:"public_key"`
	PrivateKey string `yaml:"private_key"`
}

type batsSSHGateway struct {
	Host       string `yaml:"host"`
	Username   string `yaml:"username"`
	PrivateKey string `yaml:"private_key"`
}

type batsNetwork struct {
	Name     string   `yaml:"name"`
	Type     string   `yaml:"type"`
	StaticIP string   `yaml:"static_ip"`
	CIDR     string   `yaml:"cidr"`
	Reserved []string `yaml:"reserved"`
	Static   []string `yaml:"static"`
	Gateway  string   `yaml:"gateway"`
	// subnet and security_groups are what cloud_config_alicloud.yml.erb reads; cloud_properties
	// says the same in the CPI's own words.
	Subnet          string               `yaml:"subnet"`
	SecurityGroups  string               `yaml:"security_groups"`
	CloudProperties alicloudNetworkProps `yaml:"cloud_properties"`
}

type alicloudNetworkProps struct {
	VSwitchID        string   `yaml:"vswitch_id"`
	SecurityGroupIDs []string `yaml:"security_group_ids"`
}

func runBatsSpec(_ context.Context, args []string, s stdio) error {
	fs := flags("bats spec", s)
	fs.Usage = func() { _, _ = fmt.Fprint(s.err, batsUsage) } // help goes to stderr: nowhere else to report it
	metadata := fs.String("metadata", "", "the environment's metadata (required)")
	stemcellPath := fs.String("stemcell", "", "the stemcell input directory (required)")
	sshKey := fs.String("ssh-key", "", "the private key BATs deploys VMs with and SSHes in with (required)")
	jumpboxKey := fs.String("jumpbox-key", "", "the jumpbox's private key: BATs tunnels through the jumpbox (optional)")
	jumpboxUser := fs.String("jumpbox-user", "jumpbox", "the jumpbox's user")
	instanceType := fs.String("instance-type", "ecs.hfc6.xlarge", "the instance type of BATs' VMs")
	out := fs.String("o", "", "the spec file to write (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var missing []string
	for _, f := range []struct{ name, value string }{{"--metadata", *metadata}, {"--stemcell", *stemcellPath}, {"--ssh-key", *sshKey}, {"-o", *out}, {"--instance-type", *instanceType}} {
		if f.value == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 || fs.NArg() > 0 {
		return fmt.Errorf("missing %s or unexpected arguments %q\n\n%s", strings.Join(missing, ", "), fs.Args(), batsUsage)
	}
	meta, err := readEnvMetadata(*metadata)
	if err != nil {
		return err
	}
	keys := batsMetadataKeys
	if *jumpboxKey != "" {
		keys = append(keys, "external_ip")
	}
	if err := meta.need(*metadata, keys...); err != nil {
		return err
	}
	sc, err := readStemcellDir(*stemcellPath)
	if err != nil {
		return err
	}
	private, err := os.ReadFile(*sshKey)
	if err != nil {
		return fmt.Errorf("reading --ssh-key: %w", err)
	}
	public, err := sshPublicKey(private)
	if err != nil {
		return fmt.Errorf("--ssh-key %s: %w", *sshKey, err)
	}
	spec := batsSpec{CPI: "alicloud", Properties: batsProperties{
		Stemcell:         batsStemcell{Name: sc.Manifest.Name(), Version: sc.Manifest.Version()},
		Instances:        1,
		AvailabilityZone: meta["zone"],
		InstanceType:     *instanceType,
		SecurityGroups:   meta["security_group_id"],
		VIP:              meta["bats_eip"],
		SecondStaticIP:   meta["network_static_ip_2"],
		SSHKeyPair:       batsKeyPair{PublicKey: public, PrivateKey: string(private)},
		Networks: []batsNetwork{{
			Name: "default", Type: "manual", StaticIP: meta["network_static_ip_1"], CIDR: meta["internal_cidr"],
			Reserved: []string{meta["reserved_range"]}, Static: []string{meta["static_range"]}, Gateway: meta["internal_gw"],
			Subnet: meta["vswitch_id"], SecurityGroups: meta["security_group_id"],
			CloudProperties: alicloudNetworkProps{VSwitchID: meta["vswitch_id"], SecurityGroupIDs: []string{meta["security_group_id"]}},
		}},
	}}
	if *jumpboxKey != "" {
		key, err := os.ReadFile(*jumpboxKey)
		if err != nil {
			return fmt.Errorf("reading --jumpbox-key: %w", err)
		}
		spec.Properties.SSHGateway = &batsSSHGateway{Host: meta["external_ip"], Username: *jumpboxUser, PrivateKey: string(key)}
	}
	body, err := marshalYAML(spec)
	if err != nil {
		return err
	}
	if err := writePrivate(*out, body); err != nil {
		return fmt.Errorf("writing the BATs spec: %w", err)
	}
	_, _ = fmt.Fprintf(s.err, "bats spec: %s %s in %s, vip %s, static IPs %s and %s\n", sc.Manifest.Name(), sc.Manifest.Version(),
		meta["zone"], meta["bats_eip"], meta["network_static_ip_1"], meta["network_static_ip_2"]) // a note beside the file
	return nil
}

// sshPublicKey is the OpenSSH public key line of a private key: an OpenSSH-format key (its
// public half is stored in clear beside the private one), or PEM RSA (PKCS#1 or PKCS#8) and
// Ed25519 (PKCS#8) keys, unencrypted.
func sshPublicKey(private []byte) (string, error) {
	block, _ := pem.Decode(private)
	if block == nil {
		return "", errors.New("not a PEM private key")
	}
	var blob []byte
	switch block.Type {
	case "OPENSSH PRIVATE KEY":
		var err error
		if blob, err = openSSHPublicBlob(block.Bytes); err != nil {
			return "", err
		}
	case "RSA PRIVATE KEY":
		key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return "", fmt.Errorf("parsing the RSA key: %w", err)
		}
		blob = rsaBlob(&key.PublicKey)
	case "PRIVATE KEY":
		key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return "", fmt.Errorf("parsing the PKCS#8 key: %w", err)
		}
		switch k := key.(type) {
		case *rsa.PrivateKey:
			blob = rsaBlob(&k.PublicKey)
		case ed25519.PrivateKey:
			blob = sshBlob([]byte("ssh-ed25519"), k[ed25519.SeedSize:]) // the public key is the private key's second half
		default:
			return "", fmt.Errorf("a %T key: want RSA or Ed25519", key)
		}
	default:
		return "", fmt.Errorf("a PEM %q block: want an unencrypted OpenSSH, RSA or PKCS#8 private key", block.Type)
	}
	kind, _, ok := sshString(blob)
	if !ok {
		return "", errors.New("the public key is malformed")
	}
	return string(kind) + " " + base64.StdEncoding.EncodeToString(blob), nil
}

// openSSHPublicBlob reads the public key of the openssh-key-v1 format: magic, cipher, kdf, kdf
// options, the number of keys (1), then the public key blob.
func openSSHPublicBlob(data []byte) ([]byte, error) {
	const magic = "openssh-key-v1\x00"
	if !bytes.HasPrefix(data, []byte(magic)) {
		return nil, errors.New("not an openssh-key-v1 key")
	}
	rest := data[len(magic):]
	for range 3 { // cipher, kdf, kdf options
		var ok bool
		if _, rest, ok = sshString(rest); !ok {
			return nil, errors.New("the OpenSSH key is malformed")
		}
	}
	if len(rest) < 4 || binary.BigEndian.Uint32(rest) != 1 {
		return nil, errors.New("the OpenSSH key does not hold exactly one key")
	}
	blob, _, ok := sshString(rest[4:])
	if !ok {
		return nil, errors.New("the OpenSSH key is malformed")
	}
	return blob, nil
}

// sshString splits an SSH wire string (uint32 length, bytes) off data.
func sshString(data []byte) (value, rest []byte, ok bool) {
	if len(data) < 4 {
		return nil, nil, false
	}
	n := binary.BigEndian.Uint32(data)
	if uint64(len(data)-4) < uint64(n) {
		return nil, nil, false
	}
	return data[4 : 4+n], data[4+n:], true
}

func rsaBlob(k *rsa.PublicKey) []byte {
	return sshBlob([]byte("ssh-rsa"), mpint(big.NewInt(int64(k.E))), mpint(k.N))
}

// mpint is an SSH multiple-precision integer: big-endian, a leading zero when the top bit is set.
func mpint(n *big.Int) []byte {
	b := n.Bytes()
	if len(b) > 0 && b[0]&0x80 != 0 {
		b = append([]byte{0}, b...)
	}
	return b
}

func sshBlob(fields ...[]byte) []byte {
	var b bytes.Buffer
	for _, f := range fields {
		_ = binary.Write(&b, binary.BigEndian, uint32(len(f))) // a bytes.Buffer never fails
		b.Write(f)
	}
	return b.Bytes()
}

func runBatsJUnit(_ context.Context, args []string, s stdio) error {
	fs := flags("bats junit", s)
	fs.Usage = func() { _, _ = fmt.Fprint(s.err, batsUsage) } // help goes to stderr: nowhere else to report it
	in := fs.String("rspec-json", "", "rspec's JSON report (required)")
	out := fs.String("o", "", "the JUnit report to write (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" || *out == "" || fs.NArg() > 0 {
		return fmt.Errorf("want --rspec-json FILE -o FILE and no arguments\n\n%s", batsUsage)
	}
	var rep *junit.Report
	f, err := os.Open(*in)
	if err == nil {
		rep, err = junit.ReadRSpec(f)
		_ = f.Close() // read-only: its close has nothing to report
	}
	if err != nil {
		rep = junit.Failed("bats", "rspec wrote no usable report", err.Error())
	}
	if err := writeAtomically(*out, func(w io.Writer) error { return rep.WriteXML(w) }); err != nil {
		return fmt.Errorf("writing %s: %w", *out, err)
	}
	_, _ = fmt.Fprintf(s.err, "junit: %s in %s\n", rep.Summary(), *out) // a note beside the report
	return nil
}
