package features

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	"github.com/parquet-go/bitpack"
)

// Decoders for the Parquet encodings the fast path reads itself: the
// RLE/bit-packing hybrid (dictionary indices and definition levels) and
// DELTA_BINARY_PACKED (the lengths of DELTA_LENGTH_BYTE_ARRAY, prefixes of
// DELTA_BYTE_ARRAY, integer columns). They never panic on corrupt input:
// every read is bounds-checked and reported as errCorrupt.

var errCorrupt = errors.New("corrupt page")

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errCorrupt}, args...)...)
}

// hybrid decodes the RLE/bit-packing hybrid encoding of values of a fixed
// bit width.
type hybrid struct {
	src   []byte
	width uint

	rleLeft  int    // values left in the current RLE run
	rleValue uint32 //
	packLeft int    // values left in the current bit-packed run
	packed   []byte // the bit-packed run's bytes
	padded   []byte // the same from its start to the end of the input
	packPos  uint   // bit position of the next packed value
}

func newHybrid(src []byte, width int) (hybrid, error) {
	if width < 0 || width > 32 {
		return hybrid{}, corruptf("bit width %d", width)
	}
	return hybrid{src: src, width: uint(width)}, nil
}

// decode fills out with the next len(out) values.
func (h *hybrid) decode(out []uint32) error {
	for len(out) > 0 {
		switch {
		case h.rleLeft > 0:
			n := min(h.rleLeft, len(out))
			v := h.rleValue
			for i := range out[:n] {
				out[i] = v
			}
			out, h.rleLeft = out[n:], h.rleLeft-n
		case h.packLeft > 0:
			n := min(h.packLeft, len(out))
			if err := h.unpack(out[:n]); err != nil {
				return err
			}
			out, h.packLeft = out[n:], h.packLeft-n
		default:
			if err := h.nextRun(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (h *hybrid) nextRun() error {
	hdr, n := binary.Uvarint(h.src)
	if n <= 0 {
		return corruptf("hybrid run header")
	}
	h.src = h.src[n:]
	if hdr&1 == 1 { // bit-packed: hdr>>1 groups of 8 values
		groups := hdr >> 1
		if groups == 0 || groups > 1<<28 {
			return corruptf("bit-packed run of %d groups", groups)
		}
		nbytes := groups * uint64(h.width)
		avail := uint64(len(h.src))
		h.packLeft = int(groups * 8)
		if nbytes > avail {
			// A writer may cut the last run short; only the values whose
			// bits are present can be read.
			nbytes = avail
			if h.width > 0 {
				h.packLeft = int(avail * 8 / uint64(h.width))
			}
			if h.packLeft == 0 {
				return corruptf("bit-packed run past the end of the page")
			}
		}
		h.packed, h.padded, h.src, h.packPos = h.src[:nbytes], h.src, h.src[nbytes:], 0
		return nil
	}
	count := hdr >> 1
	if count == 0 || count > 1<<31 {
		return corruptf("RLE run of %d values", count)
	}
	nb := int(h.width+7) / 8
	if len(h.src) < nb {
		return corruptf("RLE run value past the end of the page")
	}
	var v uint32
	for i := range nb {
		v |= uint32(h.src[i]) << (8 * i)
	}
	if h.width < 32 && v>>h.width != 0 {
		return corruptf("RLE value %d wider than %d bits", v, h.width)
	}
	h.src = h.src[nb:]
	h.rleLeft, h.rleValue = int(count), v
	return nil
}

// unpack reads len(out) values of the current bit-packed run.
func (h *hybrid) unpack(out []uint32) error {
	w := h.width
	if w == 0 {
		clear(out)
		return nil
	}
	mask := uint64(1)<<w - 1
	data, pos := h.packed, h.packPos
	if off := pos >> 3; pos&7 == 0 && uint(len(h.padded)) >= off+uint(bitpack.ByteCount(w*uint(len(out))))+bitpack.PaddingInt32 {
		// parquet-go's SIMD unpacker, where the input has the padding
		// it reads past the values.
		bitpack.Unpack(out, h.padded[off:], w)
		h.packPos = pos + w*uint(len(out))
		return nil
	}
	i := 0
	// Fast loop: an 8-byte little-endian load holds any value of up to
	// 32 bits at any bit offset.
	for ; i < len(out); i++ {
		off := pos >> 3
		if off+8 > uint(len(data)) {
			break
		}
		out[i] = uint32(binary.LittleEndian.Uint64(data[off:]) >> (pos & 7) & mask)
		pos += w
	}
	for ; i < len(out); i++ {
		off := pos >> 3
		var buf [8]byte
		if off < uint(len(data)) {
			copy(buf[:], data[off:])
		}
		if (pos+w+7)>>3 > uint(len(data)) {
			return corruptf("bit-packed value past the end of the page")
		}
		out[i] = uint32(binary.LittleEndian.Uint64(buf[:]) >> (pos & 7) & mask)
		pos += w
	}
	h.packPos = pos
	return nil
}

// decodeDelta decodes a DELTA_BINARY_PACKED block sequence into out
// (resized to its value count, at most maxValues) and returns the bytes
// after it.
func decodeDelta(src []byte, out []int64, maxValues int) ([]int64, []byte, error) {
	blockSize, n1 := binary.Uvarint(src)
	if n1 <= 0 {
		return nil, nil, corruptf("delta header")
	}
	src = src[n1:]
	miniblocks, n2 := binary.Uvarint(src)
	if n2 <= 0 {
		return nil, nil, corruptf("delta header")
	}
	src = src[n2:]
	total, n3 := binary.Uvarint(src)
	if n3 <= 0 {
		return nil, nil, corruptf("delta header")
	}
	src = src[n3:]
	first, n4 := binary.Varint(src)
	if n4 <= 0 {
		return nil, nil, corruptf("delta header")
	}
	src = src[n4:]
	if blockSize == 0 || blockSize%128 != 0 || blockSize > 1<<20 || miniblocks == 0 ||
		blockSize%miniblocks != 0 || (blockSize/miniblocks)%32 != 0 {
		return nil, nil, corruptf("delta block size %d with %d miniblocks", blockSize, miniblocks)
	}
	if total > uint64(maxValues) {
		return nil, nil, corruptf("delta count %d above %d", total, maxValues)
	}
	out = resize(out, int(total))
	if total == 0 {
		return out, src, nil
	}
	out[0] = first
	perMini := int(blockSize / miniblocks)
	prev := first
	k := 1
	for k < len(out) {
		minDelta, n := binary.Varint(src)
		if n <= 0 {
			return nil, nil, corruptf("delta block header")
		}
		src = src[n:]
		if uint64(len(src)) < miniblocks {
			return nil, nil, corruptf("delta bit widths past the end of the page")
		}
		widths := src[:miniblocks]
		src = src[miniblocks:]
		for _, w := range widths {
			if k >= len(out) {
				break // miniblocks after the last value are not stored
			}
			if w > 64 {
				return nil, nil, corruptf("delta bit width %d", w)
			}
			nbytes := perMini * int(w) / 8
			if len(src) < nbytes {
				return nil, nil, corruptf("delta miniblock past the end of the page")
			}
			m := min(perMini, len(out)-k)
			prev = unpackDeltas(src[:nbytes], uint(w), minDelta, prev, out[k:k+m])
			k += m
			src = src[nbytes:]
		}
	}
	return out, src, nil
}

// unpackDeltas adds len(out) packed deltas (plus minDelta) to prev in turn.
// Arithmetic wraps, as the format specifies.
func unpackDeltas(data []byte, w uint, minDelta, prev int64, out []int64) int64 {
	var pos uint
	for i := range out {
		var d uint64
		if w > 0 {
			d = readBits(data, pos, w)
			pos += w
		}
		prev += minDelta + int64(d)
		out[i] = prev
	}
	return prev
}

// readBits reads w (1..64) bits at bit position pos, little-endian.
func readBits(data []byte, pos, w uint) uint64 {
	off, shift := pos>>3, pos&7
	var lo uint64
	if off+8 <= uint(len(data)) {
		lo = binary.LittleEndian.Uint64(data[off:])
	} else {
		var buf [8]byte
		if off < uint(len(data)) {
			copy(buf[:], data[off:])
		}
		lo = binary.LittleEndian.Uint64(buf[:])
	}
	v := lo >> shift
	if shift+w > 64 {
		var hi byte
		if off+8 < uint(len(data)) {
			hi = data[off+8]
		}
		v |= uint64(hi) << (64 - shift)
	}
	if w < 64 {
		v &= 1<<w - 1
	}
	return v
}

// bitWidth is the number of bits needed for values up to v.
func bitWidth(v uint64) int { return bits.Len64(v) }
