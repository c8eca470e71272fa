package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
	"gopkg.in/yaml.v3"
)

// simSeed is the --seed file (YAML, or JSON which YAML reads too).
type simSeed struct {
	DefaultRegion  string           `yaml:"default_region"`
	Regions        []string         `yaml:"regions"`
	Credentials    []sim.Credential `yaml:"credentials"`
	Buckets        []sim.Bucket     `yaml:"buckets"`
	STSMinDuration string           `yaml:"sts_min_duration"`
	RAMRoles       []string         `yaml:"ram_roles"`

	// ECS timings, copy limits and stock; the flags of the same names win.
	ImportDuration       string         `yaml:"import_duration"`
	CopyDuration         string         `yaml:"copy_duration"`
	CopyDurations        []seedCopyTime `yaml:"copy_durations"`
	CopyConcurrency      int            `yaml:"copy_concurrency"`
	CopyLimitBy          string         `yaml:"copy_limit_by"`
	ImageVisibilityDelay string         `yaml:"image_visibility_delay"`
	DeleteDuration       string         `yaml:"delete_duration"`
	KMSKeys              []sim.KMSKey   `yaml:"kms_keys"`
	Zones                []sim.Zone     `yaml:"zones"`
	VSwitches            []sim.VSwitch  `yaml:"vswitches"`
}

// seedCopyTime is one copy_durations entry: how long a copy from one region to another takes.
type seedCopyTime struct {
	From     string `yaml:"from"`
	To       string `yaml:"to"`
	Duration string `yaml:"duration"`
}

// seedDuration parses an optional duration key of the seed file.
func seedDuration(key, v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("seed file %s: %w", key, err)
	}
	return d, nil
}

// runSim runs the Alibaba Cloud emulator as a server until ctx ends (SIGINT/SIGTERM).
func runSim(ctx context.Context, args []string, s stdio) error {
	fs := flags("sim", s)
	listen := fs.String("listen", "127.0.0.1:18090", "loopback address to listen on; port 0 picks a free port")
	keyID := fs.String("access-key-id", "", "access key id of the first account")
	keySecret := fs.String("access-key-secret", "", "access key secret of the first account")
	dataDir := fs.String("data-dir", "", "directory for object bodies (default: a temporary directory)")
	seedFile := fs.String("seed", "", "YAML/JSON file: regions, default_region, credentials, buckets, sts_min_duration, ram_roles, import_duration, copy_duration, copy_durations, copy_concurrency, copy_limit_by, image_visibility_delay, delete_duration, kms_keys, zones, vswitches")
	stsMin := fs.Duration("sts-min-duration", 0, "shortest AssumeRole DurationSeconds accepted (default: the seed file's, else 900s)")
	importDuration := fs.Duration("import-duration", 0, "how long ImportImage takes (default: the seed file's, else 2s)")
	copyDuration := fs.Duration("copy-duration", 0, "how long a running CopyImage takes (default: the seed file's, else 3s)")
	copyConcurrency := fs.Int("copy-concurrency", 0, "copies running at once per region; the rest wait (default: the seed file's, else 5)")
	copyLimitBy := fs.String("copy-limit-by", "", "region a copy counts against: source or destination (default: the seed file's, else source)")
	deleteDuration := fs.Duration("delete-duration", 0, "how long DeleteImage takes; the image and its snapshots stay until then (default: the seed file's, else 200ms)")
	useTLS := fs.Bool("tls", false, "also serve HTTPS on the same ports (by protocol sniffing), with a CA made at start")
	var sans []string
	fs.Func("tls-san", "a further name or address for the TLS certificate (repeatable, or comma-separated); the listen host is always in it", func(v string) error {
		for _, san := range strings.Split(v, ",") {
			if san = strings.TrimSpace(san); san != "" {
				sans = append(sans, san)
			}
		}
		return nil
	})
	caOut := fs.String("ca-out", "", "with --tls: file to write the CA certificate (PEM) to, for clients to trust")
	regionalPorts := fs.Bool("regional-ports", false, "also listen on one port per region, served as that region's endpoint")
	endpointsOut := fs.String("endpoints-out", "", "with --regional-ports: file to write the region → URL map (JSON) to")
	verbose := fs.Bool("verbose", false, "log every request on stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("sim takes no arguments, got %q", fs.Args())
	}
	if err := checkListenFlags(*useTLS, sans, *caOut, *regionalPorts, *endpointsOut); err != nil {
		return err
	}

	var seed simSeed
	if *seedFile != "" {
		raw, err := os.ReadFile(*seedFile)
		if err != nil {
			return fmt.Errorf("reading the seed file: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(true)
		if err := dec.Decode(&seed); err != nil {
			return fmt.Errorf("decoding the seed file %s: %w", *seedFile, err)
		}
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	cfg := sim.Config{
		DataDir:       *dataDir,
		DefaultRegion: seed.DefaultRegion,
		Regions:       seed.Regions,
		RAMRoles:      seed.RAMRoles,
		Logger:        slog.New(slog.NewTextHandler(s.err, &slog.HandlerOptions{Level: level})),
	}
	switch {
	case *keyID != "" && *keySecret != "":
		cfg.Credentials = append(cfg.Credentials, sim.Credential{AccessKeyID: *keyID, AccessKeySecret: *keySecret})
	case *keyID != "" || *keySecret != "":
		return errors.New("--access-key-id and --access-key-secret go together")
	}
	cfg.Credentials = append(cfg.Credentials, seed.Credentials...)
	if len(cfg.Credentials) == 0 {
		return errors.New("no credentials: pass --access-key-id and --access-key-secret, or credentials in the seed file")
	}
	if seed.STSMinDuration != "" {
		d, err := time.ParseDuration(seed.STSMinDuration)
		if err != nil {
			return fmt.Errorf("seed file sts_min_duration: %w", err)
		}
		cfg.STSMinDuration = d
	}
	if *stsMin > 0 {
		cfg.STSMinDuration = *stsMin
	}
	if err := applyECSSeed(&cfg, seed); err != nil {
		return err
	}
	if *importDuration > 0 {
		cfg.ImportDuration = *importDuration
	}
	if *copyDuration > 0 {
		cfg.CopyDuration = *copyDuration
	}
	if *copyConcurrency > 0 {
		cfg.CopyConcurrency = *copyConcurrency
	}
	if *copyLimitBy != "" {
		cfg.CopyLimitBy = *copyLimitBy
	}
	if *deleteDuration > 0 {
		cfg.DeleteDuration = *deleteDuration
	}

	if err := requireLoopback(*listen); err != nil {
		return err
	}
	srv, err := sim.New(cfg)
	if err != nil {
		return err
	}
	defer func() { _ = srv.Close() }() // for the early returns, whose error is the one to report
	for _, b := range seed.Buckets {
		if err := srv.CreateBucket(b); err != nil {
			return fmt.Errorf("seed file: %w", err)
		}
	}
	l, err := listenAll(srv, *listen, *regionalPorts)
	if err != nil {
		return err
	}
	defer l.close() // for the early returns; after a clean shutdown there is nothing left to close
	if *useTLS {
		host, _, _ := net.SplitHostPort(*listen) // requireLoopback parsed it
		names := []string{host}
		if host == "localhost" {
			names = append(names, "127.0.0.1", "::1") // what localhost resolves to
		}
		certs, err := sim.NewCertificates(append(names, sans...))
		if err != nil {
			return err
		}
		if err := writeFileAtomic(*caOut, certs.CAPEM); err != nil {
			return fmt.Errorf("writing the CA to --ca-out: %w", err)
		}
		l.tls(certs)
	}
	if *endpointsOut != "" {
		raw, err := json.MarshalIndent(l.endpoints(*useTLS), "", "  ")
		if err != nil {
			return fmt.Errorf("encoding the endpoints: %w", err)
		}
		if err := writeFileAtomic(*endpointsOut, append(raw, '\n')); err != nil {
			return fmt.Errorf("writing --endpoints-out: %w", err)
		}
	}
	served := l.serve()
	// Whoever started the emulator learns its address from this line: without it, stop.
	if _, err := fmt.Fprintf(s.out, "sim listening on http://%s\n", l.main.ln.Addr()); err != nil {
		return fmt.Errorf("announcing the address: %w", err)
	}
	if *useTLS {
		cfg.Logger.Info("serving HTTPS and HTTP on the same ports", "ca", *caOut)
	}

	select {
	case err := <-served:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	l.shutdown()
	return srv.Close()
}

// checkListenFlags refuses TLS and regional-port flags that would do nothing.
func checkListenFlags(useTLS bool, sans []string, caOut string, regional bool, endpointsOut string) error {
	var problems []string
	if useTLS && caOut == "" {
		problems = append(problems, "--tls needs --ca-out: clients must be given the CA to trust")
	}
	if !useTLS && (len(sans) > 0 || caOut != "") {
		problems = append(problems, "--tls-san and --ca-out need --tls")
	}
	if regional != (endpointsOut != "") {
		problems = append(problems, "--regional-ports and --endpoints-out go together: clients learn the regional ports from that file")
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// endpoint is one listening port of the emulator: the main one (every region) or a region's.
type endpoint struct {
	region string // "" for the main endpoint
	ln     net.Listener
	hs     *http.Server
}

type listeners struct {
	main     *endpoint
	regional []*endpoint
}

// listenAll opens the main address and, with regional, one free port per region on its host.
func listenAll(srv *sim.Server, addr string, regional bool) (*listeners, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	l := &listeners{main: &endpoint{ln: ln, hs: &http.Server{Handler: srv, ReadHeaderTimeout: 30 * time.Second}}}
	if !regional {
		return l, nil
	}
	host, _, _ := net.SplitHostPort(addr) // requireLoopback parsed it
	for _, region := range srv.Regions() {
		h, err := srv.RegionalHandler(region)
		if err == nil {
			ln, err = net.Listen("tcp", net.JoinHostPort(host, "0"))
		}
		if err != nil {
			l.close() // the listen error is the one to report
			return nil, fmt.Errorf("listening for region %s: %w", region, err)
		}
		l.regional = append(l.regional, &endpoint{region: region, ln: ln,
			hs: &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}})
	}
	return l, nil
}

func (l *listeners) all() []*endpoint { return append([]*endpoint{l.main}, l.regional...) }

// tls makes every port serve HTTPS as well as HTTP.
func (l *listeners) tls(certs *sim.Certificates) {
	for _, e := range l.all() {
		e.ln = sim.SniffTLS(e.ln, certs.Config)
	}
}

// endpoints is the region → URL map of --endpoints-out.
func (l *listeners) endpoints(useTLS bool) map[string]string {
	scheme := "http"
	if useTLS {
		scheme = "https"
	}
	out := map[string]string{}
	for _, e := range l.regional {
		out[e.region] = scheme + "://" + e.ln.Addr().String()
	}
	return out
}

// serve serves every port; the channel gets the first one's failure.
func (l *listeners) serve() <-chan error {
	served := make(chan error, len(l.all()))
	for _, e := range l.all() {
		go func() { served <- e.hs.Serve(e.ln) }()
	}
	return served
}

// shutdown stops every port, dropping requests still running after two seconds (a hang fault,
// a slow download).
func (l *listeners) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, e := range l.all() {
		if err := e.hs.Shutdown(ctx); err != nil {
			_ = e.hs.Close() // only fails with the listener's close error, and it is stopping anyway
		}
	}
}

// close closes every listener (Serve not started, or already shut down: a no-op error).
func (l *listeners) close() {
	for _, e := range l.all() {
		_ = e.hs.Close() // closing what may never have served: nothing to report
		_ = e.ln.Close()
	}
}

// writeFileAtomic writes a file through a temporary one beside it, so a reader never sees half.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644) // a CA certificate and URLs: public
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name()) // the write's error is the one to report
	}
	return err
}

// applyECSSeed copies the seed file's ECS keys into the config; sim.New validates the values.
func applyECSSeed(cfg *sim.Config, seed simSeed) error {
	var err error
	if cfg.ImportDuration, err = seedDuration("import_duration", seed.ImportDuration); err != nil {
		return err
	}
	if cfg.CopyDuration, err = seedDuration("copy_duration", seed.CopyDuration); err != nil {
		return err
	}
	if cfg.ImageVisibilityDelay, err = seedDuration("image_visibility_delay", seed.ImageVisibilityDelay); err != nil {
		return err
	}
	if cfg.DeleteDuration, err = seedDuration("delete_duration", seed.DeleteDuration); err != nil {
		return err
	}
	cfg.KMSKeys = seed.KMSKeys
	for i, c := range seed.CopyDurations {
		d, err := seedDuration(fmt.Sprintf("copy_durations[%d].duration", i), c.Duration)
		if err != nil {
			return err
		}
		if c.From == "" || c.To == "" || d <= 0 {
			return fmt.Errorf("seed file copy_durations[%d]: from, to and a positive duration are required", i)
		}
		if cfg.CopyDurations == nil {
			cfg.CopyDurations = map[[2]string]time.Duration{}
		}
		cfg.CopyDurations[[2]string{c.From, c.To}] = d
	}
	cfg.CopyConcurrency = seed.CopyConcurrency
	cfg.CopyLimitBy = seed.CopyLimitBy
	cfg.Zones = seed.Zones
	cfg.VSwitches = seed.VSwitches
	return nil
}

// requireLoopback refuses to listen beyond this machine: the admin API is unsigned.
func requireLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--listen %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("--listen %q: the emulator listens on a loopback address only (its admin API is unsigned)", addr)
}
