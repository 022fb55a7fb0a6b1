package rpcserver

import "math"

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
