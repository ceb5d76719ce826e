package publish

import "encoding/binary"

// crc64Jones is the Jones polynomial 0xad93d23594c935a9 in reflected bit
// order, the checksum Redis appends to DUMP payloads (src/crc64.c).
const crc64Jones = 0x95ac9329ac4bc9b5

// crc64Tables holds the slicing-by-8 tables for crc64Jones. hash/crc64 is
// not used: it inverts the register before and after (Redis does not), and
// for a custom polynomial it either goes byte by byte or builds a 16 KiB
// table on every call above 2 KiB, too slow for the publisher's hot path.
var crc64Tables = makeCRC64Tables()

func makeCRC64Tables() *[8][256]uint64 {
	t := new([8][256]uint64)
	for i := range 256 {
		crc := uint64(i)
		for range 8 {
			if crc&1 == 1 {
				crc = crc>>1 ^ crc64Jones
			} else {
				crc >>= 1
			}
		}
		t[0][i] = crc
	}
	for i := range 256 {
		crc := t[0][i]
		for j := 1; j < 8; j++ {
			crc = t[0][crc&0xff] ^ crc>>8
			t[j][i] = crc
		}
	}
	return t
}

// crc64Update extends crc, Redis' crc64(crc, p, len(p)): reflected input and
// output, no inversion. Start from 0; "123456789" gives 0xe9c6d914c4b8d9ca.
func crc64Update(crc uint64, p []byte) uint64 {
	t := crc64Tables
	for len(p) >= 8 {
		crc ^= binary.LittleEndian.Uint64(p)
		crc = t[7][crc&0xff] ^ t[6][crc>>8&0xff] ^ t[5][crc>>16&0xff] ^
			t[4][crc>>24&0xff] ^ t[3][crc>>32&0xff] ^ t[2][crc>>40&0xff] ^
			t[1][crc>>48&0xff] ^ t[0][crc>>56]
		p = p[8:]
	}
	for _, b := range p {
		crc = t[0][byte(crc)^b] ^ crc>>8
	}
	return crc
}
