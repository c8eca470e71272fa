package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/bosh-alicloud/concourse-pack/lib/version"
)

const boshVersionUsage = `usage: cpi-ci bosh-version SUBCOMMAND

  sort [--family F] [--final-only] [VERSION ...]
        print versions in bosh order, oldest first (reads one per line from stdin when none are given)
  latest [--family F] [--final-only] [VERSION ...]
        print the newest version (fails when none is left)
  next-dev [--last-final V] [--last-dev V]
        the version 'bosh create-release' gives the next dev release
  next-final [--last-final V]
        the version 'bosh create-release --final' gives the next final release
`

func runBoshVersion(_ context.Context, args []string, s stdio) error {
	if len(args) == 0 {
		return fmt.Errorf("missing subcommand\n\n%s", boshVersionUsage)
	}
	switch args[0] {
	case "sort", "latest":
		return sortVersions(args[0], args[1:], s)
	case "next-dev", "next-final":
		return nextVersion(args[0], args[1:], s)
	}
	return fmt.Errorf("unknown subcommand %q\n\n%s", args[0], boshVersionUsage)
}

func sortVersions(name string, args []string, s stdio) error {
	fs := flags("bosh-version "+name, s)
	family := fs.String("family", "latest", "keep only this version_family (latest, N.latest or a semver constraint)")
	finalOnly := fs.Bool("final-only", false, "drop pre-release and dev versions")
	if err := fs.Parse(args); err != nil {
		return err
	}
	f, err := version.ParseFamily(*family)
	if err != nil {
		return err
	}
	texts := fs.Args()
	if len(texts) == 0 {
		if texts, err = lines(s); err != nil {
			return err
		}
	}
	versions, err := version.ParseAll(texts)
	if err != nil {
		return err
	}
	kept := f.Filter(versions)
	if *finalOnly {
		finals := kept[:0]
		for _, v := range kept {
			if v.IsFinal() {
				finals = append(finals, v)
			}
		}
		kept = finals
	}
	if name == "latest" {
		if len(kept) == 0 {
			return fmt.Errorf("no version of %d matches family %q", len(versions), f)
		}
		kept = kept[len(kept)-1:]
	}
	for _, v := range kept {
		if _, err := fmt.Fprintln(s.out, v); err != nil {
			return fmt.Errorf("writing the versions: %w", err)
		}
	}
	return nil
}

func nextVersion(name string, args []string, s stdio) error {
	fs := flags("bosh-version "+name, s)
	lastFinal := fs.String("last-final", "", "the newest final version (none when empty)")
	lastDev := fs.String("last-dev", "", "the newest dev version (none when empty)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	final, err := optional("--last-final", *lastFinal)
	if err != nil {
		return err
	}
	var next version.Version
	if name == "next-final" {
		if *lastDev != "" {
			return fmt.Errorf("--last-dev does not affect the next final version")
		}
		next, err = version.NextFinal(final)
	} else {
		var dev *version.Version
		if dev, err = optional("--last-dev", *lastDev); err != nil {
			return err
		}
		next, err = version.NextDev(final, dev)
	}
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(s.out, next); err != nil {
		return fmt.Errorf("writing the version: %w", err)
	}
	return nil
}

func optional(flagName, text string) (*version.Version, error) {
	if text == "" {
		return nil, nil
	}
	v, err := version.Parse(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flagName, err)
	}
	return &v, nil
}

func lines(s stdio) ([]string, error) {
	var out []string
	scanner := bufio.NewScanner(s.in)
	for scanner.Scan() {
		if line := strings.TrimSpace(scanner.Text()); line != "" {
			out = append(out, line)
		}
	}
	return out, scanner.Err()
}
