package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
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
	seedFile := fs.String("seed", "", "YAML/JSON file: regions, default_region, credentials, buckets, sts_min_duration, ram_roles, import_duration, copy_duration, copy_durations, copy_concurrency, copy_limit_by, image_visibility_delay, zones, vswitches")
	stsMin := fs.Duration("sts-min-duration", 0, "shortest AssumeRole DurationSeconds accepted (default: the seed file's, else 900s)")
	importDuration := fs.Duration("import-duration", 0, "how long ImportImage takes (default: the seed file's, else 2s)")
	copyDuration := fs.Duration("copy-duration", 0, "how long a running CopyImage takes (default: the seed file's, else 3s)")
	copyConcurrency := fs.Int("copy-concurrency", 0, "copies running at once per region; the rest wait (default: the seed file's, else 5)")
	copyLimitBy := fs.String("copy-limit-by", "", "region a copy counts against: source or destination (default: the seed file's, else source)")
	verbose := fs.Bool("verbose", false, "log every request on stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("sim takes no arguments, got %q", fs.Args())
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
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", *listen, err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 30 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	// Whoever started the emulator learns its address from this line: without it, stop.
	if _, err := fmt.Fprintf(s.out, "sim listening on http://%s\n", ln.Addr()); err != nil {
		_ = hs.Close() // the write's error is the one to report
		return fmt.Errorf("announcing the address: %w", err)
	}

	select {
	case err := <-served:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdown); err != nil {
		// Requests still running (a hang fault, a slow download): drop their connections. Close
		// only fails with the listener's close error, and the emulator is stopping anyway.
		_ = hs.Close()
	}
	return srv.Close()
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
