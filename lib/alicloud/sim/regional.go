package sim

import (
	"context"
	"fmt"
	"net/http"
)

type endpointRegionKey struct{}

// endpointRegion is the region of the regional endpoint a request came in on; "" on the
// emulator's main endpoint, which serves every region.
func endpointRegion(ctx context.Context) string {
	r, _ := ctx.Value(endpointRegionKey{}).(string)
	return r
}

// RegionalHandler serves the emulator as the regional endpoint of one region: a request that
// carries no region (an OSS V1-signed PutBucket) is in that region, and OSS requests for a
// bucket of another region are refused as a regional OSS endpoint refuses them. RPC requests
// carry RegionId and are served as on the main endpoint.
func (s *Server) RegionalHandler(region string) (http.Handler, error) {
	if !s.regions[region] {
		return nil, fmt.Errorf("sim: regional endpoint: region %q is not one of the regions", region)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), endpointRegionKey{}, region)))
	}), nil
}
