package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
)

const blobUsage = `usage: cpi-ci blob put|get|ls|rm [flags] NAME [FILE]

  put NAME FILE   upload FILE ('-' for stdin) as NAME
  get NAME FILE   download NAME into FILE ('-' for stdout), atomically
  ls [PREFIX]     list names under PREFIX
  rm NAME         delete NAME

Credentials come from ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET and
ALIBABA_CLOUD_SECURITY_TOKEN, or --ram-role. put and get print the object's size and digests
as JSON on stdout; progress goes to stderr.
`

// runBlob moves artifacts between a task's files and OSS, with the pack's retries, parallel
// parts and digests: what task scripts use instead of an OSS CLI.
func runBlob(ctx context.Context, args []string, s stdio) error {
	if len(args) == 0 {
		return fmt.Errorf("missing subcommand\n\n%s", blobUsage)
	}
	verb := args[0]
	fs := flags("blob "+verb, s)
	var cloud alicloud.Cloud
	fs.StringVar(&cloud.Region, "region", "", "the bucket's region (required)")
	fs.StringVar(&cloud.Bucket, "bucket", "", "the bucket (required)")
	fs.StringVar(&cloud.Prefix, "prefix", "", "prefix of every name")
	fs.StringVar(&cloud.OSSEndpoint, "oss-endpoint", "", "OSS endpoint override, e.g. the emulator's URL")
	fs.StringVar(&cloud.RAMRole, "ram-role", "", "use this ECS RAM role instead of access keys")
	parallel := fs.Int("parallel", 4, "parts in flight")
	partSize := fs.Int64("part-size", 16<<20, "part size in bytes")
	sha1 := fs.Bool("sha1", false, "also compute SHA-1")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	_, store, log, err := openCloud(cloud, s)
	if err != nil {
		return err
	}
	transfer := alicloud.TransferOptions{Parallel: *parallel, PartSize: *partSize, SHA1: *sha1}
	want := map[string]int{"put": 2, "get": 2, "rm": 1, "ls": -1}
	n, known := want[verb]
	switch {
	case !known:
		return fmt.Errorf("unknown subcommand %q\n\n%s", verb, blobUsage)
	case n >= 0 && fs.NArg() != n, n < 0 && fs.NArg() > 1:
		return fmt.Errorf("wrong number of arguments\n\n%s", blobUsage)
	}

	var info alicloud.ObjectInfo
	switch verb {
	case "put":
		name, path := fs.Arg(0), fs.Arg(1)
		in, err := openInput(path, s.in)
		if err != nil {
			return err
		}
		defer func() { _ = in.Close() }() // read-only: its close has nothing to report
		transfer.Progress = alicloud.LogProgress(log, "uploading "+name, 5*time.Second)
		if info, err = store.Upload(ctx, name, in, alicloud.UploadOptions{TransferOptions: transfer}); err != nil {
			return err
		}
	case "get":
		name, path := fs.Arg(0), fs.Arg(1)
		transfer.Progress = alicloud.LogProgress(log, "downloading "+name, 5*time.Second)
		if path == "-" {
			info, err = store.Download(ctx, name, s.out, transfer)
			if err == nil {
				err = json.NewEncoder(s.err).Encode(info)
			}
			return err
		}
		if info, err = store.DownloadFile(ctx, name, path, transfer); err != nil {
			return err
		}
	case "ls":
		objects, err := store.List(ctx, fs.Arg(0))
		if err != nil {
			return err
		}
		for _, o := range objects {
			if _, err := fmt.Fprintf(s.out, "%s\t%d\n", o.Name, o.Size); err != nil {
				return fmt.Errorf("writing the listing: %w", err)
			}
		}
		return nil
	case "rm":
		return store.Delete(ctx, fs.Arg(0))
	}
	enc := json.NewEncoder(s.out)
	enc.SetIndent("", "  ")
	return enc.Encode(info)
}

func openInput(path string, stdin io.Reader) (io.ReadCloser, error) {
	if path == "-" {
		return io.NopCloser(stdin), nil
	}
	return os.Open(path)
}
