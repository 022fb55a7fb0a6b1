package wechat

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCountryCodeUnmarshal(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`"86"`:   "86",
		`86`:     "86",
		`"+852"`: "852",
		` 1 `:    "1",
		`null`:   "",
	} {
		var c countryCode
		require.NoError(t, json.Unmarshal([]byte(in), &c), in)
		assert.Equal(t, want, string(c), in)
	}
	for _, in := range []string{`86.5`, `true`, `{}`, `[86]`, `"86`} {
		var c countryCode
		assert.Error(t, json.Unmarshal([]byte(in), &c), in)
	}
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	for errmsg, want := range map[string]string{
		"invalid code, rid: 6412ab3c-1c2d3e4f-5a6b7c8d":             "6412ab3c-1c2d3e4f-5a6b7c8d",
		"invalid code, rid:6412ab3c-1c2d3e4f":                       "6412ab3c-1c2d3e4f",
		"invalid code, hints: [ req_id: x ] rid: 64-12 then more":   "64-12",
		"invalid credential, access_token is invalid or not latest": "",
		"": "",
	} {
		assert.Equal(t, want, requestID(errmsg), errmsg)
	}
}

func TestBackoffIsBounded(t *testing.T) {
	t.Parallel()
	for range 100 {
		for attempt := 1; attempt < maxAttempts; attempt++ {
			d := backoff(attempt)
			assert.GreaterOrEqual(t, d.Milliseconds(), int64(100))
			assert.LessOrEqual(t, d.Milliseconds(), int64(400))
		}
	}
}
