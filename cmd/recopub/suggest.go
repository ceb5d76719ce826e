package main

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// suggest returns up to three of have that look like a misspelling of
// name, closest first: the same text in another case, one containing the
// other, or few edits apart (Levenshtein over lower-cased runes, at most a
// third of the longer name's length, and at least 2).
func suggest(name string, have []string) []string {
	type cand struct {
		s string
		d int
	}
	low := strings.ToLower(name)
	var cs []cand
	for _, h := range have {
		hl := strings.ToLower(h)
		d := editDistance(low, hl)
		limit := max(2, max(utf8.RuneCountInString(low), utf8.RuneCountInString(hl))/3)
		if d <= limit || (low != "" && (strings.Contains(hl, low) || strings.Contains(low, hl))) {
			cs = append(cs, cand{h, d})
		}
	}
	slices.SortFunc(cs, func(a, b cand) int {
		if c := cmp.Compare(a.d, b.d); c != 0 {
			return c
		}
		return cmp.Compare(a.s, b.s)
	})
	var out []string
	for _, c := range cs[:min(3, len(cs))] {
		out = append(out, c.s)
	}
	return out
}

// didYouMean is suggest as a clause for an error message: `; did you mean
// "Order Completed"?`, or "" when nothing is close.
func didYouMean(name string, have []string) string {
	s := suggest(name, have)
	if len(s) == 0 {
		return ""
	}
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	return "; did you mean " + strings.Join(q, " or ") + "?"
}

// editDistance is the Levenshtein distance between a and b in runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			sub := prev[j-1]
			if ra[i-1] != rb[j-1] {
				sub++
			}
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
