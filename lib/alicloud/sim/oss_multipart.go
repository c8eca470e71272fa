package sim

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// upload is a multipart upload in progress; its parts are files under parts/<id>/.
type upload struct {
	id, bucket, key string
	initiated       time.Time
	template        *object // content type, headers, metadata and ACL of the object to be
	forbidOverwrite bool
	parts           map[int]*part
	completing      bool
}

type part struct {
	number       int
	path         string
	size         int64
	etag         string // quoted, upper-case hex MD5
	md5          []byte
	crc          uint64
	lastModified time.Time
}

func (s *Server) partsDir(id string) string { return filepath.Join(s.dataDir, "parts", id) }

type initiateResult struct {
	XMLName      xml.Name `xml:"InitiateMultipartUploadResult"`
	Bucket       string   `xml:"Bucket"`
	Key          string   `xml:"Key"`
	UploadID     string   `xml:"UploadId"`
	EncodingType string   `xml:"EncodingType,omitempty"`
}

func (s *Server) initiateMultipartUpload(o *ossReq) *ossError {
	tmpl := objectFromRequest(o.r.Header)
	if !validObjectACL(tmpl.acl) {
		return errInvalidArgument("no such object access control exists", "x-oss-object-acl", tmpl.acl)
	}
	noOverwrite := forbidOverwrite(o.r.Header)
	s.mu.Lock()
	b, e := s.lookupBucket(o)
	if e == nil && !canWrite(o.auth, b) {
		e = errDenied(o.auth)
	}
	if e == nil && noOverwrite && b.objects[o.key] != nil {
		e = errFileAlreadyExists(o.key)
	}
	var id string
	if e == nil {
		s.uploadSeq++
		id = fmt.Sprintf("%08X", s.uploadSeq) + randomHex(12)
		if err := os.MkdirAll(s.partsDir(id), 0o755); err != nil {
			e = newOSSError(http.StatusInternalServerError, "InternalError", "creating the parts directory: "+err.Error())
		} else {
			s.uploads[id] = &upload{id: id, bucket: o.bucket, key: o.key, initiated: s.now().UTC(),
				template: tmpl, forbidOverwrite: noOverwrite, parts: map[int]*part{}}
		}
	}
	s.mu.Unlock()
	if e != nil {
		return e
	}
	encode := o.q.Get("encoding-type") == "url"
	res := initiateResult{Bucket: o.bucket, Key: encodeIf(encode, o.key), UploadID: id}
	if encode {
		res.EncodingType = "url"
	}
	return o.writeXML(s, res)
}

// lookupUpload finds an upload of this bucket and key the caller may write. Callers hold s.mu.
func (s *Server) lookupUpload(o *ossReq, id string) (*upload, *ossError) {
	b, e := s.lookupBucket(o)
	if e != nil {
		return nil, e
	}
	if !canWrite(o.auth, b) {
		return nil, errDenied(o.auth)
	}
	u, ok := s.uploads[id]
	if !ok || u.bucket != o.bucket || u.key != o.key || u.completing {
		return nil, errNoSuchUpload(id)
	}
	return u, nil
}

type copyPartResult struct {
	XMLName      xml.Name `xml:"CopyPartResult"`
	LastModified string   `xml:"LastModified"`
	ETag         string   `xml:"ETag"`
}

// uploadPart stores one part (UploadPart), or copies it from an object (UploadPartCopy).
func (s *Server) uploadPart(o *ossReq) *ossError {
	id := o.q.Get("uploadId")
	n, err := strconv.Atoi(o.q.Get("partNumber"))
	if err != nil || n < 1 || n > maxPartNumber {
		return errInvalidArgument("Part number must be an integer between 1 and 10000, inclusive.", "partNumber", o.q.Get("partNumber"))
	}
	s.mu.Lock()
	_, e := s.lookupUpload(o, id)
	s.mu.Unlock()
	if e != nil {
		return e
	}

	copying := o.c.action == "UploadPartCopy"
	var in *ingested
	if copying {
		src, f, e := s.openCopySource(o)
		if e != nil {
			return e
		}
		var body io.Reader = f
		if rh := o.r.Header.Get("x-oss-copy-source-range"); rh != "" {
			rng, e := resolveRange(rh, src.size, true)
			if e != nil {
				f.Close()
				return e
			}
			if rng != nil {
				body = io.NewSectionReader(f, rng.start, rng.length)
			}
		}
		in, err = s.ingest(body, maxObjectSize)
		f.Close()
		if err != nil {
			return ingestError(err, maxObjectSize)
		}
	} else {
		in, err = s.ingest(o.r.Body, maxObjectSize)
		if err != nil {
			return ingestError(err, maxObjectSize)
		}
		if e := checkContentMD5(o.r.Header, in.md5); e != nil {
			in.discard()
			return e
		}
	}
	defer in.discard()

	p := &part{number: n, size: in.size, etag: quotedETag(in.md5), md5: in.md5, crc: in.crc,
		lastModified: s.now().UTC().Truncate(time.Second)}
	s.mu.Lock()
	u, e := s.lookupUpload(o, id)
	if e == nil {
		p.path = filepath.Join(s.partsDir(id), fmt.Sprintf("%05d-%s", n, randomHex(6)))
		if err := os.Rename(in.path, p.path); err != nil {
			e = newOSSError(http.StatusInternalServerError, "InternalError", "storing the part: "+err.Error())
		} else {
			in.path = ""
			if old := u.parts[n]; old != nil {
				_ = os.Remove(old.path) // unreferenced now: a leftover only takes disk until Close
			}
			u.parts[n] = p
		}
	}
	s.mu.Unlock()
	if e != nil {
		return e
	}
	if copying {
		return o.writeXML(s, copyPartResult{LastModified: isoTime(p.lastModified), ETag: p.etag})
	}
	h := o.w.Header()
	h.Set("ETag", p.etag)
	h.Set("Content-MD5", encodeBase64(p.md5))
	h.Set("x-oss-hash-crc64ecma", strconv.FormatUint(p.crc, 10))
	return o.writeEmpty(s, http.StatusOK)
}

type completeRequest struct {
	Parts []struct {
		PartNumber int    `xml:"PartNumber"`
		ETag       string `xml:"ETag"`
	} `xml:"Part"`
}

type completeResult struct {
	XMLName      xml.Name `xml:"CompleteMultipartUploadResult"`
	EncodingType string   `xml:"EncodingType,omitempty"`
	Location     string   `xml:"Location"`
	Bucket       string   `xml:"Bucket"`
	Key          string   `xml:"Key"`
	ETag         string   `xml:"ETag"`
}

const maxCompleteBytes = 4 << 20

// completeMultipartUpload validates the part list, concatenates the parts into the object on
// disk (streaming) and publishes it.
func (s *Server) completeMultipartUpload(o *ossReq) *ossError {
	id := o.q.Get("uploadId")
	completeAll := strings.EqualFold(o.r.Header.Get("x-oss-complete-all"), "yes")
	body, err := io.ReadAll(io.LimitReader(o.r.Body, maxCompleteBytes+1))
	if err != nil || len(body) > maxCompleteBytes {
		return errMalformedXML()
	}
	if e := checkContentMD5(o.r.Header, md5Sum(body)); e != nil {
		return e
	}
	var req completeRequest
	switch {
	case completeAll && len(body) > 0:
		return errInvalidArgument("With x-oss-complete-all: yes the request must not have a body.", "x-oss-complete-all", "yes")
	case !completeAll:
		if err := xml.Unmarshal(body, &req); err != nil || len(req.Parts) == 0 {
			return errMalformedXML()
		}
	}

	s.mu.Lock()
	u, e := s.lookupUpload(o, id)
	var parts []*part
	if e == nil {
		parts, e = chooseParts(u, req, completeAll)
	}
	noOverwrite := e == nil && (u.forbidOverwrite || forbidOverwrite(o.r.Header))
	if e == nil && noOverwrite && s.buckets[o.bucket].objects[o.key] != nil {
		e = errFileAlreadyExists(o.key)
	}
	if e == nil {
		u.completing = true
	}
	s.mu.Unlock()
	if e != nil {
		return e
	}
	undo := func() {
		s.mu.Lock()
		u.completing = false
		s.mu.Unlock()
	}

	in, etag, err := s.concatParts(parts)
	if err != nil {
		undo()
		return newOSSError(http.StatusInternalServerError, "InternalError", "assembling the parts: "+err.Error())
	}
	defer in.discard()
	meta := *u.template
	meta.size, meta.crc64, meta.etag, meta.objectType = in.size, in.crc, etag, "Multipart"
	if acl := o.r.Header.Get("x-oss-object-acl"); acl != "" {
		if !validObjectACL(acl) {
			undo()
			return errInvalidArgument("no such object access control exists", "x-oss-object-acl", acl)
		}
		meta.acl = acl
	}
	if e := s.commitObject(o, in, &meta, noOverwrite); e != nil {
		undo()
		return e
	}
	s.mu.Lock()
	delete(s.uploads, id)
	s.mu.Unlock()
	_ = os.RemoveAll(s.partsDir(id)) // unreferenced now: a leftover only takes disk until Close

	encode := o.q.Get("encoding-type") == "url"
	res := completeResult{
		Location: "http://" + o.r.Host + "/" + o.bucket + "/" + o.key,
		Bucket:   o.bucket, Key: encodeIf(encode, o.key), ETag: etag,
	}
	if encode {
		res.EncodingType = "url"
	}
	o.w.Header().Set("x-oss-hash-crc64ecma", strconv.FormatUint(meta.crc64, 10))
	return o.writeXML(s, res)
}

// chooseParts checks the requested part list against the uploaded parts: ascending part
// numbers, known parts with matching ETags, every part but the last at least 100 KB.
func chooseParts(u *upload, req completeRequest, all bool) ([]*part, *ossError) {
	var parts []*part
	if all {
		for _, p := range u.parts {
			parts = append(parts, p)
		}
		sort.Slice(parts, func(i, j int) bool { return parts[i].number < parts[j].number })
		if len(parts) == 0 {
			return nil, errInvalidArgument("The upload has no parts.", "x-oss-complete-all", "yes")
		}
	} else {
		prev := 0
		for _, rp := range req.Parts {
			if rp.PartNumber <= prev {
				return nil, newOSSError(http.StatusBadRequest, "InvalidPartOrder",
					"The list of parts was not in ascending order. Parts list must be specified in order by part number.")
			}
			prev = rp.PartNumber
			p := u.parts[rp.PartNumber]
			if p == nil || !strings.EqualFold(strings.Trim(rp.ETag, `" `), strings.Trim(p.etag, `"`)) {
				return nil, newOSSError(http.StatusBadRequest, "InvalidPart",
					"One or more of the specified parts could not be found or the specified entity tag might not have matched the part's entity tag.").
					with("PartNumber", strconv.Itoa(rp.PartNumber)).with("ETag", rp.ETag)
			}
			parts = append(parts, p)
		}
	}
	for _, p := range parts[:len(parts)-1] {
		if p.size < minPartSize {
			return nil, newOSSError(http.StatusBadRequest, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size.").
				with("PartNumber", strconv.Itoa(p.number)).with("MinSizeAllowed", strconv.Itoa(minPartSize)).
				with("ProposedSize", itoa(p.size))
		}
	}
	return parts, nil
}

// concatParts makes the parts the object's body as they are: no byte is copied, and the
// object's CRC-64 is derived from the parts' own, as OSS reports it. The ETag is OSS's multipart
// ETag: the MD5 of the concatenated binary part MD5s, upper-case hex, then "-" and the part count.
func (s *Server) concatParts(parts []*part) (*ingested, string, error) {
	in := &ingested{}
	etag := md5.New()
	for _, p := range parts {
		in.parts = append(in.parts, p.path)
		in.crc = crc64Combine(in.crc, p.crc, p.size)
		in.size += p.size
		etag.Write(p.md5)
	}
	return in, `"` + strings.ToUpper(hex.EncodeToString(etag.Sum(nil))) + "-" + strconv.Itoa(len(parts)) + `"`, nil
}

func (s *Server) abortMultipartUpload(o *ossReq) *ossError {
	id := o.q.Get("uploadId")
	s.mu.Lock()
	_, e := s.lookupUpload(o, id)
	if e == nil {
		delete(s.uploads, id)
	}
	s.mu.Unlock()
	if e != nil {
		return e
	}
	_ = os.RemoveAll(s.partsDir(id)) // unreferenced now: a leftover only takes disk until Close
	return o.writeEmpty(s, http.StatusNoContent)
}

type listPartsResult struct {
	XMLName              xml.Name  `xml:"ListPartsResult"`
	EncodingType         string    `xml:"EncodingType,omitempty"`
	Bucket               string    `xml:"Bucket"`
	Key                  string    `xml:"Key"`
	UploadID             string    `xml:"UploadId"`
	StorageClass         string    `xml:"StorageClass"`
	PartNumberMarker     int       `xml:"PartNumberMarker"`
	NextPartNumberMarker int       `xml:"NextPartNumberMarker"`
	MaxParts             int       `xml:"MaxParts"`
	IsTruncated          bool      `xml:"IsTruncated"`
	Parts                []xmlPart `xml:"Part"`
}

type xmlPart struct {
	PartNumber    int    `xml:"PartNumber"`
	LastModified  string `xml:"LastModified"`
	ETag          string `xml:"ETag"`
	HashCrc64ecma uint64 `xml:"HashCrc64ecma"`
	Size          int64  `xml:"Size"`
}

func parseLimit(q map[string][]string, name string, def int) (int, *ossError) {
	v := ""
	if vs := q[name]; len(vs) > 0 {
		v = vs[0]
	}
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		return 0, errInvalidArgument("Argument "+name+" must be an integer between 1 and 1000.", name, v)
	}
	return n, nil
}

func (s *Server) listParts(o *ossReq) *ossError {
	id := o.q.Get("uploadId")
	maxParts, e := parseLimit(o.q, "max-parts", 1000)
	if e != nil {
		return e
	}
	marker := 0
	if v := o.q.Get("part-number-marker"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return errInvalidArgument("part-number-marker must be a non-negative integer.", "part-number-marker", v)
		}
		marker = n
	}
	encode := o.q.Get("encoding-type") == "url"
	res := listPartsResult{Bucket: o.bucket, Key: encodeIf(encode, o.key), UploadID: id,
		StorageClass: "Standard", PartNumberMarker: marker, MaxParts: maxParts}
	if encode {
		res.EncodingType = "url"
	}
	s.mu.Lock()
	u, e := s.lookupUpload(o, id)
	if e == nil {
		var nums []int
		for n := range u.parts {
			if n > marker {
				nums = append(nums, n)
			}
		}
		sort.Ints(nums)
		for _, n := range nums {
			if len(res.Parts) == maxParts {
				res.IsTruncated = true
				break
			}
			p := u.parts[n]
			res.Parts = append(res.Parts, xmlPart{PartNumber: n, LastModified: isoTime(p.lastModified),
				ETag: p.etag, HashCrc64ecma: p.crc, Size: p.size})
			res.NextPartNumberMarker = n
		}
	}
	s.mu.Unlock()
	if e != nil {
		return e
	}
	return o.writeXML(s, res)
}

type listUploadsResult struct {
	XMLName            xml.Name    `xml:"ListMultipartUploadsResult"`
	EncodingType       string      `xml:"EncodingType,omitempty"`
	Bucket             string      `xml:"Bucket"`
	KeyMarker          string      `xml:"KeyMarker"`
	UploadIDMarker     string      `xml:"UploadIdMarker"`
	NextKeyMarker      string      `xml:"NextKeyMarker"`
	NextUploadIDMarker string      `xml:"NextUploadIdMarker"`
	Delimiter          string      `xml:"Delimiter"`
	Prefix             string      `xml:"Prefix"`
	MaxUploads         int         `xml:"MaxUploads"`
	IsTruncated        bool        `xml:"IsTruncated"`
	Uploads            []xmlUpload `xml:"Upload"`
}

type xmlUpload struct {
	Key          string `xml:"Key"`
	UploadID     string `xml:"UploadId"`
	StorageClass string `xml:"StorageClass"`
	Initiated    string `xml:"Initiated"`
}

// listMultipartUploads lists uploads in progress by key, then upload id. The delimiter is
// echoed but not applied.
func (s *Server) listMultipartUploads(o *ossReq) *ossError {
	maxUploads, e := parseLimit(o.q, "max-uploads", 1000)
	if e != nil {
		return e
	}
	prefix, keyMarker, idMarker := o.q.Get("prefix"), o.q.Get("key-marker"), o.q.Get("upload-id-marker")
	encode := o.q.Get("encoding-type") == "url"
	res := listUploadsResult{Bucket: o.bucket, KeyMarker: encodeIf(encode, keyMarker), UploadIDMarker: idMarker,
		Delimiter: encodeIf(encode, o.q.Get("delimiter")), Prefix: encodeIf(encode, prefix), MaxUploads: maxUploads}
	if encode {
		res.EncodingType = "url"
	}
	s.mu.Lock()
	_, e = s.ownedBucket(o)
	if e == nil {
		for _, u := range s.sortedUploads(o.bucket) {
			if !strings.HasPrefix(u.key, prefix) || u.key < keyMarker ||
				(u.key == keyMarker && (idMarker == "" || u.id <= idMarker)) {
				continue
			}
			if len(res.Uploads) == maxUploads {
				res.IsTruncated = true
				break
			}
			res.Uploads = append(res.Uploads, xmlUpload{Key: encodeIf(encode, u.key), UploadID: u.id,
				StorageClass: "Standard", Initiated: isoTime(u.initiated)})
			res.NextKeyMarker, res.NextUploadIDMarker = encodeIf(encode, u.key), u.id
		}
	}
	s.mu.Unlock()
	if e != nil {
		return e
	}
	return o.writeXML(s, res)
}

// sortedUploads returns a bucket's multipart uploads by key, then initiation. Callers hold s.mu.
func (s *Server) sortedUploads(bucketName string) []*upload {
	var out []*upload
	for _, u := range s.uploads {
		if u.bucket == bucketName {
			out = append(out, u)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].key != out[j].key {
			return out[i].key < out[j].key
		}
		return out[i].id < out[j].id
	})
	return out
}
