package sim

import (
	"encoding/xml"
	"io"
	"net/http"
	"sort"
)

const maxConfigBytes = 64 << 10

type xmlOwner struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

func ownerOf(a *account) xmlOwner { return xmlOwner{ID: a.id, DisplayName: a.id} }

type xmlBucketSummary struct {
	CreationDate     string `xml:"CreationDate"`
	ExtranetEndpoint string `xml:"ExtranetEndpoint"`
	IntranetEndpoint string `xml:"IntranetEndpoint"`
	Location         string `xml:"Location"`
	Name             string `xml:"Name"`
	Region           string `xml:"Region"`
	StorageClass     string `xml:"StorageClass"`
}

type listBucketsResult struct {
	XMLName xml.Name           `xml:"ListAllMyBucketsResult"`
	Owner   xmlOwner           `xml:"Owner"`
	Buckets []xmlBucketSummary `xml:"Buckets>Bucket"`
}

// listBuckets lists the caller's buckets (no paging: the emulator holds few).
func (s *Server) listBuckets(o *ossReq) *ossError {
	if o.auth.caller == nil {
		return errAccessDenied("Anonymous access is forbidden for this operation.")
	}
	res := listBucketsResult{Owner: ownerOf(o.auth.caller.account)}
	s.mu.Lock()
	for _, b := range s.buckets {
		if b.owner == o.auth.caller.account {
			res.Buckets = append(res.Buckets, xmlBucketSummary{
				CreationDate: isoTime(b.created), ExtranetEndpoint: "oss-" + b.region + ".aliyuncs.com",
				IntranetEndpoint: "oss-" + b.region + "-internal.aliyuncs.com", Location: "oss-" + b.region,
				Name: b.name, Region: b.region, StorageClass: "Standard",
			})
		}
	}
	s.mu.Unlock()
	sort.Slice(res.Buckets, func(i, j int) bool { return res.Buckets[i].Name < res.Buckets[j].Name })
	return o.writeXML(s, res)
}

type createBucketConfiguration struct {
	StorageClass       string `xml:"StorageClass"`
	DataRedundancyType string `xml:"DataRedundancyType"`
}

// putBucket creates a bucket in the V4 scope region (V1: the regional endpoint's region, else
// the default region).
func (s *Server) putBucket(o *ossReq) *ossError {
	if o.auth.caller == nil {
		return errAccessDenied("Anonymous access is forbidden for this operation.")
	}
	if !validBucketName(o.bucket) {
		return newOSSError(http.StatusBadRequest, "InvalidBucketName", "The specified bucket is not valid.").with("BucketName", o.bucket)
	}
	acl := o.r.Header.Get("x-oss-acl")
	if acl == "" {
		acl = aclPrivate
	}
	if !validBucketACL(acl) {
		return errInvalidArgument("no such bucket access control exists", "x-oss-acl", acl)
	}
	body, err := io.ReadAll(io.LimitReader(o.r.Body, maxConfigBytes+1))
	if err != nil || len(body) > maxConfigBytes {
		return errMalformedXML()
	}
	if e := checkContentMD5(o.r.Header, md5Sum(body)); e != nil {
		return e
	}
	var cfg createBucketConfiguration
	if len(body) > 0 {
		if err := xml.Unmarshal(body, &cfg); err != nil {
			return errMalformedXML()
		}
		switch cfg.StorageClass {
		case "", "Standard", "IA", "Archive", "ColdArchive", "DeepColdArchive":
		default:
			return newOSSError(http.StatusBadRequest, "InvalidStorageClass", "The storage class you specified is not valid.")
		}
	}
	region := o.auth.region
	if region == "" {
		region = endpointRegion(o.r.Context())
	}
	if region == "" {
		region = s.cfg.DefaultRegion
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if existing, ok := s.buckets[o.bucket]; ok {
		e := newOSSError(http.StatusConflict, "BucketAlreadyExists",
			"The requested bucket name is not available. The bucket namespace is shared by all users of the OSS system. Please select a different name and try again.").
			with("BucketName", o.bucket)
		if existing.owner != o.auth.caller.account {
			e.ec = "0015-00000102"
		}
		return e
	}
	s.buckets[o.bucket] = &bucket{name: o.bucket, region: region, acl: acl, owner: o.auth.caller.account,
		created: s.now().UTC(), objects: map[string]*object{}}
	o.c.region = region
	o.w.Header().Set("Location", "/"+o.bucket)
	return o.writeEmpty(s, http.StatusOK)
}

func (s *Server) deleteBucket(o *ossReq) *ossError {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, e := s.ownedBucket(o)
	if e != nil {
		return e
	}
	busy := len(b.objects) > 0
	for _, u := range s.uploads {
		busy = busy || u.bucket == b.name
	}
	if busy {
		return newOSSError(http.StatusConflict, "BucketNotEmpty", "The bucket you tried to delete is not empty.").with("BucketName", b.name)
	}
	delete(s.buckets, b.name)
	return o.writeEmpty(s, http.StatusNoContent)
}

func (s *Server) headBucket(o *ossReq) *ossError {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, e := s.lookupBucket(o)
	if e != nil {
		return e
	}
	if !canRead(o.auth, b, nil) {
		return errDenied(o.auth)
	}
	o.w.Header().Set("x-oss-bucket-region", b.region)
	return o.writeEmpty(s, http.StatusOK)
}

type bucketInfoResult struct {
	XMLName xml.Name      `xml:"BucketInfo"`
	Bucket  xmlBucketInfo `xml:"Bucket"`
}

type xmlBucketInfo struct {
	AccessMonitor          string   `xml:"AccessMonitor"`
	CreationDate           string   `xml:"CreationDate"`
	CrossRegionReplication string   `xml:"CrossRegionReplication"`
	DataRedundancyType     string   `xml:"DataRedundancyType"`
	ExtranetEndpoint       string   `xml:"ExtranetEndpoint"`
	IntranetEndpoint       string   `xml:"IntranetEndpoint"`
	Location               string   `xml:"Location"`
	Name                   string   `xml:"Name"`
	StorageClass           string   `xml:"StorageClass"`
	TransferAcceleration   string   `xml:"TransferAcceleration"`
	Owner                  xmlOwner `xml:"Owner"`
	Grant                  string   `xml:"AccessControlList>Grant"`
	SSEAlgorithm           string   `xml:"ServerSideEncryptionRule>SSEAlgorithm"`
	LogBucket              string   `xml:"BucketPolicy>LogBucket"`
	LogPrefix              string   `xml:"BucketPolicy>LogPrefix"`
}

func (s *Server) getBucketInfo(o *ossReq) *ossError {
	s.mu.Lock()
	b, e := s.ownedBucket(o)
	var info xmlBucketInfo
	if e == nil {
		info = xmlBucketInfo{
			AccessMonitor: "Disabled", CreationDate: isoTime(b.created), CrossRegionReplication: "Disabled",
			DataRedundancyType: "LRS", ExtranetEndpoint: "oss-" + b.region + ".aliyuncs.com",
			IntranetEndpoint: "oss-" + b.region + "-internal.aliyuncs.com", Location: "oss-" + b.region,
			Name: b.name, StorageClass: "Standard", TransferAcceleration: "Disabled",
			Owner: ownerOf(b.owner), Grant: b.acl, SSEAlgorithm: "None",
		}
	}
	s.mu.Unlock()
	if e != nil {
		return e
	}
	return o.writeXML(s, bucketInfoResult{Bucket: info})
}

type locationConstraint struct {
	XMLName  xml.Name `xml:"LocationConstraint"`
	Location string   `xml:",chardata"`
}

func (s *Server) getBucketLocation(o *ossReq) *ossError {
	s.mu.Lock()
	b, e := s.ownedBucket(o)
	var region string
	if e == nil {
		region = b.region
	}
	s.mu.Unlock()
	if e != nil {
		return e
	}
	return o.writeXML(s, locationConstraint{Location: "oss-" + region})
}

type accessControlPolicy struct {
	XMLName xml.Name `xml:"AccessControlPolicy"`
	Owner   xmlOwner `xml:"Owner"`
	Grant   string   `xml:"AccessControlList>Grant"`
}

func (s *Server) getBucketACL(o *ossReq) *ossError {
	s.mu.Lock()
	b, e := s.ownedBucket(o)
	var res accessControlPolicy
	if e == nil {
		res = accessControlPolicy{Owner: ownerOf(b.owner), Grant: b.acl}
	}
	s.mu.Unlock()
	if e != nil {
		return e
	}
	return o.writeXML(s, res)
}

func (s *Server) putBucketACL(o *ossReq) *ossError {
	acl := o.r.Header.Get("x-oss-acl")
	if !validBucketACL(acl) {
		return errInvalidArgument("no such bucket access control exists", "x-oss-acl", acl)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, e := s.ownedBucket(o)
	if e != nil {
		return e
	}
	b.acl = acl
	return o.writeEmpty(s, http.StatusOK)
}
