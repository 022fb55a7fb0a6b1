package rpcserver

import (
	"math"
	"strings"
)

// Int32 is a counter or duration as the API carries it: int32, so JSON has a number JavaScript can read
// (protobuf's JSON writes 64-bit integers as strings). Values past the range saturate rather than wrap;
// the counters it carries (per-row versions, per-person sequences, dwell) stay far below it.
func Int32(v int64) int32 {
	switch {
	case v > math.MaxInt32:
		return math.MaxInt32
	case v < math.MinInt32:
		return math.MinInt32
	}
	return int32(v)
}

// Words maps the words the tables and domains keep for a concept (won, long_read, qr) to the values of
// the API's enum for it, whose value names are those words in capitals after a prefix
// (CUSTOMER_STAGE_WON), and back: each concept has one encoding on the wire, whichever service carries
// it. The enum's UNSPECIFIED value has no word.
type Words[E ~int32] struct {
	enum map[string]E
	word map[E]string
}

// NewWords builds the mapping from an enum's generated value map (salesappv1.CustomerStage_value) and
// the prefix of its value names ("CUSTOMER_STAGE_").
func NewWords[E ~int32](values map[string]int32, prefix string) Words[E] {
	w := Words[E]{enum: make(map[string]E, len(values)), word: make(map[E]string, len(values))}
	for name, v := range values {
		if v == 0 || !strings.HasPrefix(name, prefix) {
			continue
		}
		word := strings.ToLower(strings.TrimPrefix(name, prefix))
		w.enum[word], w.word[E(v)] = E(v), word
	}
	return w
}

// Enum is word's value (UNSPECIFIED, 0, for a word the enum lacks).
func (w Words[E]) Enum(word string) E { return w.enum[word] }

// Word is v's word ("" for UNSPECIFIED or a value the enum lacks).
func (w Words[E]) Word(v E) string { return w.word[v] }
