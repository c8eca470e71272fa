package sim

import (
	"encoding/base64"
	"encoding/xml"
	"sort"
	"strconv"
	"strings"
)

const (
	defaultMaxKeys = 100
	maxMaxKeys     = 1000
)

type xmlContents struct {
	Key          string    `xml:"Key"`
	LastModified string    `xml:"LastModified"`
	ETag         string    `xml:"ETag"`
	Type         string    `xml:"Type"`
	Size         int64     `xml:"Size"`
	StorageClass string    `xml:"StorageClass"`
	Owner        *xmlOwner `xml:"Owner,omitempty"`
}

type xmlCommonPrefix struct {
	Prefix string `xml:"Prefix"`
}

type listObjectsResult struct {
	XMLName        xml.Name          `xml:"ListBucketResult"`
	Name           string            `xml:"Name"`
	Prefix         string            `xml:"Prefix"`
	Marker         string            `xml:"Marker"`
	MaxKeys        int               `xml:"MaxKeys"`
	Delimiter      string            `xml:"Delimiter"`
	EncodingType   string            `xml:"EncodingType,omitempty"`
	IsTruncated    bool              `xml:"IsTruncated"`
	NextMarker     string            `xml:"NextMarker,omitempty"`
	Contents       []xmlContents     `xml:"Contents"`
	CommonPrefixes []xmlCommonPrefix `xml:"CommonPrefixes"`
}

type listObjectsV2Result struct {
	XMLName               xml.Name          `xml:"ListBucketResult"`
	Name                  string            `xml:"Name"`
	Prefix                string            `xml:"Prefix"`
	StartAfter            string            `xml:"StartAfter,omitempty"`
	ContinuationToken     string            `xml:"ContinuationToken,omitempty"`
	MaxKeys               int               `xml:"MaxKeys"`
	Delimiter             string            `xml:"Delimiter"`
	EncodingType          string            `xml:"EncodingType,omitempty"`
	IsTruncated           bool              `xml:"IsTruncated"`
	NextContinuationToken string            `xml:"NextContinuationToken,omitempty"`
	KeyCount              int               `xml:"KeyCount"`
	Contents              []xmlContents     `xml:"Contents"`
	CommonPrefixes        []xmlCommonPrefix `xml:"CommonPrefixes"`
}

// listEntry is one line of a listing: an object, or a common prefix when obj is nil.
type listEntry struct {
	key string
	obj *object
}

// listPage walks the keys after `after` that start with prefix, in byte order, rolling keys
// that contain delimiter past the prefix into common prefixes (each counted once towards max).
// Callers hold s.mu.
func listPage(b *bucket, prefix, delimiter, after string, limit int) (page []listEntry, truncated bool) {
	keys := make([]string, 0, len(b.objects))
	for k := range b.objects {
		if k > after && strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	lastPrefix := ""
	for _, k := range keys {
		entry := listEntry{key: k, obj: b.objects[k]}
		if delimiter != "" {
			if i := strings.Index(k[len(prefix):], delimiter); i >= 0 {
				cp := k[:len(prefix)+i+len(delimiter)]
				// A page that ended on this prefix must not return it again.
				if cp == lastPrefix || cp <= after {
					continue
				}
				lastPrefix = cp
				entry = listEntry{key: cp}
			}
		}
		if len(page) == limit {
			return page, true
		}
		page = append(page, entry)
	}
	return page, false
}

func parseMaxKeys(v string) (int, *ossError) {
	if v == "" {
		return defaultMaxKeys, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxMaxKeys {
		return 0, errInvalidArgument("Argument max-keys must be an integer between 1 and 1000.", "max-keys", v)
	}
	return n, nil
}

func contentsOf(e listEntry, encode bool, owner *xmlOwner) xmlContents {
	return xmlContents{
		Key: encodeIf(encode, e.key), LastModified: isoTime(e.obj.lastModified), ETag: e.obj.etag,
		Type: e.obj.objectType, Size: e.obj.size, StorageClass: "Standard", Owner: owner,
	}
}

// listObjects is ListObjects (V1): prefix, marker, max-keys, delimiter, encoding-type.
func (s *Server) listObjects(o *ossReq) *ossError {
	maxKeys, e := parseMaxKeys(o.q.Get("max-keys"))
	if e != nil {
		return e
	}
	prefix, marker, delimiter := o.q.Get("prefix"), o.q.Get("marker"), o.q.Get("delimiter")
	encode := o.q.Get("encoding-type") == "url"
	s.mu.Lock()
	b, e := s.lookupBucket(o)
	if e == nil && !canRead(o.auth, b, nil) {
		e = errDenied(o.auth)
	}
	var (
		page      []listEntry
		truncated bool
		owner     xmlOwner
	)
	if e == nil {
		page, truncated = listPage(b, prefix, delimiter, marker, maxKeys)
		owner = ownerOf(b.owner)
	}
	s.mu.Unlock()
	if e != nil {
		return e
	}
	res := listObjectsResult{
		Name: o.bucket, Prefix: encodeIf(encode, prefix), Marker: encodeIf(encode, marker), MaxKeys: maxKeys,
		Delimiter: encodeIf(encode, delimiter), IsTruncated: truncated,
	}
	if encode {
		res.EncodingType = "url"
	}
	for _, entry := range page {
		if entry.obj == nil {
			res.CommonPrefixes = append(res.CommonPrefixes, xmlCommonPrefix{encodeIf(encode, entry.key)})
			continue
		}
		res.Contents = append(res.Contents, contentsOf(entry, encode, &owner))
	}
	if truncated {
		res.NextMarker = encodeIf(encode, page[len(page)-1].key)
	}
	return o.writeXML(s, res)
}

// listObjectsV2 is ListObjectsV2 (list-type=2): continuation-token, start-after, fetch-owner.
func (s *Server) listObjectsV2(o *ossReq) *ossError {
	maxKeys, e := parseMaxKeys(o.q.Get("max-keys"))
	if e != nil {
		return e
	}
	prefix, delimiter, startAfter := o.q.Get("prefix"), o.q.Get("delimiter"), o.q.Get("start-after")
	token := o.q.Get("continuation-token")
	encode := o.q.Get("encoding-type") == "url"
	after := startAfter
	if o.q.Has("continuation-token") {
		raw, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || token == "" {
			return errInvalidArgument("The continuation token provided is incorrect.", "continuation-token", token)
		}
		after = max(string(raw), startAfter)
	}
	s.mu.Lock()
	b, e := s.lookupBucket(o)
	if e == nil && !canRead(o.auth, b, nil) {
		e = errDenied(o.auth)
	}
	var (
		page      []listEntry
		truncated bool
		owner     xmlOwner
	)
	if e == nil {
		page, truncated = listPage(b, prefix, delimiter, after, maxKeys)
		owner = ownerOf(b.owner)
	}
	s.mu.Unlock()
	if e != nil {
		return e
	}
	res := listObjectsV2Result{
		Name: o.bucket, Prefix: encodeIf(encode, prefix), StartAfter: encodeIf(encode, startAfter),
		ContinuationToken: token, MaxKeys: maxKeys, Delimiter: encodeIf(encode, delimiter),
		IsTruncated: truncated, KeyCount: len(page),
	}
	if encode {
		res.EncodingType = "url"
	}
	var ownerRef *xmlOwner
	if o.q.Get("fetch-owner") == "true" {
		ownerRef = &owner
	}
	for _, entry := range page {
		if entry.obj == nil {
			res.CommonPrefixes = append(res.CommonPrefixes, xmlCommonPrefix{encodeIf(encode, entry.key)})
			continue
		}
		res.Contents = append(res.Contents, contentsOf(entry, encode, ownerRef))
	}
	if truncated {
		res.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(page[len(page)-1].key))
	}
	return o.writeXML(s, res)
}
