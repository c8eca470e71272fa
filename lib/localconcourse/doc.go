// Package localconcourse runs a real Concourse (web, containerd worker, PostgreSQL, an OCI
// registry and the pack's services) on this machine, inside private PID, mount and network
// namespaces so that stopping it leaves no process, mount, interface or iptables rule behind.
// It knows no cloud and no resource type: the services it serves are handed to it.
package localconcourse
