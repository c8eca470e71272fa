package sim

import "hash/crc64"

// crc64Combine returns the CRC-64/ECMA of A followed by B from crcA, crcB and B's length, by
// the GF(2) matrix method of zlib's crc32_combine: multiplying crcA by x^(8·lenB) modulo the
// polynomial. It lets CompleteMultipartUpload answer the object's CRC without reading it again.
func crc64Combine(crcA, crcB uint64, lenB int64) uint64 {
	if lenB <= 0 {
		return crcA
	}
	var even, odd [64]uint64
	odd[0] = crc64.ECMA // the operator for one zero bit (reflected polynomial)
	row := uint64(1)
	for n := 1; n < 64; n++ {
		odd[n] = row
		row <<= 1
	}
	square(&even, &odd) // two zero bits
	square(&odd, &even) // four zero bits
	for {
		square(&even, &odd) // apply len2 zeros in powers of two
		if lenB&1 != 0 {
			crcA = times(&even, crcA)
		}
		if lenB >>= 1; lenB == 0 {
			break
		}
		square(&odd, &even)
		if lenB&1 != 0 {
			crcA = times(&odd, crcA)
		}
		if lenB >>= 1; lenB == 0 {
			break
		}
	}
	return crcA ^ crcB
}

func times(mat *[64]uint64, vec uint64) uint64 {
	var sum uint64
	for i := 0; vec != 0; i, vec = i+1, vec>>1 {
		if vec&1 != 0 {
			sum ^= mat[i]
		}
	}
	return sum
}

func square(dst, mat *[64]uint64) {
	for n := 0; n < 64; n++ {
		dst[n] = times(mat, mat[n])
	}
}
