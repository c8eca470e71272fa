// Package concourse is the Concourse resource protocol kit shared by every resource in the pack:
// wire types, strict request decoding, argv0 dispatch, exit handling and stopping on SIGTERM, the
// paths params name in the build directory, a redacting stderr logger and build metadata.
//
// It must not know any resource's domain: resources hand it typed Source and Params structs and
// check/in/out functions, and it owns everything between those functions and the process boundary
// (stdin, stdout, stderr, argv, environment, exit code).
package concourse
