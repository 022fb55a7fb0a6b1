package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// row is one line of a scenario's table; target is empty when the metric has none.
type row struct {
	metric, value, target string
}

// writeSection prints a scenario's markdown section: heading, table, and the line saying how and where it
// was measured. Columns are padded so the table also reads well as plain text.
func writeSection(w io.Writer, name string, rows []row, footer string) {
	table := [][3]string{{"metric", "value", "target"}}
	for _, r := range rows {
		table = append(table, [3]string{r.metric, r.value, r.target})
	}
	var width [3]int
	for _, cells := range table {
		for i, c := range cells {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	line := func(cells [3]string) {
		var b strings.Builder
		for i, c := range cells {
			b.WriteString("| " + c + strings.Repeat(" ", width[i]-utf8.RuneCountInString(c)) + " ")
		}
		fmt.Fprintln(w, b.String()+"|")
	}
	fmt.Fprintf(w, "### %s\n\n", name)
	line(table[0])
	line([3]string{strings.Repeat("-", width[0]), strings.Repeat("-", width[1]), strings.Repeat("-", width[2])})
	for _, cells := range table[1:] {
		line(cells)
	}
	fmt.Fprintf(w, "\n%s\n", footer)
}

// percentile is the nearest-rank p-th percentile of sorted, which must not be empty: the smallest value
// at least p% of the samples are at or below.
func percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(float64(len(sorted)) * p / 100))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// millis formats d in milliseconds, to the microsecond.
func millis(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 3, 64) + " ms"
}

// thousands formats n with comma separators: 12,345.
func thousands(n int64) string {
	if n < 0 {
		return "-" + thousands(-n)
	}
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
