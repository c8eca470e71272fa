// Package director keeps BOSH director environments safe in OSS: immutable revisions of each
// env's create-env state, an operation lock per env, leases, and the bosh create-env/delete-env
// runs that change them.
//
// It knows no Concourse types and reads no stdin, environment or flags: the director-env
// resource and cpi-ci map their requests onto it. Every name it writes is persisted.
package director
