package tokens

import (
	"bytes"
	"encoding/base64"
	"math/rand/v2"
	"testing"
)

// TestDecodeSegment: the chunked base64url decoders that replaced viewing the token's
// strings as bytes agree with decoding the whole segment at once in strict mode, at every
// length around the chunk boundaries: same bytes for a valid segment, and a refusal for a
// length no encoding has (4n+1) or for non-zero padding bits in the last quantum — an
// alternative spelling of the same token (JW-05).
func TestDecodeSegment(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	var segments []string
	for n := 0; n <= 3*decodeChunk+8; n++ {
		// Random characters (mostly non-zero padding bits unless n is 4k) and the encoding
		// of random bytes (valid at every length but 4k+1).
		for range 4 {
			raw := make([]byte, n)
			for i := range raw {
				raw[i] = alphabet[rng.IntN(len(alphabet))]
			}
			segments = append(segments, string(raw))
		}
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		segments = append(segments, base64.RawURLEncoding.EncodeToString(data))
	}
	for _, s := range segments {
		want, wantErr := base64.RawURLEncoding.Strict().DecodeString(s)
		got, ok := decodeString(s, MaxTokenSize)
		if ok != (wantErr == nil) || ok && got != string(want) {
			t.Fatalf("decodeString(%d chars) = %v; encoding/base64: %v", len(s), ok, wantErr)
		}
		var buf [3*decodeChunk + 8]byte
		gotb, ok := decodeInto(buf[:], s)
		if ok != (wantErr == nil) || ok && !bytes.Equal(gotb, want) {
			t.Fatalf("decodeInto(%d chars) = %v; encoding/base64: %v", len(s), ok, wantErr)
		}
	}
	// Limits: the result must fit.
	s := base64.RawURLEncoding.EncodeToString(make([]byte, 513))
	if _, ok := decodeString(s, 512); ok {
		t.Error("decodeString decoded past its limit")
	}
	var buf [512]byte
	if _, ok := decodeInto(buf[:], s); ok {
		t.Error("decodeInto decoded past its buffer")
	}
}
