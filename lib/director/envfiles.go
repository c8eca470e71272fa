package director

import (
	"encoding/json"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// Address chooses which IP director.env targets. The jumpbox (BOSH_ALL_PROXY) is always
// reached through the external IP.
type Address string

// The addresses.
const (
	AddressInternal Address = "internal"
	AddressExternal Address = "external"
)

// Target is how a task reaches a director: where, as whom, through which jumpbox.
type Target struct {
	InternalIP   string
	ExternalIP   string
	Client       string
	ClientSecret string
	CACert       string
	JumpboxUser  string
	JumpboxKey   string // the private key's content; empty: no jumpbox
}

// TargetOf reads the target of a fetched env from its creds.yml, its rendered manifest and
// the environment task's metadata (internal_ip, external_ip), which win over the manifest.
func TargetOf(creds, manifest []byte, metadata json.RawMessage) (Target, error) {
	var c struct {
		AdminPassword string `yaml:"admin_password"`
		DirectorSSL   struct {
			CA string `yaml:"ca"`
		} `yaml:"director_ssl"`
		JumpboxSSH struct {
			PrivateKey string `yaml:"private_key"`
		} `yaml:"jumpbox_ssh"`
	}
	if err := yaml.Unmarshal(creds, &c); err != nil {
		return Target{}, fmt.Errorf("reading creds.yml: %w", err)
	}
	var m struct {
		CloudProvider struct {
			MBus      string `yaml:"mbus"`
			SSHTunnel struct {
				Host string `yaml:"host"`
				User string `yaml:"user"`
			} `yaml:"ssh_tunnel"`
		} `yaml:"cloud_provider"`
	}
	if err := yaml.Unmarshal(manifest, &m); err != nil {
		return Target{}, fmt.Errorf("reading director.yml: %w", err)
	}
	t := Target{Client: "admin", ClientSecret: c.AdminPassword, CACert: c.DirectorSSL.CA,
		ExternalIP: m.CloudProvider.SSHTunnel.Host, JumpboxKey: c.JumpboxSSH.PrivateKey, JumpboxUser: "jumpbox"}
	if at := strings.LastIndex(m.CloudProvider.MBus, "@"); at >= 0 {
		t.InternalIP, _, _ = strings.Cut(m.CloudProvider.MBus[at+1:], ":")
	}
	var meta map[string]any
	if len(metadata) > 0 && json.Unmarshal(metadata, &meta) == nil {
		if ip, _ := meta["internal_ip"].(string); ip != "" {
			t.InternalIP = ip
		}
		if ip, _ := meta["external_ip"].(string); ip != "" {
			t.ExternalIP = ip
		}
	}
	if t.ExternalIP == "" {
		t.ExternalIP = t.InternalIP
	}
	return t, nil
}

// Host is the IP the target's address chooses.
func (t Target) Host(a Address) string {
	if a == AddressInternal {
		return t.InternalIP
	}
	return t.ExternalIP
}

// EnvScript is director.env: a bash file a task sources from wherever it is mounted. It finds
// jumpbox.key beside itself.
func (t Target) EnvScript(a Address) string {
	var b strings.Builder
	b.WriteString("# Source me: director-env resource, `source director-state/director.env`\n")
	b.WriteString("_director_env_dir=\"$(cd \"$(dirname \"${BASH_SOURCE[0]:-$0}\")\" && pwd)\"\n")
	export := func(name, value string) { fmt.Fprintf(&b, "export %s=%s\n", name, shellQuote(value)) }
	export("BOSH_ENVIRONMENT", t.Host(a))
	export("BOSH_CLIENT", t.Client)
	export("BOSH_CLIENT_SECRET", t.ClientSecret)
	export("BOSH_CA_CERT", t.CACert)
	if t.JumpboxKey != "" {
		export("BOSH_GW_HOST", t.ExternalIP)
		export("BOSH_GW_USER", t.JumpboxUser)
		b.WriteString("export BOSH_GW_PRIVATE_KEY=\"$_director_env_dir/jumpbox.key\"\n")
		fmt.Fprintf(&b, "export BOSH_ALL_PROXY=\"ssh+socks5://%s@%s:22?private-key=$_director_env_dir/jumpbox.key\"\n", t.JumpboxUser, t.ExternalIP)
	}
	b.WriteString("unset _director_env_dir\n")
	return b.String()
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// DeploymentSource is bdr-source-file: a ready `source` for bosh-deployment-resource.
func (t Target) DeploymentSource(a Address) ([]byte, error) {
	source := map[string]string{
		"target": "https://" + t.Host(a) + ":25555", "client": t.Client, "client_secret": t.ClientSecret, "ca_cert": t.CACert,
	}
	if t.JumpboxKey != "" {
		source["jumpbox_url"] = t.ExternalIP + ":22"
		source["jumpbox_ssh_key"] = t.JumpboxKey
	}
	return json.MarshalIndent(source, "", "  ")
}
