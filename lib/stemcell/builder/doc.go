// Package builder makes the images of a light stemcell: it streams a heavy stemcell's root.img
// into OSS, imports it in a base region, copies it to every requested region (a tree fan-out
// ordered by the copy times earlier builds measured), tags every image, resumes what an earlier
// run left, and cleans up what a failed run made.
//
// It talks to the cloud only through lib/alicloud and knows no Concourse types; the records that
// make a version exist are lib/stemcell/records, written by the resource after Build returns.
package builder
