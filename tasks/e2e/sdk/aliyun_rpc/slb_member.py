"""Exits 0 when this ECS instance is a backend server of the given SLB, 1 otherwise."""

import argparse
import os
import sys
import urllib.request

from aliyun_rpc import call

METADATA = "http://100.100.100.200/latest"


def instance_id():
    """This VM's instance id from the metadata service (IMDSv2 token first, then v1)."""
    headers = {}
    try:
        put = urllib.request.Request(METADATA + "/api/token", method="PUT",
                                     headers={"X-aliyun-ecs-metadata-token-ttl-seconds": "60"})
        with urllib.request.urlopen(put, timeout=5) as response:
            headers["X-aliyun-ecs-metadata-token"] = response.read().decode()
    except OSError:
        pass
    get = urllib.request.Request(METADATA + "/meta-data/instance-id", headers=headers)
    with urllib.request.urlopen(get, timeout=5) as response:
        return response.read().decode().strip()


def main():
    args = argparse.ArgumentParser()
    args.add_argument("--load-balancer-id", required=True)
    args.add_argument("--region", required=True)
    args.add_argument("--endpoint", required=True)
    opts = args.parse_args()
    me = instance_id()
    answer = call(opts.endpoint, "DescribeLoadBalancerAttribute", "2014-05-15",
                  {"LoadBalancerId": opts.load_balancer_id, "RegionId": opts.region},
                  os.environ["ALIBABA_CLOUD_ACCESS_KEY_ID"], os.environ["ALIBABA_CLOUD_ACCESS_KEY_SECRET"],
                  os.environ.get("ALIBABA_CLOUD_SECURITY_TOKEN", ""))
    servers = [s.get("ServerId") for s in answer.get("BackendServers", {}).get("BackendServer", [])]
    if me in servers:
        print("instance %s is a backend server of %s" % (me, opts.load_balancer_id))
        return 0
    print("instance %s is not a backend server of %s (it has %s)" % (me, opts.load_balancer_id, servers or "none"))
    return 1


if __name__ == "__main__":
    sys.exit(main())
